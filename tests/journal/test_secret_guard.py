"""The tripwire: nothing that looks like a secret gets into the journal."""

from __future__ import annotations

import random
import sqlite3

import pytest

from zcomp.journal import Journal, SecretRefusedError, canonical_json
from zcomp.journal.guard import find_secret, might_hold_secret

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


def test_the_text_search_misses_nothing_the_walk_finds() -> None:
    """encode() walks a value only when its JSON text may hold a secret: over many shapes of
    value, whatever the walk finds, the text search flags too (and plain values pass)."""
    rng = random.Random(20261130)
    # "authto\u212aen": a Kelvin sign, which str.lower() makes a "k".
    pieces = [TOKEN, "x", "ab_cd", "password", "PassWord", "newpassword", "authToken", "é", 7]
    pieces += ["authto\u212aen"]
    seen_secret = 0
    for _ in range(3000):
        value = _shape(rng, pieces, depth=0)
        found = find_secret(value)
        flagged = might_hold_secret(canonical_json(value))
        assert flagged or found is None, (value, found)
        seen_secret += found is not None
    assert 300 < seen_secret < 2700  # both kinds of value were tried
    assert not might_hold_secret(canonical_json({"attrs": {"zimbraNotes": ["a_b" * 30]}}))


def _shape(rng: random.Random, pieces: list[object], depth: int) -> object:
    kind = rng.randrange(4 if depth < 3 else 1)
    if kind == 0:
        piece = rng.choice(pieces)
        return f"{rng.choice(['', 'Cookie: ', 'a b '])}{piece}" if isinstance(piece, str) else piece
    if kind == 1:
        return [_shape(rng, pieces, depth + 1) for _ in range(rng.randrange(3))]
    keys = [str(rng.choice(pieces)) + rng.choice(["", "s"]) for _ in range(rng.randrange(3))]
    return {k: _shape(rng, pieces, depth + 1) for k in keys}
