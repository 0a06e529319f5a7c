"""zcomp unlock: hand a contained account back to its owner."""

from __future__ import annotations

import sys
from typing import IO

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
from zcomp.exitcodes import UsageError
from zcomp.zimbra.model import Secret


def read_password_file(source: IO[str]) -> Secret:
    """The file's text with one trailing newline removed (what `echo pw > file` leaves)."""
    text = source.read()
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise UsageError(f"--password-file {source.name}: the file is empty")
    return Secret(text)


def prompt_password(account: str) -> Secret:
    value = click.prompt(
        f"New temporary password for {account}",
        hide_input=True,
        confirmation_prompt=True,
        err=True,
    )
    return Secret(str(value))


def show_once(account: str, password: Secret) -> None:
    # Straight to stderr: never in --json output, and shown even with --quiet (once lost,
    # the help desk would have to unlock again).
    click.echo(f"New temporary password for {account}: {password.reveal()}", err=True)
    click.echo("  (shown once; zcomp keeps no copy; the owner must change it at login)", err=True)


@click.command()
@accounts_options()
@click.option(
    "--password-file",
    "password_file",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE",
    help="Read the new temporary password from FILE (- = stdin); one account only.",
)
@click.option(
    "--generate",
    is_flag=True,
    help="Generate a random temporary password per account, shown once on stderr.",
)
@click.option("--release-held", is_flag=True, help="Release the account's held mail.")
@click.option("--delete-held", is_flag=True, help="Delete the account's held mail (spam).")
@dry_run_option
@json_option
@yes_option
@force_option
@pass_app
def unlock(
    app: AppContext,
    accounts: list[str],
    password_file: IO[str] | None,
    generate: bool,
    release_held: bool,
    delete_held: bool,
    dry_run: bool,
    yes: bool,
    force: bool,
) -> None:
    """Hand ACCOUNT... back after the owner was contacted: new temporary password (must be
    changed at the next login), re-check that nothing risky came back, status active, caches
    flushed, held mail released or deleted as asked, incident closed, ticket resolved.

    Refuses an account without an open incident, and one locked for less than
    [unlock] min_locked_minutes unless --force (journaled)."""
    from zcomp.core.batch import exit_status, run_accounts
    from zcomp.core.unlock import UnlockOptions, unlock_account

    if release_held and delete_held:
        raise UsageError("--release-held and --delete-held exclude each other")
    if password_file is not None and generate:
        raise UsageError("--password-file and --generate exclude each other")
    if password_file is not None and len(accounts) > 1:
        raise UsageError("--password-file gives one password: name one account, or use --generate")
    settings = app.settings
    if not dry_run:
        confirm_batch("unlock", len(accounts), settings.lockdown.confirm_threshold, yes)

    given = read_password_file(password_file) if password_file is not None else None
    options = UnlockOptions(
        new_password=(lambda _account: given) if given is not None else prompt_password,
        generate=generate,
        reveal=show_once,
        held="release" if release_held else "delete" if delete_held else "keep",
        force=force,
        dry_run=dry_run,
    )
    prompting = given is None and not generate
    single = len(accounts) == 1
    with Runtime(app) as runtime, app.output.progress(len(accounts), "unlock") as bar:

        def make_env():  # type: ignore[no-untyped-def]
            env = runtime.make_env()
            if single and not app.json:
                env.events = lambda account, step: app.output.info(f"{account}: {step}")
            return env

        def done(outcome):  # type: ignore[no-untyped-def]
            bar.advance(f"{outcome.account} {outcome.result}")
            show_outcome(app.output, outcome, verbose=False)
            if not app.json:
                for line in outcome.extra.get("done", []):
                    app.output.info(f"  - {line}")

        outcomes = run_accounts(
            accounts,
            make_env,
            lambda env, name: unlock_account(env, name, options),
            # Prompts cannot interleave: one account at a time when typing passwords.
            workers=1 if prompting else settings.lockdown.workers,
            on_done=done,
        )
    if not single:
        app.output.info(summary_line(outcomes))
    sys.exit(int(exit_status(outcomes)))
