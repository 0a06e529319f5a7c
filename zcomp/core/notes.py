"""The short zcomp marker kept in the account's zimbraNotes (other notes are left alone)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from zcomp.tickets.content import idempotency_key
from zcomp.timestamps import stamp

NOTES_MAX = 1024  # zimbraNotes max in zimbra-attrs.xml
_MARKER = re.compile(r"^\[zcomp\] .*$", re.MULTILINE)


def lock_marker(incident_key: str, at: datetime, *, by: str = "", ticket: str = "") -> str:
    """The account's own record for a team: any admin's zcomp reads who contained it, when,
    under which incident, and on which help-desk backend its ticket is (found there by key)."""
    who = f" by {by}" if by else ""
    where = f", ticket {ticket} {idempotency_key(incident_key)}" if ticket else ""
    return (
        f"[zcomp] locked {stamp(at)}{who}, incident {incident_key}{where}; "
        "do not unlock by hand, use zcomp unlock"
    )


def unlock_marker(incident_key: str, at: datetime) -> str:
    return f"[zcomp] unlocked {stamp(at)}, incident {incident_key} closed"


@dataclass(frozen=True)
class LockMarker:
    """What a zcomp "locked" line says (zcomp.core.notes.lock_marker)."""

    incident: str
    at: str
    by: str = ""
    ticket_backend: str = ""


_LOCK_LINE = re.compile(
    r"^\[zcomp\] locked (?P<at>\S+(?: \S+Z)?)(?: by (?P<by>[^,;]+))?, "
    r"incident (?P<incident>[^,;\s]+)(?:, ticket (?P<backend>\S+) \S+)?;",
    re.MULTILINE,
)


def lock_marker_of(notes: str) -> LockMarker | None:
    m = _LOCK_LINE.search(notes)
    if m is None:
        return None
    return LockMarker(m["incident"], m["at"], (m["by"] or "").strip(), m["backend"] or "")


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


def marker_incident(notes: str) -> str | None:
    """The incident of a zcomp "locked" line in zimbraNotes, if there is one."""
    marker = lock_marker_of(notes)
    return marker.incident if marker else None


def marker_line(notes: str) -> str | None:
    """The zcomp line of zimbraNotes, if there is one."""
    m = _MARKER.search(notes)
    return m.group(0) if m else None


_UNLOCK_LINE = re.compile(
    r"^\[zcomp\] unlocked \S+, incident (?P<incident>\S+) closed", re.MULTILINE
)


def unlocked_incident(notes: str) -> str | None:
    """The incident of a zcomp "unlocked" line in zimbraNotes, if there is one."""
    m = _UNLOCK_LINE.search(notes)
    return m["incident"] if m else None
