"""Inspect: verdicts before lockdown, clean after, never a write, at most 3 round trips."""

from __future__ import annotations

import json
from collections.abc import Callable

from click.testing import Result

from zcomp.core.baseline import capture_accounts
from zcomp.core.inspect import inspect_account
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.services import Services
from zcomp.sandbox import Sandbox, replay_attack

ALICE = "alice@sandbox.test"


def test_inspect_before_and_after_lockdown(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result]
) -> None:
    capture_accounts(services, [ALICE])
    replay_attack(sandbox, ALICE)
    sandbox.stats.reset()

    before = zcomp("inspect", ALICE, "--json")

    assert before.exit_code == 1, before.stderr
    assert sandbox.stats.writes == []
    line = json.loads(before.stdout)
    assert line["result"] == "malicious" and line["status"] == "active"
    malicious = {f["kind"] for f in line["findings"] if f["verdict"] == "malicious"}
    assert {"forwarding", "filter", "identity", "signature"} <= malicious
    assert all(f["reason"] for f in line["findings"])
    assert "coarse" in line["last_logon"]["note"]
    assert line["open_incident"] is None
    # Items under "findings"; lockdown's removed/kept are not reused by a read-only command.
    assert line["removed"] == [] and line["kept"] == []
    assert all({"kind", "detail", "verdict", "reason"} <= set(f) for f in line["findings"])

    human = zcomp("inspect", ALICE)
    assert human.exit_code == 1
    assert "Error" not in human.stderr  # a finding, not a failure
    # The findings are the report: on stdout, one greppable line per item.
    assert human.stdout.startswith(f"{ALICE}: malicious (status active)")
    assert any(
        line.startswith("  [malicious] forwarding: forwarding to")
        for line in human.stdout.splitlines()
    )

    assert lockdown_account(services, ALICE, LockdownOptions()).result == "contained"
    sandbox.stats.reset()
    after = zcomp("inspect", ALICE, "--json")
    assert after.exit_code == 0, after.stdout
    data = json.loads(after.stdout)
    assert data["result"] == "clean" and data["status"] == "locked"
    assert data["open_incident"]["state"] == "contained"
    assert data["held_queue"][0]["total"] >= 1
    assert sandbox.stats.writes == []


def test_inspect_human_output_and_round_trips(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result]
) -> None:
    inspect_account(services, "bob@sandbox.test")  # logs in and learns domains/MTAs
    outcome = inspect_account(services, "carol@sandbox.test")
    assert outcome.result == "clean", outcome.error
    assert outcome.round_trips <= 3
    shown = zcomp("inspect", "bob@sandbox.test")
    assert shown.exit_code == 0
    assert shown.stdout.startswith("bob@sandbox.test: clean")


def test_inspect_unknown_account_fails(zcomp: Callable[..., Result]) -> None:
    result = zcomp("inspect", "nobody@sandbox.test", "--json")
    assert result.exit_code == 5
    assert json.loads(result.stdout)["error"]["code"] == "account.NO_SUCH_ACCOUNT"


def test_inspect_help_documents_the_exit_status(zcomp: Callable[..., Result]) -> None:
    shown = zcomp("inspect", "--help")
    assert shown.exit_code == 0
    text = " ".join(shown.stdout.split())
    assert "1 when anything is suspicious or malicious" in text
