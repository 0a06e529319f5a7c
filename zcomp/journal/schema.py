"""The journal's schema as numbered migrations; PRAGMA user_version says which have run.

To change the schema, append a migration: never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3

from zcomp.journal.errors import JournalError

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # version 1
    (
        """CREATE TABLE incidents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            account_name TEXT NOT NULL,
            state TEXT NOT NULL,
            reason TEXT NOT NULL,
            operator TEXT NOT NULL,
            started_at TEXT NOT NULL,
            closed_at TEXT,
            closed_how TEXT,
            ticket_backend TEXT,
            ticket_id TEXT,
            ticket_url TEXT
        )""",
        # At most one incident per account that is not closed: a re-run resumes it.
        "CREATE UNIQUE INDEX incidents_one_open ON incidents(account_id) WHERE state <> 'closed'",
        "CREATE INDEX incidents_by_account_id ON incidents(account_id, id)",
        "CREATE INDEX incidents_by_account_name ON incidents(account_name COLLATE NOCASE, id)",
        """CREATE TABLE actions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            incident_id INTEGER NOT NULL REFERENCES incidents(id),
            at TEXT NOT NULL,
            step TEXT NOT NULL,
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            before_json TEXT NOT NULL,
            after_json TEXT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX actions_by_incident ON actions(incident_id, id)",
        """CREATE TABLE evidence (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            incident_id INTEGER NOT NULL REFERENCES incidents(id),
            sha256 TEXT NOT NULL,
            bundle_json TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX evidence_by_incident ON evidence(incident_id, id)",
        """CREATE TABLE baselines (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            account_name TEXT NOT NULL,
            captured_at TEXT NOT NULL,
            data_json TEXT NOT NULL
        )""",
        "CREATE INDEX baselines_by_account ON baselines(account_id, captured_at, id)",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            command TEXT NOT NULL,
            accounts_json TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT
        )""",
        """CREATE TABLE run_results (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            account TEXT NOT NULL,
            result TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (run_id, account)
        )""",
    ),
    # version 2: a ticket recorded as pending before it is filed (with what it will say), and
    # one zcomp process at a time per account on this journal.
    (
        "ALTER TABLE incidents ADD COLUMN ticket_pending_json TEXT",
        """CREATE TABLE account_locks (
            account_id TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            since TEXT NOT NULL
        )""",
    ),
    # version 3: an incident key unique across journals and hosts (INC-7K3MQ9XA), shown in the
    # output, the ticket and zimbraNotes; earlier incidents keep the key they were shown with.
    (
        "ALTER TABLE incidents ADD COLUMN key TEXT",
        "UPDATE incidents SET key = printf('INC%06d', id) WHERE key IS NULL",
        "CREATE UNIQUE INDEX incidents_by_key ON incidents(key)",
    ),
    # version 4: zcomp guard's holds (queue id -> why; Zimbra's GetMailQueue does not say why a
    # message is on hold) and what `zcomp guard review` released or deleted.
    (
        """CREATE TABLE IF NOT EXISTS guard_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            server TEXT NOT NULL,
            queue_id TEXT NOT NULL,
            sender TEXT NOT NULL,
            rule TEXT NOT NULL,
            reason TEXT NOT NULL,
            operator TEXT NOT NULL,
            detail_json TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS guard_events_by_queue_id ON guard_events(queue_id, id)",
        "CREATE INDEX IF NOT EXISTS guard_events_by_sender"
        " ON guard_events(sender COLLATE NOCASE, id)",
    ),
    # version 5: zcomp audit's runs and the settings each changed (global config, COS, domain).
    # Not incidents: those are one account each (one open per account, tickets, unlock), and
    # actions.incident_id is NOT NULL; an audit run keeps its own key (AUD-...) and actions.
    (
        """CREATE TABLE IF NOT EXISTS audit_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            zimbra TEXT NOT NULL,
            operator TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            state TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS audit_actions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER NOT NULL REFERENCES audit_runs(id),
            at TEXT NOT NULL,
            step TEXT NOT NULL,
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            before_json TEXT NOT NULL,
            after_json TEXT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS audit_actions_by_run ON audit_actions(run_id, id)",
    ),
)

LATEST_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, where: str) -> int:
    """Bring the schema up to date in one write transaction; returns the version reached.

    Safe when several processes open a new journal at once: the version is re-read after the
    write lock is taken, so only one of them runs each migration.
    """
    if schema_version(conn) == LATEST_VERSION:
        return LATEST_VERSION
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)
        if current > LATEST_VERSION:
            raise JournalError(
                f"journal {where} has schema version {current}, newer than this zcomp "
                f"understands ({LATEST_VERSION}); upgrade zcomp"
            )
        for version in range(current + 1, LATEST_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
        # PRAGMA takes no parameters; LATEST_VERSION is our own integer.
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION:d}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return LATEST_VERSION
