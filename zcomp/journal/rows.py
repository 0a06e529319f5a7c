"""Database rows -> the journal's dataclasses."""

from __future__ import annotations

import sqlite3
from typing import Any

from zcomp.journal.codec import decode
from zcomp.journal.model import Action, Baseline, GuardEvent, Incident, Run
from zcomp.journal.timefmt import from_optional_text, from_text

INCIDENT_SELECT = """
    SELECT i.*,
           (SELECT e.sha256 FROM evidence e WHERE e.incident_id = i.id
            ORDER BY e.id LIMIT 1) AS evidence_sha256
    FROM incidents i
"""


def incident(row: sqlite3.Row) -> Incident:
    return Incident(
        id=row["id"],
        account_id=row["account_id"],
        account_name=row["account_name"],
        state=row["state"],
        reason=row["reason"],
        operator=row["operator"],
        started_at=from_text(row["started_at"]),
        closed_at=from_optional_text(row["closed_at"]),
        closed_how=row["closed_how"],
        ticket_backend=row["ticket_backend"],
        ticket_id=row["ticket_id"],
        ticket_url=row["ticket_url"],
        evidence_sha256=row["evidence_sha256"],
        ticket_pending=(decode(row["ticket_pending_json"]) if row["ticket_pending_json"] else None),
        key=row["key"],
    )


def action(row: sqlite3.Row) -> Action:
    return Action(
        id=row["id"],
        incident_id=row["incident_id"],
        at=from_text(row["at"]),
        step=row["step"],
        kind=row["kind"],
        target=row["target"],
        before=decode(row["before_json"]),
        after=decode(row["after_json"]),
        status=row["status"],
        detail=row["detail"],
    )


def baseline(row: sqlite3.Row) -> Baseline:
    data: dict[str, Any] = decode(row["data_json"])
    return Baseline(
        id=row["id"],
        account_id=row["account_id"],
        account_name=row["account_name"],
        captured_at=from_text(row["captured_at"]),
        data=data,
    )


def run(row: sqlite3.Row, results: dict[str, str]) -> Run:
    return Run(
        id=row["id"],
        command=row["command"],
        accounts=list(decode(row["accounts_json"])),
        started_at=from_text(row["started_at"]),
        finished_at=from_optional_text(row["finished_at"]),
        results=results,
    )


def guard_event(row: sqlite3.Row) -> GuardEvent:
    return GuardEvent(
        id=row["id"],
        at=from_text(row["at"]),
        kind=row["kind"],
        server=row["server"],
        queue_id=row["queue_id"],
        sender=row["sender"],
        rule=row["rule"],
        reason=row["reason"],
        operator=row["operator"],
        detail=decode(row["detail_json"]),
    )
