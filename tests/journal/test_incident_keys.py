"""Incident keys: unique across journals, found again however people type them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from zcomp.journal import Journal, JournalError
from zcomp.journal.keys import ALPHABET, new_incident_key, normalise_key


def _start(journal: Journal, n: int, key: str | None = None) -> str:
    incident = journal.start_incident(
        f"id-{n}", f"user{n}@example.edu", reason="phished", operator="ops", key=key
    )
    return incident.key


def test_new_keys_are_random_readable_and_distinct() -> None:
    keys = {new_incident_key() for _ in range(10_000)}
    assert len(keys) == 10_000
    for key in list(keys)[:50]:
        assert key.startswith("INC-") and len(key) == 12
        assert all(c in ALPHABET for c in key[4:]) and not set(key[4:]) & set("ILOU")


def test_a_key_is_found_as_shown_in_lower_case_without_inc_or_by_a_prefix(
    tmp_path: Path,
) -> None:
    with Journal.open(tmp_path) as journal:
        key = _start(journal, 1, "INC-7K3MQ9XA")
        _start(journal, 2, "INC-7K4AAAAA")
        for typed in ("INC-7K3MQ9XA", "inc-7k3mq9xa", "7K3MQ9XA", "7k3m", "7K3-M", "INC7K3MQ"):
            assert journal.incident(typed).key == key, typed
        # Read aloud: an O is a zero, an I or L a one (Crockford's base32).
        assert normalise_key("7K3MQ9XA") == normalise_key("7k3mq9xa")
        for short in ("7K", "INC-7K3"):  # fewer than 4 characters: not a key
            with pytest.raises(JournalError, match="give its key"):
                journal.incident(short)


def test_an_ambiguous_or_unknown_key_is_one_clear_line(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        _start(journal, 1, "INC-7K3MQ9XA")
        _start(journal, 2, "INC-7K3MQZZZ")
        with pytest.raises(JournalError, match="matches several incidents: type more of it"):
            journal.incident("7k3m")
        assert journal.incident("7k3mq9").key == "INC-7K3MQ9XA"
        with pytest.raises(JournalError, match="no incident INC-ZZZZZZZZ"):
            journal.incident("INC-ZZZZZZZZ")
        with pytest.raises(JournalError, match="give its key"):
            journal.incident("7K")


def test_incidents_from_before_keys_keep_the_one_they_were_shown_with(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        _start(journal, 1)
    # Make it an incident of a version-2 journal: no key yet, then migrate again.
    conn = sqlite3.connect(tmp_path / "journal.sqlite3")
    conn.execute("DROP INDEX incidents_by_key")
    conn.execute("UPDATE incidents SET key = NULL")
    conn.execute("PRAGMA user_version = 2")
    conn.execute("ALTER TABLE incidents DROP COLUMN key")
    conn.commit()
    conn.close()
    with Journal.open(tmp_path) as journal:
        for typed in ("INC000001", "inc1", "1"):
            assert journal.incident(typed).key == "INC000001"
        assert journal.actions("INC000001") == []
        assert _start(journal, 2).startswith("INC-")  # new ones get a key
