"""Where the journal lives on disk and who may read it: dir 0700, database files 0600.

The journal records what was done to whom and steers what zcomp does next, so a state
directory or journal file that another user owns, or that group or others can write to, is
refused: someone else could have rewritten it.
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
    foreign_owner,
    make_private_dirs,
    mode_text,
    others_can_write,
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
    refuse_unsafe_dir(state_dir)
    for name in (DB_NAME, *(DB_NAME + suffix for suffix in SIDE_SUFFIXES)):
        refuse_unsafe_file(state_dir / name)


def refuse_unsafe_dir(state_dir: Path) -> None:
    st = state_dir.stat()
    owner = foreign_owner(st)
    if owner is not None:
        raise JournalError(f"state directory {state_dir} is owned by {owner}; {_ELSEWHERE}")
    if others_can_write(st):
        raise JournalError(
            f"state directory {state_dir} is writable by group or others (mode "
            f"{mode_text(st)}); run `chmod 700 {shlex.quote(str(state_dir))}` or {_ELSEWHERE}"
        )


def refuse_unsafe_file(path: Path) -> None:
    """A journal file, if present, must be ours and writable by us only."""
    try:
        st = path.stat()
    except FileNotFoundError:
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


def ensure_private_file(path: Path) -> None:
    """Create `path` 0600 if missing; tighten it to 0600 if it is looser."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def tighten_side_files(db_path: Path) -> None:
    """SQLite gives -wal/-shm the database's mode; make sure anyway, they hold the same data."""
    for suffix in SIDE_SUFFIXES:
        side = db_path.with_name(db_path.name + suffix)
        try:
            mode = stat.S_IMODE(side.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode != FILE_MODE:
            os.chmod(side, FILE_MODE)
