"""Baselines (latest-before semantics, bulk insert) and batch-run bookkeeping."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from zcomp.journal import Journal, JournalError, SecretRefusedError

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_latest_baseline_before(journal: Journal) -> None:
    assert journal.latest_baseline("u1") is None
    old = journal.add_baseline("u1", "a@x", {"sig": "old"}, captured_at=T0)
    new = journal.add_baseline("u1", "a@x", {"sig": "new"}, captured_at=T0 + timedelta(days=2))
    journal.add_baseline("u2", "b@x", {"sig": "other"}, captured_at=T0 + timedelta(days=5))
    latest = journal.latest_baseline("u1")
    assert latest is not None and latest.id == new and latest.data == {"sig": "new"}
    middle = journal.latest_baseline("u1", before=T0 + timedelta(days=1))
    assert middle is not None and middle.id == old and middle.captured_at == T0
    # strictly before: a baseline captured at the very moment does not count
    exact = journal.latest_baseline("u1", before=T0 + timedelta(days=2))
    assert exact is not None and exact.id == old
    assert journal.latest_baseline("u1", before=T0) is None
    tiny = journal.latest_baseline("u1", before=T0 + timedelta(microseconds=1))
    assert tiny is not None and tiny.id == old


def test_same_moment_prefers_the_later_row(journal: Journal) -> None:
    journal.add_baseline("u1", "a@x", {"n": 1}, captured_at=T0)
    second = journal.add_baseline("u1", "a@x", {"n": 2}, captured_at=T0)
    latest = journal.latest_baseline("u1")
    assert latest is not None and latest.id == second


def test_add_baselines_2000_rows(journal: Journal) -> None:
    rows = [(f"u{n}", f"user{n}@example.edu", {"signatures": [f"sig {n}"]}) for n in range(2000)]
    assert journal.add_baselines(rows, captured_at=T0) == 2000
    found = journal.latest_baseline("u1999")
    assert found is not None
    assert found.account_name == "user1999@example.edu"
    assert found.data == {"signatures": ["sig 1999"]} and found.captured_at == T0


def test_add_baselines_is_all_or_nothing(journal: Journal) -> None:
    rows: list[tuple[str, str, dict[str, object]]] = [
        ("u1", "a@x", {"ok": 1}),
        ("u2", "b@x", {"password": "x"}),
    ]
    with pytest.raises(SecretRefusedError):
        journal.add_baselines(rows)
    assert journal.latest_baseline("u1") is None


def test_runs(journal: Journal) -> None:
    run_id = journal.start_run("lockdown", ["a@x", "b@x", "c@x"])
    journal.record_run_result(run_id, "a@x", "contained")
    assert [r.id for r in journal.unfinished_runs("lockdown")] == [run_id]
    assert journal.unfinished_runs("unlock") == []
    partial = journal.run(run_id)
    assert partial.finished_at is None and partial.results == {"a@x": "contained"}
    journal.finish_run(run_id, results={"a@x": "contained", "b@x": "failed", "c@x": "contained"})
    done = journal.run(run_id)
    assert done.command == "lockdown" and done.accounts == ["a@x", "b@x", "c@x"]
    assert done.finished_at is not None
    assert done.results == {"a@x": "contained", "b@x": "failed", "c@x": "contained"}
    assert journal.unfinished_runs() == []
    with pytest.raises(JournalError, match="no batch run"):
        journal.finish_run(run_id + 1, results={})
