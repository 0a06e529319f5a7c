"""What the help desk is told: found, done, next steps. Never a password or token."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from zcomp.core.findings import Finding
from zcomp.journal import Incident, Journal
from zcomp.tickets import TicketBackend, TicketContent, TicketError, TicketRef
from zcomp.tickets.guard import withhold_secrets
from zcomp.tickets.render import load_template
from zcomp.zimbra.model import Account

if TYPE_CHECKING:
    from zcomp.config import Settings


def lockdown_ticket(
    *,
    account: Account,
    incident_key: str,
    findings: list[Finding],
    earlier: list[Finding],
    done: list[str],
    held_messages: int,
    evidence_sha256: str | None,
    settings: Settings,
    reason: str,
    operator: str = "",
) -> TicketContent:
    found = [f"{f.detail}: {f.reason} ({f.verdict})" for f in findings if f.risky]
    found += [f"{f.detail}: {f.reason} ({f.verdict}; found by an interrupted run)" for f in earlier]
    done = [
        *done,
        *[f"{f.detail}: no longer present (removed by an interrupted run)" for f in earlier],
    ]
    if not found:
        found = [
            "no planted forwarding, filters, identities, signatures, auto-replies, shares, "
            "rights or data sources"
        ]
    template, trouble = site_template(settings)
    minutes = settings.unlock.min_locked_minutes
    next_steps = [
        f"Reach the owner of {account.name} by phone or in person, not by e-mail to this mailbox.",
        "Confirm their identity and find out how the password was disclosed "
        "(phishing link, reuse).",
        "Ask whether they recognise what was removed (above). The mail admins put back a "
        f"false positive: `zcomp restore {incident_key}` lists each item with the option that "
        "restores it.",
        "Once the owner is reached and confirmed, ask the mail admins to hand the account back "
        f"(`zcomp unlock {account.name}`, not before {minutes} minutes after the lockdown); the "
        "owner then chooses a new password at first login.",
    ]
    next_steps.append(
        "If spam from this address continues after the lockdown, it comes over an SMTP session "
        "opened before it (no Zimbra request can end those): ask the mail admins to block the "
        "sender at the MTA."
    )
    if held_messages:
        one = held_messages == 1
        held = "1 queued message is" if one else f"{held_messages} queued messages are"
        it, was = ("it", "it was") if one else ("them", "they were")
        next_steps.append(
            f"{held} held on the MTA: ask the owner whether they sent {it}; the mail admins "
            f"unlock with --delete-held to drop spam, or --release-held if {was} legitimate."
        )
    for f in findings:
        if f.kind == "admin-forwarding" and f.risky and not f.remove:
            next_steps.append(
                f"Review the admin-set forwarding ({f.detail}); zcomp did not change it."
            )
        elif f.kind in ("share", "right", "data-source") and f.risky and not f.remove:
            # Inside the organisation with no baseline to judge by: the owner decides.
            next_steps.append(f"Ask the owner whether they made the {f.detail}; zcomp kept it.")
    return TicketContent(
        incident_id=incident_key,
        account=account.name,
        title=f"Compromised account {account.name} locked (incident {incident_key})",
        # Rule names, signatures and identities are the attacker's text: a "password: x"
        # planted there is withheld, never a reason the ticket is refused.
        found=[withhold_secrets(line) for line in found],
        done=[withhold_secrets(line) for line in done],
        next_steps=[withhold_secrets(line) for line in next_steps],
        evidence_sha256=evidence_sha256,
        created_at=datetime.now(timezone.utc),
        extra={"reason": withhold_secrets(reason), "operator": operator, **trouble},
        template=template,
    )


def site_template(settings: Settings) -> tuple[str | None, dict[str, str]]:
    """[tickets] template's text (checked when the command started: see zcomp.cli.runtime).
    If it cannot be read now, the built-in text is used and the ticket says why: a contained
    account's ticket is never held back by its wording."""
    path = settings.tickets.template
    if path is None:
        return None, {}
    try:
        return load_template(path), {}
    except ValueError as exc:
        return None, {"template": f"the site's template was not used: {exc}"}


def recontain_comment(findings: list[Finding], done: list[str]) -> str:
    """Added to the incident's ticket when risky settings came back and lockdown ran again."""
    lines = ["Risky settings came back while the account was contained; zcomp contained it again."]
    lines += [f"- found: {f.detail}: {f.reason}" for f in findings if f.remove]
    lines += [f"- done: {line}" for line in done]
    return withhold_secrets("\n".join(lines))


# ---------------------------------------------------------------- pending, then filed


def open_op(content: TicketContent) -> dict[str, Any]:
    """The pending operation that files a new ticket (kept in the journal until linked)."""
    return {"op": "open", "content": content_to_dict(content)}


def content_to_dict(content: TicketContent) -> dict[str, Any]:
    """A ticket's content as kept until it is filed (the journal, watch's state file)."""
    return {
        "incident_id": content.incident_id,
        "account": content.account,
        "title": content.title,
        "found": content.found,
        "done": content.done,
        "next_steps": content.next_steps,
        "evidence_sha256": content.evidence_sha256,
        "created_at": content.created_at.isoformat(),
        "extra": content.extra,
        "template": content.template,
    }


def comment_op(text: str, *, resolve: str | None = None) -> dict[str, Any]:
    """A comment on the incident's ticket (and, with `resolve`, then resolving it)."""
    return {"op": "comment", "text": text, "resolve": resolve}


def content_from_dict(data: dict[str, Any]) -> TicketContent:
    return TicketContent(
        # A number in records made before incident keys, else the key.
        incident_id=data["incident_id"]
        if isinstance(data["incident_id"], str)
        else int(data["incident_id"]),
        account=str(data["account"]),
        title=str(data["title"]),
        found=list(data["found"]),
        done=list(data["done"]),
        next_steps=list(data["next_steps"]),
        evidence_sha256=data.get("evidence_sha256"),
        created_at=datetime.fromisoformat(data["created_at"]),
        extra=dict(data.get("extra") or {}),
        template=data.get("template"),
    )


def file_pending(
    tickets: TicketBackend, journal: Journal, incident: Incident, pending: dict[str, Any]
) -> TicketRef:
    """Do the pending ticket operation and link the ticket; raises TicketError (the operation
    stays pending). A ticket a killed run already filed is found and linked, never duplicated:
    the backends' `open` and `find` are idempotent per incident. The pending record is cleared
    only if it is still this operation (another process may have queued the next one)."""
    ref = tickets.find(incident.key)
    if ref is None and incident.ticket_id and incident.ticket_backend == tickets.name:
        ref = TicketRef(incident.ticket_backend, incident.ticket_id, incident.ticket_url)
    if ref is None:
        content = pending.get("content")
        if content is None:  # a comment for a ticket that was never filed: file it now
            content = open_op(_fallback(incident, str(pending.get("text") or "")))["content"]
        ref = tickets.open(content_from_dict(content))
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
        incident_id=incident.key,
        account=incident.account_name,
        title=f"Compromised account {incident.account_name} (incident {incident.key})",
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
    tickets: TicketBackend, journal: Journal, only: int | str | None = None
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


def test_ticket(backend: TicketBackend) -> Iterator[str]:
    """`zcomp ticket test`: open, find, comment on and resolve a ticket that says it is a
    test, yielding each step as it succeeds (a TicketError ends it, naming the failing step by
    what was not yielded). A fresh key per run: an earlier test ticket is never reused."""
    key = f"ZCOMPTEST-{datetime.now(timezone.utc):%Y%m%d%H%M%S}-{secrets.token_hex(2).upper()}"
    content = TicketContent(
        incident_id=key,
        account="(none: a test of the ticket backend)",
        # The key in the title: title_line then adds no "zcomp KEY: " before a "zcomp ..."
        title=f"zcomp ticket backend test {key}: please ignore, it resolves itself",
        found=["nothing: this is a test ticket filed by `zcomp ticket test`"],
        done=["nothing"],
        next_steps=["nothing: zcomp resolves this ticket at once"],
        evidence_sha256=None,
        created_at=datetime.now(timezone.utc),
    )
    ref = backend.open(content)
    yield f"opened {ref.id}" + (f" ({ref.url})" if ref.url else "")
    again = backend.open(content)
    if again != ref:
        raise TicketError(f"opening {key} again gave {again.id}, not {ref.id}: not idempotent")
    found = backend.find(key)
    if found is None or found.id != ref.id:
        raise TicketError(f"{ref.id} was opened but cannot be found again by its key {key}")
    yield "found it again by its key"
    backend.comment(ref, "zcomp ticket test: a comment")
    yield "commented"
    if backend.resolve(ref, "zcomp ticket test: resolved"):
        yield "resolved"
    else:
        yield f"not resolved ({backend.name} cannot resolve tickets)"
