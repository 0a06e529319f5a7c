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
import signal
from collections.abc import Generator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
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
    the bar is a load of 1.5 per core. The load average lags by a minute, so it must also be
    busy now: a job that has just finished (measured: a scan right after a 20-minute one, on
    one core at 122 MB/s instead of 180) must not keep a scan on one core."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    others = runnable_now()
    busy_now = others is None or others - 1 >= cpus  # this process is one of them
    return min(4, cpus) if cpus > 1 and not (load >= 1.5 * cpus and busy_now) else 0


def runnable_now() -> int | None:
    """Tasks running or waiting for a core at this instant (Linux /proc/loadavg, 4th field:
    running/total), this one included; None where there is no such file."""
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return int(fh.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


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


_STOPS = {signal.SIGINT, signal.SIGTERM}


class _Worker:
    """One forked process parsing the byte ranges it is sent, in the order it is sent them."""

    def __init__(self, conn: Connection, process: BaseProcess) -> None:
        self.conn = conn
        self.process = process


def _serve(conn: Connection, inherited: list[Connection]) -> None:
    """A worker's loop: a task in, its result (or the exception it raised) out."""
    # Only the parent decides when a scan stops, and it ends the workers quietly: not the
    # handlers the CLI installed before the fork (they would print a traceback per worker).
    # No copy of another worker's end of its pipe may stay open here, or that worker would
    # never see its parent go.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)  # blocked by the parent across the fork
    for other in inherited:
        other.close()
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            reply: tuple[str, Any] = ("ok", _work(task))
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            reply = ("error", exc)
        conn.send(reply)


class Workers:
    """Fork workers, started at the first large file and shared by the files of one scan.

    Range i goes to worker i % count and its result comes back on that worker's own pipe, so
    results arrive in file order with no reordering and no helper threads in this process
    (multiprocessing.Pool's worker-handler thread wakes for every result waiting to be read:
    measured, a tenth of this process's CPU). At most AHEAD ranges are queued per worker,
    and a finished result waits in its pipe until it is read: memory stays bounded when
    the rules are slower than the parsing."""

    AHEAD = 2

    def __init__(self, count: int) -> None:
        self.count = count
        self._workers: list[_Worker] = []

    def _start(self) -> list[_Worker]:
        if self._workers:
            return self._workers
        ctx = multiprocessing.get_context("fork")
        ends: list[Connection] = []
        # A stop arriving while a worker starts would run the parent's handler in the worker;
        # held back until the worker has its own (and, here, until every worker has started).
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            for _ in range(self.count):
                mine, theirs = ctx.Pipe()
                ends.append(mine)
                process = ctx.Process(target=_serve, args=(theirs, ends), daemon=True)
                process.start()
                theirs.close()
                self._workers.append(_Worker(mine, process))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
        return self._workers

    def blocks(
        self, path: str, kind: LogKind, want_rcpts: bool, warn: Warn, stats: KindStats | None
    ) -> Generator[Block, None, None]:
        """Blocks parsed by the workers (Block.parsed), in file order."""
        try:
            ranges = _segments(path)
        except OSError as err:
            warn(ScanWarning(path, f"cannot read: {err.strerror or err}"))
            return
        if stats is not None:
            stats.files += 1
        workers = self._start()
        tasks = [(path, a, b, kind, want_rcpts) for a, b in ranges]
        sent = 0
        received = 0
        line = 1
        try:
            while sent < min(len(tasks), self.AHEAD * len(workers)):
                _send(workers[sent % len(workers)], tasks[sent])
                sent += 1
            for a, b in ranges:
                status, payload = _receive(workers[received % len(workers)])
                received += 1
                if sent < len(tasks):
                    _send(workers[sent % len(workers)], tasks[sent])
                    sent += 1
                if status == "error":
                    raise payload
                events, total = payload
                if stats is not None:
                    stats.bytes += b - a
                    stats.lines += total
                offset = line - 1
                yield Block(path, line, b"", total, [_unpack(t, path, offset) for t in events])
                line += total
        except OSError as err:
            warn(ScanWarning(path, f"read error after line {line - 1}: {err}"))
        finally:
            if received < sent:  # stopped early: results still queued would mix with the next file
                self.close(at_once=True)

    def close(self, *, at_once: bool = False) -> None:
        """End the workers: told to, when they are idle; killed, when they may be at work."""
        workers, self._workers = self._workers, []
        for worker in workers:
            if at_once:
                worker.process.terminate()
            else:
                try:
                    worker.conn.send(None)
                except OSError:
                    worker.process.terminate()
        for worker in workers:
            worker.process.join(timeout=5)
            if worker.process.exitcode is None:
                worker.process.terminate()
                worker.process.join()
            worker.conn.close()


def _receive(worker: _Worker) -> tuple[str, Any]:
    try:
        reply: tuple[str, Any] = worker.conn.recv()
    except (EOFError, OSError):
        raise _ended(worker) from None
    return reply


def _send(worker: _Worker, task: Any) -> None:
    try:
        worker.conn.send(task)
    except OSError:
        raise _ended(worker) from None


def _ended(worker: _Worker) -> OSError:
    """A worker gone (killed, out of memory): its pipe says EOF, a reset or a broken pipe."""
    worker.process.join(timeout=5)
    return OSError(f"a scan worker process ended (exit status {worker.process.exitcode})")
