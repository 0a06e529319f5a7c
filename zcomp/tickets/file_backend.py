"""The `file` backend: one Markdown ticket per incident, <state_dir>/tickets/zcomp-INC000042.md.

A ticket appears complete or not at all (written to a temporary file, then hard-linked into
place, which fails if the name exists: two workers can never file two tickets). Comments and
the resolution are appended under a lock, each with its UTC timestamp. Files are 0600.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from zcomp.tickets.content import TicketContent, TicketRef, idempotency_key, incident_key
from zcomp.tickets.errors import TicketError
from zcomp.tickets.guard import refuse_secrets
from zcomp.tickets.render import render_text, utc_text

try:  # advisory locking serialises appends between processes (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

FILE_MODE = 0o600
DIR_MODE = 0o700
RESOLVED_HEADING = "## Resolved "
_REF_ID = re.compile(r"INC(\d{6,})")


class FileBackend:
    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    # -- the interface ---------------------------------------------------------------------

    def open(self, content: TicketContent) -> TicketRef:
        existing = self.find(content.incident_id)
        if existing is not None:
            return existing
        key = incident_key(content.incident_id)
        text = render_text(content)
        refuse_secrets(text, f"ticket {key}")
        path = self._path(content.incident_id)
        try:
            self.directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        except OSError as exc:
            raise TicketError(f"cannot create {self.directory}: {exc.strerror or exc}") from None
        try:
            _create_exclusive(path, text.encode("utf-8"))
        except FileExistsError:
            pass  # another worker filed it first: same incident, same ticket
        except OSError as exc:
            raise TicketError(f"cannot write ticket {path}: {exc.strerror or exc}") from None
        return self._ref(content.incident_id)

    def find(self, incident_id: int) -> TicketRef | None:
        return self._ref(incident_id) if self._path(incident_id).exists() else None

    def comment(self, ref: TicketRef, text: str) -> None:
        path = self._existing_path(ref)
        refuse_secrets(text, f"a comment on ticket {ref.id}")
        with _locked_append(path) as fd:
            _append(fd, _entry("Comment", text))

    def resolve(self, ref: TicketRef, text: str) -> bool:
        """Append the resolution once; resolving a resolved ticket changes nothing."""
        path = self._existing_path(ref)
        refuse_secrets(text, f"the resolution of ticket {ref.id}")
        with _locked_append(path) as fd:
            if not _is_resolved(path):
                _append(fd, _entry("Resolved", text))
        return True

    # -- helpers ---------------------------------------------------------------------------

    def is_resolved(self, ref: TicketRef) -> bool:
        return _is_resolved(self._existing_path(ref))

    def _path(self, incident_id: int) -> Path:
        return self.directory / f"{idempotency_key(incident_id)}.md"

    def _ref(self, incident_id: int) -> TicketRef:
        path = self._path(incident_id).absolute()
        return TicketRef(backend=self.name, id=incident_key(incident_id), url=path.as_uri())

    def _existing_path(self, ref: TicketRef) -> Path:
        match = _REF_ID.fullmatch(ref.id)
        if ref.backend != self.name or match is None:
            raise TicketError(f"ticket {ref.backend}:{ref.id} is not a file-backend ticket")
        path = self._path(int(match.group(1)))
        if not path.exists():
            raise TicketError(f"ticket {ref.id} not found at {path}")
        return path


def _now() -> str:
    return utc_text(datetime.now(timezone.utc))


def _entry(kind: str, text: str) -> str:
    # A body line starting with "#" is escaped so it cannot pose as a heading (or a resolution).
    body = [("\\" + line) if line.lstrip().startswith("#") else line for line in text.splitlines()]
    return "\n".join(["", f"## {kind} {_now()}", "", *body, ""]) + "\n"


def _is_resolved(path: Path) -> bool:
    with path.open(encoding="utf-8") as handle:
        return any(line.startswith(RESOLVED_HEADING) for line in handle)


def _create_exclusive(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically; FileExistsError if `path` already exists."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)  # fails if `path` exists: O_EXCL for a complete file
        except FileExistsError:
            raise
        except OSError:
            # No hard links here (some network/FUSE file systems): claim the name, then replace.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
            os.replace(temp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform lets a directory be fsynced
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _locked_append(path: Path) -> Iterator[int]:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as exc:
        raise TicketError(f"cannot update ticket {path}: {exc.strerror or exc}") from None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _append(fd: int, text: str) -> None:
    _write_all(fd, text.encode("utf-8"))  # under the lock: appends never interleave
    os.fsync(fd)
