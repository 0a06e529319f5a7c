"""Typed confirmation before acting on many accounts at once."""

from __future__ import annotations

import sys

import click

from zcomp.exitcodes import UsageError


def confirm_batch(verb: str, count: int, threshold: int, yes: bool) -> None:
    if yes or count <= threshold:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(
            f"refusing to {verb} {count} accounts without confirmation: add --yes "
            f"(the threshold is {threshold}, [lockdown] confirm_threshold)"
        )
    typed = click.prompt(f"About to {verb} {count} accounts. Type {count} to go on", err=True)
    if typed.strip() != str(count):
        raise click.Abort()
