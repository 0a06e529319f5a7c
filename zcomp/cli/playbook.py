"""Runs a playbook over the accounts of a command: workers, progress, rendering, summary."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

from zcomp.cli.context import AppContext
from zcomp.cli.render import summary_line
from zcomp.cli.runtime import Runtime
from zcomp.core.batch import Work, run_accounts
from zcomp.core.environment import Environment
from zcomp.core.outcome import AccountOutcome
from zcomp.output import ProgressReporter


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
) -> list[AccountOutcome]:
    """`bar=False` when the run talks to the terminal itself (password prompts, a generated
    password shown once): a live bar would redraw over them. `journaled`: record the batch run
    and each account's result in the journal as it finishes (a killed run keeps them)."""
    single = len(accounts) == 1
    # One account reports its steps as they happen; a bar is for batches.
    progress: AbstractContextManager[ProgressReporter | None] = (
        nullcontext(None) if single or not bar else app.output.progress(len(accounts), verb)
    )
    with Runtime(app) as runtime, progress as reporter:
        if not single:
            runtime.login()  # once, before the workers; a refused login ends the run here
        run_id = runtime.journal().start_run(verb, list(accounts)) if journaled else None

        def make_env() -> Environment:
            env = runtime.make_env()
            if single and not app.json:
                env.events = lambda account, step: app.output.info(f"{account}: {step}")
            return env

        def done(outcome: AccountOutcome) -> None:
            if reporter is not None:
                reporter.advance(f"{outcome.account} {outcome.result}")
            if run_id is not None:
                runtime.journal().record_run_result(run_id, outcome.account, outcome.result)
            render(outcome)

        outcomes = run_accounts(
            accounts,
            make_env,
            work,
            workers=app.settings.lockdown.workers if workers is None else workers,
            on_done=done,
        )
        if run_id is not None:
            results = {o.account: o.result for o in outcomes}
            runtime.journal().finish_run(run_id, results=results)
    if not single:
        app.output.info(summary_line(outcomes))
    return outcomes
