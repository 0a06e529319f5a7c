"""Runs a playbook over the accounts of a command: workers, progress, rendering, summary.

Signals (SIGINT, SIGTERM, SIGHUP) never leave an account half-changed. The first one stops
the run: if no account is being changed it ends at once (KeyboardInterrupt, as Ctrl-C always
did); otherwise the accounts being changed finish and no other account starts. The second asks
those accounts to stop at their next step. The third stops waiting for the run's outcome
(accounts in worker threads still reach their next step; see zcomp.core.runner).

Results stream: each account's outcome is rendered, journaled and counted as it finishes, and
then dropped; only the Report's counts and its short list of failures outlive it. An account's
lines are written together: a signal arriving meanwhile is handled once they are all out (its
"stopping:" line never lands between them, nor does its interruption cut them short).

Output never stops a run that changes accounts: the admin asked for every account to be
contained, and a closed stdout (`| head -1`) or a closed terminal says nothing about that, so
the run goes on, journals every result and exits as if the pipe were open. A read-only run
(inspect, --dry-run) has nothing left to do for a reader that left: it ends, status 0.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from types import FrameType

import click

from zcomp.cli.context import AppContext
from zcomp.cli.main import (
    SignalInterrupt,
    after_echo,
    interrupted_message,
    signal_handlers,
    stop_signals,
)
from zcomp.cli.render import show_summary
from zcomp.cli.runtime import Runtime
from zcomp.core.outcome import AccountOutcome
from zcomp.core.report import Report
from zcomp.core.runner import Work, run_accounts, runs_inline
from zcomp.core.services import Services
from zcomp.core.stop import StopRequest
from zcomp.output import ProgressReporter, end_echoed_row, end_prompt_row, signal_line


def run_playbook(
    app: AppContext,
    accounts: Sequence[str],
    work: Work,
    *,
    verb: str,
    render: Callable[[AccountOutcome], None],
    workers: int | None = None,
    bar: bool = True,
    journaled: bool = False,
    files_tickets: bool = False,
    stop: StopRequest | None = None,
) -> Report:
    """`bar=False` when the run talks to the terminal itself (password prompts, a generated
    password shown once): a live bar would redraw over them. `journaled`: record the batch run
    and each account's result in the journal as it finishes (a killed run keeps them); a run
    that is not journaled changes nothing. `stop`: the run's StopRequest (one is made if not
    given). The Report that comes back decides the exit status; a batch's summary is shown."""
    stop = stop if stop is not None else StopRequest()
    if workers is None:
        workers = app.workers or app.settings.lockdown.workers
    single = len(accounts) == 1
    inline = runs_inline(accounts, workers)
    # One account reports its steps as they happen; a bar is for batches.
    progress: AbstractContextManager[ProgressReporter | None] = (
        nullcontext(None) if single or not bar else app.output.progress(len(accounts), verb)
    )
    with (
        stop_on_signals(stop, inline=inline, terminal=app.output.stderr_is_terminal()) as signals,
        Runtime(app, files_tickets=files_tickets) as runtime,
    ):
        if files_tickets:
            runtime.tickets()  # its settings checked before anything is sent to Zimbra
        if not single:
            # Once, before the workers (and before the bar, which a password prompt would
            # share a row with); a refused login ends the run here.
            runtime.login()
            # A bare name gets Zimbra's default domain, read once, so that `alice` and
            # `alice@example.edu` in one list are one account. (One account alone is left to
            # Zimbra, which completes a bare name the same way.)
            accounts = runtime.full_names(accounts)
        run_id = runtime.journal().start_run(verb, list(accounts)) if journaled else None
        # The runner hands an account on again when on_done raised for it (below, a reader
        # gone), for the journal's sake: it is shown and counted once. `seen` is what the
        # person is told when a signal ends the run at once: every account has been handed to
        # `done` by then (the unstarted ones as not-started).
        shown: set[str] = set()
        seen = Report()
        with progress as reporter:

            def make_services() -> Services:
                services = runtime.make_services()
                if single and not app.json:
                    services.events = lambda account, step: app.output.info(f"{account}: {step}")
                return services

            def done(outcome: AccountOutcome) -> None:
                if run_id is not None:
                    runtime.journal().record_run_result(run_id, outcome.account, outcome.result)
                if outcome.account in shown:
                    return
                shown.add(outcome.account)
                seen.add(outcome)
                with signals.deferred():
                    render(outcome)
                    if reporter is not None:  # after the lines: the bar is drawn below them
                        reporter.advance(f"{outcome.account} {outcome.result}")
                if not journaled and app.output.stdout_closed:
                    raise click.exceptions.Exit(0)  # read-only: the reader left, so do we

            try:
                report = run_accounts(
                    accounts, make_services, work, workers=workers, stop=stop, on_done=done
                )
            except KeyboardInterrupt:
                if not single:
                    # Ended at once (no account was being changed), every account handed to
                    # `done` by then: what was done and what was not, before main's one line.
                    seen.stopped = True
                    show_summary(app.output, seen)
                raise
        report.stopped = stop.requested
        cut_short = stop.requested and bool(report.unfinished)
        if run_id is not None and not cut_short:
            # A run cut short stays unfinished in the journal (each result is recorded), so
            # `unfinished_runs` still shows it until the same command is run again. Each
            # result is already recorded, as it finished: nothing more to write.
            runtime.journal().finish_run(run_id, results={})
    if not single:
        show_summary(app.output, report)
    if cut_short:
        app.output.line(interrupted_message(verb))
    return report


class Deferral:
    """Signals that arrive while an account's lines are being written wait for the last of
    them. The handler and the lines are both in the main thread, so a flag and a list do."""

    def __init__(self, react: Callable[[int, bool], None]) -> None:
        self._react = react  # (signum, whether the row of its "^C" echo was ended)
        self.active = False
        self._pending: list[tuple[int, bool]] = []

    def keep(self, signum: int, *, terminal: bool) -> None:
        """From the handler, while lines are being written (`terminal`: to stderr's)."""
        echo_ended = signum == signal.SIGINT and terminal
        if echo_ended:
            # The rest of the account's lines start on a row of their own, not after "^C".
            end_echoed_row()
        self._pending.append((signum, echo_ended))

    @contextmanager
    def deferred(self) -> Iterator[None]:
        if self.active:
            yield
            return
        self.active = True
        ok = False
        try:
            yield
            ok = True
        finally:
            self.active = False
            while self._pending:
                signum, echo_ended = self._pending.pop(0)
                if ok:
                    self._react(signum, echo_ended)
                    continue
                # Already on the way out with another exception: the stop is requested all
                # the same (the report says the run was stopped), without replacing it.
                with suppress(KeyboardInterrupt):
                    self._react(signum, echo_ended)


@contextmanager
def stop_on_signals(
    stop: StopRequest, *, inline: bool, terminal: bool = False
) -> Iterator[Deferral]:
    """SIGINT, SIGTERM and SIGHUP request `stop` for the duration of the run; the Deferral
    holds them back while an account's lines are written. `terminal`: stderr is one, where
    Ctrl-C's "^C" echo shares its rows."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        if deferral.active:
            deferral.keep(signum, terminal=terminal)
        else:
            react(signum, False)

    def react(signum: int, echo_ended: bool) -> None:
        name = signal.Signals(signum).name
        count = stop.request(name)
        changing = stop.changing
        if changing == 0:
            # Nothing is half-done: end now, as Ctrl-C always did. The accounts' lines come
            # before main's message: they start on a row of their own, not after the "^C"
            # echo (or a password prompt, which echoes nothing).
            if signum == signal.SIGINT and not echo_ended:
                end_echoed_row()
                echo_ended = True
            elif not echo_ended:
                echo_ended = end_prompt_row()  # SIGTERM at a password prompt
            raise SignalInterrupt(name, echo_ended=echo_ended)
        lead = "" if echo_ended else after_echo(name)
        if count == 1:
            signal_line(
                f"{lead}stopping: {changing} account(s) being changed will finish first; "
                "send the signal again to stop them at the next step"
            )
        elif count == 2:
            signal_line(
                f"{lead}stopping: {changing} account(s) being changed will stop at their next "
                "step (journaled; the same command resumes them)"
            )
        elif not inline:
            # The workers still reach their next step before the run ends (zcomp.core.runner).
            raise SignalInterrupt(name, echo_ended=echo_ended)
        else:
            # The account is changed in this very thread: an exception here could fall
            # between a change and its journal record. It stops at its next step.
            signal_line(f"{lead}still stopping: waiting for the current step to end")

    deferral = Deferral(react)
    with signal_handlers(handle, stop_signals()):
        yield deferral
