"""What the help desk is told: found, done, next steps. Never a password or token."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from zcomp.core.evidence import withhold_tokens
from zcomp.core.findings import Finding
from zcomp.tickets import TicketContent
from zcomp.zimbra.model import Account

if TYPE_CHECKING:
    from zcomp.config import Settings


def lockdown_ticket(
    *,
    account: Account,
    incident_id: int,
    findings: list[Finding],
    earlier: list[Finding],
    done: list[str],
    held: int,
    evidence_sha256: str | None,
    settings: Settings,
    reason: str,
) -> TicketContent:
    found = [f"{f.detail}: {f.reason} ({f.verdict})" for f in findings if f.risky]
    found += [f"{f.detail}: {f.reason} ({f.verdict}; found by an interrupted run)" for f in earlier]
    done = [
        *done,
        *[f"{f.detail}: no longer present (removed by an interrupted run)" for f in earlier],
    ]
    if not found:
        found = ["no planted forwarding, filters, identities, signatures or auto-replies"]
    minutes = settings.unlock.min_locked_minutes
    next_steps = [
        f"Reach the owner of {account.name} by phone or in person, not by e-mail to this mailbox.",
        "Confirm their identity and find out how the password was disclosed "
        "(phishing link, reuse).",
        "Ask whether they recognise the removed forwarding, filters and signature; put back a "
        f"false positive with `zcomp restore {incident_id} --filter NAME` (or --all).",
        f"Hand the account back with `zcomp unlock {account.name}` (not before {minutes} minutes "
        "after the lockdown); the owner must then choose a new password at first login.",
    ]
    next_steps.append(
        "If spam from this address continues after the lockdown, it comes over an SMTP session "
        "opened before it (no Zimbra request can end those): ask the mail admins to block the "
        "sender at the MTA."
    )
    if held:
        next_steps.append(
            f"{held} queued message(s) are held on the MTA: unlock with --delete-held to drop "
            "the spam or --release-held if they were legitimate."
        )
    for f in findings:
        if f.kind == "admin-forwarding" and f.risky and not f.remove:
            next_steps.append(
                f"Review the admin-set forwarding ({f.detail}); zcomp did not change it."
            )
    return TicketContent(
        incident_id=incident_id,
        account=account.name,
        title=f"Compromised account {account.name} locked (incident {incident_id})",
        found=withhold_tokens(found),
        done=withhold_tokens(done),
        next_steps=withhold_tokens(next_steps),
        evidence_sha256=evidence_sha256,
        created_at=datetime.now(timezone.utc),
        extra={"reason": reason},
    )


def recontain_comment(findings: list[Finding], done: list[str]) -> str:
    """Added to the incident's ticket when risky settings came back and lockdown ran again."""
    lines = ["Risky settings came back while the account was contained; zcomp contained it again."]
    lines += [f"- found: {f.detail}: {f.reason}" for f in findings if f.remove]
    lines += [f"- done: {line}" for line in done]
    return str(withhold_tokens("\n".join(lines)))
