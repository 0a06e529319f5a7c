"""The last few MB of zimbra.log text, kept to answer lookups behind the parser:
the pre-8.8.7 Message-ID join (§1.3, §3.3 step 4) and the sender of a final-hop result."""

from __future__ import annotations

from collections import deque

KEEP = 6 << 20  # bytes kept besides the newest chunk (a 4 MB block and its predecessor)
SMALL = 64 << 10  # blocks below this (single fed lines) are gathered into one chunk
STEP = 64 << 10  # line-number checkpoints, built on the first lookup in a chunk


class Chunk:
    __slots__ = ("first_line", "data", "_marks")

    def __init__(self, first_line: int, data: bytes | bytearray) -> None:
        self.first_line = first_line
        self.data = data
        self._marks: list[int] | None = None

    def lineno(self, pos: int) -> int:
        """Line number of the line holding data[pos], without counting the whole chunk
        for every lookup."""
        if self._marks is None or isinstance(self.data, bytearray):
            marks = [0]
            count = self.data.count
            for k in range(STEP, len(self.data), STEP):
                marks.append(marks[-1] + count(b"\n", k - STEP, k))
            self._marks = marks
        k = min(pos // STEP, len(self._marks) - 1)
        return self.first_line + self._marks[k] + self.data.count(b"\n", k * STEP, pos)

    def line(self, pos: int) -> bytes:
        start = self.data.rfind(b"\n", 0, pos) + 1
        end = self.data.find(b"\n", pos)
        return bytes(self.data[start : end if end >= 0 else len(self.data)])


class Recent:
    """Recent text of one file, oldest chunk first."""

    def __init__(self) -> None:
        self.chunks: deque[Chunk] = deque()
        self._size = 0
        self._next_line = -1

    def add(self, first_line: int, data: bytes, lines: int) -> None:
        last = self.chunks[-1] if self.chunks else None
        if (
            len(data) < SMALL
            and last is not None
            and isinstance(last.data, bytearray)
            and first_line == self._next_line
            and len(last.data) < SMALL * 16
        ):
            last.data += data
        else:
            chunk = Chunk(first_line, bytearray(data) if len(data) < SMALL else data)
            self.chunks.append(chunk)
        self._size += len(data)
        self._next_line = first_line + lines
        while len(self.chunks) > 1 and self._size - len(self.chunks[0].data) >= KEEP:
            self._size -= len(self.chunks.popleft().data)

    def find(self, needle: bytes) -> tuple[Chunk, int] | None:
        """Oldest occurrence."""
        for chunk in self.chunks:
            pos = chunk.data.find(needle)
            if pos >= 0:
                return chunk, pos
        return None

    def rfind(self, needle: bytes) -> tuple[Chunk, int] | None:
        """Newest occurrence."""
        for chunk in reversed(self.chunks):
            pos = chunk.data.rfind(needle)
            if pos >= 0:
                return chunk, pos
        return None
