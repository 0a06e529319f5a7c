"""The zcomp line in zimbraNotes: the admins' own notes are never lost."""

from __future__ import annotations

from datetime import datetime, timezone

from zcomp.core.notes import NOTES_MAX, add_marker, lock_marker, unlock_marker

AT = datetime(2026, 11, 22, 3, 4, tzinfo=timezone.utc)


def test_marker_is_appended_then_replaced() -> None:
    locked = add_marker("VIP: call before changes", lock_marker(7, AT))
    assert locked == "VIP: call before changes\n" + lock_marker(7, AT)
    unlocked = add_marker(locked or "", unlock_marker(7, AT))
    assert unlocked == "VIP: call before changes\n" + unlock_marker(7, AT)


def test_marker_in_empty_notes_and_backslashes_are_literal() -> None:
    assert add_marker("", lock_marker(1, AT)) == lock_marker(1, AT)
    assert add_marker("[zcomp] old", "[zcomp] a\\1 b") == "[zcomp] a\\1 b"


def test_no_room_means_no_marker_not_shorter_notes() -> None:
    full = "x" * (NOTES_MAX - 10)
    assert add_marker(full, lock_marker(1, AT)) is None
