"""The `file` backend: one Markdown ticket per incident, <state_dir>/tickets/zcomp-INC-7K3MQ9XA.md.

A ticket appears complete or not at all (securefile.write_private, exclusive: a temporary file
hard-linked into place, which fails if the name exists: two workers can never file two
tickets). Comments and the resolution are appended under a lock, each with its UTC timestamp.
The directory is 0700, files are 0600.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from zcomp.securefile import O_NOFOLLOW, make_private_dirs, write_private
from zcomp.tickets.content import (
    IncidentRef,
    TicketContent,
    TicketRef,
    idempotency_key,
    incident_key,
)
from zcomp.tickets.errors import TicketError
from zcomp.tickets.guard import refuse_secrets
from zcomp.tickets.render import render_text
from zcomp.timestamps import stamp

try:  # advisory locking serialises appends between processes (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

RESOLVED_HEADING = "## Resolved "
_REF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")  # a key, safe as a file name


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
            make_private_dirs(self.directory)
        except OSError as exc:
            raise TicketError(f"cannot create {self.directory}: {exc.strerror or exc}") from None
        try:
            write_private(path, text.encode("utf-8"), exclusive=True)
        except FileExistsError:
            pass  # another worker filed it first: same incident, same ticket
        except OSError as exc:
            raise TicketError(f"cannot write ticket {path}: {exc.strerror or exc}") from None
        return self._ref(content.incident_id)

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
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

    def _path(self, incident_id: IncidentRef) -> Path:
        return self.directory / f"{idempotency_key(incident_id)}.md"

    def _ref(self, incident_id: IncidentRef) -> TicketRef:
        path = self._path(incident_id).absolute()
        return TicketRef(backend=self.name, id=incident_key(incident_id), url=path.as_uri())

    def _existing_path(self, ref: TicketRef) -> Path:
        # The ref's id is the incident's key: the file name without its "zcomp-" and ".md".
        if ref.backend != self.name or not _REF_ID.fullmatch(ref.id):
            raise TicketError(f"ticket {ref.backend}:{ref.id} is not a file-backend ticket")
        path = self._path(ref.id)
        if not path.exists():
            raise TicketError(f"ticket {ref.id} not found at {path}")
        return path


def _now() -> str:
    return stamp()


def _entry(kind: str, text: str) -> str:
    # A body line starting with "#" is escaped so it cannot pose as a heading (or a resolution).
    body = [("\\" + line) if line.lstrip().startswith("#") else line for line in text.splitlines()]
    return "\n".join(["", f"## {kind} {_now()}", "", *body, ""]) + "\n"


def _is_resolved(path: Path) -> bool:
    with path.open(encoding="utf-8") as handle:
        return any(line.startswith(RESOLVED_HEADING) for line in handle)


@contextlib.contextmanager
def _locked_append(path: Path) -> Iterator[int]:
    try:
        # Never through a symlink: a ticket is a file this backend created itself.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | O_NOFOLLOW)
    except OSError as exc:
        raise TicketError(f"cannot update ticket {path}: {exc.strerror or exc}") from None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def _append(fd: int, text: str) -> None:
    view = memoryview(text.encode("utf-8"))
    while view:  # under the lock: appends never interleave
        view = view[os.write(fd, view) :]
    os.fsync(fd)
