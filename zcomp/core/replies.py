"""Small helpers for batch results (result | ZimbraFault | NOT_RUN) shared by the playbooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zcomp.core.outcome import AccountOutcome, Failure, error_of
from zcomp.exitcodes import CredentialError, ExitCode, ZcompError
from zcomp.timestamps import stamp
from zcomp.zimbra.errors import NOT_RUN, ZimbraAuthError, ZimbraFault


def must(result: Any) -> Any:
    """The result itself; a fault (or a child never run) is raised."""
    if isinstance(result, ZimbraFault):
        raise result
    if result is NOT_RUN:
        raise ZimbraFault("service.FAILURE", "request was not run")
    return result


def problem(what: str, result: Any) -> str | None:
    """A one-line problem when `result` is a fault or was not run, else None."""
    if isinstance(result, ZimbraFault):
        return f"{what} failed: {result.code}: {result.reason}"
    if result is NOT_RUN:
        return f"{what} was not run (an earlier request of the batch failed)"
    return None


def succeeded(result: Any) -> bool:
    return not isinstance(result, ZimbraFault) and result is not NOT_RUN


def record_error(outcome: AccountOutcome, exc: ZcompError) -> None:
    """Turn an error into the outcome's error (its exit status included).

    A refused admin login is re-raised: the whole run stops instead of retrying the login once
    per account (which could trip Zimbra's password lockout for the admin)."""
    if isinstance(exc, ZimbraAuthError | CredentialError):
        raise exc
    outcome.result = "failed"
    outcome.error = error_of(exc)


def refuse(outcome: AccountOutcome, code: str, message: str, *, result: str = "refused") -> None:
    outcome.result = result
    outcome.error = Failure(code, message, ExitCode.FAILURE)


def iso(value: Any) -> str:
    """A moment as every output shows it (zcomp.timestamps)."""
    return stamp(value) if isinstance(value, datetime) else str(value)
