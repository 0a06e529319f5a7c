"""Where the journal lives on disk and who may read it: dir 0700, database files 0600."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

DB_NAME = "journal.sqlite3"
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_state_dir(state_dir: Path) -> None:
    """Create the directory (0700) and its parents; NotADirectoryError names what is in the way."""
    try:
        state_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = _first_non_directory(state_dir)
        if blocker is None:
            raise
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(blocker)) from None


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
