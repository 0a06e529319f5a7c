"""Option bundles shared by commands (the sqlite-utils pattern): define once, stack anywhere."""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from collections.abc import Callable, Iterable
from typing import Any, TextIO, TypeVar

import click

from zcomp.cli.context import AppContext

F = TypeVar("F", bound=Callable[..., Any])

ACCOUNT_COLUMNS = ("account", "name", "email")


def parse_account_lines(lines: Iterable[str], origin: str = "--from") -> list[str]:
    """Accounts from one-per-line text, CSV with a header column, or JSON lines (zcomp scan).

    Blank lines and lines starting with '#' are skipped in the one-per-line form.
    """
    text_lines = [line.rstrip("\r\n") for line in lines]
    meaningful = [line for line in text_lines if line.strip() and not line.lstrip().startswith("#")]
    if not meaningful:
        return []
    first = meaningful[0].strip()
    if first.startswith("{"):
        return _from_json_lines(meaningful, origin)
    header = [cell.strip().lower() for cell in next(csv.reader([first]))]
    column = next((name for name in ACCOUNT_COLUMNS if name in header), None)
    if column is not None:
        return _from_csv(text_lines, header.index(column), origin)
    found = []
    for number, line in enumerate(meaningful, start=1):
        value = line.strip()
        if "," in value or any(ch.isspace() for ch in value):
            raise click.UsageError(
                f"{origin}: line {number} {value!r} is not one account; for CSV, add a header "
                f"line naming a column {', '.join(ACCOUNT_COLUMNS)}"
            )
        found.append(value)
    return found


def _from_csv(lines: list[str], index: int, origin: str) -> list[str]:
    reader = csv.reader(io.StringIO("\n".join(lines)))
    next(reader)  # header
    found = []
    for row in reader:
        if len(row) > index and row[index].strip():
            found.append(row[index].strip())
    if not found:
        raise click.UsageError(f"{origin}: the CSV has a header but no accounts")
    return found


def _from_json_lines(lines: list[str], origin: str) -> list[str]:
    found = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise click.UsageError(f"{origin}: line {number} is not JSON: {exc.msg}") from None
        value = None
        if isinstance(record, dict):
            value = next(
                (record[k] for k in ACCOUNT_COLUMNS if isinstance(record.get(k), str)), None
            )
        if not value:
            raise click.UsageError(
                f"{origin}: JSON line {number} has no {'/'.join(ACCOUNT_COLUMNS)} field"
            )
        found.append(value.strip())
    return found


def deduplicate(accounts: Iterable[str]) -> list[str]:
    """Keep the first spelling of each account; Zimbra names are case-insensitive."""
    seen: set[str] = set()
    ordered = []
    for account in accounts:
        key = account.strip().casefold()
        if key and key not in seen:
            seen.add(key)
            ordered.append(account.strip())
    return ordered


def accounts_options(required: bool = True) -> Callable[[F], F]:
    """ACCOUNT... arguments plus --from FILE|-; the command receives `accounts: list[str]`."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given: tuple[str, ...] = kwargs.pop("account_args", ())
            source: TextIO | None = kwargs.pop("from_file", None)
            accounts = list(given)
            if source is not None:
                origin = "--from -" if source.name == "<stdin>" else f"--from {source.name}"
                accounts.extend(parse_account_lines(source, origin))
            accounts = deduplicate(accounts)
            if required and not accounts:
                raise click.UsageError(
                    "no accounts given: name them or use --from FILE (- = stdin)"
                )
            kwargs["accounts"] = accounts
            return func(*args, **kwargs)

        wrapper = click.argument("account_args", metavar="ACCOUNT...", nargs=-1)(wrapper)
        wrapper = click.option(
            "--from",
            "from_file",
            type=click.File("r", encoding="utf-8"),
            metavar="FILE",
            help="Read accounts from FILE (- for stdin): one per line, CSV with an "
            "account/name/email column, or JSON lines.",
        )(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorator


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        app = ctx.find_object(AppContext)
        if app is not None:
            app.enable_json()


json_option = click.option(
    "--json",
    "json_output",
    is_flag=True,
    expose_value=False,
    callback=_set_json,
    help="One JSON object per line on stdout (same as zcomp --json).",
)

dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Print the exact plan and change nothing."
)

yes_option = click.option(
    "--yes", "-y", is_flag=True, help="Do not ask for confirmation (batch runs, scripts)."
)

force_option = click.option(
    "--force", is_flag=True, help="Override a safety refusal (protected account, minimum time)."
)


class IncidentType(click.ParamType):  # type: ignore[type-arg]  # generic from Click 8.5 only
    """An incident as every screen and ticket shows it (INC000042) or as a number (42)."""

    name = "INCIDENT"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removeprefix("INC")
        if not text.isdigit() or not 0 < int(text) < 2**63:
            self.fail(f"{value!r} is not an incident (e.g. INC000042 or 42)", param, ctx)
        return int(text)


INCIDENT = IncidentType()


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
