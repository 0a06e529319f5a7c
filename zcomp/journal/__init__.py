"""The journal: zcomp's SQLite record of incidents, actions, evidence, baselines and runs."""

from __future__ import annotations

from zcomp.journal.codec import canonical_json
from zcomp.journal.errors import (
    AmbiguousIncident,
    IncidentNotFound,
    IncidentOpenError,
    JournalError,
    SecretRefusedError,
)
from zcomp.journal.model import (
    CLOSED,
    CONTAINED,
    FAILED,
    LOCKED,
    OPEN,
    AccountLock,
    Action,
    ActionEntry,
    Baseline,
    Evidence,
    Incident,
    Run,
)
from zcomp.journal.store import Journal

__all__ = [
    "AmbiguousIncident",
    "CLOSED",
    "CONTAINED",
    "FAILED",
    "LOCKED",
    "OPEN",
    "AccountLock",
    "Action",
    "ActionEntry",
    "Baseline",
    "Evidence",
    "Incident",
    "IncidentNotFound",
    "IncidentOpenError",
    "Journal",
    "JournalError",
    "Run",
    "SecretRefusedError",
    "canonical_json",
]
