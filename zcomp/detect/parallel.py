"""Parse a large plain mailbox.log/audit.log in worker processes (§5.3 speed).

Searching blocks for the needles, counting lines and parsing the hits is most of a mailbox.log
scan; on a multi-core machine workers do it for separate byte ranges and send back only the
events (line numbers relative to their range), while this process shifts those numbers and
applies the rules in file order. Only "fork" workers are
used: they share the parent's imported code and never re-run the program's __main__ (which
spawn/forkserver would). Small files, gzip files and stdin stay in-process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from multiprocessing.pool import Pool
from typing import Any

from zcomp.detect.audit import audit_events
from zcomp.detect.events import Change, Event, FailedSend, Login, Send
from zcomp.detect.mailbox import mailbox_events
from zcomp.detect.model import Evidence, KindStats, LogKind, ScanWarning
from zcomp.detect.sources import GZIP_MAGIC, Block, Warn

SEGMENT = 8 << 20  # bytes per task
MIN_SIZE = 64 << 20  # below this, starting workers costs more than it saves


def default_workers() -> int:
    """Workers for a scan: one per core (up to 4) unless the machine is saturated, else 0.

    On a saturated machine the extra processes only add the cost of shipping events between
    them (measured: 79 vs 102 MB/s at load 6 on 2 cores; 159 vs 111 MB/s at load 2.4), so
    the bar is a load of 1.5 per core: the load average lags, and a just-finished job must not
    keep a scan on one core."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return min(4, cpus) if cpus > 1 and load < 1.5 * cpus else 0


def eligible(path: str) -> bool:
    try:
        if os.path.getsize(path) < MIN_SIZE:
            return False
        with open(path, "rb") as fh:
            return fh.read(2) != GZIP_MAGIC
    except OSError:
        return False


def _segments(path: str) -> list[tuple[int, int]]:
    """Byte ranges ending just after a newline (the last one at end of file)."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as fh:
        pos = SEGMENT
        while pos < size:
            fh.seek(pos)
            while True:
                piece = fh.read(65536)
                nl = piece.find(b"\n")
                if nl >= 0 or not piece:
                    break
                pos += len(piece)
            pos = pos + nl + 1 if piece else size
            if pos >= size:
                break
            cuts.append(pos)
            pos += SEGMENT
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


# Events cross the process boundary as plain tuples: pickling slots dataclasses costs several
# times more than the parsing saved by the workers.
Packed = tuple[Any, ...]


def _pack(e: Event) -> Packed:
    if isinstance(e, Send):
        evidence = tuple((v.line, v.text) for v in e.evidence)
        return (
            "S",
            e.ts,
            e.account,
            e.n,
            e.source,
            e.html,
            e.ip,
            e.request,
            e.msgid,
            e.reply,
            e.rcpts,
            evidence,
        )
    if isinstance(e, Login):
        ev = (e.evidence.line, e.evidence.text)
        return ("L", e.ts, e.account, e.ok, e.ip, e.protocol, e.lockout, ev)
    if isinstance(e, Change):
        return ("C", e.ts, e.account, e.request, e.ip, (e.evidence.line, e.evidence.text))
    if isinstance(e, FailedSend):
        return ("F", e.ts, e.account, (e.evidence.line, e.evidence.text))
    raise TypeError(f"not a line event: {e!r}")


def _unpack(t: Packed, file: str, offset: int) -> Event:
    code = t[0]
    if code == "S":
        found = t[11]
        if len(found) == 1:  # nearly always (no generator for it)
            evidence: tuple[Evidence, ...] = (Evidence(file, found[0][0] + offset, found[0][1]),)
        else:
            evidence = tuple(Evidence(file, line + offset, text) for line, text in found)
        return Send(t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], evidence)
    line, text = t[-1]
    ev = Evidence(file, line + offset, text)
    if code == "L":
        return Login(t[1], t[2], t[3], t[4], t[5], t[6], ev)
    if code == "C":
        return Change(t[1], t[2], t[3], t[4], ev)
    return FailedSend(t[1], t[2], ev)


def _work(task: tuple[str, int, int, LogKind, bool]) -> tuple[list[Packed], int]:
    """Events of one byte range, their evidence numbered from line 1 of the range."""
    path, start, end, kind, want_rcpts = task
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    block = Block(path, 1, data)
    if kind is LogKind.MAILBOX:
        events = [_pack(e) for e in mailbox_events(block, want_rcpts)]
    else:
        events = [_pack(e) for e in audit_events(block)]
    return events, block.line_count()


class Workers:
    """A lazily started pool of fork workers, shared by the files of one scan."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._pool: Pool | None = None

    def blocks(
        self, path: str, kind: LogKind, want_rcpts: bool, warn: Warn, stats: KindStats | None
    ) -> Iterator[Block]:
        """Blocks parsed by the workers (Block.parsed), in file order."""
        if self._pool is None:
            self._pool = multiprocessing.get_context("fork").Pool(self.count)
        try:
            ranges = _segments(path)
        except OSError as err:
            warn(ScanWarning(path, f"cannot read: {err.strerror or err}"))
            return
        if stats is not None:
            stats.files += 1
        tasks = [(path, a, b, kind, want_rcpts) for a, b in ranges]
        line = 1
        try:
            for (a, b), (events, total) in zip(ranges, self._pool.imap(_work, tasks), strict=True):
                if stats is not None:
                    stats.bytes += b - a
                    stats.lines += total
                offset = line - 1
                yield Block(path, line, b"", total, [_unpack(t, path, offset) for t in events])
                line += total
        except OSError as err:
            warn(ScanWarning(path, f"read error after line {line - 1}: {err}"))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
