"""The per-account result every playbook returns (and --json prints)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from zcomp.core.findings import Finding
from zcomp.exitcodes import ExitCode, ZcompError
from zcomp.zimbra.errors import ZimbraFault


class Result(str, enum.Enum):
    """What happened to one account. The value is what --json, the journal and tests see."""

    CONTAINED = "contained"
    ALREADY_CONTAINED = "already-contained"
    # Contained and cleaned, but the help-desk ticket could not be filed or linked yet.
    TICKET_PENDING = "contained-ticket-pending"
    # Locked, password scrambled, tokens revoked, but what the attacker planted is not all gone.
    LOCKED_NOT_CLEANED = "locked-not-cleaned"
    UNLOCKED = "unlocked"
    # Handed back, but the ticket's comment or resolution could not be filed yet.
    UNLOCKED_TICKET_PENDING = "unlocked-ticket-pending"
    RESTORED = "restored"
    PLANNED = "planned"
    SKIPPED = "skipped"
    REFUSED = "refused"
    BUSY = "busy"  # another zcomp process is acting on the account
    NOT_STARTED = "not-started"  # the run was stopped before this account was touched
    STOPPED = "stopped"  # an urgent stop ended this account at a step boundary
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


_NOT_OK = frozenset(
    {
        Result.FAILED,
        Result.SKIPPED,
        Result.REFUSED,
        Result.BUSY,
        Result.NOT_STARTED,
        Result.STOPPED,
        Result.LOCKED_NOT_CLEANED,
    }
)


@dataclass(frozen=True)
class Failure:
    """Why an account did not end as asked: Zimbra's fault code or zcomp's own (busy, verify,
    stopped, ...), one line, and the exit status it gives a one-account run."""

    code: str
    message: str
    exit: ExitCode = ExitCode.FAILURE


@dataclass
class AccountOutcome:
    account: str
    result: str  # a Result; inspect uses its verdicts (clean, suspicious, ...)
    incident: str | None = None  # its key, as people see it (INC-7K3MQ9XA)
    ticket: dict[str, Any] | None = None
    removed: list[Finding] = field(default_factory=list)
    kept: list[Finding] = field(default_factory=list)
    error: Failure | None = None
    plan: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    held_messages: int = 0  # queued messages on hold (JSON: "held")
    round_trips: int = 0
    evidence_sha256: str | None = None
    evidence_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.result not in _NOT_OK

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "account": self.account,
            "result": str(self.result),
            "incident": self.incident,
            "ticket": self.ticket,
            "removed": [f.summary() for f in self.removed],
            "kept": [f.summary() for f in self.kept],
            "held": self.held_messages,
            "round_trips": self.round_trips,
        }
        if self.evidence_sha256:
            out["evidence_sha256"] = self.evidence_sha256
        if self.evidence_path:
            out["evidence_path"] = self.evidence_path
        if self.plan:
            out["plan"] = self.plan
        if self.warnings:
            out["warnings"] = self.warnings
        if self.error:
            out["error"] = {"code": self.error.code, "message": self.error.message}
        out.update(self.extra)
        return out


def fault_error(fault: ZimbraFault) -> Failure:
    return Failure(fault.code, fault.reason, fault.exit_code)


def error_of(exc: ZcompError) -> Failure:
    """An outcome's error: Zimbra's fault code, or the kind of trouble (connection, ...)."""
    if isinstance(exc, ZimbraFault):
        return fault_error(exc)
    return Failure(exc.exit_code.name.lower(), exc.message, exc.exit_code)
