"""Unlock: hand a contained account back to its owner, safely and on the record.

Round trips after login:
  1 resolve    GetAccount with its COS applied (+ domains and MTAs, once per worker); then the
               new password is asked for (typed, read from a file, or generated to fit the
               account's password policy), before anything else is sent
  2 re-check   one BatchRequest for the account: filters, signatures, identities, prefs
               (classified exactly as lockdown does; anything lockdown would remove blocks the
               unlock), and Zimbra's own check of the new password against the account's policy
               (CheckPasswordStrength): a password it refuses is refused here, nothing changed
  3 password   one BatchRequest (stop on error): SetPassword, then zimbraPasswordMustChange=TRUE
               (SetPassword clears it). A policy violation Zimbra only reports stops here, with
               the account still locked.
  4 hand back  one BatchRequest: status active + zimbraNotes marker, FlushCache on all servers,
               read-back
  5 held mail  one BatchRequest, once the account reads back active: count, release/delete,
               count, for exactly the senders and MTAs lockdown journaled holding mail for.
Every write goes through the change executor. Nothing before step 3 changes the account; a
refusal leaves it exactly as it was. A generated password is revealed only after step 3
succeeded, and a --force override is journaled only then. No password is ever journaled,
logged or put in an error: --debug masks it on the wire.

Resumable: killed at any step, the same command finishes it. The incident says how far it got
("unlocking": the new password is set and accepted, so it is not set again; the owner may
already have it); the ticket's comment and resolution are recorded as pending before the
incident is closed, so a closed incident with a pending ticket is finished by a re-run (or
`zcomp ticket retry`); `--release-held`/`--delete-held` on an account already unlocked deals
with the mail still held for its last incident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from zcomp.core.actor import Actor, Busy
from zcomp.core.change import Change, flush_change, password_set
from zcomp.core.classify import classify_account
from zcomp.core.contain import hold_senders
from zcomp.core.executor import Executor
from zcomp.core.notes import add_marker, lock_marker_of, unlock_marker
from zcomp.core.outcome import AccountOutcome, Failure, Result
from zcomp.core.passwords import PasswordPolicy, readable_password
from zcomp.core.replies import must, record_error, refuse, succeeded
from zcomp.core.services import Services
from zcomp.core.snapshot import MailboxState, load_baseline, mailbox_reads
from zcomp.core.stop import Stopped
from zcomp.core.ticketing import comment_op, file_pending
from zcomp.exitcodes import ExitCode, ZcompError
from zcomp.journal import CLOSED, CONTAINED, Incident, Journal, JournalError
from zcomp.tickets import TicketError
from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import Account, QueueSummary, Secret
from zcomp.zimbra.operations import (
    CheckPasswordStrength,
    GetAccount,
    GetMailQueue,
    MailQueueAction,
    ModifyAccount,
    SetPassword,
)
from zcomp.zimbra.redact import redact

HELD_CHOICES = ("keep", "release", "delete")
ADOPTED = "adopted from zimbraNotes:"
UNLOCKING = "unlocking"  # incident state: the new password is set, accepted and must be changed
SENDING = "sending"  # journal status of a SetPassword sent but not yet heard back
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
    """How to unlock. `new_password(account)` is asked only once the journal and the account
    allow the unlock, just before the re-check (which Zimbra's policy check of it joins)."""

    new_password: Callable[[str], Secret] | None = None
    generate: bool = False
    # Shows a generated password once (terminal only); never called for a typed one.
    reveal: Callable[[str, Secret], None] = _no_reveal
    held_mail: str = "keep"  # what to do with the mail lockdown held: keep | release | delete
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


def _hold_targets(services: Services, account: Account, incident: Incident) -> HeldTargets:
    """What lockdown held, from the journal; for an incident adopted from another journal,
    what a lockdown holds: the account's addresses as senders, on every MTA."""
    if incident.reason.startswith(ADOPTED):
        return HeldTargets(tuple(services.mtas), tuple(hold_senders(account)))
    return held_targets(services.journal, incident.id, account.name)


def _adopt(
    services: Services, account: Account, outcome: AccountOutcome, *, record: bool
) -> Incident | None:
    """A team's hand-off: the account was contained by a zcomp with another journal (a
    colleague, another host), as its zimbraNotes line says. The incident is taken into this
    journal under the same key, so the unlock is journaled here and comments on and resolves
    the same ticket (found on the shared help desk by that key)."""
    marker = lock_marker_of(account.get("zimbraNotes") or "")
    if (
        marker is None
        or account.get("zimbraAccountStatus") != "locked"
        or not marker.incident.upper().startswith("INC-")  # a journal number: not shareable
    ):
        return None
    try:
        services.journal.incident(marker.incident)
        return None  # this journal had it, and closed it: not a hand-off
    except JournalError:
        pass
    try:
        started = datetime.strptime(marker.at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        started = datetime.now(timezone.utc)
    who = marker.by or "a zcomp with another journal"
    reason = f"{ADOPTED} contained by {who} at {marker.at}"
    if not record:  # a dry run plans with it and records nothing (0: no journal row)
        outcome.warnings.append(
            f"incident {marker.incident} was opened by {who} (per zimbraNotes): the unlock "
            "would take it into this journal"
        )
        return Incident(
            0,
            account.id,
            account.name,
            CONTAINED,
            reason,
            services.operator,
            started,
            key=marker.incident,
        )
    incident = services.journal.start_incident(
        account.id,
        account.name,
        reason=reason,
        operator=services.operator,
        started_at=started,
        key=marker.incident,
        state=CONTAINED,
    )
    outcome.warnings.append(
        f"incident {incident.key} was opened by {who} (per zimbraNotes): taken into this "
        "journal; its evidence stays in theirs"
    )
    return incident


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
    executor: Executor
    hold_targets: HeldTargets = field(default_factory=HeldTargets)
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    marker: str = ""
    active: bool = False  # zimbraAccountStatus=active reads back
    resumed: bool = False  # the new password was set by an earlier, interrupted run


def unlock_account(services: Services, name: str, options: UnlockOptions) -> AccountOutcome:
    if options.held_mail not in HELD_CHOICES:
        raise ValueError(f"held must be one of {HELD_CHOICES}")
    outcome = AccountOutcome(account=name, result=Result.FAILED)
    start = services.client.round_trips
    actor = Actor(services)
    try:
        _run(services, actor, name, options, outcome)
    except Busy as exc:
        outcome.result = Result.BUSY
        outcome.error = Failure("busy", exc.message, ExitCode.BUSY)
    except Stopped as exc:
        if outcome.extra.get("done"):
            outcome.result = Result.STOPPED
            outcome.error = Failure(
                "stopped",
                f"by {exc.why} before {exc.step}: run the same command again",
                ExitCode.INTERRUPTED,
            )
        else:  # never touched: as an account the runner never started, no error
            outcome.result = Result.NOT_STARTED
    except ZcompError as exc:
        record_error(outcome, exc)
    finally:
        actor.release_local()
    outcome.round_trips = services.client.round_trips - start
    return outcome


def _run(
    services: Services, actor: Actor, name: str, options: UnlockOptions, outcome: AccountOutcome
) -> None:
    executor = Executor(services)
    # 1 resolve -------------------------------------------------------------------------------
    services.event(name, "resolving")
    results = executor.read(
        [GetAccount(name, by="name", apply_cos=True), *services.facts_requests()]
    )
    account: Account = must(results[0])
    services.absorb_facts(results[1:])
    outcome.account = account.name
    actor.take_local(account)

    incident = services.journal.open_incident(account.id)
    if incident is None:
        last = services.journal.latest_incident(account.id)
        if last is not None and last.state == CLOSED and _unfinished(last, options):
            _finish_closed(services, executor, account, last, options, outcome)
            return
        incident = _adopt(services, account, outcome, record=not options.dry_run)
        if incident is None:
            refuse(
                outcome,
                "no-incident",
                f"{account.name} has no open incident in the journal and no zcomp line in "
                "zimbraNotes: zcomp only unlocks accounts a zcomp locked down (see `zcomp "
                f"history {account.name}`)",
            )
            return
    outcome.incident = incident.key
    executor.incident = incident.id
    if not _old_enough(services, account, incident, options, outcome):
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
    landed = incident.state != UNLOCKING and _password_landed(services.journal, incident, account)
    resumed = incident.state == UNLOCKING or landed
    if status != "locked" and not resumed:
        outcome.warnings.append(f"status is {status!r}, not 'locked' (changed by hand?)")
    if incident.state not in ("contained", UNLOCKING):
        outcome.warnings.append(
            f"incident {incident.key} is {incident.state!r}, not 'contained': the lockdown did "
            "not finish cleanly; the re-check below decides"
        )

    # The new password comes before the re-check, so that Zimbra's policy check of it rides in
    # the re-check's round trip. Asked outside the changing section: Ctrl-C at the prompt ends
    # the run at once, with nothing changed.
    reuse = resumed and not options.generate
    password = None
    if not options.dry_run and not reuse:
        password = _new_password(account, options, outcome)
        if password is None:
            refuse(outcome, "password", "no new password given (empty); nothing was changed")
            return
        executor.budget.restart()  # the time at the prompt is not the retry budget's

    # 2 re-check and policy check (read only) ------------------------------------------------
    services.event(account.name, "re-checking")
    if not _recheck(services, executor, account, incident, password, options, outcome):
        return

    state = _State(
        account=account,
        incident=incident,
        executor=executor,
        hold_targets=_hold_targets(services, account, incident),
        resumed=reuse,
    )
    if options.dry_run:
        _dry_run(services, state, options, outcome)
        return

    with services.stop.changing_section():
        # 3 password -------------------------------------------------------------------------
        if password is None:
            state.done.append(
                "the new password was set by an earlier run of this unlock (not set again: "
                "the owner may already have it)"
            )
            # Idempotent, and SetPassword clears it: make sure, whatever the earlier run did.
            if not _must_change(state):
                _fail(outcome, state, "the incident stays open")
                return
            services.journal.set_incident_state(incident.id, UNLOCKING)
        else:
            services.event(account.name, "setting the new password")
            if not _set_password(services, state, password, options, outcome):
                _fail(outcome, state, "the incident stays open")
                return
            services.journal.set_incident_state(incident.id, UNLOCKING)
            # Journaled only now: an override that did not lead to a new password unlocked
            # nothing.
            _record_force(services, state, outcome)
            if options.generate:
                # Only a password that is set, accepted by the policy and must be changed is shown.
                options.reveal(account.name, password)
        outcome.extra["done"] = state.done

        # 4 hand back ------------------------------------------------------------------------
        services.stop.checkpoint("handing the account back")
        services.event(account.name, "unlocking")
        _hand_back(services, state, outcome)
        if state.active:
            _held_mail(services, state, options, outcome)
        if state.problems:
            where = (
                "the account is active with the new password"
                if state.active
                else "the account is still locked, with the new password"
            )
            _fail(outcome, state, f"{where}; the incident stays open")
            return
        # The ticket's comment and resolution are recorded before the incident is closed, so a
        # kill between the two leaves them for a re-run or `zcomp ticket retry`.
        services.journal.set_ticket_pending(incident.id, _ticket_op(services, state, incident))
        services.journal.close_incident(incident.id, how="unlocked")
        state.done.append(f"closed incident {incident.key}")
        _update_ticket(services, services.journal.incident(incident.id), outcome)
    outcome.result = _unlocked(outcome)
    outcome.extra["done"] = state.done


def _unlocked(outcome: AccountOutcome) -> Result:
    """Handed back; with a ticket still to comment on or resolve, said so (exit 7)."""
    return (
        Result.UNLOCKED_TICKET_PENDING if outcome.extra.get("ticket_pending") else Result.UNLOCKED
    )


def _unfinished(incident: Incident, options: UnlockOptions) -> bool:
    """A closed incident that this unlock can still finish: its ticket, or its held mail."""
    return incident.closed_how == "unlocked" and (
        incident.ticket_pending is not None or options.held_mail != "keep"
    )


def _finish_closed(
    services: Services,
    executor: Executor,
    account: Account,
    incident: Incident,
    options: UnlockOptions,
    outcome: AccountOutcome,
) -> None:
    """The account was unlocked already: finish what is left (the ticket, the held mail)."""
    outcome.incident = incident.key
    executor.incident = incident.id
    state = _State(
        account=account,
        incident=incident,
        executor=executor,
        hold_targets=_hold_targets(services, account, incident),
        active=account.get("zimbraAccountStatus") == "active",
    )
    outcome.warnings.append(f"already unlocked (incident {incident.key} is closed): finishing it")
    if options.held_mail != "keep" and not state.active:
        # Locked again since (by hand or another zcomp): its held mail is that lockdown's.
        refuse(
            outcome,
            "not-active",
            f"{account.name} is {account.get('zimbraAccountStatus')}, not active: its held mail "
            "is not released or deleted",
        )
        return
    if options.held_mail != "keep" and not options.dry_run:
        with services.stop.changing_section():
            _held_mail(services, state, options, outcome)
    if incident.ticket_pending is not None and not options.dry_run:
        _update_ticket(services, incident, outcome)
    outcome.result = Result.PLANNED if options.dry_run else _unlocked(outcome)
    outcome.extra["done"] = state.done


def _old_enough(
    services: Services,
    account: Account,
    incident: Incident,
    options: UnlockOptions,
    outcome: AccountOutcome,
) -> bool:
    minimum = services.settings.unlock.min_locked_minutes
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


def _recheck(
    services: Services,
    executor: Executor,
    account: Account,
    incident: Incident,
    password: Secret | None,
    options: UnlockOptions,
    outcome: AccountOutcome,
) -> bool:
    """Classify as lockdown does (anything lockdown would remove blocks the unlock), and have
    Zimbra check the new password against the account's policy, in one round trip."""
    # An admin request may share the batch: the <account> header only targets user requests.
    checks = [] if password is None else [CheckPasswordStrength(account.id, password)]
    results = executor.read(
        [*mailbox_reads(network=services.network), *checks], as_account=account.id
    )
    reads, checked = results[: len(results) - len(checks)], results[len(results) - len(checks) :]
    mailbox = MailboxState.from_results(reads)
    baseline = load_baseline(services.journal, account.id, before=incident.started_at)
    findings = classify_account(
        account, mailbox, services.organisation, services.settings.policy, baseline
    )
    outcome.kept = findings
    back = [f for f in findings if f.remove]
    for f in findings:
        if f.risky and not f.remove:
            outcome.warnings.append(f"{f.detail}: {f.reason} ({f.verdict}, kept by policy)")
    if back:
        refuse(
            outcome,
            "risky",
            "refusing to unlock: risky settings are back: "
            + "; ".join(f"{f.detail} ({f.reason})" for f in back)
            + f". Nothing was changed; investigate with `zcomp inspect {account.name}`",
        )
        return False
    return all(_policy_accepts(account, result, options, outcome) for result in checked)


def _policy_accepts(
    account: Account, result: Any, options: UnlockOptions, outcome: AccountOutcome
) -> bool:
    """CheckPasswordStrength's answer. Any refusal, or no answer, stops the unlock before
    anything changes (SetPassword by a full admin would set a bad password anyway)."""
    if succeeded(result):
        return True
    what = "the generated password" if options.generate else "the new password"
    unchanged = "Nothing was changed: the account is still locked"
    if isinstance(result, ZimbraFault) and result.code == "account.INVALID_PASSWORD":
        # redact: Zimbra's reason may quote a refused character of the password.
        refuse(
            outcome,
            "password-policy",
            f"{account.name}'s password policy refuses {what}: {redact(result.reason)} "
            f"(policy: {PasswordPolicy.of(account).describe()}). {unchanged}; run unlock again "
            "with a password that fits",
        )
        return False
    why = (
        f"{result.code}: {redact(result.reason)}"
        if isinstance(result, ZimbraFault)
        else "no answer"
    )
    refuse(
        outcome,
        "password-check",
        f"could not check {what} against {account.name}'s password policy ({why}). {unchanged}",
    )
    return False


def _new_password(
    account: Account, options: UnlockOptions, outcome: AccountOutcome
) -> Secret | None:
    if options.generate:
        made = readable_password(PasswordPolicy.of(account))
        outcome.extra["password_style"] = str(made.style)
        if made.note:
            outcome.warnings.append(f"generated random characters, not words: {made.note}")
        return made.secret
    if options.new_password is None:
        raise ValueError("UnlockOptions needs new_password or generate=True")
    password = options.new_password(account.name)
    return password if password.reveal() else None


# ---------------------------------------------------------------- step 3: the password


def _set_password(
    services: Services,
    state: _State,
    password: Secret,
    options: UnlockOptions,
    outcome: AccountOutcome,
) -> bool:
    """SetPassword, then zimbraPasswordMustChange=TRUE. False (with a problem saying exactly
    what state the account is left in) unless both worked and the policy accepts the password.
    The account stays locked whatever happens here."""
    account = state.account
    read = GetAccount(account.id, by="id", attrs=READBACK_ATTRS)
    validity = account.get("zimbraAuthTokenValidityValue")
    forced = " (under --force)" if outcome.extra.get("forced") else ""
    set_pw = Change(
        request=SetPassword(account.id, password),
        repeatable=False,  # the owner may already have been told this one
        step="unlock",
        kind="password",
        target=account.name,
        before="(random, set by lockdown)",
        after="(new temporary password, not recorded)",
        plan="set the new temporary password",
        done="set a new temporary password (every existing login token is now invalid)",
        detail=f"SetPassword{forced}",
        read=read,
        # SetPassword raises the validity value: that it moved says the password was set.
        check=password_set(validity),
    )
    must_change = _must_change_change(account, read)
    # Journaled before it is sent: a run killed before hearing back finds out from this, and
    # the validity value, whether the password landed (and then does not set it again).
    services.journal.record_action(
        state.incident.id,
        step="unlock",
        kind="password",
        target=account.name,
        before={"zimbraAuthTokenValidityValue": validity},
        after=None,
        status=SENDING,
        detail="SetPassword sent",
    )
    # In order: SetPassword clears zimbraPasswordMustChange.
    applied = state.executor.apply([set_pw, must_change], ordered=True)
    pw, mc = applied.applied
    hidden = " The generated password was not shown." if options.generate else ""
    if not pw.ok:
        state.problems.append(
            f"{pw.problem}. The account is unchanged: still locked, with lockdown's random "
            "password."
        )
        return False
    outcome.extra["password"] = "generated" if options.generate else "given"
    message = getattr(pw.reply, "message", None)
    if message:
        # A full admin's SetPassword bypasses the policy (history included) and only reports
        # the violation: a temporary password that breaks it (or equals the phished one) must
        # not go live, so the account stays locked.
        state.problems.append(
            f"the new password breaks the password policy ({message}). Zimbra set it "
            "anyway (an admin's SetPassword is not policy-checked), so every old login token is "
            "invalid, but the account is still locked"
            + (", with zimbraPasswordMustChange=TRUE" if mc.ok else "")
            + ". Run unlock again with a password the policy accepts."
            + hidden
        )
        return False
    if not mc.ok:
        state.problems.append(
            f"{mc.problem}. The new password is set (every old login token is invalid), but the "
            "account is still locked and the owner would not be made to change it. Run unlock "
            "again." + hidden
        )
        return False
    state.done += applied.done
    return True


def _must_change_change(account: Account, read: GetAccount) -> Change:
    return Change(
        request=ModifyAccount(account.id, {"zimbraPasswordMustChange": "TRUE"}),
        step="unlock",
        kind="password-must-change",
        target=account.name,
        before=None,
        after={"zimbraPasswordMustChange": "TRUE"},
        plan="set zimbraPasswordMustChange=TRUE",
        done="the owner must choose a new password at the next login",
        read=read,
        check=lambda got: (
            None if (got.get("zimbraPasswordMustChange") or "").upper() == "TRUE" else "unset"
        ),
    )


def _must_change(state: _State) -> bool:
    """After a password that landed unheard: make sure the owner must change it."""
    read = GetAccount(state.account.id, by="id", attrs=READBACK_ATTRS)
    applied = state.executor.apply([_must_change_change(state.account, read)])
    state.done += applied.done
    state.problems += applied.problems
    return applied.ok


def _password_landed(journal: Journal, incident: Incident, account: Account) -> bool:
    """Did a SetPassword an interrupted run sent (journaled as sending, never heard back) land?
    Yes when the validity value moved since: SetPassword raises it."""
    sent = None
    for action in journal.actions(incident.id):
        if action.step == "unlock" and action.kind == "password":
            sent = action if action.status == SENDING else None
    if sent is None or not isinstance(sent.before, dict):
        return False
    before = sent.before.get("zimbraAuthTokenValidityValue")
    return account.get("zimbraAuthTokenValidityValue") not in (None, before)


def _record_force(services: Services, state: _State, outcome: AccountOutcome) -> None:
    if not outcome.extra.get("forced"):
        return
    services.journal.record_action(
        state.incident.id,
        step="unlock",
        kind="force",
        target=state.account.name,
        before={"locked_minutes": outcome.extra["locked_minutes"]},
        after={"min_locked_minutes": services.settings.unlock.min_locked_minutes},
        status="done",
        detail="--force: new password set before the configured minimum locked time",
    )
    state.done.append(
        f"--force: unlocked after {outcome.extra['locked_minutes']} minute(s) "
        f"(minimum {services.settings.unlock.min_locked_minutes})"
    )


# ---------------------------------------------------------------- step 4: hand back


def _hand_back(services: Services, state: _State, outcome: AccountOutcome) -> None:
    account = state.account
    state.marker = unlock_marker(state.incident.key, datetime.now(timezone.utc))
    notes = add_marker(account.get("zimbraNotes") or "", state.marker)
    handback: dict[str, str | list[str]] = {"zimbraAccountStatus": "active"}
    if notes is None:
        outcome.warnings.append("zimbraNotes is full (1024 characters): the zcomp line was kept")
        state.marker = ""  # nothing to verify
    else:
        handback["zimbraNotes"] = notes
    read = GetAccount(account.id, by="id", attrs=READBACK_ATTRS)
    changes = [
        Change(
            request=ModifyAccount(account.id, handback),
            step="unlock",
            kind="account-status",
            target=account.name,
            before={"zimbraAccountStatus": account.get("zimbraAccountStatus")},
            after={"zimbraAccountStatus": "active"},
            plan="set zimbraAccountStatus=active",
            done="set zimbraAccountStatus=active",
            read=read,
            check=lambda got: (
                None
                if got.get("zimbraAccountStatus") == "active"
                else f"status {got.get('zimbraAccountStatus')!r}"
            ),
        ),
        flush_change(account.id, account.name, step="unlock"),
    ]
    applied = state.executor.apply(changes, ordered=True, reads=[read])
    state.done += applied.done
    state.problems += applied.problems
    readback = applied.reads[0]
    if isinstance(readback, Account):
        state.active = readback.get("zimbraAccountStatus") == "active"
        _verify(state, readback)
    else:
        state.problems.append("could not read the account back")


def _verify(state: _State, now: Account) -> None:
    account = state.account
    if now.get("zimbraAccountStatus") != "active":
        state.problems.append(f"status reads back as {now.get('zimbraAccountStatus')!r}")
    if (now.get("zimbraPasswordMustChange") or "").upper() != "TRUE":
        state.problems.append("zimbraPasswordMustChange does not read back as TRUE")
    vv_before = int(account.get("zimbraAuthTokenValidityValue") or -1)
    vv_now = int(now.get("zimbraAuthTokenValidityValue") or -1)
    if vv_now < 0 or (vv_now == vv_before and not state.resumed):
        state.problems.append("zimbraAuthTokenValidityValue did not change: old tokens may work")
    history_before = int(account.get("zimbraPasswordEnforceHistory") or 0)
    if int(now.get("zimbraPasswordEnforceHistory") or 0) < history_before:
        state.problems.append("zimbraPasswordEnforceHistory was lowered")
    if state.marker not in (now.get("zimbraNotes") or ""):
        state.problems.append("the zimbraNotes marker was not written")


def _held_total(results: list[Any]) -> int:
    return sum(r.total for r in results if isinstance(r, QueueSummary))


def _held_mail(
    services: Services, state: _State, options: UnlockOptions, outcome: AccountOutcome
) -> None:
    """Count, release or delete, count: only once the account reads back active. The queue is
    secondary: trouble here is a warning, the account is handed back all the same."""
    targets = state.hold_targets
    outcome.extra["held_mail"] = options.held_mail
    outcome.extra["held_senders"] = list(targets.senders)
    if not targets.pairs:
        state.done.append(f"lockdown held no mail for incident {state.incident.key}")
        return
    who = ", ".join(targets.senders)
    count = [_held_query(m, targets) for m in targets.mtas]
    if options.held_mail == "keep":
        held = _held_total(state.executor.read(count))
        outcome.held_messages = held
        if held:
            msg = f"{held} message(s) from {who} stay held on the MTA(s)"
            state.done.append(msg)
            outcome.warnings.append(
                msg + ": run again with --release-held or --delete-held, or use postsuper"
            )
        return
    before = _held_total(state.executor.read(count))
    op: Literal["release", "delete"] = "release" if options.held_mail == "release" else "delete"
    verb = "released" if op == "release" else "deleted"
    actions = [
        Change(
            request=MailQueueAction(server=m, queue="hold", op=op, senders=targets.senders),
            step="unlock",
            kind=f"mail-queue-{op}",
            target=state.account.name,
            before={"held": before},
            after={"mtas": [m], "senders": list(targets.senders)},
            plan=f"{op} the held mail of {who} on {m}",
            done=f"{verb} the held mail of {who} on {m}",
        )
        for m in targets.mtas
    ]
    applied = state.executor.apply(actions, reads=count)
    left = _held_total(applied.reads)
    outcome.held_messages = before
    outcome.warnings += applied.problems
    if any(a.ok for a in applied.applied):
        state.done.append(
            f"{verb} {max(before - left, 0)} held message(s) from {who} on "
            f"{len(targets.mtas)} MTA(s)"
        )
    if left:
        outcome.warnings.append(
            f"{left} message(s) still held after the {op} (the MTA may need a moment)"
        )


# ---------------------------------------------------------------- ticket, failure, dry run


def _ticket_op(services: Services, state: _State, incident: Incident) -> dict[str, Any]:
    """Comment and resolve; a lockdown ticket still pending is filed first, whole."""
    text = "Unlocked by zcomp ({}):\n{}".format(
        services.operator, "\n".join(f"- {line}" for line in state.done)
    )
    closing = (
        f"Incident {state.incident.key} closed: {state.account.name} is active again with a "
        "temporary password the owner must change at the next login."
    )
    op = comment_op(text, resolve=closing)
    earlier = services.journal.incident(incident.id).ticket_pending
    if earlier is not None and earlier.get("op") == "open":
        return {**earlier, "text": op["text"], "resolve": op["resolve"]}
    return op


def _update_ticket(services: Services, incident: Incident, outcome: AccountOutcome) -> None:
    pending = incident.ticket_pending
    if pending is None:
        return
    try:
        ref = file_pending(services.tickets, services.journal, incident, pending)
    except TicketError as exc:
        outcome.extra["ticket_pending"] = True
        outcome.warnings.append(
            f"ticket not updated ({exc.message}): it is pending; "
            f"run `zcomp ticket retry {incident.key}` once the help-desk backend works"
        )
        return
    outcome.ticket = {"backend": ref.backend, "id": ref.id, "url": ref.url}
    outcome.extra["ticket_resolved"] = True


def _fail(outcome: AccountOutcome, state: _State, consequence: str) -> None:
    outcome.result = "failed"
    outcome.extra["done"] = state.done
    outcome.error = Failure(
        "unlock",
        "; ".join(p.rstrip(".") for p in state.problems) + f" ({consequence})",
        ExitCode.FAILURE,
    )


def _dry_run(
    services: Services, state: _State, options: UnlockOptions, outcome: AccountOutcome
) -> None:
    account = state.account
    targets = state.hold_targets
    held = 0
    if targets.pairs:
        summaries = state.executor.read([_held_query(m, targets) for m in targets.mtas])
        held = _held_total([s for s in summaries if succeeded(s)])
    outcome.held_messages = held
    who = ", ".join(targets.senders)
    how = "as given"
    if options.generate:
        # Drawn only to say what kind the policy allows; never shown, never sent.
        how = f"generated: {readable_password(PasswordPolicy.of(account)).describe()}; shown once"
    held_step = {
        "keep": f"leave {held} held message(s) from {who} on hold",
        "release": f"release {held} held message(s) from {who} for delivery",
        "delete": f"delete {held} held message(s) from {who}",
    }[options.held_mail]
    if not targets.pairs:
        held_step = "lockdown held no mail: nothing to release or delete"
    outcome.plan = [
        "re-check done: nothing lockdown would remove is back",
        "have Zimbra check the new password against the account's password policy "
        "(CheckPasswordStrength) with the re-check: nothing changes if it is refused",
        f"set a new temporary password ({how}); this invalidates every existing login token",
        "then set zimbraPasswordMustChange=TRUE (SetPassword clears it)",
        f"set zimbraAccountStatus=active (now {account.get('zimbraAccountStatus')})",
        "flush the account cache on every mailbox server",
        f"{held_step} on {len(targets.mtas)} MTA(s)" if targets.pairs else held_step,
        "update the zcomp marker in zimbraNotes",
        f"close incident {state.incident.key}; comment on and resolve its ticket",
    ]
    if outcome.extra.get("forced"):
        outcome.plan.insert(
            0, "journal the --force override of the minimum locked time (once the password is set)"
        )
    outcome.result = "planned"
