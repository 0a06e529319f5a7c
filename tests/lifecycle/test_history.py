"""History: incidents and their actions from the journal."""

from __future__ import annotations

import json
from collections.abc import Callable

from click.testing import Result

from zcomp.core.environment import Environment
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.unlock import UnlockOptions, unlock_account

ALICE = "alice@sandbox.test"


def test_history_shows_lockdown_and_unlock(
    no_wait: Environment, zcomp: Callable[..., Result]
) -> None:
    lockdown_account(no_wait, ALICE, LockdownOptions())
    assert unlock_account(no_wait, ALICE, UnlockOptions(generate=True)).result == "unlocked"
    lockdown_account(no_wait, "bob@sandbox.test", LockdownOptions())

    result = zcomp("history", ALICE, "--json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 1
    incident = lines[0]
    assert incident["state"] == "closed" and incident["closed_how"] == "unlocked"
    steps = {a["step"] for a in incident["actions"]}
    assert {"contain", "unlock"} <= steps

    everyone = zcomp("history")
    assert everyone.exit_code == 0
    assert "bob@sandbox.test" in everyone.stderr and ALICE in everyone.stderr
    assert "no incidents" in zcomp("history", "carol@sandbox.test").stderr
