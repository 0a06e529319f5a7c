"""`tail -F` over several log files: complete lines only, surviving rotation, constant memory.

Rotation is noticed when a file is read to its end: a different file at the path (renamed
away and re-created: the old one is read to its end first, then the new one from its start),
the path gone (the old file is kept open and read until a new one appears), or the file
shorter than what was read (truncated in place, copytruncate: read again from the start).
A copytruncate that refills the file past the old offset between two looks goes unnoticed,
as with tail -F; size-based rotation by logrotate/newsyslog rename-and-create is exact.

Memory per file: one read chunk plus at most `max_line` bytes of an unfinished line; a longer
line is cut at `max_line` (the rest up to its newline is skipped) so one runaway writer cannot
grow the process.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

Line = tuple[str, int, bytes]  # (the path as given, 1-based line number, the line without \n)

POLL_S = 0.5
CHUNK = 64 * 1024
MAX_LINE = 64 * 1024
MAX_PASS_BYTES = 4 * 1024 * 1024  # per file per pass: a backlog is spread over passes


@dataclass
class _Tail:
    name: str
    path: Path
    handle: BinaryIO | None = None
    ident: tuple[int, int] | None = None  # (st_dev, st_ino) of the open file
    offset: int = 0
    lineno: int = 0
    partial: bytearray = field(default_factory=bytearray)
    skipping: bool = False  # inside an overlong line, past max_line: dropped up to its \n
    problem: str | None = None


class Follower:
    """Follows `paths`. `poll()` is one pass (every complete line available now); `follow()`
    repeats passes until `stop` is set, waiting `poll_s` after a pass that found nothing.

    from_start=False (the default) starts at the end of the files as they are when the
    Follower is made, like tail -F; line numbers still count from the file's start (the
    existing lines are counted once, by chunks). A file missing then is read from its start
    when it appears.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        from_start: bool = False,
        poll_s: float = POLL_S,
        max_line: int = MAX_LINE,
        chunk: int = CHUNK,
        max_pass_bytes: int = MAX_PASS_BYTES,
    ) -> None:
        self._tails = [_Tail(os.fspath(p), Path(p)) for p in paths]
        self.from_start = from_start
        self.poll_s = poll_s
        self.max_line = max_line
        self.chunk = chunk
        self.max_pass_bytes = max_pass_bytes
        self._backlog = False  # the last pass stopped at max_pass_bytes somewhere
        for tail in self._tails:  # "the end" is where the files are now, not at the first pass
            self._open(tail, at_end=not from_start)

    @property
    def paths(self) -> list[str]:
        return [t.name for t in self._tails]

    def problems(self) -> dict[str, str]:
        """Files that cannot be read right now (missing, permission), by path."""
        return {t.name: t.problem for t in self._tails if t.problem}

    # -- passes ----------------------------------------------------------------------------

    def poll(self) -> Iterator[Line]:
        self._backlog = False
        for tail in self._tails:
            yield from self._pass(tail)

    def follow(self, stop: threading.Event) -> Iterator[Line]:
        while not stop.is_set():
            found = False
            for line in self.poll():
                found = True
                yield line
                if stop.is_set():
                    return
            if not found and not self._backlog:
                stop.wait(self.poll_s)

    def close(self) -> None:
        for tail in self._tails:
            _close(tail)

    def __enter__(self) -> Follower:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- one file --------------------------------------------------------------------------

    def _pass(self, tail: _Tail) -> Iterator[Line]:
        if tail.handle is None and not self._open(tail, at_end=False):
            return
        budget = self.max_pass_bytes
        while True:
            data = _read(tail, min(self.chunk, budget))
            budget -= len(data)
            if data:
                yield from self._lines(tail, data)
                if budget <= 0:
                    self._backlog = True
                    return
                continue
            # At the end of what is open: is it still the file at the path?
            replaced = self._rotated(tail)
            if replaced is None:
                return
            if replaced:
                yield from self._flush(tail)
                _close(tail)
                if not self._open(tail, at_end=False):
                    return
            # else truncated in place: _rotated rewound it; read again from the start

    def _open(self, tail: _Tail, *, at_end: bool) -> bool:
        try:
            handle = open(tail.path, "rb", buffering=0)  # noqa: SIM115 - kept open across passes
        except OSError as exc:
            tail.problem = f"cannot read {tail.name}: {exc.strerror or exc}"
            return False
        st = os.fstat(handle.fileno())
        tail.handle, tail.ident, tail.problem = handle, (st.st_dev, st.st_ino), None
        tail.offset, tail.lineno, tail.skipping = 0, 0, False
        tail.partial.clear()
        if at_end:
            tail.offset, tail.lineno = self._count(handle)
            handle.seek(tail.offset)
        return True

    def _count(self, handle: BinaryIO) -> tuple[int, int]:
        """The offset just past the last complete line, and how many lines end before it:
        an unfinished last line is read whole once its writer ends it."""
        lines, position, after_last = 0, 0, 0
        while True:
            block = handle.read(1024 * 1024)
            if not block:
                return after_last, lines
            found = block.count(b"\n")
            if found:
                lines += found
                after_last = position + block.rindex(b"\n") + 1
            position += len(block)

    def _rotated(self, tail: _Tail) -> bool | None:
        """True: a new file is at the path; False: this one was truncated (rewound); None:
        nothing changed, or the path is gone for now (the old file stays open)."""
        if tail.handle is None:
            return None
        try:
            st = os.stat(tail.path)
        except OSError:
            return None
        if (st.st_dev, st.st_ino) != tail.ident:
            return True
        if os.fstat(tail.handle.fileno()).st_size < tail.offset:
            tail.handle.seek(0)
            tail.offset, tail.lineno, tail.skipping = 0, 0, False
            tail.partial.clear()  # the writer started over: what it had begun is gone
            return False
        return None

    def _lines(self, tail: _Tail, data: bytes) -> Iterator[Line]:
        tail.offset += len(data)
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            piece = data[start:end]
            start = end + 1
            if tail.skipping:
                tail.skipping = False  # the overlong line ends here; it was already given
                continue
            if tail.partial:
                tail.partial += piece
                piece = bytes(tail.partial[: self.max_line])
                tail.partial.clear()
            tail.lineno += 1
            yield tail.name, tail.lineno, _strip(piece[: self.max_line])
        rest = data[start:]
        if tail.skipping or not rest:
            return
        tail.partial += rest
        if len(tail.partial) >= self.max_line:
            tail.lineno += 1
            yield tail.name, tail.lineno, bytes(tail.partial[: self.max_line])
            tail.partial.clear()
            tail.skipping = True

    def _flush(self, tail: _Tail) -> Iterator[Line]:
        """A rotated-away file's unfinished last line: its writer has moved on."""
        if tail.partial and not tail.skipping:
            tail.lineno += 1
            yield tail.name, tail.lineno, _strip(bytes(tail.partial))
        tail.partial.clear()
        tail.skipping = False


def _read(tail: _Tail, size: int) -> bytes:
    if tail.handle is None:
        return b""
    try:
        return tail.handle.read(size) or b""
    except OSError as exc:
        tail.problem = f"cannot read {tail.name}: {exc.strerror or exc}"
        return b""


def _close(tail: _Tail) -> None:
    handle, tail.handle = tail.handle, None
    if handle is not None:
        with contextlib.suppress(OSError):
            handle.close()


def _strip(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line
