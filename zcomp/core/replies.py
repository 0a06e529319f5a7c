"""Small helpers for batch results (result | ZimbraFault | NOT_RUN) shared by the lifecycle
playbooks (unlock, inspect, restore, baseline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zcomp.core.outcome import AccountOutcome, fault_error
from zcomp.zimbra.errors import NOT_RUN, ZimbraError, ZimbraFault


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


def record_error(outcome: AccountOutcome, exc: ZimbraError) -> None:
    """Turn a Zimbra error into the outcome's error (its exit status included)."""
    outcome.result = "failed"
    if isinstance(exc, ZimbraFault):
        outcome.error = fault_error(exc)
    else:
        outcome.error = {
            "code": type(exc).__name__,
            "message": exc.message,
            "exit": int(exc.exit_code),
        }


def refuse(outcome: AccountOutcome, code: str, message: str, *, result: str = "refused") -> None:
    outcome.result = result
    outcome.error = {"code": code, "message": message, "exit": 1}


def iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
