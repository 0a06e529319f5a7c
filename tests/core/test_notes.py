"""The zcomp line in zimbraNotes: the admins' own notes are never lost."""

from __future__ import annotations

from datetime import datetime, timezone

from zcomp.core.notes import (
    NOTES_MAX,
    LockMarker,
    add_marker,
    lock_marker,
    lock_marker_of,
    marker_incident,
    unlock_marker,
)

AT = datetime(2026, 11, 22, 3, 4, tzinfo=timezone.utc)
KEY = "INC-7K3MQ9XA"


def test_marker_is_appended_then_replaced() -> None:
    locked = add_marker("VIP: call before changes", lock_marker(KEY, AT))
    assert locked == "VIP: call before changes\n" + lock_marker(KEY, AT)
    unlocked = add_marker(locked or "", unlock_marker(KEY, AT))
    assert unlocked == "VIP: call before changes\n" + unlock_marker(KEY, AT)


def test_marker_in_empty_notes_and_backslashes_are_literal() -> None:
    assert add_marker("", lock_marker(KEY, AT)) == lock_marker(KEY, AT)
    assert add_marker("[zcomp] old", "[zcomp] a\\1 b") == "[zcomp] a\\1 b"


def test_no_room_means_no_marker_not_shorter_notes() -> None:
    full = "x" * (NOTES_MAX - 10)
    assert add_marker(full, lock_marker(KEY, AT)) is None


def test_the_marker_is_the_teams_record_of_who_when_which_incident_and_ticket() -> None:
    line = lock_marker(KEY, AT, by="jdoe as admin@example.edu", ticket="rt")
    assert line.startswith("[zcomp] locked 2026-11-22T03:04:00Z by jdoe as admin@example.edu, ")
    assert "incident INC-7K3MQ9XA, ticket rt zcomp-INC-7K3MQ9XA;" in line
    notes = "VIP: call first\n" + line
    assert lock_marker_of(notes) == LockMarker(
        KEY, "2026-11-22T03:04:00Z", "jdoe as admin@example.edu", "rt"
    )
    assert marker_incident(notes) == KEY
    # A line written before keys (a journal's number, the old time format) still reads.
    old = "[zcomp] locked 2026-11-22 03:04Z, incident 3; do not unlock by hand, use zcomp unlock"
    assert lock_marker_of(old) == LockMarker("3", "2026-11-22 03:04Z")
    assert lock_marker_of(unlock_marker(KEY, AT)) is None
