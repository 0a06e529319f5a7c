"""A tiny command built from the shared option bundles, registered in COMMANDS by tests."""

from __future__ import annotations

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import (
    accounts_options,
    dry_run_option,
    force_option,
    json_option,
    yes_option,
)
from zcomp.exitcodes import ExitCode, ZcompError


@click.command()
@accounts_options()
@dry_run_option
@json_option
@yes_option
@force_option
@click.option("--fail", type=int, default=None, help="Raise a ZcompError with this exit status.")
@click.option("--crash", is_flag=True)
@click.option("--interrupt", is_flag=True)
@pass_app
def probe(
    app: AppContext,
    accounts: list[str],
    dry_run: bool,
    yes: bool,
    force: bool,
    fail: int | None,
    crash: bool,
    interrupt: bool,
) -> None:
    if fail is not None:
        raise ZcompError("probe [failed] on purpose", exit_code=ExitCode(fail))
    if crash:
        raise RuntimeError("boom")
    if interrupt:
        raise KeyboardInterrupt
    app.output.info(f"human line for {len(accounts)} accounts")
    for account in accounts:
        app.output.data({"account": account, "dry_run": dry_run, "yes": yes, "force": force})
