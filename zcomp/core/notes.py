"""The short zcomp marker kept in the account's zimbraNotes (other notes are left alone)."""

from __future__ import annotations

import re
from datetime import datetime

_MARKER = re.compile(r"^\[zcomp\] .*$", re.MULTILINE)


def lock_marker(incident_id: int, at: datetime) -> str:
    return (
        f"[zcomp] locked {at:%Y-%m-%d %H:%M}Z, incident {incident_id}; "
        "do not unlock by hand, use zcomp unlock"
    )


def unlock_marker(incident_id: int, at: datetime) -> str:
    return f"[zcomp] unlocked {at:%Y-%m-%d %H:%M}Z, incident {incident_id} closed"


def add_marker(notes: str, marker: str) -> str:
    """Replace an earlier zcomp line, or append one; existing notes are kept."""
    if _MARKER.search(notes):
        return _MARKER.sub(marker.replace("\\", "\\\\"), notes, count=1)
    return f"{notes.rstrip()}\n{marker}" if notes.strip() else marker
