"""zcomp audit's runs in the journal: each run that changed settings (global config, a class
of service, a domain) and every change it made, with the values before and after.

An audit run is not an incident (those are one account each), so it has its own tables
(schema version 5) and its own key, AUD- and 8 characters like an incident's. Each change is
recorded as "planned" before it is sent, and its row then takes the executor's verdict (done,
failed, not-run): a run killed mid-way still knows every value it may have changed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zcomp.journal.codec import decode, encode, refuse_secrets
from zcomp.journal.errors import JournalError
from zcomp.journal.keys import _READ_AS, ALPHABET, LENGTH, MIN_PREFIX
from zcomp.journal.store import Journal
from zcomp.journal.timefmt import from_optional_text, from_text, to_text

PREFIX = "AUD-"
PLANNED = "planned"
# Run states.
APPLYING, APPLIED, FAILED = "applying", "applied", "failed"


@dataclass(frozen=True)
class AuditRun:
    id: int
    key: str
    zimbra: str  # the admin URL whose settings were changed
    operator: str
    started_at: datetime
    finished_at: datetime | None
    state: str


@dataclass(frozen=True)
class AuditAction:
    id: int
    run_id: int
    at: datetime
    step: str  # apply | restore
    kind: str  # setting
    target: str  # "global", "cos NAME", "domain NAME" (and the attribute, after a space)
    before: Any
    after: Any
    status: str  # planned | done | failed | not-run
    detail: str


def new_audit_key() -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_audit_key(typed: str) -> str:
    """AUD-7K3MQ9XA as stored, or a prefix of one; "" when it cannot be an audit key."""
    text = typed.strip().upper().replace(" ", "")
    if not text.startswith("AUD"):
        return ""
    rest = text.removeprefix("AUD").removeprefix("-").replace("-", "")
    rest = rest.translate(_READ_AS)
    if not rest or any(c not in ALPHABET for c in rest) or len(rest) > LENGTH:
        return ""
    return PREFIX + rest


def _run(row: Any) -> AuditRun:
    return AuditRun(
        id=row["id"],
        key=row["key"],
        zimbra=row["zimbra"],
        operator=row["operator"],
        started_at=from_text(row["started_at"]),
        finished_at=from_optional_text(row["finished_at"]),
        state=row["state"],
    )


def _action(row: Any) -> AuditAction:
    return AuditAction(
        id=row["id"],
        run_id=row["run_id"],
        at=from_text(row["at"]),
        step=row["step"],
        kind=row["kind"],
        target=row["target"],
        before=decode(row["before_json"]),
        after=decode(row["after_json"]),
        status=row["status"],
        detail=row["detail"],
    )


def start_run(journal: Journal, *, zimbra: str, operator: str) -> AuditRun:
    refuse_secrets([zimbra, operator], "audit run")
    key = new_audit_key()
    with journal._writing() as conn:
        cursor = conn.execute(
            "INSERT INTO audit_runs (key, zimbra, operator, started_at, state)"
            " VALUES (?, ?, ?, ?, ?)",
            (key, zimbra, operator, to_text(), APPLYING),
        )
        run_id = int(cursor.lastrowid or 0)
    return run(journal, run_id)


def finish_run(journal: Journal, run_id: int, state: str) -> None:
    with journal._writing() as conn:
        conn.execute(
            "UPDATE audit_runs SET state = ?, finished_at = ? WHERE id = ?",
            (state, to_text(), run_id),
        )


def run(journal: Journal, wanted: int | str) -> AuditRun:
    """By number, or by key as people type it (AUD-7K3MQ9XA, aud-7k3m: a unique prefix)."""
    with journal._reading() as conn:
        if isinstance(wanted, int):
            found = conn.execute("SELECT * FROM audit_runs WHERE id = ?", (wanted,)).fetchall()
        else:
            key = normalise_audit_key(wanted)
            if len(key) < len(PREFIX) + MIN_PREFIX:
                raise JournalError(
                    f"{wanted!r} is not an audit run: give its key (AUD-7K3MQ9XA, or its first "
                    f"{MIN_PREFIX} characters)"
                )
            found = conn.execute(
                "SELECT * FROM audit_runs WHERE key LIKE ? ORDER BY id LIMIT 2", (key + "%",)
            ).fetchall()
    if len(found) > 1:
        raise JournalError(f"{wanted!r} matches several audit runs: type more of it")
    if not found:
        raise JournalError(f"no audit run {wanted} in journal {journal.path}")
    return _run(found[0])


def runs(journal: Journal, *, limit: int = 100) -> list[AuditRun]:
    with journal._reading() as conn:
        found = conn.execute(
            "SELECT * FROM audit_runs ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
    return [_run(r) for r in found]


def plan_action(
    journal: Journal,
    run_id: int,
    *,
    step: str,
    kind: str,
    target: str,
    before: Any,
    after: Any,
    detail: str = "",
) -> int:
    """Record a change before it is sent (status "planned"); returns the row to settle."""
    refuse_secrets([step, kind, target, detail], "audit action")
    with journal._writing() as conn:
        cursor = conn.execute(
            "INSERT INTO audit_actions (run_id, at, step, kind, target, before_json,"
            " after_json, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                to_text(),
                step,
                kind,
                target,
                encode(before, "before"),
                encode(after, "after"),
                PLANNED,
                detail,
            ),
        )
        return int(cursor.lastrowid or 0)


def settle_action(journal: Journal, action_id: int, *, status: str, detail: str) -> None:
    """The executor's verdict on a planned change (done, failed, not-run) and its note."""
    refuse_secrets([status, detail], "audit action")
    with journal._writing() as conn:
        conn.execute(
            "UPDATE audit_actions SET status = ?, detail = ?, at = ? WHERE id = ?",
            (status, detail, to_text(), action_id),
        )


def actions(journal: Journal, run_id: int) -> list[AuditAction]:
    with journal._reading() as conn:
        found = conn.execute(
            "SELECT * FROM audit_actions WHERE run_id = ? ORDER BY id", (run_id,)
        ).fetchall()
    return [_action(r) for r in found]
