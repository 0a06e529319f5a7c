"""Opening the SQLite file with the settings the journal relies on, and naming its failures."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from zcomp.journal.errors import JournalError
from zcomp.journal.files import tighten_side_files
from zcomp.journal.schema import migrate

# Long enough for a batch's workers to queue behind each other's short transactions.
BUSY_TIMEOUT_SECONDS = 30.0


def describe(path: Path, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"journal {path} stayed locked by another zcomp for over {BUSY_TIMEOUT_SECONDS:.0f}s"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"journal {path} is corrupt or not a zcomp journal ({text})"
    if "readonly" in text or "unable to open" in text:
        return f"journal {path} cannot be written ({text})"
    return f"journal {path}: {text}"


@contextlib.contextmanager
def sqlite_errors(path: Path) -> Iterator[None]:
    """Turn any sqlite3 error into one clear JournalError line."""
    try:
        yield
    except sqlite3.Error as exc:
        raise JournalError(describe(path, exc)) from None


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (we BEGIN ourselves), WAL, full sync, foreign keys on."""
    with sqlite_errors(path):
        conn = sqlite3.connect(
            str(path),
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,  # a lock in Journal serialises use across threads
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000):d}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(f"journal {path} cannot use WAL mode (got {mode!r})")
            # FULL: a commit survives power loss too, not only kill -9.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
    return conn


def open_with_retry(path: Path, attempts: int = 40) -> sqlite3.Connection:
    """connect + migrate, retried while another process or thread is creating the same file.

    SQLite answers SQLITE_BUSY without calling the busy handler while a new WAL file is being
    set up or recovered, so opening a fresh journal from several workers at once can fail at
    once; that window is short, so a few short retries close it.
    """
    delay = 0.005
    for attempt in range(attempts):
        conn: sqlite3.Connection | None = None
        try:
            conn = connect(path)
            with sqlite_errors(path):
                migrate(conn, str(path))
            tighten_side_files(path)
            return conn
        except JournalError as exc:
            if conn is not None:
                conn.close()
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE takes the write lock up front, so busy_timeout covers every wait."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # Also after a failed COMMIT: never leave the connection inside a transaction.
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
