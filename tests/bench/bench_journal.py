"""Journal throughput: actions/s (one committed transaction each) and baselines/s (bulk)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.bench.report import figure
from zcomp.journal import Journal

ACTIONS = 500
BASELINES = 20_000


def bench_actions(journal: Journal) -> float:
    incident = journal.start_incident("bench", "bench@example.edu", reason="bench", operator="b")
    before = {"rules": [{"name": f"rule{n}", "active": True} for n in range(5)]}
    start = time.perf_counter()
    for n in range(ACTIONS):
        journal.record_action(
            incident.id,
            step="clean",
            kind="filter_rules",
            target="incoming",
            before=before,
            after=n,
            status="done",
        )
    return ACTIONS / (time.perf_counter() - start)


def bench_baselines(journal: Journal) -> float:
    rows = [
        (f"id-{n}", f"user{n}@example.edu", {"signatures": [{"name": "work", "html": "x" * 200}]})
        for n in range(BASELINES)
    ]
    start = time.perf_counter()
    journal.add_baselines(rows)
    return BASELINES / (time.perf_counter() - start)


def bench_history(journal: Journal) -> float:
    incident = journal.incidents(limit=1)[0]
    start = time.perf_counter()
    for _ in range(20):
        journal.actions(incident.id)
    return 20 * ACTIONS / (time.perf_counter() - start)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, Journal.open(Path(tmp) / "state") as journal:
        print(f"journal at {journal.path} (synchronous=FULL, WAL)")
        actions, baselines, reads = (
            bench_actions(journal),
            bench_baselines(journal),
            bench_history(journal),
        )
        print(f"record_action:  {actions:10,.0f} actions/s (each committed)")
        print(f"add_baselines:  {baselines:10,.0f} baselines/s ({BASELINES} rows)")
        print(f"actions() read: {reads:10,.0f} actions/s")
        figure("actions", "journal record_action (committed each)", actions, "actions/s")
        figure("baselines", "journal add_baselines", baselines, "baselines/s")
        figure("reads", "journal actions() read", reads, "actions/s")


if __name__ == "__main__":
    main()
