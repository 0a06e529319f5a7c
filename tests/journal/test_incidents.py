"""Incidents: start, find, change state, close, tickets."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from zcomp.journal import CLOSED, CONTAINED, OPEN, IncidentOpenError, Journal, JournalError

T0 = datetime(2024, 5, 1, 2, 30, tzinfo=timezone.utc)


def test_start_and_read_back(journal: Journal) -> None:
    incident = journal.start_incident(
        "uuid-1", "alice@example.edu", reason="spam burst", operator="root", started_at=T0
    )
    assert incident.id > 0
    assert incident.state == OPEN
    assert incident.started_at == T0
    assert incident.closed_at is None and incident.ticket_id is None
    assert incident.evidence_sha256 is None
    assert journal.incident(incident.id) == incident
    assert journal.open_incident("uuid-1") == incident


def test_timestamps_are_utc_z_text(journal: Journal) -> None:
    local = datetime(2024, 5, 1, 4, 30, tzinfo=timezone(timedelta(hours=2)))
    incident = journal.start_incident("u", "a@x", reason="r", operator="o", started_at=local)
    assert incident.started_at == T0
    assert incident.started_at.tzinfo == timezone.utc
    conn = sqlite3.connect(journal.path)  # the stored text is ISO-8601 with "Z"
    try:
        text = conn.execute("SELECT started_at FROM incidents").fetchone()[0]
    finally:
        conn.close()
    assert text == "2024-05-01T02:30:00.000000Z"


def test_naive_datetime_is_refused(journal: Journal) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        journal.start_incident("u", "a@x", reason="r", operator="o", started_at=datetime.now())


def test_one_open_incident_per_account(journal: Journal) -> None:
    first = journal.start_incident("uuid-1", "a@x", reason="r", operator="o")
    with pytest.raises(IncidentOpenError) as caught:
        journal.start_incident("uuid-1", "a@x", reason="again", operator="o")
    assert caught.value.incident_id == first.id
    journal.set_incident_state(first.id, "failed")
    with pytest.raises(IncidentOpenError):
        journal.start_incident("uuid-1", "a@x", reason="again", operator="o")
    journal.close_incident(first.id, how="unlocked")
    second = journal.start_incident("uuid-1", "a@x", reason="phished again", operator="o")
    assert journal.open_incident("uuid-1") == second


def test_state_and_close(journal: Journal) -> None:
    incident = journal.start_incident("uuid-1", "a@x", reason="r", operator="o")
    journal.set_incident_state(incident.id, CONTAINED)
    assert journal.incident(incident.id).state == CONTAINED
    closed_at = T0 + timedelta(hours=3)
    journal.close_incident(incident.id, how="unlocked by helpdesk", closed_at=closed_at)
    closed = journal.incident(incident.id)
    assert closed.state == CLOSED and closed.is_closed
    assert closed.closed_at == closed_at and closed.closed_how == "unlocked by helpdesk"
    assert journal.open_incident("uuid-1") is None
    with pytest.raises(JournalError, match="already closed"):
        journal.close_incident(incident.id, how="again")
    with pytest.raises(JournalError, match="already closed"):
        journal.set_incident_state(incident.id, CONTAINED)
    with pytest.raises(ValueError):
        journal.set_incident_state(incident.id, CLOSED)


def test_missing_incident(journal: Journal) -> None:
    with pytest.raises(JournalError, match="no incident 99"):
        journal.incident(99)
    with pytest.raises(JournalError, match="no incident 99"):
        journal.set_incident_state(99, CONTAINED)
    with pytest.raises(JournalError, match="no incident 99"):
        journal.set_ticket(99, "file", "INC000099")


def test_incidents_by_name_or_id_newest_first(journal: Journal) -> None:
    a1 = journal.start_incident("uuid-a", "alice@example.edu", reason="r", operator="o")
    journal.close_incident(a1.id, how="done")
    b1 = journal.start_incident("uuid-b", "bob@example.edu", reason="r", operator="o")
    a2 = journal.start_incident("uuid-a", "alice@example.edu", reason="r", operator="o")
    assert [i.id for i in journal.incidents()] == [a2.id, b1.id, a1.id]
    assert [i.id for i in journal.incidents("uuid-a")] == [a2.id, a1.id]
    assert [i.id for i in journal.incidents("ALICE@example.edu")] == [a2.id, a1.id]
    assert [i.id for i in journal.incidents(limit=1)] == [a2.id]
    assert journal.incidents("nobody@example.edu") == []


def test_set_ticket(journal: Journal) -> None:
    incident = journal.start_incident("uuid-1", "a@x", reason="r", operator="o")
    journal.set_ticket(incident.id, "file", "INC000001", "file:///tmp/t.md")
    got = journal.incident(incident.id)
    assert (got.ticket_backend, got.ticket_id, got.ticket_url) == (
        "file",
        "INC000001",
        "file:///tmp/t.md",
    )
