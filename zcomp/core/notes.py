"""The short zcomp marker kept in the account's zimbraNotes (other notes are left alone)."""

from __future__ import annotations

import re
from datetime import datetime

from zcomp.timestamps import stamp

NOTES_MAX = 1024  # zimbraNotes max in zimbra-attrs.xml
_MARKER = re.compile(r"^\[zcomp\] .*$", re.MULTILINE)


def lock_marker(incident_id: int, at: datetime) -> str:
    return (
        f"[zcomp] locked {stamp(at)}, incident {incident_id}; "
        "do not unlock by hand, use zcomp unlock"
    )


def unlock_marker(incident_id: int, at: datetime) -> str:
    return f"[zcomp] unlocked {stamp(at)}, incident {incident_id} closed"


def add_marker(notes: str, marker: str) -> str | None:
    """Replace an earlier zcomp line, or append one; existing notes are kept.

    None when the result would not fit zimbraNotes (1024 characters): the admins' own notes
    are never cut to make room.
    """
    if _MARKER.search(notes):
        updated = _MARKER.sub(lambda _m: marker, notes, count=1)
    else:
        updated = f"{notes.rstrip()}\n{marker}" if notes.strip() else marker
    return updated if len(updated) <= NOTES_MAX else None


_LOCKED = re.compile(r"^\[zcomp\] locked .*?, incident (\d+);", re.MULTILINE)


def marker_line(notes: str) -> str | None:
    """The zcomp line of zimbraNotes, if there is one."""
    m = _MARKER.search(notes)
    return m.group(0) if m else None


def marker_incident(notes: str) -> int | None:
    """The incident of a zcomp "locked" line in zimbraNotes, if there is one."""
    m = _LOCKED.search(notes)
    return int(m.group(1)) if m else None
