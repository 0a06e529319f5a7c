"""scan(): read every input once, merge the kinds by time, return ranked suspects."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import heapq
import time
from collections.abc import Iterator, Sequence
from operator import attrgetter

from zcomp.detect.events import Event
from zcomp.detect.model import (
    KindStats,
    LogKind,
    PathArg,
    ScanInputs,
    ScanResult,
    ScanStats,
    ScanWarning,
)
from zcomp.detect.parallel import Workers, default_workers, eligible
from zcomp.detect.scanner import Scanner
from zcomp.detect.settings import DetectSettings
from zcomp.detect.sources import Block, Warn, expand, newest_log4j_month, read_blocks

# Line-oriented kinds (each event comes from one line) that workers can parse by ranges.
_PARALLEL = (LogKind.MAILBOX, LogKind.AUDIT)


def _events(
    scanner: Scanner,
    kind: LogKind,
    paths: Sequence[PathArg],
    warn: Warn,
    stats: KindStats,
    workers: Workers | None,
) -> Iterator[Event]:
    for path in expand(kind, paths, warn):
        blocks: Iterator[Block]
        if workers is not None and kind in _PARALLEL and eligible(path):
            blocks = workers.blocks(path, kind, scanner.wants_rcpts, warn, stats)
        else:
            blocks = read_blocks(path, warn, stats)
        for block in blocks:
            yield from scanner.events(kind, block)


_TS = attrgetter("ts")

# Allocations between two young-generation collections during a scan (CPython's default: 700).
GC_YOUNG_THRESHOLD = 100_000


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """A scan allocates an event or two per interesting line, and the windows keep the recent
    ones: at CPython's default threshold the cycle collector runs every few hundred lines and
    walks that growing heap again and again, for nothing (events hold no cycles; refcounting
    frees them). Measured on a 1 GB mailbox.log: a quarter of the parent's CPU. Collections
    still happen, a hundred times less often; the old thresholds come back afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def scan(
    inputs: ScanInputs,
    settings: DetectSettings | None = None,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    workers: int | None = None,
) -> ScanResult:
    """Scan the given logs. Each kind is one time-ordered stream (its rotated set, oldest
    first); the streams are merged by timestamp so that a login in audit.log is seen before
    the settings change it enables in mailbox.log, and SMTP-AUTH sends from zimbra.log share
    the rate windows with webmail sends (§3.3, §7).

    workers: processes that parse large plain mailbox/audit logs in parallel (None: one per
    core, up to 4, when a core is idle; 0: none)."""
    start = time.perf_counter()
    warnings: list[ScanWarning] = []
    stats = ScanStats()
    year_ref = None
    if inputs.year is None and inputs.mta:
        year_ref = newest_log4j_month([*inputs.mailbox, *inputs.audit], warnings.append)
    scanner = Scanner(
        settings,
        year=inputs.year,
        year_ref=year_ref,
        since=since,
        until=until,
        mta_only=not inputs.mailbox,
        web=bool(inputs.nginx),
    )
    count = default_workers() if workers is None else workers
    pool = Workers(count) if count > 0 else None  # forked workers inherit fewer_collections
    streams = [
        _events(scanner, kind, inputs.of(kind), warnings.append, stats.of(kind), pool)
        for kind in (LogKind.MAILBOX, LogKind.AUDIT, LogKind.MTA, LogKind.NGINX)
        if inputs.of(kind)
    ]
    with fewer_collections():
        try:
            merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_TS)
            for event in merged:
                scanner.apply(event)
        finally:
            if pool is not None:
                pool.close()
        scanner.finish()
    stats.seconds = time.perf_counter() - start
    return ScanResult(scanner.suspects(), warnings, stats)
