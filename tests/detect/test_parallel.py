"""Worker processes searching a large mailbox.log give exactly the in-process result."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.detect.helpers import AUDIT, MAILBOX, settings
from zcomp.detect import LogKind, ScanInputs, ScanWarning, parallel, scan, scanning
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


def _numbered_log(path: Path, lines: int) -> Path:
    """A mailbox.log of failed logins, one account per line (each line is one event)."""
    with open(path, "wb") as fh:
        for n in range(1, lines + 1):
            fh.write(
                f"2024-03-15 00:{n // 60 % 60:02d}:{n % 60:02d},000 WARN  [ImapServer-{n}] "
                f"[name=u{n}@example.com;ip=198.51.100.{n % 250};] imap - authentication "
                f"failed for [u{n}@example.com] (invalid password)\n".encode()
            )
    return path


def _accounts(blocks: list[Any]) -> list[str]:
    return [e.account for b in blocks for e in b.parsed]


def test_workers_stopped_mid_file_start_afresh_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "SEGMENT", 16 << 10)  # many ranges from a small file
    first = _numbered_log(tmp_path / "a.log", 3000)
    second = _numbered_log(tmp_path / "b.log", 2000)
    warnings: list[ScanWarning] = []
    workers = parallel.Workers(2)
    try:
        blocks = workers.blocks(str(first), LogKind.MAILBOX, False, warnings.append, None)
        taken = next(blocks)
        blocks.close()  # abandoned with ranges still queued at the workers
        assert taken.first_line == 1 and taken.parsed
        whole = list(workers.blocks(str(second), LogKind.MAILBOX, False, warnings.append, None))
    finally:
        workers.close()
    assert _accounts(whole) == [f"u{n}@example.com" for n in range(1, 2001)]
    assert [b.first_line for b in whole] == sorted(b.first_line for b in whole)
    assert warnings == []


def test_a_worker_that_dies_is_one_warning_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "SEGMENT", 16 << 10)
    log = _numbered_log(tmp_path / "a.log", 3000)
    warnings: list[ScanWarning] = []
    workers = parallel.Workers(2)
    try:
        blocks = workers.blocks(str(log), LogKind.MAILBOX, False, warnings.append, None)
        got = [next(blocks)]
        os.kill(workers._workers[1].process.pid or 0, signal.SIGKILL)
        got += list(blocks)
        assert workers._workers == []  # ended: the next file starts new ones
    finally:
        workers.close()
    # What was read before the dead worker's first missing range is kept, in order (a result
    # it wrote before it died may still be read); the rest of the file is one warning.
    ends = [b.first_line + b.lines - 1 for b in got]
    assert [b.first_line for b in got] == [1, *(end + 1 for end in ends[:-1])]
    assert ends[-1] < 3000
    assert len(warnings) == 1 and warnings[0].file == str(log)
    assert warnings[0].message.startswith(f"read error after line {ends[-1]}: ")
    assert "a scan worker process ended" in warnings[0].message


def test_sigterm_ends_a_parallel_scan_without_a_traceback(tmp_path: Path) -> None:
    log = _numbered_log(tmp_path / "big.log", 1)
    line = log.read_bytes()
    with open(log, "ab") as fh:
        fh.write(line * (MIN_SIZE * 3 // len(line)))
    child = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "zcomp", "scan", "--mailbox-log", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "ZCOMP_STATE_DIR": str(tmp_path / "state")},
    )
    try:
        # Wait for the workers (children of the scan), then stop the scan.
        deadline = time.monotonic() + 30
        while not _children(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        workers = _children(child.pid)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    text = err.decode()
    assert workers, "the scan started no worker process"
    assert "Traceback" not in text, text
    assert child.returncode != 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except (OSError, IndexError):
        return "gone"


@pytest.mark.parametrize(
    ("load", "runnable", "workers"),
    [
        (0.5, 1, 2),  # idle
        (0.5, 6, 2),  # a burst the minute's average does not show: still parallel
        (6.0, 6, 0),  # saturated for a minute and now: one process
        (6.0, 1, 2),  # a job that has just finished: the average lags, the cores are free
        (6.0, None, 0),  # no /proc/loadavg: the average alone decides
    ],
)
def test_workers_follow_the_load_now_not_only_the_minute_average(
    monkeypatch: pytest.MonkeyPatch, load: float, runnable: int | None, workers: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(parallel, "runnable_now", lambda: runnable)
    assert parallel.default_workers() == workers


def test_runnable_now_reads_this_machine() -> None:
    found = parallel.runnable_now()
    assert found is not None and found >= 1  # this test is running
