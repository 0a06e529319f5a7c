"""Code run in child processes by the journal tests (spawned, or `python -m` for kill -9)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from zcomp.journal import Journal


def write_incidents(state_dir: str, worker: int, count: int, barrier: Any) -> None:
    """Open its own journal, wait for the others, then write `count` incidents of 5 actions."""
    with Journal.open(Path(state_dir)) as journal:
        barrier.wait()
        for n in range(count):
            incident = journal.start_incident(
                f"id-{worker}-{n}", f"user{worker}-{n}@example.edu", reason="test", operator="t"
            )
            for step in range(5):
                journal.record_action(
                    incident.id,
                    step=f"step{step}",
                    kind="attr",
                    target="zimbraAccountStatus",
                    before={"worker": worker, "n": n},
                    after=step,
                    status="done",
                )


def action_loop(state_dir: str) -> None:
    """Record numbered actions forever, printing each number once it is committed."""
    with Journal.open(Path(state_dir)) as journal:
        incident = journal.start_incident("id-kill", "kill@example.edu", reason="t", operator="t")
        for n in range(1_000_000):  # bounded in case the parent never kills us
            journal.record_action(
                incident.id, step="loop", kind="n", target="t", before=None, after=n, status="ok"
            )
            print(n, flush=True)


if __name__ == "__main__":
    action_loop(sys.argv[1])
