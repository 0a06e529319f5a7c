"""The journal: incidents, actions, evidence, baselines, tickets and batch runs in SQLite.

Every public write is its own short transaction, committed before the method returns, so a
`kill -9` loses nothing already reported. One Journal may be shared by threads (calls are
serialised; zcomp's batch workers do), and several processes may use the file at once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from zcomp.journal import rows
from zcomp.journal.codec import canonical_json, decode, encode, refuse_secrets, sha256_hex
from zcomp.journal.connection import open_with_retry, sqlite_errors, write_transaction
from zcomp.journal.errors import (
    AmbiguousIncident,
    IncidentNotFound,
    IncidentOpenError,
    JournalError,
)
from zcomp.journal.files import DB_NAME, ensure_private_file, ensure_state_dir
from zcomp.journal.keys import MIN_PREFIX, is_prefix, new_incident_key, normalise_key
from zcomp.journal.model import (
    CLOSED,
    OPEN,
    AccountLock,
    Action,
    ActionEntry,
    Baseline,
    Evidence,
    GuardEvent,
    Incident,
    Run,
)
from zcomp.journal.timefmt import from_text, to_text


class Journal:
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self.path = path

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, state_dir: Path) -> Journal:
        """Open (creating as needed) <state_dir>/journal.sqlite3: dir 0700, files 0600."""
        state_dir = Path(state_dir)
        path = state_dir / DB_NAME
        try:
            ensure_state_dir(state_dir)
            ensure_private_file(path)
        except NotADirectoryError as exc:
            # A file where the state directory (or one of its parents) should be.
            blocker = Path(exc.filename) if exc.filename else state_dir
            what = "it is a file" if blocker == state_dir else f"{blocker} is a file"
            raise JournalError(
                f"cannot create journal: state directory {state_dir} is not a directory "
                f"({what}); remove it or point state_dir / ZCOMP_STATE_DIR at a directory"
            ) from None
        except OSError as exc:
            raise JournalError(f"cannot create journal {path}: {exc.strerror or exc}") from None
        conn = open_with_retry(path)
        return cls(conn, path)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, sqlite_errors(self.path):
            if self._conn is None:
                raise JournalError(f"journal {self.path} is closed")
            yield self._conn

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._reading() as conn, write_transaction(conn):
            yield conn

    # -- incidents -------------------------------------------------------------------------

    def start_incident(
        self,
        account_id: str,
        account_name: str,
        *,
        reason: str,
        operator: str,
        started_at: datetime | None = None,
        key: str | None = None,
        state: str = OPEN,
    ) -> Incident:
        """New incident (open, unless adopted from another journal with its `key` and state).
        Raises IncidentOpenError if the account already has one."""
        refuse_secrets([account_id, account_name, reason, operator], "incident")
        key = key or new_incident_key()
        started = to_text(started_at)
        with self._writing() as conn:
            existing = conn.execute(
                "SELECT id FROM incidents WHERE account_id = ? AND state <> ?",
                (account_id, CLOSED),
            ).fetchone()
            if existing is not None:
                raise IncidentOpenError(account_id, int(existing["id"]))
            cursor = conn.execute(
                "INSERT INTO incidents (account_id, account_name, state, reason, operator,"
                " started_at, key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (account_id, account_name, state, reason, operator, started, key),
            )
            incident_id = int(cursor.lastrowid or 0)
        return self.incident(incident_id)

    def open_incident(self, account_id: str) -> Incident | None:
        """The account's newest incident that is not closed, if any."""
        with self._reading() as conn:
            row = conn.execute(
                rows.INCIDENT_SELECT + " WHERE i.account_id = ? AND i.state <> ?"
                " ORDER BY i.id DESC LIMIT 1",
                (account_id, CLOSED),
            ).fetchone()
        return None if row is None else rows.incident(row)

    def incident(self, incident_id: int | str) -> Incident:
        """By this journal's number, or by key as people type it: INC-7K3MQ9XA, 7k3mq9xa, a
        prefix of at least 4 characters that is unique here (7K3M), or an old INC000042."""
        if isinstance(incident_id, str):
            return self._incident_by_key(incident_id)
        with self._reading() as conn:
            row = conn.execute(rows.INCIDENT_SELECT + " WHERE i.id = ?", (incident_id,)).fetchone()
        if row is None:
            raise IncidentNotFound(f"no incident {incident_id} in journal {self.path}")
        return rows.incident(row)

    def _number(self, incident: int | str) -> int:
        """This journal's number for an incident given by number or by key."""
        return incident if isinstance(incident, int) else self._incident_by_key(incident).id

    def _incident_by_key(self, typed: str) -> Incident:
        wanted = normalise_key(typed)
        if not wanted or (is_prefix(wanted) and len(wanted) < len("INC-") + MIN_PREFIX):
            raise IncidentNotFound(
                f"{typed!r} is not an incident: give its key (INC-7K3MQ9XA, or its first "
                f"{MIN_PREFIX} characters)"
            )
        with self._reading() as conn:
            found = conn.execute(rows.INCIDENT_SELECT + " WHERE i.key = ?", (wanted,)).fetchall()
            if not found and is_prefix(wanted):
                found = conn.execute(
                    rows.INCIDENT_SELECT + " WHERE i.key LIKE ? ORDER BY i.id LIMIT 2",
                    (wanted + "%",),  # the alphabet has no % or _
                ).fetchall()
        if len(found) > 1:
            raise AmbiguousIncident(f"{typed!r} matches several incidents: type more of it")
        if not found:
            raise IncidentNotFound(f"no incident {typed} in journal {self.path}")
        return rows.incident(found[0])

    def incidents(self, account: str | None = None, *, limit: int = 100) -> list[Incident]:
        """Newest first; `account` matches the account id or (case-insensitively) its name; a
        bare name (no @, as zmprov users type it) matches that name in any domain."""
        with self._reading() as conn:
            if account is None:
                found = conn.execute(
                    rows.INCIDENT_SELECT + " ORDER BY i.id DESC LIMIT ?", (limit,)
                ).fetchall()
            elif "@" not in account:
                local = account.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                found = conn.execute(
                    rows.INCIDENT_SELECT + " WHERE i.account_id = ?"
                    " OR i.account_name LIKE ? ESCAPE '\\' ORDER BY i.id DESC LIMIT ?",
                    (account, f"{local}@%", limit),
                ).fetchall()
            else:
                found = conn.execute(
                    rows.INCIDENT_SELECT + " WHERE i.account_id = ?"
                    " OR i.account_name = ? COLLATE NOCASE ORDER BY i.id DESC LIMIT ?",
                    (account, account, limit),
                ).fetchall()
        return [rows.incident(row) for row in found]

    def set_incident_state(self, incident_id: int, state: str) -> None:
        """E.g. "contained" or "failed". Closing goes through close_incident."""
        if not state or state == CLOSED:
            raise ValueError("use close_incident() to close an incident; state must be non-empty")
        refuse_secrets(state, "state")
        with self._writing() as conn:
            self._require_not_closed(conn, incident_id)
            conn.execute("UPDATE incidents SET state = ? WHERE id = ?", (state, incident_id))

    def close_incident(
        self, incident_id: int, *, how: str, closed_at: datetime | None = None
    ) -> None:
        refuse_secrets(how, "how")
        closed = to_text(closed_at)
        with self._writing() as conn:
            self._require_not_closed(conn, incident_id)
            conn.execute(
                "UPDATE incidents SET state = ?, closed_at = ?, closed_how = ? WHERE id = ?",
                (CLOSED, closed, how, incident_id),
            )

    def _require_not_closed(self, conn: sqlite3.Connection, incident_id: int) -> None:
        row = conn.execute("SELECT state FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            raise IncidentNotFound(f"no incident {incident_id} in journal {self.path}")
        if row["state"] == CLOSED:
            raise JournalError(f"incident {incident_id} is already closed")

    def _require_incident(self, conn: sqlite3.Connection, incident_id: int) -> None:
        if conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,)).fetchone() is None:
            raise IncidentNotFound(f"no incident {incident_id} in journal {self.path}")

    # -- actions ---------------------------------------------------------------------------

    def record_action(
        self,
        incident_id: int,
        *,
        step: str,
        kind: str,
        target: str,
        before: Any,
        after: Any,
        status: str,
        detail: str = "",
    ) -> Action:
        """Append one action with its before/after values (plain JSON, never a secret)."""
        entry = ActionEntry(step, kind, target, before, after, status, detail)
        return self.record_actions(incident_id, [entry])[0]

    def record_actions(self, incident_id: int, entries: Sequence[ActionEntry]) -> list[Action]:
        """Append actions in one transaction: all of them are on record, or none (one commit,
        one fsync, for the dozen changes of one batch request)."""
        at = to_text()
        encoded = []
        for e in entries:
            refuse_secrets([e.step, e.kind, e.target, e.status, e.detail], "action")
            encoded.append((e, encode(e.before, "before"), encode(e.after, "after")))
        ids: list[int] = []
        with self._writing() as conn:
            self._require_incident(conn, incident_id)
            for e, before_json, after_json in encoded:
                cursor = conn.execute(
                    "INSERT INTO actions (incident_id, at, step, kind, target, before_json,"
                    " after_json, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (incident_id, at, e.step, e.kind, e.target, before_json, after_json)
                    + (e.status, e.detail),
                )
                ids.append(int(cursor.lastrowid or 0))
        when = from_text(at)
        return [
            Action(
                id=action_id,
                incident_id=incident_id,
                at=when,
                step=e.step,
                kind=e.kind,
                target=e.target,
                before=decode(before_json),
                after=decode(after_json),
                status=e.status,
                detail=e.detail,
            )
            for action_id, (e, before_json, after_json) in zip(ids, encoded, strict=True)
        ]

    def actions(self, incident_id: int | str) -> list[Action]:
        """In the order they were recorded."""
        incident_id = self._number(incident_id)
        with self._reading() as conn:
            found = conn.execute(
                "SELECT * FROM actions WHERE incident_id = ? ORDER BY id", (incident_id,)
            ).fetchall()
        return [rows.action(row) for row in found]

    # -- evidence --------------------------------------------------------------------------

    def store_evidence(self, incident_id: int, bundle: dict[str, Any]) -> str:
        """Keep the bundle as canonical JSON with its SHA-256 (returned, hex).

        Storing the same bundle again adds nothing. A different later bundle is kept too,
        but evidence() keeps answering the first one: the state before anything was cleaned.
        """
        text = encode(bundle, "evidence")
        digest = sha256_hex(text)
        with self._writing() as conn:
            self._require_incident(conn, incident_id)
            same = conn.execute(
                "SELECT 1 FROM evidence WHERE incident_id = ? AND sha256 = ?",
                (incident_id, digest),
            ).fetchone()
            if same is None:
                conn.execute(
                    "INSERT INTO evidence (incident_id, sha256, bundle_json, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (incident_id, digest, text, to_text()),
                )
        return digest

    def evidence(self, incident_id: int | str) -> Evidence | None:
        """The incident's first evidence bundle, its hash verified; None if there is none."""
        bundles = self.evidence_bundles(incident_id, limit=1)
        return bundles[0] if bundles else None

    def evidence_bundles(self, incident_id: int | str, *, limit: int = -1) -> list[Evidence]:
        """Every bundle kept for the incident, oldest first, each hash verified."""
        incident_id = self._number(incident_id)
        with self._reading() as conn:
            found = conn.execute(
                "SELECT * FROM evidence WHERE incident_id = ? ORDER BY id LIMIT ?",
                (incident_id, limit),
            ).fetchall()
        return [self._verified_evidence(row) for row in found]

    def _verified_evidence(self, row: sqlite3.Row) -> Evidence:
        text: str = row["bundle_json"]
        if sha256_hex(text) != row["sha256"]:
            raise JournalError(
                f"evidence {row['id']} of incident {row['incident_id']} in journal {self.path}"
                " fails its SHA-256 check (altered or corrupt)"
            )
        bundle = decode(text)
        if not isinstance(bundle, dict):
            raise JournalError(f"evidence {row['id']} in journal {self.path} is not an object")
        return Evidence(
            incident_id=row["incident_id"],
            sha256=row["sha256"],
            bundle=bundle,
            created_at=from_text(row["created_at"]),
        )

    # -- tickets ---------------------------------------------------------------------------

    def set_ticket(
        self,
        incident_id: int,
        backend: str,
        ticket_id: str,
        url: str | None = None,
        *,
        done: dict[str, Any] | None = None,
    ) -> None:
        """Link the incident's ticket. `done`: the pending operation just carried out, cleared
        only if it is still the one pending (another process may have queued the next)."""
        refuse_secrets([backend, ticket_id, url or ""], "ticket")
        finished = None if done is None else canonical_json(done)
        with self._writing() as conn:
            self._require_incident(conn, incident_id)
            conn.execute(
                "UPDATE incidents SET ticket_backend = ?, ticket_id = ?, ticket_url = ?,"
                " ticket_pending_json = CASE WHEN ticket_pending_json = ? THEN NULL"
                " ELSE ticket_pending_json END WHERE id = ?",
                (backend, ticket_id, url, finished, incident_id),
            )

    def set_ticket_pending(self, incident_id: int, pending: dict[str, Any] | None) -> None:
        """Record the ticket operation still to do (what it will say), before doing it, so a
        failure or a kill leaves it for a re-run or `zcomp ticket retry`; None: nothing left."""
        text = None if pending is None else encode(pending, "ticket")
        with self._writing() as conn:
            self._require_incident(conn, incident_id)
            conn.execute(
                "UPDATE incidents SET ticket_pending_json = ? WHERE id = ?", (text, incident_id)
            )

    def pending_tickets(self) -> list[Incident]:
        """Incidents with a ticket operation still to do, oldest first."""
        with self._reading() as conn:
            found = conn.execute(
                rows.INCIDENT_SELECT + " WHERE i.ticket_pending_json IS NOT NULL ORDER BY i.id"
            ).fetchall()
        return [rows.incident(row) for row in found]

    def latest_incident(self, account_id: str) -> Incident | None:
        """The account's newest incident, open or closed."""
        with self._reading() as conn:
            row = conn.execute(
                rows.INCIDENT_SELECT + " WHERE i.account_id = ? ORDER BY i.id DESC LIMIT 1",
                (account_id,),
            ).fetchone()
        return None if row is None else rows.incident(row)

    # -- one actor per account -------------------------------------------------------------

    def acquire_account(
        self, account_id: str, *, holder: str, host: str, pid: int, alive: Callable[[int], bool]
    ) -> AccountLock | None:
        """Take the account for this process: None when taken, else who holds it. A holder on
        this host whose process is gone (`alive(pid)` False: killed) is replaced."""
        refuse_secrets([account_id, holder, host], "lock")
        with self._writing() as conn:
            row = conn.execute(
                "SELECT * FROM account_locks WHERE account_id = ?", (account_id,)
            ).fetchone()
            if row is not None:
                # The holder names the thread: two workers of one process are two actors.
                mine = row["host"] == host and int(row["pid"]) == pid and row["holder"] == holder
                gone = row["host"] == host and not alive(int(row["pid"]))
                if not (mine or gone):
                    return AccountLock(
                        account_id=account_id,
                        holder=row["holder"],
                        host=row["host"],
                        pid=int(row["pid"]),
                        since=from_text(row["since"]),
                    )
            conn.execute(
                "INSERT OR REPLACE INTO account_locks (account_id, holder, host, pid, since)"
                " VALUES (?, ?, ?, ?, ?)",
                (account_id, holder, host, pid, to_text()),
            )
        return None

    def release_account(self, account_id: str, *, holder: str, host: str, pid: int) -> None:
        with self._writing() as conn:
            conn.execute(
                "DELETE FROM account_locks WHERE account_id = ? AND holder = ? AND host = ?"
                " AND pid = ?",
                (account_id, holder, host, pid),
            )

    # -- baselines -------------------------------------------------------------------------

    def add_baseline(
        self,
        account_id: str,
        account_name: str,
        data: dict[str, Any],
        *,
        captured_at: datetime | None = None,
    ) -> int:
        with self._writing() as conn:
            cursor = conn.execute(
                "INSERT INTO baselines (account_id, account_name, captured_at, data_json)"
                " VALUES (?, ?, ?, ?)",
                self._baseline_row(account_id, account_name, data, to_text(captured_at)),
            )
            return int(cursor.lastrowid or 0)

    def add_baselines(
        self,
        rows_in: Iterable[tuple[str, str, dict[str, Any]]],
        *,
        captured_at: datetime | None = None,
    ) -> int:
        """Many (account_id, account_name, data) in one transaction; returns how many.

        Every row is checked before anything is written: one bad row writes none.
        """
        captured = to_text(captured_at)
        prepared = [self._baseline_row(a, n, d, captured) for a, n, d in rows_in]
        with self._writing() as conn:
            conn.executemany(
                "INSERT INTO baselines (account_id, account_name, captured_at, data_json)"
                " VALUES (?, ?, ?, ?)",
                prepared,
            )
        return len(prepared)

    @staticmethod
    def _baseline_row(
        account_id: str, account_name: str, data: dict[str, Any], captured: str
    ) -> tuple[str, str, str, str]:
        if not isinstance(data, dict):
            raise TypeError("baseline data must be a dict")
        refuse_secrets([account_id, account_name], "baseline")
        return (account_id, account_name, captured, encode(data, f"baseline of {account_name}"))

    def latest_baseline(
        self, account_id: str, *, before: datetime | None = None
    ) -> Baseline | None:
        """The newest baseline of the account, or the newest captured strictly before `before`."""
        with self._reading() as conn:
            if before is None:
                row = conn.execute(
                    "SELECT * FROM baselines WHERE account_id = ?"
                    " ORDER BY captured_at DESC, id DESC LIMIT 1",
                    (account_id,),
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT * FROM baselines WHERE account_id = ? AND captured_at < ?"
                    " ORDER BY captured_at DESC, id DESC LIMIT 1",
                    (account_id, to_text(before)),
                ).fetchone()
        return None if row is None else rows.baseline(row)

    # -- batch runs ------------------------------------------------------------------------

    def start_run(self, command: str, accounts: list[str]) -> int:
        refuse_secrets(command, "run command")
        accounts_json = encode(list(accounts), "run accounts")
        with self._writing() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (command, accounts_json, started_at) VALUES (?, ?, ?)",
                (command, accounts_json, to_text()),
            )
            return int(cursor.lastrowid or 0)

    def record_run_result(self, run_id: int, account: str, result: str) -> None:
        """One account's result, committed as soon as it is known (a killed run keeps it)."""
        self._write_results(run_id, {account: result}, finish=False)

    def finish_run(self, run_id: int, *, results: dict[str, str]) -> None:
        self._write_results(run_id, results, finish=True)

    def _write_results(self, run_id: int, results: dict[str, str], *, finish: bool) -> None:
        refuse_secrets(results, "run results")
        at = to_text()
        with self._writing() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise JournalError(f"no batch run {run_id} in journal {self.path}")
            conn.executemany(
                "INSERT INTO run_results (run_id, account, result, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (run_id, account) DO UPDATE SET result = excluded.result,"
                " at = excluded.at",
                [(run_id, account, result, at) for account, result in results.items()],
            )
            if finish:
                conn.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (at, run_id))

    def run(self, run_id: int) -> Run:
        with self._reading() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise JournalError(f"no batch run {run_id} in journal {self.path}")
            results = conn.execute(
                "SELECT account, result FROM run_results WHERE run_id = ? ORDER BY at, account",
                (run_id,),
            ).fetchall()
        return rows.run(row, {r["account"]: r["result"] for r in results})

    def unfinished_runs(self, command: str | None = None) -> list[Run]:
        """Runs that never finished (killed), newest first."""
        with self._reading() as conn:
            found = conn.execute(
                "SELECT id FROM runs WHERE finished_at IS NULL AND (? IS NULL OR command = ?)"
                " ORDER BY id DESC",
                (command, command),
            ).fetchall()
        return [self.run(int(row["id"])) for row in found]

    # -- zcomp guard -----------------------------------------------------------------------

    def record_guard_event(
        self,
        kind: str,
        *,
        server: str,
        queue_id: str,
        sender: str,
        rule: str = "",
        reason: str = "",
        operator: str = "",
        detail: dict[str, Any] | None = None,
    ) -> int:
        """A hold by the milter, or a release/delete by `zcomp guard review`."""
        refuse_secrets([kind, server, queue_id, sender, rule, reason, operator], "guard event")
        detail_json = encode(detail or {}, "guard event detail")
        with self._writing() as conn:
            cursor = conn.execute(
                "INSERT INTO guard_events (at, kind, server, queue_id, sender, rule, reason,"
                " operator, detail_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (to_text(), kind, server, queue_id, sender, rule, reason, operator, detail_json),
            )
            return int(cursor.lastrowid or 0)

    def guard_holds(self, queue_ids: Iterable[str]) -> dict[str, GuardEvent]:
        """The latest hold recorded for each of these Postfix queue ids (those known)."""
        wanted = sorted(set(queue_ids))
        out: dict[str, GuardEvent] = {}
        with self._reading() as conn:
            for start in range(0, len(wanted), 500):  # SQLite's bound on parameters
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(
                    f"SELECT * FROM guard_events WHERE kind = 'hold' AND queue_id IN ({marks})"  # noqa: S608 - only ? marks
                    " ORDER BY id",
                    chunk,
                ):
                    out[row["queue_id"]] = rows.guard_event(row)
        return out

    def guard_events(self, *, kind: str | None = None, limit: int = 100) -> list[GuardEvent]:
        """The newest guard events first."""
        with self._reading() as conn:
            found = conn.execute(
                "SELECT * FROM guard_events WHERE (? IS NULL OR kind = ?) ORDER BY id DESC LIMIT ?",
                (kind, kind, limit),
            ).fetchall()
        return [rows.guard_event(row) for row in found]
