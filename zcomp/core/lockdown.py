"""Lockdown: resolve, contain, snapshot, clean, verify, record, ticket — in that order.

Round trips after login (whatever the number of rules, signatures and identities):
  1 resolve   GetAccount (+ domains and MTAs, once per worker)
  2 contain   one BatchRequest: pre-state, lock + history, SetPassword, FlushCache, hold queued
              mail on every MTA, held-queue summary, sessions, admin filter scripts
  3 snapshot  one user-side BatchRequest: filter rules in/out, signatures, identities, prefs
  4 clean     one user-side BatchRequest: the writes, then their read-back
  5 account   one BatchRequest: forwarding/auto-reply/notes, FlushCache, read-back
A second run on a contained account reads (1 and 3), finds nothing to do and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from zcomp.core import findings as F
from zcomp.core.classify import classify_account
from zcomp.core.environment import Environment
from zcomp.core.evidence import build_bundle, write_bundle
from zcomp.core.findings import Finding
from zcomp.core.notes import add_marker, lock_marker
from zcomp.core.outcome import AccountOutcome, fault_error
from zcomp.core.passwords import random_password
from zcomp.core.protect import protection_reason
from zcomp.core.snapshot import Baseline, MailboxState, mailbox_reads
from zcomp.core.ticketing import lockdown_ticket
from zcomp.zimbra.errors import NOT_RUN, ZimbraError, ZimbraFault
from zcomp.zimbra.model import Account, FilterRule, Signature
from zcomp.zimbra.requests import (
    AdminGetFilterRules,
    DeleteIdentity,
    DeleteSignature,
    FlushCache,
    GetAccount,
    GetFilterRules,
    GetIdentities,
    GetMailQueue,
    GetSessions,
    GetSignatures,
    MailQueueAction,
    ModifyAccount,
    ModifyFilterRules,
    ModifyIdentity,
    ModifySignature,
    Request,
    SetPassword,
)

HOLD_QUEUES = ("incoming", "active", "deferred")
PRE_STATE_ATTRS = (
    "zimbraAccountStatus",
    "zimbraAuthTokenValidityValue",
    "zimbraPasswordEnforceHistory",
    "zimbraPasswordMustChange",
    "zimbraNotes",
)


@dataclass
class LockdownOptions:
    reason: str = "phished account sending spam"
    dry_run: bool = False
    force: bool = False
    evidence_dir: str | None = None


@dataclass
class _State:
    """What one account's lockdown has learned so far."""

    account: Account
    incident_id: int | None = None
    pre_state: Account | None = None
    mailbox: MailboxState = field(default_factory=MailboxState)
    findings: list[Finding] = field(default_factory=list)
    baseline: Baseline | None = None
    held: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    admin_filters: dict[str, Any] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    marker: str = ""


def lockdown_account(env: Environment, name: str, options: LockdownOptions) -> AccountOutcome:
    outcome = AccountOutcome(account=name, result="failed")
    start = env.client.round_trips
    try:
        _run(env, name, options, outcome)
    except ZimbraFault as fault:
        outcome.result = "failed"
        outcome.error = fault_error(fault)
    except ZimbraError as exc:
        outcome.result = "failed"
        outcome.error = {
            "code": type(exc).__name__,
            "message": exc.message,
            "exit": int(exc.exit_code),
        }
    outcome.round_trips = env.client.round_trips - start
    return outcome


def _run(env: Environment, name: str, options: LockdownOptions, outcome: AccountOutcome) -> None:
    # 1 resolve ---------------------------------------------------------------------------
    env.event(name, "resolving")
    facts = env.facts_requests()
    results = env.client.batch([GetAccount(name, by="name", apply_cos=True), *facts])
    account = _raise_fault(results[0])
    env.absorb_facts(results[1:])
    outcome.account = account.name
    state = _State(account=account)

    why = protection_reason(account, env.settings.lockdown.protected, env.settings.admin)
    if why and not options.force:
        outcome.result = "skipped"
        outcome.error = {"code": "protected", "message": f"refused: {why} (use --force)", "exit": 1}
        return
    if why:
        outcome.warnings.append(f"--force: {why}")

    open_incident = None if options.dry_run else env.journal.open_incident(account.id)
    status = account.get("zimbraAccountStatus")
    if open_incident is not None and open_incident.state == "contained" and status == "locked":
        _verify_contained(env, state, open_incident, outcome)
        return

    baseline_row = env.journal.latest_baseline(account.id)
    if baseline_row is not None:
        state.baseline = Baseline.from_dict(baseline_row.data, _iso(baseline_row.captured_at))

    if options.dry_run:
        _dry_run(env, state, outcome)
        return

    # The incident is recorded before any change, so a killed run leaves a trace to resume.
    if open_incident is None:
        incident = env.journal.start_incident(
            account.id, account.name, reason=options.reason, operator=env.operator
        )
    else:
        incident = open_incident
        outcome.warnings.append(f"resuming incident {incident.id}")
    state.incident_id = incident.id
    outcome.incident = incident.id
    state.marker = lock_marker(incident.id, _now())

    # 2 contain -----------------------------------------------------------------------------
    env.event(account.name, "containing")
    _contain(env, state)
    # 3 snapshot ----------------------------------------------------------------------------
    env.event(account.name, "snapshot")
    state.mailbox = MailboxState.from_results(
        [_raise_fault(r) for r in env.client.batch(mailbox_reads(), as_account=account.id)]
    )
    state.findings = classify_account(
        account, state.mailbox, env.organisation, env.settings.policy, state.baseline
    )
    bundle = build_bundle(state_to_evidence(state, incident.id))
    sha = env.journal.store_evidence(incident.id, bundle)
    outcome.evidence_sha256 = sha
    if options.evidence_dir:
        outcome.evidence_path = str(
            write_bundle(bundle, sha, options.evidence_dir, account.name, incident.id)
        )
    # 4 clean mailbox settings, 5 account attributes -----------------------------------------
    env.event(account.name, "cleaning")
    _clean_mailbox(env, state)
    _clean_account(env, state)

    outcome.removed = [f for f in state.findings if f.remove]
    outcome.kept = [f for f in state.findings if not f.remove]
    outcome.held = sum(int(q.get("total", 0)) for q in state.held)
    if state.problems:
        env.journal.set_incident_state(incident.id, "failed")
        outcome.result = "failed"
        outcome.error = {"code": "verify", "message": "; ".join(state.problems), "exit": 1}
        return
    env.journal.set_incident_state(incident.id, "contained")
    # 7 ticket ------------------------------------------------------------------------------
    env.event(account.name, "ticket")
    content = lockdown_ticket(
        account=account,
        incident_id=incident.id,
        findings=state.findings,
        done=state.done,
        held=outcome.held,
        evidence_sha256=sha,
        settings=env.settings,
        reason=options.reason,
    )
    ref = env.tickets.open(content)
    env.journal.set_ticket(incident.id, ref.backend, ref.id, ref.url)
    outcome.ticket = {"backend": ref.backend, "id": ref.id, "url": ref.url}
    outcome.result = "contained"


# ---------------------------------------------------------------- step 2: containment


def _contain(env: Environment, state: _State) -> None:
    account = state.account
    history = max(
        env.settings.unlock.password_history,
        int(account.get("zimbraPasswordEnforceHistory") or 0),
    )
    lock: dict[str, str | list[str]] = {"zimbraAccountStatus": "locked"}
    if history > int(account.get("zimbraPasswordEnforceHistory") or 0):
        # Must precede SetPassword: only then does the phished password land in the history.
        lock["zimbraPasswordEnforceHistory"] = str(history)
    requests: list[Request[Any]] = [
        GetAccount(account.id, by="id", attrs=PRE_STATE_ATTRS),
        ModifyAccount(account.id, lock),
        SetPassword(account.id, random_password()),
        FlushCache(ids=(account.id,), all_servers=True),
    ]
    holds = [
        MailQueueAction(server=mta, queue=queue, op="hold", sender=account.name)
        for mta in env.mtas
        for queue in HOLD_QUEUES
    ]
    summaries = [GetMailQueue(server=mta, queue="hold", sender=account.name) for mta in env.mtas]
    evidence_reads: list[Request[Any]] = [
        GetSessions(type="soap"),
        GetSessions(type="imap"),
        *[
            AdminGetFilterRules(account.id, when=when, outgoing=outgoing)
            for when in ("before", "after")
            for outgoing in (False, True)
        ],
    ]
    results = env.client.batch([*requests, *holds, *summaries, *evidence_reads])
    pre, modified, password, flushed = results[:4]
    journal = env.journal
    incident = _incident(state)
    if isinstance(pre, Account):
        state.pre_state = pre
    before = {k: account.values(k) for k in lock}
    _check(
        state,
        "lock account",
        modified,
        lambda: journal.record_action(
            incident,
            step="contain",
            kind="account-status",
            target=account.name,
            before=before,
            after=lock,
            status="done",
        ),
    )
    _check(
        state,
        "set a random password",
        password,
        lambda: journal.record_action(
            incident,
            step="contain",
            kind="password",
            target=account.name,
            before="(phished password)",
            after="(random, not recorded)",
            status="done",
        ),
    )
    _check(
        state,
        "flush caches on all servers",
        flushed,
        lambda: journal.record_action(
            incident,
            step="contain",
            kind="flush-cache",
            target=account.name,
            before=None,
            after="allServers",
            status="done",
        ),
    )
    if not isinstance(modified, ZimbraFault) and modified is not NOT_RUN:
        state.done.append("locked the account (zimbraAccountStatus=locked)")
        if "zimbraPasswordEnforceHistory" in lock:
            state.done.append(f"raised password history to {history} entries")
    if not isinstance(password, ZimbraFault):
        state.done.append(
            "set a random password (never shown), which invalidates every existing login token"
        )
    if not isinstance(flushed, ZimbraFault):
        state.done.append("flushed the account cache on every mailbox server")

    offset = 4
    hold_results = results[offset : offset + len(holds)]
    offset += len(holds)
    hold_faults = [r for r in hold_results if isinstance(r, ZimbraFault)]
    if holds and len(hold_faults) == len(holds):
        state.problems.append(f"holding queued mail failed: {hold_faults[0].message}")
    summary_results = results[offset : offset + len(summaries)]
    offset += len(summaries)
    for summary in summary_results:
        if isinstance(summary, ZimbraFault) or summary is NOT_RUN:
            continue
        state.held.append(
            {
                "server": summary.server,
                "queue": summary.queue,
                "total": summary.total,
                "messages": [
                    {"id": m.id, "sender": m.sender, "recipients": len(m.recipients)}
                    for m in summary.messages
                ],
            }
        )
    held = sum(q["total"] for q in state.held)
    if holds and len(hold_faults) < len(holds):
        journal.record_action(
            incident,
            step="contain",
            kind="mail-queue-hold",
            target=account.name,
            before=None,
            after={"held": held, "mtas": env.mtas},
            status="done",
        )
        state.done.append(
            f"held {held} queued message(s) from {account.name} on {len(env.mtas)} MTA(s)"
        )
    soap_sessions, imap_sessions, *admin_filters = results[offset:]
    for sessions in (soap_sessions, imap_sessions):
        if isinstance(sessions, list):
            state.sessions += [
                {
                    "type": s.type,
                    "session": s.session_id[:8],
                    "created_ms": s.created_ms,
                    "accessed_ms": s.accessed_ms,
                }
                for s in sessions
                if s.account_id == account.id
            ]
    for (when, outgoing), rules in zip(
        [(w, o) for w in ("before", "after") for o in (False, True)], admin_filters, strict=False
    ):
        key = f"{'outgoing-' if outgoing else ''}{when}"
        if isinstance(rules, list):
            state.admin_filters[key] = [r.to_dict() for r in rules]
        elif isinstance(rules, ZimbraFault):
            state.admin_filters[key] = {"fault": rules.code}


def _check(state: _State, what: str, result: Any, record: Any) -> None:
    if isinstance(result, ZimbraFault):
        state.problems.append(f"{what} failed: {result.message}")
    elif result is NOT_RUN:
        state.problems.append(f"{what} was not run")
    else:
        record()


# ---------------------------------------------------------------- step 4: mailbox settings


def _clean_mailbox(env: Environment, state: _State) -> None:
    """Filters, signatures, identities: the writes and their read-back in one batch."""
    writes: list[Request[Any]] = []
    by_kind: dict[str, list[Finding]] = {}
    for f in state.findings:
        if f.remove:
            by_kind.setdefault(f.kind, []).append(f)
    kept_in = _kept_rules(state.mailbox.rules, by_kind.get(F.FILTER, []))
    kept_out = _kept_rules(state.mailbox.outgoing_rules, by_kind.get(F.OUTGOING_FILTER, []))
    if F.FILTER in by_kind:
        writes.append(ModifyFilterRules(tuple(kept_in)))
    if F.OUTGOING_FILTER in by_kind:
        writes.append(ModifyFilterRules(tuple(kept_out), outgoing=True))
    for f in by_kind.get(F.SIGNATURE, []):
        sig = Signature.from_dict(f.item)
        if f.replacement.get("restore"):
            writes.append(ModifySignature(Signature.from_dict(f.replacement["restore"])))
        else:
            writes.append(DeleteSignature(id=sig.id))
    for f in by_kind.get(F.IDENTITY, []):
        ident_id = f.item["id"]
        if f.replacement.get("delete"):
            writes.append(DeleteIdentity(id=ident_id))
        else:
            writes.append(ModifyIdentity(id=ident_id, attrs=f.replacement["attrs"]))
    if not writes:
        return
    reads: list[Request[Any]] = [
        GetFilterRules(),
        GetFilterRules(outgoing=True),
        GetSignatures(),
        GetIdentities(),
    ]
    results = env.client.batch([*writes, *reads], as_account=state.account.id)
    write_results, read_results = results[: len(writes)], results[len(writes) :]
    for request, result in zip(writes, write_results, strict=True):
        if isinstance(result, ZimbraFault):
            state.problems.append(f"{type(request).__name__} failed: {result.message}")
    rules_in, rules_out, signatures, identities = read_results
    _verify_rules(state, "incoming", rules_in, kept_in, by_kind.get(F.FILTER, []))
    _verify_rules(state, "outgoing", rules_out, kept_out, by_kind.get(F.OUTGOING_FILTER, []))
    _verify_signatures(state, signatures, by_kind.get(F.SIGNATURE, []))
    _verify_identities(state, identities, by_kind.get(F.IDENTITY, []))
    for f in by_kind.get(F.FILTER, []) + by_kind.get(F.OUTGOING_FILTER, []):
        _record_removal(env, state, f, after=None)
        state.done.append(f"removed {f.detail}")
    for f in by_kind.get(F.SIGNATURE, []) + by_kind.get(F.IDENTITY, []):
        restored = f.replacement.get("restore") or f.replacement.get("attrs")
        _record_removal(env, state, f, after=restored)
        verb = "deleted" if f.replacement.get("delete") else "repaired"
        state.done.append(f"{verb} {f.detail}")


def _kept_rules(rules: list[FilterRule], removed: list[Finding]) -> list[FilterRule]:
    removed_dicts = [f.item for f in removed]
    return [r for r in rules if r.to_dict() not in removed_dicts]


def _rule_shape(rule: FilterRule) -> dict[str, Any]:
    shape = rule.to_dict()
    shape.pop("name", None)  # Zimbra may name an unnamed rule on write-back
    return shape


def _verify_rules(
    state: _State, label: str, got: Any, kept: list[FilterRule], removed: list[Finding]
) -> None:
    if not removed:
        return
    if not isinstance(got, list):
        state.problems.append(f"could not read back {label} filter rules")
        return
    got_shapes = [_rule_shape(r) for r in got]
    if got_shapes != [_rule_shape(r) for r in kept]:
        state.problems.append(f"{label} filter rules read back differ from the cleaned list")
    names = [r.name for r in got]
    for f in removed:
        if f.item.get("name") and f.item["name"] in names:
            state.problems.append(f"{label} rule {f.item['name']!r} is still there")


def _verify_signatures(state: _State, got: Any, fixed: list[Finding]) -> None:
    if not fixed:
        return
    if not isinstance(got, list):
        state.problems.append("could not read back signatures")
        return
    by_id = {s.id: s for s in got}
    for f in fixed:
        sig_id = f.item.get("id")
        restore = f.replacement.get("restore")
        if restore is None and sig_id in by_id:
            state.problems.append(f"signature {f.key!r} is still there")
        elif restore is not None:
            now = by_id.get(sig_id)
            want = {k: v for k, v in restore["contents"].items() if v}
            if now is None or {k: v for k, v in now.contents.items() if v} != want:
                state.problems.append(f"signature {f.key!r} was not restored")


def _verify_identities(state: _State, got: Any, fixed: list[Finding]) -> None:
    if not fixed:
        return
    if not isinstance(got, list):
        state.problems.append("could not read back identities")
        return
    by_id = {i.id: i for i in got}
    for f in fixed:
        now = by_id.get(f.item["id"])
        if f.replacement.get("delete"):
            if now is not None:
                state.problems.append(f"identity {f.key!r} is still there")
            continue
        for attr, value in f.replacement["attrs"].items():
            have = now.get(attr) if now else None
            if (have or "") != value and not (value == "" and have is None):
                state.problems.append(f"identity {f.key!r}: {attr} is {have!r}, expected {value!r}")


# ---------------------------------------------------------------- step 5: account attributes


def _clean_account(env: Environment, state: _State) -> None:
    account = state.account
    changes: dict[str, str | list[str]] = {}
    fixes: list[Finding] = []
    for f in state.findings:
        if not f.remove:
            continue
        if f.kind in (F.FORWARDING, F.LOCAL_DELIVERY, F.AUTO_REPLY):
            changes[f.key] = f.replacement
            fixes.append(f)
        elif f.kind == F.ADMIN_FORWARDING:
            changes["-zimbraMailForwardingAddress"] = list(f.replacement)
            fixes.append(f)
    notes = add_marker(account.get("zimbraNotes") or "", state.marker)
    changes["zimbraNotes"] = notes
    verify_attrs = (*PRE_STATE_ATTRS, *[f.key for f in fixes])
    results = env.client.batch(
        [
            ModifyAccount(account.id, changes),
            FlushCache(ids=(account.id,), all_servers=True),
            GetAccount(account.id, by="id", attrs=verify_attrs),
        ]
    )
    modified, flushed, readback = results
    if isinstance(modified, ZimbraFault):
        state.problems.append(f"cleaning account attributes failed: {modified.message}")
    if isinstance(flushed, ZimbraFault):
        state.problems.append(f"flushing caches failed: {flushed.message}")
    if not isinstance(readback, Account):
        state.problems.append("could not read the account back")
        return
    _verify_account(state, readback, fixes)
    if not isinstance(modified, ZimbraFault):
        for f in fixes:
            _record_removal(env, state, f, after=f.replacement)
            state.done.append(f"removed {f.detail}")


def _verify_account(state: _State, now: Account, fixes: list[Finding]) -> None:
    if now.get("zimbraAccountStatus") != "locked":
        state.problems.append(f"account status is {now.get('zimbraAccountStatus')!r}, not locked")
    before_vv = int(
        (state.pre_state.get("zimbraAuthTokenValidityValue") if state.pre_state else None) or -1
    )
    after_vv = int(now.get("zimbraAuthTokenValidityValue") or -1)
    if after_vv == before_vv or after_vv < 0:
        state.problems.append(
            "zimbraAuthTokenValidityValue did not change: old tokens may still work"
        )
    if state.marker not in (now.get("zimbraNotes") or ""):
        state.problems.append("the zimbraNotes marker was not written")
    for f in fixes:
        if f.kind == F.ADMIN_FORWARDING:
            left = set(now.values(f.key)) & set(f.replacement)
            if left:
                state.problems.append(f"admin forwarding still has {sorted(left)}")
            continue
        value = now.get(f.key) or ""
        if value != (f.replacement or "") and not (f.replacement == "FALSE" and value == ""):
            state.problems.append(f"{f.key} is {value!r}, expected {f.replacement!r}")


def _record_removal(env: Environment, state: _State, f: Finding, *, after: Any) -> None:
    env.journal.record_action(
        _incident(state),
        step="clean",
        kind=f.kind,
        target=f.key,
        before=f.item,
        after=after,
        status="done",
        detail=f.reason,
    )


# ---------------------------------------------------------------- re-run and dry run


def _verify_contained(
    env: Environment, state: _State, incident: Any, outcome: AccountOutcome
) -> None:
    """Second run on a contained account: read, classify, change nothing."""
    account = state.account
    outcome.incident = incident.id
    results = env.client.batch(mailbox_reads(), as_account=account.id)
    state.mailbox = MailboxState.from_results([_raise_fault(r) for r in results])
    state.findings = classify_account(account, state.mailbox, env.organisation, env.settings.policy)
    outcome.kept = [f for f in state.findings if not f.remove]
    leftovers = [f for f in state.findings if f.remove]
    if incident.ticket_id:
        outcome.ticket = {
            "backend": incident.ticket_backend,
            "id": incident.ticket_id,
            "url": incident.ticket_url,
        }
    if leftovers:
        outcome.result = "failed"
        outcome.removed = []
        outcome.error = {
            "code": "verify",
            "message": "contained, but risky items are back: "
            + "; ".join(f.detail for f in leftovers)
            + " (run `zcomp inspect` and `zcomp lockdown --force`... or investigate)",
            "exit": 1,
        }
        return
    outcome.result = "already-contained"


def _dry_run(env: Environment, state: _State, outcome: AccountOutcome) -> None:
    account = state.account
    results = env.client.batch(mailbox_reads(), as_account=account.id)
    state.mailbox = MailboxState.from_results([_raise_fault(r) for r in results])
    state.findings = classify_account(
        account, state.mailbox, env.organisation, env.settings.policy, state.baseline
    )
    outcome.removed = [f for f in state.findings if f.remove]
    outcome.kept = [f for f in state.findings if not f.remove]
    plan = [
        f"lock {account.name} (zimbraAccountStatus=locked; "
        f"now {account.get('zimbraAccountStatus')})",
        "raise zimbraPasswordEnforceHistory to at least "
        f"{env.settings.unlock.password_history} so the phished password cannot be reused",
        "set a random password (never shown); this invalidates every existing login token",
        "flush the account cache on every mailbox server",
        f"hold mail queued by {account.name} on {len(env.mtas)} MTA(s): "
        f"{', '.join(env.mtas) or '-'}",
        "store an evidence bundle (attributes, filters, signatures, identities, prefs, sessions)",
    ]
    plan += [f"remove {f.detail}: {f.reason}" for f in outcome.removed]
    plan += [
        f"keep {f.detail}" + (f" (reported: {f.reason})" if f.risky else "") for f in outcome.kept
    ]
    plan += ["add a zcomp marker to zimbraNotes", f"file a ticket ({env.settings.tickets.backend})"]
    outcome.plan = plan
    outcome.result = "planned"


# ---------------------------------------------------------------- helpers


def _incident(state: _State) -> int:
    if state.incident_id is None:
        raise RuntimeError("no incident recorded yet")  # a programming error, not a user one
    return state.incident_id


def _raise_fault(result: Any) -> Any:
    if isinstance(result, ZimbraFault):
        raise result
    if result is NOT_RUN:
        raise ZimbraFault("service.FAILURE", "request was not run")
    return result


def state_to_evidence(state: _State, incident_id: int) -> dict[str, Any]:
    return {
        "incident": incident_id,
        "account": state.account,
        "pre_state": state.pre_state,
        "mailbox": state.mailbox.to_dict(),
        "admin_filters": state.admin_filters,
        "sessions": state.sessions,
        "held_queue": state.held,
        "findings": [f.to_dict() for f in state.findings],
        "baseline": state.baseline.captured_at if state.baseline else None,
    }


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
