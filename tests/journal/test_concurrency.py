"""Several writers at once (processes and threads), and a writer killed with SIGKILL."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.journal.workers import write_incidents
from zcomp.journal import Journal

REPO = Path(__file__).resolve().parents[2]
WORKERS = 4
PER_WORKER = 15


def check_everything_written(state_dir: Path, workers: int, per_worker: int) -> None:
    with Journal.open(state_dir) as journal:
        incidents = journal.incidents(limit=10_000)
        assert len(incidents) == workers * per_worker
        assert len({i.id for i in incidents}) == len(incidents)
        for incident in incidents:
            actions = journal.actions(incident.id)
            assert [a.step for a in actions] == [f"step{n}" for n in range(5)]
            worker, n = (int(part) for part in incident.account_id.split("-")[1:])
            assert actions[0].before == {"worker": worker, "n": n}


def test_processes_write_at_once_without_losing_anything(state_dir: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    procs = [
        ctx.Process(target=write_incidents, args=(str(state_dir), w, PER_WORKER, barrier))
        for w in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
        proc.close()
    check_everything_written(state_dir, WORKERS, PER_WORKER)


def test_threads_write_at_once_own_and_shared_connections(state_dir: Path) -> None:
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def own(worker: int) -> None:
        try:
            write_incidents(str(state_dir), worker, PER_WORKER, barrier)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=own, args=(w,)) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    # One Journal shared by threads is serialised, not corrupted.
    with Journal.open(state_dir) as shared:
        incident = shared.start_incident("shared", "s@x", reason="r", operator="o")

        def record(n: int) -> None:
            for k in range(20):
                shared.record_action(
                    incident.id, step="s", kind="k", target="t", before=n, after=k, status="ok"
                )

        more = [threading.Thread(target=record, args=(n,)) for n in range(4)]
        for thread in more:
            thread.start()
        for thread in more:
            thread.join()
        assert len(shared.actions(incident.id)) == 80
    with Journal.open(state_dir) as journal:
        assert len(journal.incidents(limit=10_000)) == WORKERS * PER_WORKER + 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_mid_run_keeps_every_committed_write(state_dir: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.journal.workers", str(state_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    try:
        reported = [int(child.stdout.readline()) for _ in range(40)]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert reported == list(range(40))
    with Journal.open(state_dir) as journal:
        (incident,) = journal.incidents()
        values = [a.after for a in journal.actions(incident.id)]
    # every number the child reported committed is there, in order, with no gaps
    assert values[:40] == reported
    assert values == list(range(len(values)))
