"""The human text shared by every backend."""

from __future__ import annotations

from datetime import datetime

from tests.tickets.workers import content
from zcomp.tickets import idempotency_key, incident_key, render_text


def test_render_has_every_part() -> None:
    text = render_text(content(42))
    assert text.splitlines()[0] == "# zcomp INC000042: Phished account contained"
    assert "Account:  alice@example.edu" in text
    assert "Incident: INC000042" in text
    assert "Opened:   2024-05-01T02:30:00Z" in text
    assert f"SHA-256 {'ab' * 32}" in text
    assert "Operator: root" in text
    found = text.index("## What was found")
    done = text.index("## What was done")
    nxt = text.index("## What the help desk must do next")
    assert found < done < nxt
    assert "- filter rule 'x' redirects all mail to evil@mail.example" in text
    assert "- account locked\n- filter rule 'x' removed" in text
    assert "1. call the user\n2. reset the password with zcomp unlock" in text


def test_render_empty_lists_and_multiline_items() -> None:
    c = content(7)
    c.found = []
    c.done = ["one\nitem   across\nlines"]
    c.evidence_sha256 = None
    c.created_at = datetime(2024, 5, 1, 2, 30)  # naive is taken as UTC
    text = render_text(c)
    assert "## What was found\n\n- (nothing)" in text
    assert "- one item across lines" in text
    assert "Evidence: none recorded" in text
    assert "2024-05-01T02:30:00Z" in text


def test_keys() -> None:
    assert incident_key(42) == "INC000042"
    assert incident_key(1234567) == "INC1234567"
    assert idempotency_key(42) == "zcomp-INC000042"


def test_extra_facts_are_labelled_like_the_others() -> None:
    # lockdown passes "operator" and "reason": they were shown as "operator:" under "Account:".
    c = content(7)
    c.extra = {"operator": "root as admin@example.edu", "reason": "phished"}
    text = render_text(c)
    assert "\nOperator: root as admin@example.edu\nReason:   phished\n" in text
