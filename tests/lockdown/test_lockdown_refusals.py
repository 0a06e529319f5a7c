"""Refusals that must come before the first change: the account is left exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from zcomp.journal import Journal
from zcomp.sandbox import Sandbox, replay_attack

ALICE = "alice@sandbox.test"


def test_a_loose_evidence_dir_is_refused_before_the_account_is_locked(
    sandbox: Sandbox, invoke: Callable[..., Result], state_dir: Path, tmp_path: Path
) -> None:
    replay_attack(sandbox, ALICE)
    loose = tmp_path / "evidence"
    loose.mkdir()
    loose.chmod(0o777)

    result = invoke(
        "--url",
        sandbox.admin_url,
        "--admin",
        "admin@sandbox.test",
        "lockdown",
        ALICE,
        "--evidence-dir",
        str(loose),
        env={"ZCOMP_PASSWORD": "sandbox"},
    )

    assert result.exit_code != 0
    assert "writable by group or others" in result.stderr
    assert "Traceback" not in result.stderr
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "active"
    with Journal.open(state_dir) as journal:
        assert journal.incidents() == []
