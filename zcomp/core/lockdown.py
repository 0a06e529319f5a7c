"""Lockdown: resolve, contain, snapshot, clean, verify, record, ticket — in that order.

Round trips after login (whatever the number of rules, signatures and identities):
  1 resolve   GetAccount (+ domains and MTAs, once per worker); a live claim of another zcomp
              on the account ends here, before any write (zcomp.core.actor)
  2 contain   one BatchRequest: the containment changes, this process's claim, their
              read-back, the evidence reads, and the mailbox snapshot (filter rules in/out,
              signatures, identities, prefs) read through the <account> header
  3 clean     one BatchRequest: the mailbox and account writes (+ the claim withdrawn),
              FlushCache, their read-backs (zcomp.core.clean)
Containment is the first write. Every write goes through the change executor (journaled,
verified, retried only when a read-back shows it did not apply). The incident says where the
account is: open (nothing confirmed yet), locked-not-cleaned, contained, failed. The ticket is
recorded as pending before it is filed; an account contained without its ticket is reported as
such (exit 7). A second run on a contained account reads, finds nothing to do and says so (1
and a snapshot); if something risky came back, it contains and cleans again under the same
incident.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from zcomp.core import clean, contain
from zcomp.core.actor import CLAIM_TTL, Actor, Busy, Handover
from zcomp.core.change import Applied
from zcomp.core.classify import classify_account
from zcomp.core.evidence import build_bundle, prepare_evidence_dir, write_bundle
from zcomp.core.executor import Executor, answered
from zcomp.core.findings import Finding
from zcomp.core.lockdown_state import LockdownState
from zcomp.core.notes import lock_marker, marker_incident, marker_line, unlocked_incident
from zcomp.core.outcome import AccountOutcome, Failure, Result
from zcomp.core.protect import protection_reason
from zcomp.core.replies import must, record_error
from zcomp.core.services import Services
from zcomp.core.snapshot import MailboxState, load_baseline, mailbox_reads
from zcomp.core.stop import Stopped
from zcomp.core.ticketing import (
    comment_op,
    file_pending,
    lockdown_ticket,
    open_op,
    recontain_comment,
)
from zcomp.exitcodes import ExitCode, ZcompError
from zcomp.journal import CONTAINED, FAILED, LOCKED, Incident
from zcomp.tickets import TicketError
from zcomp.tickets.guard import withhold_secrets
from zcomp.zimbra.model import Account, QueueSummary
from zcomp.zimbra.operations import GetAccount

WAIT_POLL_S = (1.0, 2.0)  # --wait: seconds between looks, with jitter so waiters spread out


@dataclass
class LockdownOptions:
    reason: str = "phished account sending spam"
    dry_run: bool = False
    force: bool = False
    evidence_dir: str | None = None
    wait: bool = False  # wait for another zcomp acting on the account instead of reporting busy


def lockdown_account(services: Services, name: str, options: LockdownOptions) -> AccountOutcome:
    outcome = AccountOutcome(account=name, result=Result.FAILED)
    start = services.client.round_trips
    deadline = time.monotonic() + CLAIM_TTL.total_seconds()
    while True:
        run = _Run(services, options, outcome)
        try:
            run.go(name)
            break
        except Busy as exc:
            if services.stop.requested:  # a signal while waiting: this account was not touched
                outcome.result = Result.NOT_STARTED
                break
            if options.wait and time.monotonic() < deadline:
                services.event(name, f"waiting: {exc.message}")
                time.sleep(random.uniform(*WAIT_POLL_S))
                continue
            outcome.result = Result.BUSY
            outcome.error = Failure("busy", exc.message, ExitCode.BUSY)
            break
        except Stopped as exc:
            run.stopped(exc)
            break
        except ZcompError as exc:  # Zimbra, journal or ticket trouble: one line for this account
            record_error(outcome, exc)
            run.failed()
            break
        finally:
            run.release()
    outcome.round_trips = services.client.round_trips - start
    return outcome


class _Run:
    """One attempt at one account (a --wait that finds it busy makes another)."""

    def __init__(self, services: Services, options: LockdownOptions, outcome: AccountOutcome):
        self.services = services
        self.options = options
        self.outcome = outcome
        self.executor = Executor(services)
        self.actor = Actor(services)
        self.state: LockdownState | None = None
        self.claimed: Applied | None = None  # this process's claim, as the contain batch left it
        self.seen: Any = None  # the account as the contain batch read it back
        self.snapshot: list[Any] = []  # the mailbox reads of the contain batch
        self.started_incident = False  # this run opened the incident: no earlier run's evidence

    # ------------------------------------------------------------------ the steps

    def go(self, name: str) -> None:
        services, outcome, options = self.services, self.outcome, self.options
        if options.evidence_dir and not options.dry_run:
            # Refused here, before any change, not after the account was locked.
            prepare_evidence_dir(options.evidence_dir)
        services.event(name, "resolving")
        asked = datetime.now(timezone.utc)
        account = self._resolve(name)
        outcome.account = account.name
        state = self.state = LockdownState(account=account, pre_state=account)
        if _refused(services, state, options, outcome):
            return
        self.actor.take_local(account)
        incident = services.journal.open_incident(account.id)
        if incident is not None and _unlocked_elsewhere(account, incident):
            # A colleague's zcomp unlocked it (another journal): this one's incident is over,
            # and a lockdown asked for now is a new incident, not a resumed one. (A dry run
            # plans as much and records nothing.)
            if not options.dry_run:
                services.journal.close_incident(
                    incident.id, how="unlocked by another zcomp (zimbraNotes)"
                )
            outcome.warnings.append(
                f"incident {incident.key} was closed by another zcomp's unlock (per zimbraNotes)"
                ": this is a new incident"
            )
            incident = None
        if incident is not None and _touched_since(services, incident, asked):
            # Another process of this journal acted on it while we resolved: look again.
            account = state.account = self._resolve(name)
        state.baseline = load_baseline(
            services.journal, account.id, before=incident.started_at if incident else None
        )
        recontain = False
        if incident is not None:
            outcome.incident = incident.key
            _copy_ticket(incident, outcome)
        if incident is not None and incident.state == CONTAINED:
            if account.get("zimbraAccountStatus") == "locked":
                if self._nothing_came_back(incident):
                    return
            else:
                outcome.warnings.append(
                    f"incident {incident.key} is open but the account is "
                    f"{account.get('zimbraAccountStatus')}: containing it again"
                )
            recontain = True
        elif incident is not None:
            outcome.warnings.append(f"resuming incident {incident.key} ({incident.state})")
        elif self._contained_elsewhere(account):
            return

        if options.dry_run:
            _dry_run(services, self.executor, state, outcome)
            return

        self.actor.check_free(account)
        with services.stop.changing_section():
            self._change(incident, recontain)

    def _change(self, incident: Incident | None, recontain: bool) -> None:
        services, outcome, options = self.services, self.outcome, self.options
        state = self._state
        account = state.account
        reason = withhold_secrets(options.reason)
        if incident is None:
            incident = services.journal.start_incident(
                account.id, account.name, reason=reason, operator=services.operator
            )
            self.started_incident = True
        state.incident_id = self.executor.incident = incident.id
        outcome.incident = incident.key
        state.marker = lock_marker(
            incident.key,
            datetime.now(timezone.utc),
            by=services.operator,
            ticket=services.tickets.name,
        )

        resume = incident.state == LOCKED and account.get("zimbraAccountStatus") == "locked"
        if resume:
            state.resumed = True
            outcome.warnings.append("already locked by the interrupted run: not locked again")
        services.event(account.name, "snapshot" if resume else "containing")
        self._contain(lock=not resume)
        if not resume and not self._locked():
            return
        services.journal.set_incident_state(incident.id, LOCKED)
        if not self._settle_claim():
            return
        state.mailbox = MailboxState.from_results(self.snapshot)

        state.findings = classify_account(
            account, state.mailbox, services.organisation, services.settings.policy, state.baseline
        )
        bundle = build_bundle(evidence_parts(state))
        sha = services.journal.store_evidence(incident.id, bundle)
        outcome.evidence_sha256 = sha
        if options.evidence_dir:
            path = write_bundle(bundle, sha, options.evidence_dir, account.name, incident.id)
            outcome.evidence_path = str(path)

        services.stop.checkpoint("cleaning")
        services.event(account.name, "cleaning")
        if clean.clean(self.executor, state, self.actor.release_changes()):
            self.actor.claim = None  # withdrawn in the marker's write

        outcome.removed = state.removals
        outcome.kept = [f for f in state.findings if not f.remove]
        outcome.held_messages = sum(int(q.get("total", 0)) for q in state.held_queues)
        outcome.warnings += state.warnings
        outcome.extra["done"] = list(state.done)
        if state.problems:
            outcome.result = Result.LOCKED_NOT_CLEANED
            outcome.error = Failure(
                "not-cleaned",
                "locked, password scrambled and tokens revoked, but not all cleaned: "
                + "; ".join(state.problems)
                + "; run the same command again to finish",
                ExitCode.FAILURE,
            )
            return
        # The ticket is recorded as pending before the incident says contained: from then on a
        # stop or a kill leaves it for the re-run or `zcomp ticket retry`, with all it says.
        pending = self._ticket_op(services.journal.incident(incident.id), again=recontain)
        services.journal.set_ticket_pending(incident.id, pending)
        services.journal.set_incident_state(incident.id, CONTAINED)
        services.stop.checkpoint("the ticket")
        services.event(account.name, "ticket")
        self._file(services.journal.incident(incident.id), pending)
        if outcome.result != Result.TICKET_PENDING:
            outcome.result = Result.CONTAINED

    # ------------------------------------------------------------------ pieces

    @property
    def _state(self) -> LockdownState:
        if self.state is None:
            raise RuntimeError("no account resolved yet")  # a programming error
        return self.state

    def _resolve(self, name: str) -> Account:
        services = self.services
        results = self.executor.read(
            [GetAccount(name, by="name", apply_cos=True), *services.facts_requests()]
        )
        account: Account = must(results[0])
        services.absorb_facts(results[1:])
        return account

    def _read_mailbox(self) -> MailboxState:
        reads = mailbox_reads(network=self.services.network)
        results = self.executor.read(reads, as_account=self._state.account.id)
        return MailboxState.from_results(results)

    def _contain(self, *, lock: bool) -> None:
        """One round trip: containment (unless an interrupted run confirmed it), the claim,
        the read-backs, the evidence and the mailbox snapshot. The <account> header makes the
        mailbox reads the user's; the admin requests of the batch do not look at it."""
        services, state = self.services, self._state
        account = state.account
        changes = contain.contain_changes(services, state) if lock else []
        claim = self.actor.claim_change(account, contain.readback(account))
        evidence = contain.evidence_reads(services, state) if lock else []
        applied = self.executor.apply(
            [*changes, claim],
            ordered=True,
            as_account=account.id,
            reads=[contain.readback(account), *evidence, *mailbox_reads(network=services.network)],
        )
        self.seen, *reads = applied.reads
        if lock:
            contain.absorb(services, state, reads[: len(evidence)])
        self.snapshot = reads[len(evidence) :]
        *applied_changes, self.claimed = applied.applied
        state.done += [a.change.done for a in applied_changes if a.ok]
        state.containment = applied_changes
        for item in applied_changes:
            if not item.ok and item.change.kind in ("mail-queue-hold", "password-history"):
                state.warnings.append(item.problem)  # the account is contained all the same
            elif not item.ok:
                state.problems.append(item.problem)

    def _settle_claim(self) -> bool:
        """True: go on to clean. Else the account is handed over to the zcomp that cleans it
        (Busy is raised while that one is at work)."""
        state, claimed = self._state, self.claimed
        if claimed is None:
            return True
        resolved = marker_line(state.account.get("zimbraNotes") or "")

        def finished_elsewhere(seen: Account) -> bool:
            # Another zcomp's marker appeared since we resolved: it contained and cleaned.
            return marker_line(seen.get("zimbraNotes") or "") != resolved

        handover = self.actor.settle(
            self.executor, state.account, claimed, self.seen, finished_elsewhere
        )
        self.outcome.warnings += self.actor.warnings
        if handover is None:
            return True
        self._hand_over(handover)
        return False

    def _hand_over(self, handover: Handover) -> None:
        """Another zcomp cleans this account: keep what this run read as evidence, close its
        incident as handed over, and say so: already contained when that zcomp is done, else
        busy (exit 8, Busy raised) naming who acts."""
        services, state, outcome = self.services, self._state, self.outcome
        if all(answered(r) for r in self.snapshot):
            state.mailbox = MailboxState.from_results(self.snapshot)
            state.findings = classify_account(
                state.account,
                state.mailbox,
                services.organisation,
                services.settings.policy,
                state.baseline,
            )
            outcome.evidence_sha256 = services.journal.store_evidence(
                state.incident, build_bundle(evidence_parts(state))
            )
        services.journal.close_incident(state.incident, how=f"handed over: {handover.holder}")
        outcome.extra["done"] = list(state.done)
        here = f"incident {outcome.incident} here is closed as handed over"
        if handover.finished:
            outcome.result = Result.ALREADY_CONTAINED
            outcome.warnings.append(
                f"contained in the same moment as another zcomp; {handover.holder}; {here}"
            )
            return
        raise Busy(
            f"busy: contained in the same moment as {handover.holder}, which cleans it; {here}"
        )

    def _locked(self) -> bool:
        """Containment held (locked, password scrambled)? If not, the account failed."""
        state, outcome = self._state, self.outcome
        essential = [
            a for a in state.containment if a.change.kind in ("account-status", "password")
        ]
        if all(a.ok for a in essential):
            return True
        self.services.journal.set_incident_state(state.incident, FAILED)
        outcome.result = Result.FAILED
        outcome.warnings += state.warnings
        outcome.extra["done"] = list(state.done)
        outcome.error = Failure(
            "contain", "containment did not hold: " + "; ".join(state.problems), ExitCode.FAILURE
        )
        return False

    def _nothing_came_back(self, incident: Incident) -> bool:
        """A contained account, looked at again: True (and the outcome set) when nothing risky
        is back; a ticket still pending is filed now."""
        services, state, outcome = self.services, self._state, self.outcome
        state.held_senders = contain.hold_senders(state.account)
        queues = contain.queued_summaries(services, state.held_senders)
        reads = mailbox_reads(network=services.network)
        results = self.executor.read([*reads, *queues], as_account=state.account.id)
        state.mailbox = MailboxState.from_results(results[: len(reads)])
        state.findings = classify_account(
            state.account,
            state.mailbox,
            services.organisation,
            services.settings.policy,
            state.baseline,
        )
        if state.removals:
            outcome.warnings.append(
                "risky settings came back after containment: "
                + "; ".join(f.detail for f in state.removals)
            )
            return False
        outcome.kept = state.findings
        outcome.result = Result.ALREADY_CONTAINED
        waiting = [r for r in results[len(reads) :] if isinstance(r, QueueSummary) and r.total]
        if waiting and not self.options.dry_run:
            self._hold_again(incident, waiting)
        if incident.ticket_pending is not None or not incident.ticket_id:
            state.incident_id = incident.id
            pending = incident.ticket_pending
            if pending is None:
                pending = open_op(
                    self._ticket_content(incident, _earlier_removals(services, state))
                )
                services.journal.set_ticket_pending(incident.id, pending)
            self._file(services.journal.incident(incident.id), pending)
        return True

    def _hold_again(self, incident: Incident, waiting: list[QueueSummary]) -> None:
        """An SMTP session authenticated before the lockdown goes on sending (no SOAP request
        ends it): looking at a contained account again holds what it queued since, on the
        MTAs and queues where some waits, journaled under the same incident."""
        services, state, outcome = self.services, self._state, self.outcome
        senders = state.held_senders
        where = {(summary.server, summary.queue): summary.total for summary in waiting}
        holds = []
        for change in contain.hold_changes(services, state.account.name, senders):
            queue, (mta,) = change.after["queue"], change.after["mtas"]
            if (mta, queue) not in where:
                continue
            what = (
                f"the {queue} mail of {', '.join(senders)} queued since the lockdown "
                f"({where[(mta, queue)]} message(s)), on {mta}"
            )
            holds.append(
                replace(
                    change,
                    plan=f"hold {what}",
                    done=f"held {what}",
                    detail=f"queued since the lockdown: {where[(mta, queue)]} message(s)",
                )
            )
        self.actor.check_free(state.account)
        self.executor.incident = incident.id
        with services.stop.changing_section():
            applied = self.executor.apply(holds, reads=contain.held_summaries(services, senders))
        state.done += applied.done
        outcome.warnings += applied.problems
        outcome.held_messages = sum(r.total for r in applied.reads if isinstance(r, QueueSummary))
        outcome.extra["done"] = list(state.done)

    def _contained_elsewhere(self, account: Account) -> bool:
        """Locked with another journal's zcomp marker: verify and report, never re-contain."""
        other = marker_incident(account.get("zimbraNotes") or "")
        if other is None or account.get("zimbraAccountStatus") != "locked":
            return False
        services, state, outcome = self.services, self._state, self.outcome
        state.mailbox = self._read_mailbox()
        state.findings = classify_account(
            account, state.mailbox, services.organisation, services.settings.policy, state.baseline
        )
        if state.removals:
            return False  # risky settings are back: contain and clean it here
        outcome.kept = state.findings
        outcome.result = Result.ALREADY_CONTAINED
        outcome.warnings.append(
            f"contained by another zcomp (incident {other} in its journal, per zimbraNotes)"
        )
        return True

    def _ticket_content(self, incident: Incident, earlier: list[Finding]) -> Any:
        state, outcome = self._state, self.outcome
        return lockdown_ticket(
            account=state.account,
            incident_key=incident.key,
            findings=state.findings,
            earlier=earlier,
            done=state.done,
            held_messages=outcome.held_messages,
            evidence_sha256=outcome.evidence_sha256 or incident.evidence_sha256,
            settings=self.services.settings,
            reason=incident.reason,
            operator=incident.operator,
        )

    def _ticket_op(self, incident: Incident, *, again: bool) -> dict[str, Any]:
        state = self._state
        if again and incident.ticket_id:
            return comment_op(recontain_comment(state.findings, state.done))
        # A new incident's first evidence is this run's own (reading it back would decode the
        # whole bundle to find nothing).
        earlier = [] if self.started_incident else _earlier_removals(self.services, state)
        return open_op(self._ticket_content(incident, earlier))

    def _file(self, incident: Incident, pending: dict[str, Any]) -> None:
        """File the pending ticket operation; a failure leaves it pending."""
        services, outcome = self.services, self.outcome
        try:
            ref = file_pending(services.tickets, services.journal, incident, pending)
        except TicketError as exc:
            outcome.result = Result.TICKET_PENDING
            outcome.warnings.append(
                f"the ticket is pending ({exc.message}): "
                f"run `zcomp ticket retry {incident.key}` once the help-desk backend works"
            )
            return
        outcome.ticket = {"backend": ref.backend, "id": ref.id, "url": ref.url}

    # ------------------------------------------------------------------ endings

    def stopped(self, exc: Stopped) -> None:
        outcome, state = self.outcome, self.state
        if state is None or state.incident_id is None:
            # Never touched: the same outcome as an account the runner never started (no
            # error: nothing went wrong with it; the run's own line says why it stopped).
            outcome.result = Result.NOT_STARTED
            return
        outcome.result = Result.STOPPED
        outcome.extra["done"] = list(state.done)
        where = self.services.journal.incident(state.incident).state
        outcome.error = Failure(
            "stopped",
            f"by {exc.why} before {exc.step}; incident {outcome.incident} is "
            f"{where}: run the same command again to finish",
            ExitCode.INTERRUPTED,
        )

    def failed(self) -> None:
        """An error mid-way: the incident says how far it got."""
        state = self.state
        if state is not None and state.incident_id is not None:
            self.outcome.extra["done"] = list(state.done)
            where = self.services.journal.incident(state.incident).state
            if where == LOCKED:
                self.outcome.result = Result.LOCKED_NOT_CLEANED

    def release(self) -> None:
        if self.state is not None and self.actor.claim is not None:
            self.actor.release_remote(self.executor, self.state.account)
        self.actor.release_local()


def _unlocked_elsewhere(account: Account, incident: Incident) -> bool:
    return (
        incident.state == CONTAINED
        and account.get("zimbraAccountStatus") != "locked"
        and unlocked_incident(account.get("zimbraNotes") or "") == incident.key
    )


def _touched_since(services: Services, incident: Incident, moment: datetime) -> bool:
    actions = services.journal.actions(incident.id)
    latest = actions[-1].at if actions else incident.started_at
    return latest >= moment


def _refused(
    services: Services, state: LockdownState, options: LockdownOptions, outcome: AccountOutcome
) -> bool:
    account = state.account
    if account.get("zimbraAccountStatus") == "closed":
        outcome.result = Result.SKIPPED
        outcome.error = Failure(
            "closed",
            f"{account.name} is closed: it cannot log in or send; nothing to contain",
            ExitCode.FAILURE,
        )
        return True
    why = protection_reason(account, services.settings.lockdown.protected, services.settings.admin)
    if why and not options.force:
        outcome.result = Result.SKIPPED
        outcome.error = Failure("protected", f"refused: {why} (use --force)", ExitCode.FAILURE)
        return True
    if why:
        outcome.warnings.append(f"--force: {why}")
    return False


def _dry_run(
    services: Services, executor: Executor, state: LockdownState, outcome: AccountOutcome
) -> None:
    account = state.account
    if not state.findings:
        results = executor.read(mailbox_reads(network=services.network), as_account=account.id)
        state.mailbox = MailboxState.from_results(results)
        state.findings = classify_account(
            account, state.mailbox, services.organisation, services.settings.policy, state.baseline
        )
    outcome.removed = state.removals
    outcome.kept = [f for f in state.findings if not f.remove]
    # The plan is the changes themselves, built as the real run builds them (never sent).
    state.marker = lock_marker("INC-(new)", datetime.now(timezone.utc), by=services.operator)
    writes = [
        *contain.contain_changes(services, state),
        *clean.mailbox_changes(state),
        *clean.account_writes(state, {})[0],
    ]
    outcome.plan = [
        *[c.plan for c in writes],
        "store an evidence bundle (attributes, filters, signatures, identities, prefs, sessions)",
        *[
            f"keep {f.detail}" + (f" (reported: {f.reason})" if f.risky else "")
            for f in outcome.kept
        ],
        "file a help-desk ticket" if not outcome.ticket else "comment on the existing ticket",
    ]
    outcome.result = Result.PLANNED


def _earlier_removals(services: Services, state: LockdownState) -> list[Finding]:
    """What an earlier, interrupted run of this incident found and may have removed already."""
    first = services.journal.evidence(state.incident)
    if first is None:
        return []
    now = {(f.kind, f.key) for f in state.removals}
    return [
        Finding.from_dict(item)
        for item in first.bundle.get("findings", [])
        if item.get("remove") and (item["kind"], item["key"]) not in now
    ]


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
        "held_queue": state.held_queues,
        "held_senders": state.held_senders,
        "findings": [f.to_dict() for f in state.findings],
        "baseline": state.baseline.captured_at if state.baseline else None,
    }
