"""Actions with before/after values, and evidence bundles with their SHA-256."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from zcomp.journal import ActionEntry, Journal, JournalError, SecretRefusedError, canonical_json


def test_actions_round_trip_in_order(journal: Journal) -> None:
    incident = journal.start_incident("u", "a@x", reason="r", operator="o")
    first = journal.record_action(
        incident.id,
        step="contain",
        kind="attr",
        target="zimbraAccountStatus",
        before="active",
        after="locked",
        status="done",
    )
    rules = [{"name": "fwd", "actions": [{"redirect": "evil@mail.example"}]}]
    second = journal.record_action(
        incident.id,
        step="clean",
        kind="filter_rules",
        target="incoming",
        before=rules,
        after=[],
        status="done",
        detail="redirect to an outside address",
    )
    assert first.detail == "" and second.before == rules
    assert journal.actions(incident.id) == [first, second]
    assert journal.actions(incident.id + 1) == []
    assert first.at <= second.at


def test_action_needs_an_incident(journal: Journal) -> None:
    with pytest.raises(JournalError, match="no incident 5"):
        journal.record_action(5, step="s", kind="k", target="t", before=1, after=2, status="ok")


def test_action_values_must_be_json(journal: Journal) -> None:
    incident = journal.start_incident("u", "a@x", reason="r", operator="o")
    with pytest.raises(JournalError, match="plain JSON"):
        journal.record_action(
            incident.id, step="s", kind="k", target="t", before={1, 2}, after=0, status="ok"
        )
    assert journal.actions(incident.id) == []


def test_evidence_is_canonical_and_hashed(journal: Journal) -> None:
    incident = journal.start_incident("u", "a@x", reason="r", operator="o")
    bundle = {"b": [1, 2, {"z": "é", "a": None}], "a": "x"}
    digest = journal.store_evidence(incident.id, bundle)
    text = canonical_json(bundle)
    assert text == json.dumps(bundle, sort_keys=True, separators=(",", ":"))
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    evidence = journal.evidence(incident.id)
    assert evidence is not None
    assert evidence.sha256 == digest and evidence.bundle == bundle
    assert evidence.incident_id == incident.id
    assert journal.incident(incident.id).evidence_sha256 == digest


def test_evidence_keeps_the_first_bundle(journal: Journal) -> None:
    incident = journal.start_incident("u", "a@x", reason="r", operator="o")
    assert journal.evidence(incident.id) is None
    first = journal.store_evidence(incident.id, {"state": "before clean"})
    assert journal.store_evidence(incident.id, {"state": "before clean"}) == first
    later = journal.store_evidence(incident.id, {"state": "after clean"})
    evidence = journal.evidence(incident.id)
    assert evidence is not None and evidence.sha256 == first
    assert [e.sha256 for e in journal.evidence_bundles(incident.id)] == [first, later]
    assert journal.incident(incident.id).evidence_sha256 == first


def test_tampered_evidence_fails_its_hash(journal: Journal) -> None:
    incident = journal.start_incident("u", "a@x", reason="r", operator="o")
    journal.store_evidence(incident.id, {"forward": "evil@mail.example"})
    conn = sqlite3.connect(journal.path)
    try:
        conn.execute('UPDATE evidence SET bundle_json = \'{"forward":"nothing"}\'')
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(JournalError, match="fails its SHA-256 check"):
        journal.evidence(incident.id)


def test_the_actions_of_one_batch_are_recorded_together_or_not_at_all(journal: Journal) -> None:
    incident = journal.start_incident("u", "a@x", reason="r", operator="o")
    entries = [
        ActionEntry("contain", "attr", "zimbraAccountStatus", "active", "locked", "done"),
        ActionEntry("contain", "password", "password", None, None, "done", "scrambled"),
    ]
    recorded = journal.record_actions(incident.id, entries)
    assert journal.actions(incident.id) == recorded
    assert [(a.step, a.target, a.after, a.detail) for a in recorded] == [
        ("contain", "zimbraAccountStatus", "locked", ""),
        ("contain", "password", None, "scrambled"),
    ]
    leak = ActionEntry("clean", "attr", "zimbraNotes", {"authToken": "x"}, None, "done")
    with pytest.raises(SecretRefusedError):
        journal.record_actions(incident.id, [entries[0], leak])
    with pytest.raises(JournalError):
        journal.record_actions(incident.id + 99, entries)  # no such incident
    assert journal.actions(incident.id) == recorded  # neither batch left a row
