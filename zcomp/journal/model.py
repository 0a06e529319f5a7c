"""Plain dataclasses the journal hands out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OPEN = "open"
# Locked, password scrambled, tokens revoked; what the attacker planted not yet all removed.
LOCKED = "locked-not-cleaned"
CONTAINED = "contained"
FAILED = "failed"
CLOSED = "closed"


@dataclass(frozen=True)
class Incident:
    id: int
    account_id: str
    account_name: str
    state: str  # open / contained / failed / ... / closed
    reason: str
    operator: str
    started_at: datetime
    closed_at: datetime | None = None
    closed_how: str | None = None
    ticket_backend: str | None = None
    ticket_id: str | None = None
    ticket_url: str | None = None
    evidence_sha256: str | None = None  # of the first (pre-clean) bundle
    # What the ticket will say, kept until it is filed and linked (None: nothing pending).
    ticket_pending: dict[str, Any] | None = None
    # The incident as people see it (INC-7K3MQ9XA), the same in every journal that knows it;
    # `id` is only this journal's row number.
    key: str = ""

    @property
    def is_closed(self) -> bool:
        return self.state == CLOSED


@dataclass(frozen=True)
class AccountLock:
    """Who on this journal is acting on an account, and since when."""

    account_id: str
    holder: str
    host: str
    pid: int
    since: datetime


@dataclass(frozen=True)
class ActionEntry:
    """One action to record (Journal.record_actions): its before/after values are plain JSON,
    never a secret."""

    step: str
    kind: str
    target: str
    before: Any
    after: Any
    status: str
    detail: str = ""


@dataclass(frozen=True)
class Action:
    id: int
    incident_id: int
    at: datetime
    step: str
    kind: str
    target: str
    before: Any
    after: Any
    status: str
    detail: str


@dataclass(frozen=True)
class Evidence:
    incident_id: int
    sha256: str
    bundle: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Baseline:
    id: int
    account_id: str
    account_name: str
    captured_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Run:
    id: int
    command: str
    accounts: list[str]
    started_at: datetime
    finished_at: datetime | None
    results: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardEvent:
    """A zcomp guard hold (kind "hold", written by the milter) or a review's release/delete."""

    id: int
    at: datetime
    kind: str
    server: str
    queue_id: str
    sender: str
    rule: str
    reason: str
    operator: str
    detail: dict[str, Any]
