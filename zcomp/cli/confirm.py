"""Typed confirmation before acting on many accounts (or settings) at once."""

from __future__ import annotations

import click

from zcomp.credentials import stdin_is_terminal
from zcomp.exitcodes import UsageError
from zcomp.output import prompt_open, write_stderr


def confirm_batch(verb: str, count: int, threshold: int, yes: bool) -> None:
    if yes or count <= threshold:
        return
    if not stdin_is_terminal():
        raise UsageError(
            f"refusing to {verb} {count} accounts without confirmation: add --yes "
            f"(the threshold is {threshold}, [lockdown] confirm_threshold)"
        )
    typed_confirmation(f"About to {verb} {count} accounts. Type {count} to go on", count)


def typed_confirmation(question: str, count: int) -> None:
    """Go on only when `count` is typed. Anything else (or Ctrl-D) is a confirmation not
    given: as without a terminal to ask on, one usage line (exit 2) saying nothing was done,
    not Click's bare "Aborted!" (exit 1). Ctrl-C stays an interruption (zcomp.cli.main)."""
    try:
        with prompt_open():
            typed = click.prompt(question, err=True)
    except click.Abort as exc:
        if isinstance(exc.__context__, EOFError):
            write_stderr("\n")  # Ctrl-D echoes nothing: the line starts on a row of its own
            raise UsageError("not confirmed (no answer): nothing was changed") from None
        raise
    if typed.strip() != str(count):
        raise UsageError(f"not confirmed ({count} was not typed): nothing was changed")
