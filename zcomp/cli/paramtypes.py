"""Parameter types the root command needs: kept apart from zcomp.cli.options, which loads the
configuration and the account-input machinery that `zcomp --help` does not need."""

from __future__ import annotations

import math

import click


class FiniteSeconds(click.ParamType):  # type: ignore[type-arg]  # generic from Click 8.5 only
    """Seconds > 0 and finite: inf or nan would pass a plain float range and break later."""

    name = "SECONDS"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or number <= 0:
            self.fail(f"{value!r} must be a finite number of seconds > 0", param, ctx)
        return number
