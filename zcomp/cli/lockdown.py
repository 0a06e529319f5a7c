"""zcomp lockdown: contain, snapshot, clean, verify, record, ticket."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from zcomp.cli.confirm import confirm_batch
from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import (
    accounts_options,
    dry_run_option,
    force_option,
    json_option,
    yes_option,
)
from zcomp.cli.render import show_outcome, summary_line
from zcomp.cli.runtime import Runtime


@click.command()
@accounts_options()
@dry_run_option
@json_option
@yes_option
@force_option
@click.option(
    "--reason",
    default="phished account sending spam",
    show_default=True,
    help="Why the account is locked (journal and ticket).",
)
@click.option(
    "--evidence-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each evidence bundle (JSON + .sha256) into DIR.",
)
@pass_app
def lockdown(
    app: AppContext,
    accounts: list[str],
    dry_run: bool,
    yes: bool,
    force: bool,
    reason: str,
    evidence_dir: Path | None,
) -> None:
    """Contain ACCOUNT... : lock, scramble the password, revoke tokens, hold queued mail,
    remove planted forwarding/filters/identities/signatures/auto-replies, keep the evidence,
    file a ticket. Safe to re-run: a contained account is verified, not redone."""
    from zcomp.core.batch import exit_status, run_accounts
    from zcomp.core.lockdown import LockdownOptions, lockdown_account

    settings = app.settings
    if not dry_run:
        confirm_batch("lock down", len(accounts), settings.lockdown.confirm_threshold, yes)
    options = LockdownOptions(
        reason=reason,
        dry_run=dry_run,
        force=force,
        evidence_dir=str(evidence_dir) if evidence_dir else None,
    )
    single = len(accounts) == 1
    with Runtime(app) as runtime, app.output.progress(len(accounts), "lockdown") as bar:

        def make_env():  # type: ignore[no-untyped-def]
            env = runtime.make_env()
            if single and not app.json:
                env.events = lambda account, step: app.output.info(f"{account}: {step}")
            return env

        def done(outcome):  # type: ignore[no-untyped-def]
            bar.advance(f"{outcome.account} {outcome.result}")
            show_outcome(app.output, outcome, verbose=single or dry_run)

        outcomes = run_accounts(
            accounts,
            make_env,
            lambda env, name: lockdown_account(env, name, options),
            workers=settings.lockdown.workers,
            on_done=done,
        )
    if not single:
        app.output.info(summary_line(outcomes))
    sys.exit(int(exit_status(outcomes)))
