"""Typed confirmation before acting on many accounts at once."""

from __future__ import annotations

import click

from zcomp.credentials import stdin_is_terminal
from zcomp.exitcodes import UsageError


def confirm_batch(verb: str, count: int, threshold: int, yes: bool) -> None:
    if yes or count <= threshold:
        return
    if not stdin_is_terminal():
        raise UsageError(
            f"refusing to {verb} {count} accounts without confirmation: add --yes "
            f"(the threshold is {threshold}, [lockdown] confirm_threshold)"
        )
    typed = click.prompt(f"About to {verb} {count} accounts. Type {count} to go on", err=True)
    if typed.strip() != str(count):
        raise click.Abort()
