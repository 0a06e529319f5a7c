"""The tripwire: nothing that looks like a secret gets into the journal."""

from __future__ import annotations

import sqlite3

import pytest

from zcomp.journal import Journal, SecretRefusedError

TOKEN = "0_" + "ab12" * 10 + "_6964" + "3d" * 8


def count_rows(journal: Journal) -> int:
    conn = sqlite3.connect(journal.path)
    try:
        return sum(
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("actions", "evidence", "baselines", "runs")
        )
    finally:
        conn.close()


@pytest.mark.parametrize(
    "value",
    [
        TOKEN,
        f"Cookie: ZM_AUTH_TOKEN={TOKEN}; path=/",
        {"session": [{"token": TOKEN}]},
        {"password": "hunter2"},
        {"newPassword": "x"},
        {"AuthToken": "x"},
        [{"nested": {"Password": ""}}],
    ],
)
def test_secret_values_are_refused(journal: Journal, value: object) -> None:
    incident = journal.start_incident("u", "a@x", reason="r", operator="o")
    with pytest.raises(SecretRefusedError) as caught:
        journal.record_action(
            incident.id, step="s", kind="k", target="t", before=value, after=None, status="ok"
        )
    assert TOKEN not in caught.value.message and "hunter2" not in caught.value.message
    with pytest.raises(SecretRefusedError):
        journal.store_evidence(incident.id, {"attrs": value})
    with pytest.raises(SecretRefusedError):
        journal.add_baseline("u", "a@x", {"v": value})
    assert count_rows(journal) == 0


def test_secrets_in_text_fields_are_refused(journal: Journal) -> None:
    with pytest.raises(SecretRefusedError):
        journal.start_incident("u", "a@x", reason=f"token {TOKEN}", operator="o")
    incident = journal.start_incident("u", "a@x", reason="r", operator="o")
    with pytest.raises(SecretRefusedError):
        journal.record_action(
            incident.id,
            step="s",
            kind="k",
            target="t",
            before=1,
            after=2,
            status="ok",
            detail=TOKEN,
        )
    with pytest.raises(SecretRefusedError):
        journal.close_incident(incident.id, how=TOKEN)


def test_ordinary_values_pass(journal: Journal) -> None:
    incident = journal.start_incident("u", "a@x", reason="r", operator="o")
    harmless = {
        "zimbraPasswordMustChange": "TRUE",
        "zimbraAuthTokenValidityValue": "3",
        "zimbraId": "3f5c1f1e-2f5e-4d8b-9a1e-1a2b3c4d5e6f",
        "message_id": "<20240501.1234@example.edu>",
        "hex": "ab" * 40,
    }
    journal.record_action(
        incident.id, step="s", kind="k", target="t", before=harmless, after=None, status="ok"
    )
    assert journal.actions(incident.id)[0].before == harmless
