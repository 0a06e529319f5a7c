"""zcomp unlock: hand a contained account back to its owner."""

from __future__ import annotations

import getpass
import os
import sys
import threading
from typing import IO

import click

from zcomp.cli.confirm import confirm_batch
from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import (
    accounts_options,
    dry_run_option,
    force_option,
    json_option,
    workers_option,
    yes_option,
)
from zcomp.cli.playbook import run_playbook
from zcomp.cli.render import show_outcome
from zcomp.core.outcome import AccountOutcome
from zcomp.credentials import password_text, stdin_is_terminal
from zcomp.exitcodes import UsageError
from zcomp.output import prompt_open, write_stderr
from zcomp.zimbra.model import Secret

NO_TERMINAL = (
    "--generate shows the password on the terminal only, and this run has no controlling "
    "terminal (cron, nohup, ssh without -t): give the password with --new-password-file FILE"
)
NO_PROMPT = (
    "stdin is not a terminal, so the new password cannot be typed at a hidden prompt: "
    "use --new-password-file FILE, or --generate on a terminal"
)


def read_password_file(source: IO[str]) -> Secret:
    """The file's text with one trailing newline removed (what `echo pw > file` leaves) and a
    Windows editor's BOM; refused when the owner could not type it back."""
    try:
        raw = source.read()
    except UnicodeDecodeError:
        raise UsageError(
            f"--new-password-file {source.name}: not UTF-8 text; save the file as UTF-8"
        ) from None
    text = password_text(raw)  # read in text mode: CRLF and CR are already "\n"
    if not text:
        raise UsageError(f"--new-password-file {source.name}: the file is empty")
    if "\n" in text or "\r" in text:
        # The owner would be handed a password no login form can take.
        raise UsageError(
            f"--new-password-file {source.name}: more than one line; the file must hold "
            "the password alone, on one line"
        )
    return Secret(text)


def open_terminal() -> IO[str] | None:
    """The controlling terminal, for writing; None without one. Never stderr: that may be a
    log file or cron mail, and a generated password must not end up there."""
    try:
        fd = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY)
    except OSError:
        return None
    return os.fdopen(fd, "w", encoding="utf-8")


def prompt_password(account: str) -> Secret:
    """Typed twice, hidden; getpass prompts on the terminal itself (/dev/tty)."""
    for _ in range(3):
        try:
            with prompt_open():
                first = getpass.getpass(f"New temporary password for {account}: ")
            with prompt_open():
                second = getpass.getpass("Type it again: ")
        except EOFError:
            write_stderr("\n")  # Ctrl-D echoes nothing: the error starts on a row of its own
            raise UsageError(
                f"no new password entered (Ctrl-D): {account} was not changed"
            ) from None
        if first == second:
            return Secret(first)
        write_stderr("The two entries differ; try again.\n")
    raise UsageError("the two entries differed three times; nothing was changed")


class TerminalReveal:
    """Shows each generated password once on the terminal (workers may call concurrently)."""

    def __init__(self, terminal: IO[str]) -> None:
        self._terminal = terminal
        self._lock = threading.Lock()

    def __call__(self, account: str, password: Secret) -> None:
        with self._lock:
            self._terminal.write(
                f"New temporary password for {account}: {password.reveal()}\n"
                "  (shown once, on this terminal only; zcomp keeps no copy; "
                "the owner must change it at login)\n"
            )
            self._terminal.flush()


def _cannot_prompt(account: str) -> Secret:
    raise UsageError(NO_PROMPT)


@click.command()
@accounts_options()
@workers_option
@click.option(
    "--new-password-file",
    "password_file",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE",
    help="Read the owner's new temporary password from FILE (- = stdin); one account only. "
    "(The root option --password-file is the ADMIN password.)",
)
@click.option(
    "--generate",
    is_flag=True,
    help="Generate a temporary password per account that can be read out by phone: "
    "pronounceable made-up words (80+ bits), fitted to the account's password policy "
    "(random characters when the policy has no room for words). Shown once on the terminal "
    "(/dev/tty; never on stdout, stderr or in logs). Needs a terminal.",
)
@click.option("--release-held", is_flag=True, help="Release the mail lockdown held.")
@click.option("--delete-held", is_flag=True, help="Delete the mail lockdown held (spam).")
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
    flushed, the mail lockdown held released or deleted as asked, incident closed, ticket
    resolved.

    The new password is typed twice at a hidden prompt, read with --new-password-file, or made
    with --generate; Zimbra checks it against the account's password policy before anything
    changes (a password it refuses leaves the account locked, exit 1). Refuses an account
    without an open incident, and one locked for less than [unlock] min_locked_minutes unless
    --force (journaled once the new password is set)."""
    from zcomp.core.stop import StopRequest
    from zcomp.core.unlock import UnlockOptions, unlock_account

    if release_held and delete_held:
        raise UsageError("--release-held and --delete-held exclude each other")
    if password_file is not None and generate:
        raise UsageError("--new-password-file and --generate exclude each other")
    if password_file is not None and len(accounts) > 1:
        raise UsageError(
            "--new-password-file gives one password: name one account, or use --generate"
        )
    prompting = password_file is None and not generate
    # Before any contact with Zimbra: a run that cannot show or take the password stops here.
    terminal = open_terminal() if generate and not dry_run else None
    try:
        if generate and not dry_run and terminal is None:
            raise UsageError(NO_TERMINAL)
        no_prompt = prompting and not dry_run and not stdin_is_terminal()
        # Finishing an unlock (held mail, a killed run) may need no new password: then the
        # missing prompt is an error only if one is asked for.
        if no_prompt and not (release_held or delete_held):
            raise UsageError(NO_PROMPT)
        settings = app.settings
        if not dry_run:
            confirm_batch("unlock", len(accounts), settings.lockdown.confirm_threshold, yes)

        given = read_password_file(password_file) if password_file is not None else None
        options = UnlockOptions(
            new_password=(
                (lambda _account: given)
                if given is not None
                else _cannot_prompt
                if no_prompt
                else prompt_password
            ),
            generate=generate,
            held_mail="release" if release_held else "delete" if delete_held else "keep",
            force=force,
            dry_run=dry_run,
        )
        if terminal is not None:
            options.reveal = TerminalReveal(terminal)

        def render(outcome: AccountOutcome) -> None:
            show_outcome(app.output, outcome, verbose=False)
            if not app.json:
                for line in outcome.extra.get("done", []):
                    app.output.report(f"  - {line}")

        stop = StopRequest()
        report = run_playbook(
            app,
            accounts,
            lambda env, name: unlock_account(env, name, options),
            verb="unlock",
            stop=stop,
            journaled=not dry_run,
            files_tickets=not dry_run,
            render=render,
            # Prompts cannot interleave: one account at a time when typing passwords.
            workers=1 if prompting else None,
            bar=not (prompting or generate),
        )
    finally:
        if terminal is not None:
            terminal.close()
    sys.exit(int(report.exit_code))
