"""Many accounts at once: workers in parallel, each with its own Services.

A stop (signal) never abandons an account: no account starts after it, and the runner waits
for the accounts in flight, whatever ended the wait (a stop, KeyboardInterrupt, an error), so
nothing closes the journal under a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from zcomp.core.outcome import AccountOutcome, Failure, Result, error_of
from zcomp.core.report import Report
from zcomp.core.services import Services
from zcomp.core.stop import StopRequest
from zcomp.exitcodes import CredentialError, ExitCode, ZcompError
from zcomp.zimbra.errors import ZimbraAuthError

Work = Callable[[Services, str], AccountOutcome]
OnDone = Callable[[AccountOutcome], None]


def guarded(work: Work, services: Services, account: str) -> AccountOutcome:
    """One account's failure, whatever it is, becomes its outcome; the batch goes on."""
    try:
        return work(services, account)
    except (ZimbraAuthError, CredentialError):
        # The admin login itself failed: stop, rather than retry it once per account (and
        # trip Zimbra's password lockout for the admin).
        raise
    except ZcompError as exc:
        error = error_of(exc)
    except Exception as exc:  # noqa: BLE001 - a bug hit by one account must not stop the others
        error = Failure("internal-error", f"{type(exc).__name__}: {exc}", ExitCode.FAILURE)
    return AccountOutcome(account=account, result="failed", error=error)


def not_started(account: str) -> AccountOutcome:
    return AccountOutcome(account=account, result=Result.NOT_STARTED)


def runs_inline(accounts: Sequence[str], workers: int) -> bool:
    """One account, or one worker: the work runs in the main thread. Prompts in the work
    (the admin password, unlock's new password) then read the terminal in the thread that
    Ctrl-C interrupts, so Ctrl-C at a prompt aborts at once."""
    return len(accounts) <= 1 or workers <= 1


def run_accounts(
    accounts: Sequence[str],
    make_services: Callable[[], Services],
    work: Work,
    *,
    workers: int,
    stop: StopRequest,
    on_done: OnDone = lambda _o: None,
) -> Report:
    """Run `work` for every account; a failing account never stops the others.

    Each outcome goes to `on_done` as it finishes (main thread), in the order they finish, and
    into the returned Report; none is kept here, so memory does not grow with the number of
    accounts (at most a few per worker are in flight). An account not started because a stop
    was requested is NOT_STARTED. `stop` goes into every worker's Services. When the main
    thread is interrupted (KeyboardInterrupt) or `on_done` raises, the accounts in flight
    still finish and every account still reaches `on_done` (the unstarted ones as NOT_STARTED)
    before the exception goes on.
    """

    def env_for_worker() -> Services:
        services = make_services()
        services.stop = stop
        return services

    report = Report()
    if runs_inline(accounts, workers):
        _run_inline(accounts, env_for_worker, work, stop, on_done, report)
    else:
        _run_threaded(accounts, env_for_worker, work, stop, on_done, workers, report)
    return report


def _run_inline(
    accounts: Sequence[str],
    make_services: Callable[[], Services],
    work: Work,
    stop: StopRequest,
    on_done: OnDone,
    report: Report,
) -> None:
    services: Services | None = None
    last: AccountOutcome | None = None
    finished = 0  # accounts whose outcome is known (the last one maybe still being handed on)
    working = False
    entered = stop.entered
    try:
        for account in accounts:
            working = True
            entered = stop.entered
            if stop.requested:
                outcome = not_started(account)
            else:
                services = services or make_services()
                outcome = guarded(work, services, account)
            working = False
            last = outcome
            finished += 1
            report.add(outcome)
            on_done(outcome)
    except BaseException:
        # Raised in the work: zcomp.cli.playbook raises only while no account is changing, so
        # an account that never began changing (Ctrl-C at its password prompt, or while it was
        # being read) is not started, and says so; one that did ends with the exception.
        # Raised in on_done: that account is done and is handed again, so its result reaches
        # the journal. The accounts after it never started.
        again = [last] if last is not None and not working else []
        touched = working and stop.entered != entered
        first_unstarted = finished + (1 if touched else 0)
        _deliver_quietly(again + [not_started(a) for a in accounts[first_unstarted:]], on_done)
        raise


def _run_threaded(
    accounts: Sequence[str],
    make_services: Callable[[], Services],
    work: Work,
    stop: StopRequest,
    on_done: OnDone,
    workers: int,
    report: Report,
) -> None:
    local = threading.local()

    def run_one(account: str) -> AccountOutcome:
        if stop.requested:  # queued before the stop, picked up after it
            return not_started(account)
        services = getattr(local, "services", None)
        if services is None:
            services = make_services()
            local.services = services
        return guarded(work, services, account)

    # Submitted a few at a time, not all at once: a Future keeps its outcome, and 100,000
    # of them would keep every outcome of the run. Two per worker keeps every worker busy.
    window = 2 * workers
    queue = iter(enumerate(accounts))
    pending: dict[Future[AccountOutcome], int] = {}  # submitted, not yet handed on
    pool = ThreadPoolExecutor(max_workers=min(workers, len(accounts)), thread_name_prefix="zcomp")

    def top_up() -> None:
        for i, account in queue:
            pending[pool.submit(run_one, account)] = i
            if len(pending) >= window:
                return

    try:
        top_up()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=pending.__getitem__):
                outcome = future.result()
                report.add(outcome)
                on_done(outcome)
                del pending[future]  # after on_done: one it did not finish is handed again
            top_up()
    except BaseException:
        _settle(pool, list(pending))
        _finish(accounts, pending, [account for _i, account in queue], on_done)
        raise
    pool.shutdown(wait=True)


def _settle(pool: ThreadPoolExecutor, futures: list[Future[AccountOutcome]]) -> None:
    """Queued accounts never start; the ones in flight finish. Another Ctrl-C does not cut
    this short: a worker's changes and their journal records must not be abandoned half-way,
    nor the journal closed under it (an urgent stop makes the playbooks end at their next
    step, so this wait is one step long)."""
    pending = set(futures)
    cancelled = False
    while pending:
        try:
            if not cancelled:
                pool.shutdown(wait=False, cancel_futures=True)
                cancelled = True
            # A future cancelled by shutdown never notifies wait(): leave those out.
            pending = {f for f in pending if not f.cancelled()}
            _done, pending = wait(pending)
        except KeyboardInterrupt:
            continue


def _finish(
    accounts: Sequence[str],
    pending: dict[Future[AccountOutcome], int],
    unsubmitted: list[str],
    on_done: OnDone,
) -> None:
    """Hand on_done every account it has not seen: finished ones with their outcome, the
    others as NOT_STARTED, in input order. One whose delivery was interrupted is handed again,
    so that its result reaches the journal."""
    handed: list[AccountOutcome] = []
    for future in sorted(pending, key=pending.__getitem__):
        if future.cancelled():
            handed.append(not_started(accounts[pending[future]]))
        elif future.exception() is None:
            handed.append(future.result())
        # else: an admin-login failure, which the exception on its way out reports
    handed += [not_started(account) for account in unsubmitted]
    _deliver_quietly(handed, on_done)


def _deliver_quietly(outcomes: list[AccountOutcome], on_done: OnDone) -> None:
    # Best effort while another exception is on its way out; that one is what gets reported.
    for outcome in outcomes:
        try:
            on_done(outcome)
        except Exception:  # noqa: BLE001, S112
            continue
