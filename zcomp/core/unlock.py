"""Unlock: hand a contained account back to its owner, safely and on the record.

Round trips after login:
  1 resolve    GetAccount (+ domains and MTAs, once per worker)
  2 re-check   one user-side BatchRequest: filters, signatures, identities, prefs (classified
               exactly as lockdown does; anything lockdown would remove blocks the unlock)
  3 password   one BatchRequest (stop on error): SetPassword, then zimbraPasswordMustChange=TRUE
               (SetPassword clears it). A policy violation Zimbra only reports stops here, with
               the account still locked.
  4 hand back  one BatchRequest (stop on error): status active + zimbraNotes marker, FlushCache
               on all servers, read-back, then the held queue: count, release/delete, count,
               for exactly the senders and MTAs lockdown journaled holding mail for.
Nothing before step 3 changes the account; a refusal leaves it exactly as it was. A generated
password is revealed only after step 3 succeeded, and a --force override is journaled only then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from zcomp.core.classify import classify_account
from zcomp.core.environment import Environment
from zcomp.core.notes import add_marker, unlock_marker
from zcomp.core.outcome import AccountOutcome
from zcomp.core.passwords import random_password
from zcomp.core.replies import must, problem, record_error, refuse, succeeded
from zcomp.core.snapshot import load_baseline, read_mailbox
from zcomp.journal import Incident, Journal
from zcomp.tickets import TicketError, TicketRef
from zcomp.zimbra.errors import ZimbraError
from zcomp.zimbra.model import Account, QueueSummary, Secret
from zcomp.zimbra.requests import (
    FlushCache,
    GetAccount,
    GetMailQueue,
    MailQueueAction,
    ModifyAccount,
    Request,
    SetPassword,
)

HELD_CHOICES = ("keep", "release", "delete")
READBACK_ATTRS = (
    "zimbraAccountStatus",
    "zimbraPasswordMustChange",
    "zimbraAuthTokenValidityValue",
    "zimbraPasswordEnforceHistory",
    "zimbraNotes",
)


def _no_reveal(account: str, password: Secret) -> None:
    return None


@dataclass
class UnlockOptions:
    """How to unlock. `new_password(account)` is asked only once every check has passed."""

    new_password: Callable[[str], Secret] | None = None
    generate: bool = False
    # Shows a generated password once (terminal only); never called for a typed one.
    reveal: Callable[[str, Secret], None] = _no_reveal
    held: str = "keep"  # keep | release | delete
    force: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class HeldTargets:
    """The senders and MTAs lockdown journaled holding mail for (kind "mail-queue-hold")."""

    mtas: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(m, s) for m in self.mtas for s in self.senders]


def _held_query(mta: str, targets: HeldTargets) -> GetMailQueue:
    return GetMailQueue(server=mta, queue="hold", senders=targets.senders, limit=1000)


def held_targets(journal: Journal, incident_id: int, account_name: str) -> HeldTargets:
    """Exactly what lockdown held; incidents journaled before "senders" existed held mail
    from the account name only. No journaled hold: nothing to release or delete."""
    mtas: list[str] = []
    senders: list[str] = []
    for action in journal.actions(incident_id):
        if action.kind != "mail-queue-hold" or action.status != "done":
            continue
        after = action.after if isinstance(action.after, dict) else {}
        for mta in after.get("mtas") or []:
            if mta not in mtas:
                mtas.append(str(mta))
        for sender in after.get("senders") or [account_name]:
            if str(sender).lower() not in (s.lower() for s in senders):
                senders.append(str(sender))
    return HeldTargets(tuple(mtas), tuple(senders))


@dataclass
class _State:
    account: Account
    incident: Incident
    held: HeldTargets = field(default_factory=HeldTargets)
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    marker: str = ""
    active: bool = False  # zimbraAccountStatus=active was written


def unlock_account(env: Environment, name: str, options: UnlockOptions) -> AccountOutcome:
    if options.held not in HELD_CHOICES:
        raise ValueError(f"held must be one of {HELD_CHOICES}")
    outcome = AccountOutcome(account=name, result="failed")
    start = env.client.round_trips
    try:
        _run(env, name, options, outcome)
    except ZimbraError as exc:
        record_error(outcome, exc)
    outcome.round_trips = env.client.round_trips - start
    return outcome


def _run(env: Environment, name: str, options: UnlockOptions, outcome: AccountOutcome) -> None:
    # 1 resolve -------------------------------------------------------------------------------
    env.event(name, "resolving")
    results = env.client.batch([GetAccount(name, by="name", apply_cos=True), *env.facts_requests()])
    account: Account = must(results[0])
    env.absorb_facts(results[1:])
    outcome.account = account.name

    incident = env.journal.open_incident(account.id)
    if incident is None:
        refuse(
            outcome,
            "no-incident",
            f"{account.name} has no open incident in the journal: zcomp only unlocks accounts "
            f"it locked down (see `zcomp history {account.name}`)",
        )
        return
    outcome.incident = incident.id
    if not _old_enough(env, account, incident, options, outcome):
        return
    status = account.get("zimbraAccountStatus")
    if status == "closed":
        refuse(
            outcome,
            "closed",
            f"{account.name} is closed (someone closed it after the lockdown); "
            "zcomp will not reopen a closed account",
        )
        return
    if status != "locked":
        outcome.warnings.append(f"status is {status!r}, not 'locked' (changed by hand?)")
    if incident.state != "contained":
        outcome.warnings.append(
            f"incident {incident.id} is {incident.state!r}, not 'contained': the lockdown did "
            "not finish cleanly; the re-check below decides"
        )

    # 2 re-check (read only) -----------------------------------------------------------------
    env.event(account.name, "re-checking")
    if not _nothing_came_back(env, account, incident, outcome):
        return

    state = _State(
        account=account,
        incident=incident,
        held=held_targets(env.journal, incident.id, account.name),
    )
    if options.dry_run:
        _dry_run(env, state, options, outcome)
        return

    # 3 password -----------------------------------------------------------------------------
    password = _new_password(account, options)
    if password is None:
        refuse(outcome, "password", "no new password given (empty); nothing was changed")
        return
    env.event(account.name, "setting the new password")
    if not _set_password(env, state, password, options, outcome):
        _fail(outcome, state, "the incident stays open")
        return
    # Journaled only now: an override that did not lead to a new password unlocked nothing.
    _record_force(env, state, outcome)
    if options.generate:
        # Only a password that is set, accepted by the policy and must be changed is shown.
        options.reveal(account.name, password)

    # 4 hand back ----------------------------------------------------------------------------
    env.event(account.name, "unlocking")
    _hand_back(env, state, options, outcome)
    if state.problems:
        where = (
            "the account is active with the new password"
            if state.active
            else "the account is still locked, with the new password"
        )
        _fail(outcome, state, f"{where}; the incident stays open")
        return
    env.journal.close_incident(incident.id, how="unlocked")
    state.done.append(f"closed incident {incident.id}")
    _update_ticket(env, state, outcome)
    outcome.result = "unlocked"
    outcome.extra["done"] = state.done


# ---------------------------------------------------------------- refusals


def _old_enough(
    env: Environment,
    account: Account,
    incident: Incident,
    options: UnlockOptions,
    outcome: AccountOutcome,
) -> bool:
    minimum = env.settings.unlock.min_locked_minutes
    minutes = (datetime.now(timezone.utc) - incident.started_at).total_seconds() / 60
    outcome.extra["locked_minutes"] = round(minutes, 1)
    if minutes >= minimum:
        return True
    if not options.force:
        refuse(
            outcome,
            "too-soon",
            f"{account.name} was locked {minutes:.0f} minute(s) ago; the minimum is {minimum} "
            "([unlock] min_locked_minutes): spammers come back to accounts unlocked early. "
            "Wait, or use --force (journaled)",
        )
        return False
    outcome.extra["forced"] = True
    outcome.warnings.append(
        f"--force: locked only {minutes:.0f} minute(s) ago (minimum {minimum}); journaled"
    )
    return True


def _nothing_came_back(
    env: Environment, account: Account, incident: Incident, outcome: AccountOutcome
) -> bool:
    """Classify as lockdown does; anything lockdown would remove blocks the unlock."""
    mailbox = read_mailbox(env.client, account.id)
    baseline = load_baseline(env.journal, account.id, before=incident.started_at)
    findings = classify_account(account, mailbox, env.organisation, env.settings.policy, baseline)
    outcome.kept = findings
    back = [f for f in findings if f.remove]
    for f in findings:
        if f.risky and not f.remove:
            outcome.warnings.append(f"{f.detail}: {f.reason} ({f.verdict}, kept by policy)")
    if not back:
        return True
    refuse(
        outcome,
        "risky",
        "refusing to unlock: risky settings are back: "
        + "; ".join(f"{f.detail} ({f.reason})" for f in back)
        + f". Nothing was changed; investigate with `zcomp inspect {account.name}`",
    )
    return False


def _new_password(account: Account, options: UnlockOptions) -> Secret | None:
    if options.generate:
        return random_password()
    if options.new_password is None:
        raise ValueError("UnlockOptions needs new_password or generate=True")
    password = options.new_password(account.name)
    return password if password.reveal() else None


# ---------------------------------------------------------------- step 3: the password


def _set_password(
    env: Environment,
    state: _State,
    password: Secret,
    options: UnlockOptions,
    outcome: AccountOutcome,
) -> bool:
    """SetPassword, then zimbraPasswordMustChange=TRUE. False (with a problem saying exactly
    what state the account is left in) unless both worked and the policy accepts the password.
    The account stays locked whatever happens here."""
    account = state.account
    set_pw, must_change = env.client.batch(
        [
            SetPassword(account.id, password),
            # After SetPassword, which clears it.
            ModifyAccount(account.id, {"zimbraPasswordMustChange": "TRUE"}),
        ],
        stop_on_error=True,
    )
    hidden = " The generated password was not shown." if options.generate else ""
    if (why := problem("setting the new password", set_pw)) is not None:
        state.problems.append(
            f"{why}. The account is unchanged: still locked, with lockdown's random password."
        )
        return False
    forced = " (under --force)" if outcome.extra.get("forced") else ""
    env.journal.record_action(
        state.incident.id,
        step="unlock",
        kind="password",
        target=account.name,
        before="(random, set by lockdown)",
        after="(new temporary password, not recorded)",
        status="done",
        detail=f"SetPassword{forced}" + (f"; policy: {set_pw.message}" if set_pw.message else ""),
    )
    outcome.extra["password"] = "generated" if options.generate else "given"
    must_change_set = succeeded(must_change)
    if must_change_set:
        env.journal.record_action(
            state.incident.id,
            step="unlock",
            kind="password-must-change",
            target=account.name,
            before=None,
            after={"zimbraPasswordMustChange": "TRUE"},
            status="done",
        )
    if set_pw.message:
        # A full admin's SetPassword bypasses the policy (history included) and only reports
        # the violation: a temporary password that breaks it (or equals the phished one) must
        # not go live, so the account stays locked.
        state.problems.append(
            f"the new password breaks the password policy ({set_pw.message}). Zimbra set it "
            "anyway (an admin's SetPassword is not policy-checked), so every old login token is "
            "invalid, but the account is still locked"
            + (", with zimbraPasswordMustChange=TRUE" if must_change_set else "")
            + ". Run unlock again with a password the policy accepts."
            + hidden
        )
        return False
    if (why := problem("setting zimbraPasswordMustChange=TRUE", must_change)) is not None:
        state.problems.append(
            f"{why}. The new password is set (every old login token is invalid), but the "
            "account is still locked and the owner would not be made to change it. Run unlock "
            "again." + hidden
        )
        return False
    state.done.append("set a new temporary password (every existing login token is now invalid)")
    state.done.append("the owner must choose a new password at the next login")
    return True


def _record_force(env: Environment, state: _State, outcome: AccountOutcome) -> None:
    if not outcome.extra.get("forced"):
        return
    env.journal.record_action(
        state.incident.id,
        step="unlock",
        kind="force",
        target=state.account.name,
        before={"locked_minutes": outcome.extra["locked_minutes"]},
        after={"min_locked_minutes": env.settings.unlock.min_locked_minutes},
        status="done",
        detail="--force: new password set before the configured minimum locked time",
    )
    state.done.append(
        f"--force: unlocked after {outcome.extra['locked_minutes']} minute(s) "
        f"(minimum {env.settings.unlock.min_locked_minutes})"
    )


# ---------------------------------------------------------------- step 4: hand back


def _hand_back(
    env: Environment, state: _State, options: UnlockOptions, outcome: AccountOutcome
) -> None:
    account = state.account
    state.marker = unlock_marker(state.incident.id, datetime.now(timezone.utc))
    notes = add_marker(account.get("zimbraNotes") or "", state.marker)
    handback: dict[str, str | list[str]] = {"zimbraAccountStatus": "active"}
    if notes is None:
        outcome.warnings.append("zimbraNotes is full (1024 characters): the zcomp line was kept")
        state.marker = ""  # nothing to verify
    else:
        handback["zimbraNotes"] = notes
    targets = state.held
    # One query per MTA matches every sender (Zimbra ORs the matches of a field).
    before = [_held_query(m, targets) for m in targets.mtas if targets.senders]
    actions: list[Request[Any]] = []
    after: list[Request[Any]] = []
    if options.held != "keep":
        op: Literal["release", "delete"] = "release" if options.held == "release" else "delete"
        actions = [
            MailQueueAction(server=m, queue="hold", op=op, senders=targets.senders)
            for m in targets.mtas
            if targets.senders
        ]
        after = [_held_query(m, targets) for m in targets.mtas if targets.senders]
    requests: list[Request[Any]] = [
        ModifyAccount(account.id, handback),
        FlushCache(ids=(account.id,), all_servers=True),
        GetAccount(account.id, by="id", attrs=READBACK_ATTRS),
        *before,
        *actions,
        *after,
    ]
    # Stop on error: the queue is touched only once the account is really active.
    results = env.client.batch(requests, stop_on_error=True)
    modified, flushed, readback = results[:3]
    rest = results[3:]
    held_before = rest[: len(before)]
    action_results = rest[len(before) : len(before) + len(actions)]
    held_after = rest[len(before) + len(actions) :]

    if (why := problem("setting zimbraAccountStatus=active", modified)) is not None:
        state.problems.append(why)
        return
    env.journal.record_action(
        state.incident.id,
        step="unlock",
        kind="account-status",
        target=account.name,
        before={"zimbraAccountStatus": account.get("zimbraAccountStatus")},
        after={"zimbraAccountStatus": "active"},
        status="done",
    )
    state.active = True
    state.done.append("set zimbraAccountStatus=active")
    if (why := problem("flushing the account cache", flushed)) is not None:
        state.problems.append(why)
    else:
        env.journal.record_action(
            state.incident.id,
            step="unlock",
            kind="flush-cache",
            target=account.name,
            before=None,
            after="allServers",
            status="done",
        )
        state.done.append("flushed the account cache on every mailbox server")
    if isinstance(readback, Account):
        _verify(state, readback)
    else:
        state.problems.append(problem("reading the account back", readback) or "no read-back")
    _held_mail(env, state, options, outcome, held_before, action_results, held_after)


def _verify(state: _State, now: Account) -> None:
    account = state.account
    if now.get("zimbraAccountStatus") != "active":
        state.problems.append(f"status reads back as {now.get('zimbraAccountStatus')!r}")
    if (now.get("zimbraPasswordMustChange") or "").upper() != "TRUE":
        state.problems.append("zimbraPasswordMustChange does not read back as TRUE")
    vv_before = int(account.get("zimbraAuthTokenValidityValue") or -1)
    vv_now = int(now.get("zimbraAuthTokenValidityValue") or -1)
    if vv_now < 0 or vv_now == vv_before:
        state.problems.append("zimbraAuthTokenValidityValue did not change: old tokens may work")
    history_before = int(account.get("zimbraPasswordEnforceHistory") or 0)
    if int(now.get("zimbraPasswordEnforceHistory") or 0) < history_before:
        state.problems.append("zimbraPasswordEnforceHistory was lowered")
    if state.marker not in (now.get("zimbraNotes") or ""):
        state.problems.append("the zimbraNotes marker was not written")


def _held_total(results: list[Any]) -> int:
    return sum(r.total for r in results if isinstance(r, QueueSummary))


def _held_mail(
    env: Environment,
    state: _State,
    options: UnlockOptions,
    outcome: AccountOutcome,
    before: list[Any],
    actions: list[Any],
    after: list[Any],
) -> None:
    account = state.account
    targets = state.held
    held = _held_total(before)
    outcome.held = held
    outcome.extra["held_mail"] = options.held
    outcome.extra["held_senders"] = list(targets.senders)
    if not targets.pairs:
        state.done.append(f"lockdown held no mail for incident {state.incident.id}")
        return
    who = ", ".join(targets.senders)
    if options.held == "keep":
        if held:
            msg = f"{held} message(s) from {who} stay held on the MTA(s)"
            state.done.append(msg)
            outcome.warnings.append(
                msg + ": run again with --release-held or --delete-held, or use postsuper"
            )
        return
    failures = [w for w in (problem("mail queue action", r) for r in actions) if w]
    if failures:
        # The account is active already; the queue is secondary: report, do not fail.
        outcome.warnings += failures
    verb = "released" if options.held == "release" else "deleted"
    left = _held_total(after)
    if len(failures) < len(actions):
        env.journal.record_action(
            state.incident.id,
            step="unlock",
            kind=f"mail-queue-{options.held}",
            target=account.name,
            before={"held": held},
            after={"held": left, "mtas": targets.mtas, "senders": targets.senders},
            status="done",
        )
        state.done.append(
            f"{verb} {held - left} held message(s) from {who} on {len(targets.mtas)} MTA(s)"
        )
    if left:
        outcome.warnings.append(
            f"{left} message(s) still held after the {options.held} (the MTA may need a moment)"
        )


# ---------------------------------------------------------------- ticket, failure, dry run


def _update_ticket(env: Environment, state: _State, outcome: AccountOutcome) -> None:
    incident = state.incident
    try:
        ref = env.tickets.find(incident.id)
        if ref is None and incident.ticket_id and incident.ticket_backend == env.tickets.name:
            ref = TicketRef(incident.ticket_backend, incident.ticket_id, incident.ticket_url)
        if ref is None:
            outcome.warnings.append(f"no ticket found for incident {incident.id}")
            return
        outcome.ticket = {"backend": ref.backend, "id": ref.id, "url": ref.url}
        text = "Unlocked by zcomp ({}):\n{}".format(
            env.operator, "\n".join(f"- {line}" for line in state.done)
        )
        env.tickets.comment(ref, text)
        closing = (
            f"Incident {incident.id} closed: {state.account.name} is active again with a "
            "temporary password the owner must change at the next login."
        )
        if not env.tickets.resolve(ref, closing):
            outcome.warnings.append(
                f"the {ref.backend} backend cannot resolve tickets: resolve {ref.id} by hand"
            )
        else:
            outcome.extra["ticket_resolved"] = True
    except TicketError as exc:
        outcome.warnings.append(f"ticket not updated: {exc.message}")


def _fail(outcome: AccountOutcome, state: _State, consequence: str) -> None:
    outcome.result = "failed"
    outcome.extra["done"] = state.done
    outcome.error = {
        "code": "unlock",
        "message": "; ".join(p.rstrip(".") for p in state.problems) + f" ({consequence})",
        "exit": 1,
    }


def _dry_run(
    env: Environment, state: _State, options: UnlockOptions, outcome: AccountOutcome
) -> None:
    account = state.account
    targets = state.held
    held = 0
    if targets.pairs:
        summaries = env.client.batch([_held_query(m, targets) for m in targets.mtas])
        held = _held_total([s for s in summaries if succeeded(s)])
    outcome.held = held
    who = ", ".join(targets.senders)
    how = "generated, shown once" if options.generate else "as given"
    held_step = {
        "keep": f"leave {held} held message(s) from {who} on hold",
        "release": f"release {held} held message(s) from {who} for delivery",
        "delete": f"delete {held} held message(s) from {who}",
    }[options.held]
    if not targets.pairs:
        held_step = "lockdown held no mail: nothing to release or delete"
    outcome.plan = [
        "re-check done: nothing lockdown would remove is back",
        f"set a new temporary password ({how}); this invalidates every existing login token",
        "then set zimbraPasswordMustChange=TRUE (SetPassword clears it)",
        f"set zimbraAccountStatus=active (now {account.get('zimbraAccountStatus')})",
        "flush the account cache on every mailbox server",
        f"{held_step} on {len(targets.mtas)} MTA(s)" if targets.pairs else held_step,
        "update the zcomp marker in zimbraNotes",
        f"close incident {state.incident.id}; comment on and resolve its ticket",
    ]
    if outcome.extra.get("forced"):
        outcome.plan.insert(
            0, "journal the --force override of the minimum locked time (once the password is set)"
        )
    outcome.result = "planned"
