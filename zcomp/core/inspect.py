"""Inspect: read-only triage of everything lockdown looks at, each item with a verdict.

Three round trips per account after login, and not a single write:
  1 admin batch  GetAccount (all attributes, COS applied) + domains/MTAs once per worker +
                 SOAP and IMAP sessions of the answering server
  2 user batch   filters in/out, signatures, identities, prefs (as lockdown's snapshot)
  3 admin batch  the account's mail in the MTA hold queue, per MTA (skipped without MTAs)
"""

from __future__ import annotations

from typing import Any

from zcomp.core import findings as F
from zcomp.core.classify import classify_account
from zcomp.core.contain import hold_senders
from zcomp.core.findings import Finding
from zcomp.core.notes import lock_marker_of
from zcomp.core.outcome import AccountOutcome
from zcomp.core.replies import iso, must, problem, record_error
from zcomp.core.services import Services
from zcomp.core.snapshot import load_baseline, read_mailbox, session_rows
from zcomp.timestamps import restamp
from zcomp.zimbra.errors import ZimbraError
from zcomp.zimbra.model import Account, QueueSummary
from zcomp.zimbra.operations import GetAccount, GetMailQueue, GetSessions

LAST_LOGON_NOTE = (
    "coarse: Zimbra writes it at most once per zimbraLastLogonTimestampFrequency "
    "(default 7 days); not a login time for an incident timeline"
)
SESSIONS_NOTE = "only this server's clients that asked for a session; scripts using none never show"
_RANK = {F.OK: 0, F.SUSPICIOUS: 1, F.MALICIOUS: 2}


def inspect_account(services: Services, name: str) -> AccountOutcome:
    """result: "clean", "suspicious" or "malicious" (the worst verdict), or "failed"."""
    outcome = AccountOutcome(account=name, result="failed")
    start = services.client.round_trips
    try:
        _run(services, name, outcome)
    except ZimbraError as exc:
        record_error(outcome, exc)
    outcome.round_trips = services.client.round_trips - start
    return outcome


def worst_verdict(found: list[Finding]) -> str:
    return max((f.verdict for f in found), key=lambda v: _RANK.get(v, 0), default=F.OK)


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "item": f.key,
        "detail": f.detail,
        "verdict": f.verdict,
        "reason": f.reason,
        "lockdown_would_remove": f.remove,
    }


def _run(services: Services, name: str, outcome: AccountOutcome) -> None:
    # 1 account, directory facts, sessions -------------------------------------------------
    facts = services.facts_requests()
    results = services.client.batch(
        [
            GetAccount(name, by="name", apply_cos=True),
            *facts,
            GetSessions(type="soap"),
            GetSessions(type="imap"),
        ]
    )
    account: Account = must(results[0])
    services.absorb_facts(results[1 : 1 + len(facts)])
    outcome.account = account.name
    sessions = _sessions(account, results[1 + len(facts) :], outcome)

    incident = services.journal.open_incident(account.id)
    baseline = load_baseline(
        services.journal, account.id, before=incident.started_at if incident else None
    )

    # 2 mailbox settings ---------------------------------------------------------------------
    mailbox = read_mailbox(services.client, account.id, network=services.network)
    found = classify_account(
        account, mailbox, services.organisation, services.settings.policy, baseline
    )

    # 3 held queue ---------------------------------------------------------------------------
    held_queues = _held_queues(services, account, outcome)

    verdict = worst_verdict(found)
    outcome.result = "clean" if verdict == F.OK else verdict
    if incident is not None:
        outcome.incident = incident.key
    outcome.held_messages = sum(q["total"] for q in held_queues)
    outcome.extra.update(
        {
            "status": account.get("zimbraAccountStatus"),
            "verdict": verdict,
            "findings": [finding_json(f) for f in found],
            "last_logon": {
                "value": _restamp(account.get("zimbraLastLogonTimestamp")),
                "note": LAST_LOGON_NOTE,
            },
            "sessions": sessions,
            "open_incident": None
            if incident is None
            else {
                "id": incident.key,
                "state": incident.state,
                "started_at": iso(incident.started_at),
                "ticket": incident.ticket_id,
            },
            # The account's own record, for a team: contained by a zcomp with another journal
            # (or by this one), who, when, and where the ticket is.
            "zcomp_marker": _marker(account),
            "held_queue": held_queues,
            "baseline": baseline.captured_at if baseline else None,
            "password_must_change": (account.get("zimbraPasswordMustChange") or "FALSE").upper()
            == "TRUE",
        }
    )
    # Items go under "findings" only: removed/kept are lockdown's words (what it changed
    # and left) and stay empty here, since inspect changes nothing.


def _restamp(value: str | None) -> str | None:
    # Zimbra's generalized time (20261130053713Z), shown as every zcomp timestamp is.
    return restamp(value) if value else value


def _sessions(
    account: Account, results: list[Any], outcome: AccountOutcome
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for kind, result in zip(("soap", "imap"), results, strict=True):
        if (why := problem(f"listing {kind} sessions", result)) is not None:
            outcome.warnings.append(why)
            continue
        found += session_rows(account.id, result)
    return found


def _held_queues(
    services: Services, account: Account, outcome: AccountOutcome
) -> list[dict[str, Any]]:
    if not services.mtas:
        return []
    results = services.client.batch(
        [
            GetMailQueue(server=m, queue="hold", senders=tuple(hold_senders(account)))
            for m in services.mtas
        ]
    )
    held: list[dict[str, Any]] = []
    for mta, result in zip(services.mtas, results, strict=True):
        if not isinstance(result, QueueSummary):
            outcome.warnings.append(problem(f"reading the hold queue on {mta}", result) or mta)
            continue
        held.append({"server": result.server, "queue": result.queue, "total": result.total})
    return held


def _marker(account: Account) -> dict[str, str] | None:
    if account.get("zimbraAccountStatus") != "locked":
        return None
    marker = lock_marker_of(account.get("zimbraNotes") or "")
    if marker is None:
        return None
    return {
        "incident": marker.incident,
        "locked_at": marker.at,
        "by": marker.by,
        "ticket_backend": marker.ticket_backend,
    }
