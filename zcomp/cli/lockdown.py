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
    json_option,
    workers_option,
    yes_option,
)
from zcomp.cli.playbook import run_playbook
from zcomp.cli.render import show_outcome


@click.command()
@accounts_options()
@workers_option
@dry_run_option
@json_option
@yes_option
@click.option("--force", is_flag=True, help="Lock down even an admin, system or protected account.")
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
@click.option(
    "--wait",
    is_flag=True,
    help="If another zcomp is acting on an account, wait for it instead of reporting it busy.",
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
    wait: bool,
) -> None:
    """Contain ACCOUNT... : lock, scramble the password, revoke tokens, hold queued mail,
    remove planted forwarding/filters/identities/signatures/auto-replies, keep the evidence,
    file a ticket. Safe to re-run: a contained account is verified, not redone."""
    from zcomp.core.lockdown import LockdownOptions, lockdown_account
    from zcomp.core.stop import StopRequest

    settings = app.settings
    if not dry_run:
        confirm_batch("lock down", len(accounts), settings.lockdown.confirm_threshold, yes)
    options = LockdownOptions(
        reason=reason,
        dry_run=dry_run,
        force=force,
        evidence_dir=str(evidence_dir) if evidence_dir else None,
        wait=wait,
    )
    report = run_playbook(
        app,
        accounts,
        lambda env, name: lockdown_account(env, name, options),
        verb="lockdown",
        stop=StopRequest(),
        journaled=not dry_run,
        files_tickets=not dry_run,
        render=lambda outcome: show_outcome(
            app.output, outcome, verbose=len(accounts) == 1 or dry_run
        ),
    )
    sys.exit(int(report.exit_code))
