"""Lockdown: resolve, contain, snapshot, clean, verify, record, ticket — in that order.

Round trips after login (whatever the number of rules, signatures and identities):
  1 resolve   GetAccount (+ domains and MTAs, once per worker)
  2 contain   one BatchRequest (zcomp.core.contain)
  3 snapshot  one user-side BatchRequest: filter rules in/out, signatures, identities, prefs
  4 clean     one user-side BatchRequest: the writes, then their read-back (zcomp.core.clean)
  5 account   one BatchRequest: forwarding/auto-reply/notes, FlushCache, read-back
A second run on a contained account reads (1 and 3), finds nothing to do and says so; if
something risky came back, it contains and cleans again under the same incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from zcomp.core import clean, contain
from zcomp.core.classify import classify_account
from zcomp.core.environment import Environment
from zcomp.core.evidence import build_bundle, write_bundle
from zcomp.core.findings import Finding
from zcomp.core.lockdown_state import LockdownState
from zcomp.core.notes import lock_marker
from zcomp.core.outcome import AccountOutcome
from zcomp.core.protect import protection_reason
from zcomp.core.replies import must, record_error
from zcomp.core.snapshot import load_baseline, read_mailbox
from zcomp.core.ticketing import lockdown_ticket, recontain_comment
from zcomp.exitcodes import ZcompError
from zcomp.journal import CONTAINED, FAILED, Incident
from zcomp.zimbra.requests import GetAccount


@dataclass
class LockdownOptions:
    reason: str = "phished account sending spam"
    dry_run: bool = False
    force: bool = False
    evidence_dir: str | None = None


def lockdown_account(env: Environment, name: str, options: LockdownOptions) -> AccountOutcome:
    outcome = AccountOutcome(account=name, result="failed")
    start = env.client.round_trips
    try:
        _run(env, name, options, outcome)
    except ZcompError as exc:  # Zimbra, journal or ticket trouble: one line for this account
        record_error(outcome, exc)
    outcome.round_trips = env.client.round_trips - start
    return outcome


def _run(env: Environment, name: str, options: LockdownOptions, outcome: AccountOutcome) -> None:
    # 1 resolve ---------------------------------------------------------------------------
    env.event(name, "resolving")
    results = env.client.batch([GetAccount(name, by="name", apply_cos=True), *env.facts_requests()])
    account = must(results[0])
    env.absorb_facts(results[1:])
    outcome.account = account.name
    state = LockdownState(account=account)
    if _refused(env, state, options, outcome):
        return

    incident = env.journal.open_incident(account.id)
    # Only a baseline taken before the incident can be trusted as known-good.
    state.baseline = load_baseline(
        env.journal, account.id, before=incident.started_at if incident else None
    )
    recontain = False
    if incident is not None:
        outcome.incident = incident.id
        _copy_ticket(incident, outcome)
    if incident is not None and incident.state == CONTAINED:
        if account.get("zimbraAccountStatus") == "locked":
            state.mailbox = read_mailbox(env.client, account.id)
            state.findings = classify_account(
                account, state.mailbox, env.organisation, env.settings.policy, state.baseline
            )
            if not state.removals:
                outcome.kept = state.findings
                outcome.result = "already-contained"
                return
            outcome.warnings.append(
                "risky settings came back after containment: "
                + "; ".join(f.detail for f in state.removals)
            )
        else:
            outcome.warnings.append(
                f"incident {incident.id} is open but the account is "
                f"{account.get('zimbraAccountStatus')}: containing it again"
            )
        recontain = True
    elif incident is not None:
        outcome.warnings.append(f"resuming incident {incident.id} ({incident.state})")

    if options.dry_run:
        _dry_run(env, state, outcome)
        return

    # The incident is recorded before any change, so a killed run leaves a trace to resume.
    if incident is None:
        incident = env.journal.start_incident(
            account.id, account.name, reason=options.reason, operator=env.operator
        )
    state.incident_id = incident.id
    outcome.incident = incident.id
    state.marker = lock_marker(incident.id, datetime.now(timezone.utc))

    env.event(account.name, "containing")
    contain.contain(env, state)
    env.event(account.name, "snapshot")
    state.mailbox = read_mailbox(env.client, account.id)
    state.findings = classify_account(
        account, state.mailbox, env.organisation, env.settings.policy, state.baseline
    )
    bundle = build_bundle(evidence_parts(state))
    sha = env.journal.store_evidence(incident.id, bundle)
    outcome.evidence_sha256 = sha
    if options.evidence_dir:
        path = write_bundle(bundle, sha, options.evidence_dir, account.name, incident.id)
        outcome.evidence_path = str(path)
    env.event(account.name, "cleaning")
    clean.clean_mailbox(env, state)
    clean.clean_account(env, state)

    outcome.removed = state.removals
    outcome.kept = [f for f in state.findings if not f.remove]
    outcome.held = sum(int(q.get("total", 0)) for q in state.held)
    outcome.warnings += state.warnings
    outcome.extra["done"] = list(state.done)
    if state.problems:
        env.journal.set_incident_state(incident.id, FAILED)
        outcome.result = "failed"
        outcome.error = {"code": "verify", "message": "; ".join(state.problems), "exit": 1}
        return
    env.journal.set_incident_state(incident.id, CONTAINED)
    env.event(account.name, "ticket")
    _ticket(env, state, options, outcome, earlier=_earlier_removals(env, state), again=recontain)
    outcome.result = "contained"


def _refused(
    env: Environment, state: LockdownState, options: LockdownOptions, outcome: AccountOutcome
) -> bool:
    account = state.account
    if account.get("zimbraAccountStatus") == "closed":
        outcome.result = "skipped"
        outcome.error = {
            "code": "closed",
            "message": f"{account.name} is closed: it cannot log in or send; nothing to contain",
            "exit": 1,
        }
        return True
    why = protection_reason(account, env.settings.lockdown.protected, env.settings.admin)
    if why and not options.force:
        outcome.result = "skipped"
        outcome.error = {"code": "protected", "message": f"refused: {why} (use --force)", "exit": 1}
        return True
    if why:
        outcome.warnings.append(f"--force: {why}")
    return False


def _dry_run(env: Environment, state: LockdownState, outcome: AccountOutcome) -> None:
    account = state.account
    if not state.findings:
        state.mailbox = read_mailbox(env.client, account.id)
        state.findings = classify_account(
            account, state.mailbox, env.organisation, env.settings.policy, state.baseline
        )
    outcome.removed = state.removals
    outcome.kept = [f for f in state.findings if not f.remove]
    outcome.plan = [
        *contain.plan(env, account),
        "store an evidence bundle (attributes, filters, signatures, identities, prefs, sessions)",
        *clean.plan(state.findings),
        *[
            f"keep {f.detail}" + (f" (reported: {f.reason})" if f.risky else "")
            for f in outcome.kept
        ],
        "add a zcomp line to zimbraNotes (earlier notes kept)",
        "file a help-desk ticket" if not outcome.ticket else "comment on the existing ticket",
    ]
    outcome.result = "planned"


def _earlier_removals(env: Environment, state: LockdownState) -> list[Finding]:
    """What an earlier, interrupted run of this incident found and may have removed already."""
    first = env.journal.evidence(state.incident)
    if first is None:
        return []
    now = {(f.kind, f.key) for f in state.removals}
    return [
        Finding.from_dict(item)
        for item in first.bundle.get("findings", [])
        if item.get("remove") and (item["kind"], item["key"]) not in now
    ]


def _ticket(
    env: Environment,
    state: LockdownState,
    options: LockdownOptions,
    outcome: AccountOutcome,
    *,
    earlier: list[Finding],
    again: bool,
) -> None:
    existing = env.tickets.find(state.incident)
    if existing is not None and again:
        env.tickets.comment(existing, recontain_comment(state.findings, state.done))
        ref = existing
    else:
        content = lockdown_ticket(
            account=state.account,
            incident_id=state.incident,
            findings=state.findings,
            earlier=earlier,
            done=state.done,
            held=outcome.held,
            evidence_sha256=outcome.evidence_sha256,
            settings=env.settings,
            reason=options.reason,
        )
        ref = existing or env.tickets.open(content)
    env.journal.set_ticket(state.incident, ref.backend, ref.id, ref.url)
    outcome.ticket = {"backend": ref.backend, "id": ref.id, "url": ref.url}


def _copy_ticket(incident: Incident, outcome: AccountOutcome) -> None:
    if incident.ticket_id:
        outcome.ticket = {
            "backend": incident.ticket_backend,
            "id": incident.ticket_id,
            "url": incident.ticket_url,
        }


def evidence_parts(state: LockdownState) -> dict[str, Any]:
    return {
        "incident": state.incident,
        "account": state.account,
        "pre_state": state.pre_state,
        "mailbox": state.mailbox.to_dict(),
        "admin_filters": state.admin_filters,
        "sessions": state.sessions,
        "held_queue": state.held,
        "held_senders": state.held_senders,
        "findings": [f.to_dict() for f in state.findings],
        "baseline": state.baseline.captured_at if state.baseline else None,
    }
