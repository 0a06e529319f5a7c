"""An on-call team's shared state directory: setgid, group rwx, nothing for others."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from zcomp.journal import Journal, JournalError
from zcomp.journal.files import DB_NAME
from zcomp.zimbra.tokens import FILE_NAME, FileCache


def _team_dir(tmp_path: Path, mode: int = 0o2770) -> Path:
    shared = tmp_path / "oncall"
    shared.mkdir()
    os.chown(shared, -1, os.getegid())  # our own group: no root needed
    shared.chmod(mode)
    return shared


def test_a_team_directory_is_accepted_and_its_journal_is_the_groups(tmp_path: Path) -> None:
    shared = _team_dir(tmp_path)

    with Journal.open(shared) as journal:
        incident = journal.start_incident("id-1", "a@x", reason="r", operator="ann")

    st = (shared / DB_NAME).stat()
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == os.getegid()
    with Journal.open(shared) as journal:  # a colleague opens the same journal
        assert journal.incident(incident.key).operator == "ann"
    # Admin tokens stay personal: one cache file per user, never the shared name.
    assert FileCache(shared).path.name == f"admin-tokens-{os.getuid()}.json"
    assert FileCache(tmp_path).path.name == FILE_NAME


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        (0o0770, "writable by group or others"),  # group-writable but not a team directory
        (0o2777, "writable by group or others"),  # others may write: never a team's
        (0o2775, "writable by group or others"),  # others may read the journal
    ],
)
def test_a_group_writable_directory_that_is_not_a_teams_is_refused(
    tmp_path: Path, mode: int, why: str
) -> None:
    shared = _team_dir(tmp_path, mode)
    with pytest.raises(JournalError, match=why):
        Journal.open(shared)


def test_a_journal_file_others_can_read_is_refused_even_in_a_team_directory(
    tmp_path: Path,
) -> None:
    shared = _team_dir(tmp_path)
    with Journal.open(shared):
        pass
    (shared / DB_NAME).chmod(0o664)
    with pytest.raises(JournalError, match="not the team's"):
        Journal.open(shared)
