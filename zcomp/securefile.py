"""Private files and directories: the one way zcomp writes a file it then renames into place.

A file appears complete or not at all: the data goes to a temporary file with an unpredictable
name in the same directory, created exclusively (O_EXCL) without following a symlink
(O_NOFOLLOW), mode 0600, fsynced, then renamed over (or hard-linked to) the final name. A
symlink planted at any name is never followed, and a temporary file never outlives a failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
# O_NOFOLLOW is missing on some platforms (Windows); O_EXCL alone already refuses a symlink.
O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_NAME_ATTEMPTS = 16  # a clash of 128 random bits means someone is planting names: give up


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write `data` to `path` atomically, readable by its owner only (0600).

    exclusive=False replaces whatever is at `path` (a symlink there is replaced, not followed);
    exclusive=True raises FileExistsError if `path` exists, so two writers never both win.
    """
    temp = _write_temp(path, data)
    try:
        if exclusive:
            _link_new(temp, path)
        else:
            os.replace(temp, path)
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)  # left only when the rename or link failed


def _write_temp(path: Path, data: bytes) -> Path:
    """A fully written, fsynced 0600 file next to `path`, under a random name."""
    for _ in range(_NAME_ATTEMPTS):
        # The name is cut short so the temporary name stays within NAME_MAX.
        temp = path.with_name(f".{path.name[:150]}.{secrets.token_hex(16)}.tmp")
        try:
            fd = os.open(temp, _CREATE_FLAGS, FILE_MODE)
        except FileExistsError:
            continue
        try:
            try:
                os.fchmod(fd, FILE_MODE)  # a umask may have taken owner bits too
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return temp
    raise FileExistsError(f"no free temporary name next to {path}")


def _link_new(temp: Path, path: Path) -> None:
    try:
        os.link(temp, path)  # fails if `path` exists, even as a (dangling) symlink
    except FileExistsError:
        raise
    except OSError:
        # No hard links here (some network/FUSE file systems): claim the name, then replace.
        os.close(os.open(path, _CREATE_FLAGS, FILE_MODE))
        os.replace(temp, path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable, where the platform allows it."""
    with contextlib.suppress(OSError):  # not every platform lets a directory be fsynced
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def make_private_dirs(directory: Path) -> None:
    """Create `directory` and its missing parents, each 0700 (`mkdir -p` would use the umask).

    Existing directories are left as they are. FileExistsError / NotADirectoryError when a
    file is in the way, as Path.mkdir raises them.
    """
    missing: list[Path] = []
    for candidate in (directory, *directory.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for new in reversed(missing):
        try:
            os.mkdir(new, DIR_MODE)
        except FileExistsError:
            if new.is_dir():
                continue  # another process created it meanwhile
            raise
        os.chmod(new, DIR_MODE)  # a umask may have taken owner bits too


TEAM_FILE_MODE = 0o660


def team_group(st: os.stat_result) -> int | None:
    """The group of an on-call team's shared directory, if `st` is one this user may use:
    setgid (new files take its group), group rwx, nothing for others, and this user in its
    group. None for any other directory."""
    mode = stat.S_IMODE(st.st_mode)
    if not mode & stat.S_ISGID or mode & 0o007 or mode & 0o070 != 0o070:
        return None
    getgroups = getattr(os, "getgroups", None)
    if getgroups is None:  # no groups on Windows
        return None
    return st.st_gid if st.st_gid in {os.getegid(), *getgroups()} else None


def others_can_write(st: os.stat_result) -> bool:
    return bool(st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def foreign_owner(st: os.stat_result) -> str | None:
    """Who owns it, as "name (uid N), not you (...)", when that is not this process's user."""
    euid = getattr(os, "geteuid", None)  # no owners to compare on Windows
    if euid is None or st.st_uid == euid():
        return None
    return f"{_user(st.st_uid)}, not by you ({_user(euid())})"


def mode_text(st: os.stat_result) -> str:
    return f"{stat.S_IMODE(st.st_mode):04o}"


def _user(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"
