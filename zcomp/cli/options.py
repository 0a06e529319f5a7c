"""Option bundles shared by commands (the sqlite-utils pattern): define once, stack anywhere."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import IO, Any, TypeVar

import click

from zcomp.cli.account_input import (
    AccountInputError,
    InvalidAccount,
    clean_account,
    physical_lines,
    read_accounts,
)
from zcomp.cli.account_input import deduplicate as deduplicate  # re-exported: options API
from zcomp.cli.context import AppContext
from zcomp.cli.paramtypes import FiniteSeconds as FiniteSeconds  # re-exported: options API

F = TypeVar("F", bound=Callable[..., Any])


def parse_account_lines(
    lines: Iterable[bytes | str],
    origin: str = "--from",
    *,
    column: str | None = None,
    skip_invalid: bool = False,
    warn: Callable[[str], None] | None = None,
) -> list[str]:
    """account_input.read_accounts for a command: its error is a usage error (exit 2), and
    each line skipped with skip_invalid is one warning."""
    try:
        result = read_accounts(lines, origin=origin, column=column, skip_invalid=skip_invalid)
    except AccountInputError as exc:
        raise click.UsageError(str(exc)) from None
    for bad in result.skipped:
        (warn or _warn)(f"{origin}: {bad}; skipped")
    return result.accounts


def _warn(text: str) -> None:
    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(AppContext) if ctx is not None else None
    if app is not None:
        app.output.warn(text)
    else:
        click.echo(f"Warning: {text}", err=True)


def accounts_options(required: bool = True) -> Callable[[F], F]:
    """ACCOUNT... arguments plus --from FILE|- (with --column, --skip-invalid); the command
    receives `accounts: list[str]`."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["accounts"] = _accounts(
                kwargs.pop("account_args", ()),
                kwargs.pop("from_file", None),
                kwargs.pop("column", None),
                kwargs.pop("skip_invalid", False),
                required,
            )
            return func(*args, **kwargs)

        return _account_params(wrapper)  # type: ignore[return-value]

    return decorator


def _accounts(
    given: tuple[str, ...],
    source: IO[bytes] | None,
    column: str | None,
    skip_invalid: bool,
    required: bool,
) -> list[str]:
    accounts = [account_argument(value) for value in given if value.strip()]
    if source is not None:
        accounts.extend(
            parse_account_lines(
                physical_lines(source), _origin(source), column=column, skip_invalid=skip_invalid
            )
        )
    elif column is not None or skip_invalid:
        raise click.UsageError("--column and --skip-invalid apply to --from FILE")
    accounts = deduplicate(accounts)
    if required and not accounts:
        raise click.UsageError("no accounts given: name them or use --from FILE (- = stdin)")
    return accounts


def account_argument(value: str) -> str:
    """An ACCOUNT argument, cleaned and checked as a --from line is: a pasted `Name <a@x>` is
    a@x, and `a@x,` or a name with a newline is refused before any account is touched."""
    if not value.strip():
        raise click.UsageError("the ACCOUNT argument is empty")
    try:
        return clean_account(value)
    except InvalidAccount as exc:
        reason = str(exc)
        if reason.startswith("longer than"):  # the value itself is too long to show
            reason = f"an ACCOUNT argument is {reason}"
        raise click.UsageError(reason) from None


def clean_account_argument(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> str | None:
    """Click callback for a command's one ACCOUNT argument (baseline show): account_argument."""
    return None if value is None else account_argument(value)


def _origin(source: IO[bytes]) -> str:
    # Binary stdin is '<stdin>', or has no name at all under CliRunner.
    name = getattr(source, "name", None)
    return f"--from {name}" if isinstance(name, str) and name != "<stdin>" else "--from -"


def _account_params(wrapper: Callable[..., Any]) -> Callable[..., Any]:
    # Applied last-shown-first: help lists --from, --column, --skip-invalid.
    wrapper = click.argument("account_args", metavar="ACCOUNT...", nargs=-1)(wrapper)
    wrapper = click.option(
        "--skip-invalid",
        is_flag=True,
        help="With --from: warn about each bad line (with its number) and go on with the "
        "good ones, instead of stopping at the first.",
    )(wrapper)
    wrapper = click.option(
        "--column",
        metavar="NAME",
        help="With --from CSV (or JSON lines): the column (field) holding the address, "
        "instead of the first of account, email, mail, primaryEmail, address, mailbox, "
        "user, login.",
    )(wrapper)
    return click.option(
        "--from",
        "from_file",
        type=click.File("rb"),
        metavar="FILE",
        help="Read accounts from FILE (- for stdin): one per line, CSV with a header "
        "naming the address column (comma, semicolon or tab separated), or JSON lines "
        "(zcomp --json output).",
    )(wrapper)


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
    """An incident as every screen and ticket shows it (INC-7K3MQ9XA), in any case, or its
    first 4+ characters; older ones as INC000042 or 42. The journal finds it."""

    name = "INCIDENT"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        from zcomp.journal.keys import normalise_key

        text = str(value).strip()
        if not normalise_key(text):
            self.fail(f"{value!r} is not an incident (e.g. INC-7K3MQ9XA, or 7K3M)", param, ctx)
        return text


INCIDENT = IncidentType()


def _set_workers(ctx: click.Context, _param: click.Parameter, value: int | None) -> None:
    if value is not None:
        app = ctx.find_object(AppContext)
        if app is not None:
            app.workers = value


def workers_option(func: F) -> F:
    """--workers N: accounts changed at once (default: [lockdown] workers)."""
    from zcomp.config import MAX_WORKERS

    return click.option(
        "--workers",
        type=click.IntRange(1, MAX_WORKERS),
        expose_value=False,
        callback=_set_workers,
        help=f"Accounts processed at once, 1 to {MAX_WORKERS} (default: [lockdown] workers).",
    )(func)
