"""Where the journal lives on disk and who may read it: dir 0700, database files 0600.

The journal records what was done to whom and steers what zcomp does next, so a state
directory or journal file that another user owns, or that group or others can write to, is
refused: someone else could have rewritten it.

An on-call team may share one state directory instead: setgid, group rwx, nothing for others
(`install -d -m 2770 -g oncall /srv/zcomp`), the user in that group. Then colleagues' journal
files are accepted when they belong to that group and others have no access, and new ones are
0660. SQLite (WAL, busy timeout) and the per-account lock keep several users safe at once.
"""

from __future__ import annotations

import errno
import os
import shlex
import stat
from pathlib import Path

from zcomp.journal.errors import JournalError
from zcomp.securefile import (
    FILE_MODE,
    TEAM_FILE_MODE,
    foreign_owner,
    make_private_dirs,
    mode_text,
    others_can_write,
    team_group,
)

DB_NAME = "journal.sqlite3"
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
_ELSEWHERE = "set state_dir or ZCOMP_STATE_DIR to a directory you own"


def ensure_state_dir(state_dir: Path) -> None:
    """Create the directory and its missing parents (0700), then refuse it if it is not safe.

    NotADirectoryError names what is in the way; JournalError when another user owns the
    directory or a journal file in it, or group or others can write to one of them.
    """
    try:
        make_private_dirs(state_dir)
    except (FileExistsError, NotADirectoryError):
        blocker = _first_non_directory(state_dir)
        if blocker is None:
            raise
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(blocker)) from None
    team = refuse_unsafe_dir(state_dir)
    for name in (DB_NAME, *(DB_NAME + suffix for suffix in SIDE_SUFFIXES)):
        refuse_unsafe_file(state_dir / name, team=team)


def refuse_unsafe_dir(state_dir: Path) -> int | None:
    """Refuse an unsafe directory; the team's group id for a team directory, else None."""
    st = state_dir.stat()
    team = team_group(st)
    if team is not None:
        return team
    owner = foreign_owner(st)
    if owner is not None:
        raise JournalError(f"state directory {state_dir} is owned by {owner}; {_ELSEWHERE}")
    if others_can_write(st):
        raise JournalError(
            f"state directory {state_dir} is writable by group or others (mode "
            f"{mode_text(st)}); run `chmod 700 {shlex.quote(str(state_dir))}` or {_ELSEWHERE} "
            "(a team's shared directory is setgid, group rwx, nothing for others)"
        )
    return None


def refuse_unsafe_file(path: Path, *, team: int | None = None) -> None:
    """A journal file, if present, must be ours and writable by us only; in a team directory,
    the team's (its group, nothing for others)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if team is not None:
        if st.st_gid != team or st.st_mode & 0o007:
            raise JournalError(
                f"journal file {path} in a team directory is not the team's (mode "
                f"{mode_text(st)}, group id {st.st_gid}, expected {team} and nothing for others)"
            )
        return
    owner = foreign_owner(st)
    if owner is not None:
        raise JournalError(
            f"journal file {path} is owned by {owner}; move it away if it is not yours, "
            f"or {_ELSEWHERE}"
        )
    if others_can_write(st):
        raise JournalError(
            f"journal file {path} is writable by group or others (mode {mode_text(st)}); "
            f"check nobody changed it, then run `chmod 600 {shlex.quote(str(path))}`"
        )


def _first_non_directory(path: Path) -> Path | None:
    """The nearest existing path on the way to `path` that is not a directory, if any."""
    for candidate in reversed((path, *path.parents)):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def file_mode(path: Path) -> int:
    """0600, or 0660 in a team directory (colleagues write the same journal)."""
    try:
        return TEAM_FILE_MODE if team_group(path.parent.stat()) is not None else FILE_MODE
    except OSError:
        return FILE_MODE


def ensure_private_file(path: Path) -> None:
    """Create `path` 0600 (0660 in a team directory) if missing; tighten it if it is looser."""
    wanted = file_mode(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, wanted)
    try:
        st = os.fstat(fd)
        # Only the owner may chmod; a colleague's file was checked by refuse_unsafe_file.
        if stat.S_IMODE(st.st_mode) != wanted and foreign_owner(st) is None:
            os.fchmod(fd, wanted)
    finally:
        os.close(fd)


def tighten_side_files(db_path: Path) -> None:
    """SQLite gives -wal/-shm the database's mode; make sure anyway, they hold the same data."""
    wanted = file_mode(db_path)
    for suffix in SIDE_SUFFIXES:
        side = db_path.with_name(db_path.name + suffix)
        try:
            st = side.stat()
        except FileNotFoundError:
            continue
        if stat.S_IMODE(st.st_mode) != wanted and foreign_owner(st) is None:
            os.chmod(side, wanted)
