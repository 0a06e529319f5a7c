"""What the help desk is told: found, done, next steps. Never a password or token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from zcomp.core.findings import Finding
from zcomp.journal import Incident, Journal
from zcomp.tickets import TicketBackend, TicketContent, TicketError, TicketRef
from zcomp.tickets.guard import withhold_secrets
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
        # Rule names, signatures and identities are the attacker's text: a "password: x"
        # planted there is withheld, never a reason the ticket is refused.
        found=[withhold_secrets(line) for line in found],
        done=[withhold_secrets(line) for line in done],
        next_steps=[withhold_secrets(line) for line in next_steps],
        evidence_sha256=evidence_sha256,
        created_at=datetime.now(timezone.utc),
        extra={"reason": withhold_secrets(reason)},
    )


def recontain_comment(findings: list[Finding], done: list[str]) -> str:
    """Added to the incident's ticket when risky settings came back and lockdown ran again."""
    lines = ["Risky settings came back while the account was contained; zcomp contained it again."]
    lines += [f"- found: {f.detail}: {f.reason}" for f in findings if f.remove]
    lines += [f"- done: {line}" for line in done]
    return withhold_secrets("\n".join(lines))


# ---------------------------------------------------------------- pending, then filed


def open_op(content: TicketContent) -> dict[str, Any]:
    """The pending operation that files a new ticket (kept in the journal until linked)."""
    return {
        "op": "open",
        "content": {
            "incident_id": content.incident_id,
            "account": content.account,
            "title": content.title,
            "found": content.found,
            "done": content.done,
            "next_steps": content.next_steps,
            "evidence_sha256": content.evidence_sha256,
            "created_at": content.created_at.isoformat(),
            "extra": content.extra,
        },
    }


def comment_op(text: str, *, resolve: str | None = None) -> dict[str, Any]:
    """A comment on the incident's ticket (and, with `resolve`, then resolving it)."""
    return {"op": "comment", "text": text, "resolve": resolve}


def _content(data: dict[str, Any]) -> TicketContent:
    return TicketContent(
        incident_id=int(data["incident_id"]),
        account=str(data["account"]),
        title=str(data["title"]),
        found=list(data["found"]),
        done=list(data["done"]),
        next_steps=list(data["next_steps"]),
        evidence_sha256=data.get("evidence_sha256"),
        created_at=datetime.fromisoformat(data["created_at"]),
        extra=dict(data.get("extra") or {}),
    )


def file_pending(
    tickets: TicketBackend, journal: Journal, incident: Incident, pending: dict[str, Any]
) -> TicketRef:
    """Do the pending ticket operation and link the ticket; raises TicketError (the operation
    stays pending). A ticket a killed run already filed is found and linked, never duplicated:
    the backends' `open` and `find` are idempotent per incident. The pending record is cleared
    only if it is still this operation (another process may have queued the next one)."""
    ref = tickets.find(incident.id)
    if ref is None and incident.ticket_id and incident.ticket_backend == tickets.name:
        ref = TicketRef(incident.ticket_backend, incident.ticket_id, incident.ticket_url)
    if ref is None:
        content = pending.get("content")
        if content is None:  # a comment for a ticket that was never filed: file it now
            content = open_op(_fallback(incident, str(pending.get("text") or "")))["content"]
        ref = tickets.open(_content(content))
    if pending.get("text"):
        journal.set_ticket(incident.id, ref.backend, ref.id, ref.url)  # linked, still pending
        tickets.comment(ref, str(pending["text"]))
        resolve = pending.get("resolve")
        if resolve:
            tickets.resolve(ref, str(resolve))
    journal.set_ticket(incident.id, ref.backend, ref.id, ref.url, done=pending)
    return ref


def _fallback(incident: Incident, text: str) -> TicketContent:
    return TicketContent(
        incident_id=incident.id,
        account=incident.account_name,
        title=f"Compromised account {incident.account_name} (incident {incident.id})",
        found=[],
        done=[line for line in text.splitlines() if line.strip()],
        next_steps=[],
        evidence_sha256=incident.evidence_sha256,
        created_at=datetime.now(timezone.utc),
        extra={"reason": incident.reason},
    )


@dataclass(frozen=True)
class RetryResult:
    incident: Incident
    ref: TicketRef | None
    error: str | None = None


def retry_pending(
    tickets: TicketBackend, journal: Journal, only: int | None = None
) -> list[RetryResult]:
    """File every pending ticket operation (or the one of incident `only`)."""
    if only is not None:
        incident = journal.incident(only)
        found = [incident] if incident.ticket_pending is not None else []
    else:
        found = journal.pending_tickets()
    results = []
    for incident in found:
        pending = incident.ticket_pending or {}
        try:
            ref = file_pending(tickets, journal, incident, pending)
        except TicketError as exc:
            results.append(RetryResult(incident, None, exc.message))
            continue
        results.append(RetryResult(incident, ref))
    return results
