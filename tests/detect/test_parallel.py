"""Worker processes searching a large mailbox.log give exactly the in-process result."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tests.detect.helpers import AUDIT, MAILBOX, settings
from zcomp.detect import LogKind, ScanInputs, scan, scanning
from zcomp.detect.events import Event
from zcomp.detect.parallel import MIN_SIZE, eligible
from zcomp.detect.scanner import Scanner
from zcomp.detect.scanning import GC_YOUNG_THRESHOLD, fewer_collections


def test_workers_equal_in_process(tmp_path: Path) -> None:
    big = tmp_path / "mailbox.log"
    chunk = MAILBOX.read_bytes()
    noop = (
        b"2024-03-15 00:00:00,000 INFO  [qtp1-1:https://mail.example.com/service/soap/NoOpRequest]"
        b" [name=zoe@example.com;oip=198.51.100.9;ua=ZimbraWebClient - GC122 (Win)/9.0;]"
        b" soap - NoOpRequest elapsed=1\n"
    )
    filler = noop * (MIN_SIZE // 2 // len(noop) + 1)
    parts = [chunk, filler, chunk, filler, chunk]  # sample lines before, between, after
    with open(big, "wb") as fh:
        for part in parts:
            fh.write(part)
    inputs = ScanInputs(mailbox=(big,), audit=(AUDIT,))
    alone = scan(inputs, settings(), workers=0)
    pooled = scan(inputs, settings(), workers=2)
    assert eligible(str(big))  # large enough for the workers
    assert pooled.suspects == alone.suspects
    assert pooled.suspects[0].account == "bob@example.com"
    assert pooled.stats.kinds == alone.stats.kinds
    assert pooled.stats.kinds[LogKind.MAILBOX].lines == sum(len(p.splitlines()) for p in parts)
    # evidence line numbers are absolute in the big file
    ev = pooled.suspects[0].signals[0].evidence[-1]
    line = big.read_bytes().splitlines()[ev.line - 1].decode()
    assert line.startswith(ev.text.split(" …(+")[0])


def test_scan_collects_cycles_less_often_and_restores_the_thresholds(tmp_path: Path) -> None:
    """A scan raises the young-generation threshold while it runs (events hold no cycles)
    and puts the caller's thresholds back, also when the scan fails."""
    seen: list[int] = []

    class Spy(Scanner):
        def apply(self, e: Event) -> None:
            seen.append(gc.get_threshold()[0])
            super().apply(e)

    before = gc.get_threshold()
    gc.set_threshold(555, 7, 9)
    try:
        with fewer_collections():
            assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 7, 9)
        assert gc.get_threshold() == (555, 7, 9)
        with pytest.raises(RuntimeError), fewer_collections():
            raise RuntimeError("boom")
        assert gc.get_threshold() == (555, 7, 9)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(scanning, "Scanner", Spy)
            scan(ScanInputs(mailbox=(MAILBOX,)), settings(), workers=0)
        assert seen and set(seen) == {GC_YOUNG_THRESHOLD}
        assert gc.get_threshold() == (555, 7, 9)
    finally:
        gc.set_threshold(*before)
