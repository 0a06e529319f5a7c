"""The database file: where it lives, who can read it, WAL, schema version, broken files."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from zcomp.exitcodes import ExitCode
from zcomp.journal import Journal, JournalError
from zcomp.journal.connection import describe
from zcomp.journal.files import DB_NAME
from zcomp.journal.schema import LATEST_VERSION


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_creates_private_dir_and_files(state_dir: Path) -> None:
    with Journal.open(state_dir) as journal:
        journal.start_incident("id1", "a@example.edu", reason="r", operator="o")
        db = state_dir / DB_NAME
        assert mode(state_dir) == 0o700
        assert mode(db) == 0o600
        assert mode(db.with_name(DB_NAME + "-wal")) == 0o600
        assert mode(db.with_name(DB_NAME + "-shm")) == 0o600


def test_files_stay_private_under_a_loose_umask(state_dir: Path) -> None:
    old = os.umask(0)
    try:
        with Journal.open(state_dir) as journal:
            journal.start_incident("id1", "a@example.edu", reason="r", operator="o")
            for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
                assert mode(state_dir / name) == 0o600
    finally:
        os.umask(old)


def test_tightens_a_loose_existing_database(state_dir: Path) -> None:
    Journal.open(state_dir).close()
    os.chmod(state_dir / DB_NAME, 0o644)
    Journal.open(state_dir).close()
    assert mode(state_dir / DB_NAME) == 0o600


def test_wal_mode_and_schema_version(state_dir: Path) -> None:
    Journal.open(state_dir).close()
    conn = sqlite3.connect(state_dir / DB_NAME)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    assert {"incidents", "actions", "evidence", "baselines", "runs", "run_results"} <= tables


def test_reopening_keeps_data(state_dir: Path) -> None:
    with Journal.open(state_dir) as journal:
        first = journal.start_incident("id1", "a@example.edu", reason="r", operator="o")
    with Journal.open(state_dir) as journal:
        assert journal.incident(first.id) == first


def test_newer_schema_is_refused(state_dir: Path) -> None:
    Journal.open(state_dir).close()
    conn = sqlite3.connect(state_dir / DB_NAME)
    try:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(JournalError, match="newer than this zcomp"):
        Journal.open(state_dir)


def test_garbage_file_is_one_clear_error(state_dir: Path) -> None:
    state_dir.mkdir()
    (state_dir / DB_NAME).write_bytes(b"this is not sqlite at all\n" * 200)
    with pytest.raises(JournalError) as caught:
        Journal.open(state_dir)
    assert "corrupt or not a zcomp journal" in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == ExitCode.FAILURE


def test_unwritable_state_dir_is_a_journal_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError, match="cannot create journal"):
        Journal.open(blocker / "state")


def test_closed_journal_refuses_calls(state_dir: Path) -> None:
    journal = Journal.open(state_dir)
    journal.close()
    journal.close()  # twice is fine
    with pytest.raises(JournalError, match="closed"):
        journal.incidents()


def test_error_lines_say_what_happened() -> None:
    path = Path("/var/lib/zcomp/journal.sqlite3")
    locked = describe(path, sqlite3.OperationalError("database is locked"))
    assert locked.startswith(f"journal {path} stayed locked by another zcomp")
    readonly = describe(path, sqlite3.OperationalError("attempt to write a readonly database"))
    assert "cannot be written" in readonly


def test_a_locked_journal_waits_then_writes(state_dir: Path) -> None:
    """A writer holding the lock briefly delays another writer instead of failing it."""
    with Journal.open(state_dir) as journal:
        holder = sqlite3.connect(journal.path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            done = threading.Event()

            def write() -> None:
                journal.start_incident("u", "a@x", reason="r", operator="o")
                done.set()

            writer = threading.Thread(target=write)
            writer.start()
            assert not done.wait(0.2)  # blocked behind the holder's lock
            holder.execute("COMMIT")
            writer.join(timeout=30)
            assert done.is_set()
        finally:
            holder.close()
        assert len(journal.incidents()) == 1
