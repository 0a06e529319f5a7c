"""Unlock end to end on the sandbox: the owner gets the account back, the phished password not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.lifecycle import owner
from zcomp.core.baseline import capture_accounts
from zcomp.core.environment import Environment
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.unlock import UnlockOptions, unlock_account
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox, demo_password, replay_attack
from zcomp.tickets import FileBackend
from zcomp.zimbra.model import Secret

ALICE = "alice@sandbox.test"
TEMP = "Temp-Handback-2024!"
NEW = "Owner-Chose-This-9#"


def _locked(env: Environment, name: str = ALICE) -> int:
    outcome = lockdown_account(env, name, LockdownOptions())
    assert outcome.incident is not None, outcome.error
    return outcome.incident


def test_attack_lockdown_unlock_owner_handback(
    sandbox: Sandbox, env: Environment, zcomp: Callable[..., Result], tmp_path: Path
) -> None:
    # A nightly baseline lets lockdown restore From/signature instead of blanking them.
    assert capture_accounts(env, [ALICE]).captured == 1
    attack = replay_attack(sandbox, ALICE)
    lockdown = lockdown_account(env, ALICE, LockdownOptions())
    assert lockdown.result == "contained", lockdown.error
    assert sandbox.mta().messages("hold"), "lockdown should have held the spam"
    pw_file = tmp_path / "temp.txt"
    pw_file.write_text(TEMP + "\n")

    result = zcomp(
        "unlock", ALICE, "--password-file", str(pw_file), "--delete-held", "--json", minutes=0
    )

    assert result.exit_code == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["result"] == "unlocked", line
    assert TEMP not in result.stdout + result.stderr
    entry = sandbox.account(ALICE)
    assert entry.first("zimbraAccountStatus") == "active"
    assert entry.first("zimbraPasswordMustChange") == "TRUE"
    assert not sandbox.mta().messages("hold")
    base = sandbox.urls[0]
    assert not owner.token_works(base, attack.token)
    # The owner: must change the temporary password, cannot go back to the phished one.
    assert owner.login(base, ALICE, TEMP) == "account.CHANGE_PASSWORD"
    phished = demo_password(ALICE)
    assert owner.login(base, ALICE, phished) == "account.AUTH_FAILED"
    assert owner.change_password(base, ALICE, TEMP, phished) == "account.PASSWORD_RECENTLY_USED"
    assert owner.change_password(base, ALICE, TEMP, NEW) is None
    assert owner.token_works(base, owner.login(base, ALICE, NEW))
    # Clean, journaled, ticket resolved.
    assert zcomp("inspect", ALICE).exit_code == 0
    incident = env.journal.incident(line["incident"])
    assert incident.is_closed and incident.closed_how == "unlocked"
    kinds = [a.kind for a in env.journal.actions(incident.id) if a.step == "unlock"]
    assert kinds[:2] == ["password", "password-must-change"]
    assert {"account-status", "flush-cache", "mail-queue-delete"} <= set(kinds)
    tickets = env.tickets
    assert isinstance(tickets, FileBackend)
    ref = tickets.find(incident.id)
    assert ref is not None and tickets.is_resolved(ref), line
    # Nothing secret was kept anywhere zcomp writes.
    for path in Path(env.journal.path).parent.rglob("*"):
        if path.is_file():
            assert TEMP.encode() not in path.read_bytes(), path


def test_no_open_incident_is_refused(
    sandbox: Sandbox, zcomp: Callable[..., Result], tmp_path: Path
) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text(TEMP)
    sandbox.stats.reset()
    result = zcomp("unlock", "bob@sandbox.test", "--password-file", str(pw_file), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "no-incident"
    assert sandbox.stats.writes == []


def test_too_soon_is_refused_and_force_is_journaled(
    sandbox: Sandbox, env: Environment, zcomp: Callable[..., Result], tmp_path: Path
) -> None:
    incident = _locked(env)
    pw_file = tmp_path / "pw"
    pw_file.write_text(TEMP)
    sandbox.stats.reset()

    refused = zcomp("unlock", ALICE, "--password-file", str(pw_file), "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["error"]["code"] == "too-soon"
    assert sandbox.stats.writes == []
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"

    forced = zcomp("unlock", ALICE, "--password-file", str(pw_file), "--force", "--json")
    assert forced.exit_code == 0, forced.stderr
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "active"
    force = [a for a in env.journal.actions(incident) if a.kind == "force"]
    assert len(force) == 1 and force[0].step == "unlock"


def test_risky_settings_back_block_the_unlock(sandbox: Sandbox, no_wait: Environment) -> None:
    _locked(no_wait)
    # Someone (a still-open session, a delegated token) plants a forward again.
    sandbox.account(ALICE).attrs["zimbraPrefMailForwardingAddress"] = ["drop@freemail.test"]
    sandbox.stats.reset()
    outcome = unlock_account(no_wait, ALICE, UnlockOptions(new_password=lambda _a: Secret(TEMP)))
    assert outcome.result == "refused"
    assert outcome.error is not None and outcome.error["code"] == "risky"
    assert "drop@freemail.test" in outcome.error["message"]
    assert sandbox.stats.writes == []
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"


def test_generated_password_shown_once_on_stderr_never_in_json(
    sandbox: Sandbox, env: Environment, zcomp: Callable[..., Result], state_dir: Path
) -> None:
    _locked(env)
    result = zcomp("unlock", ALICE, "--generate", "--json", minutes=0)
    assert result.exit_code == 0, result.stderr
    shown = [ln for ln in result.stderr.splitlines() if ln.startswith("New temporary password")]
    assert len(shown) == 1
    password = shown[0].split(": ", 1)[1]
    assert password not in result.stdout
    assert json.loads(result.stdout)["password"] == "generated"
    assert owner.login(sandbox.urls[0], ALICE, password) == "account.CHANGE_PASSWORD"
    db = Journal.open(state_dir)
    try:
        assert password.encode() not in Path(db.path).read_bytes()
    finally:
        db.close()


def test_prompted_password_typed_twice(
    sandbox: Sandbox, env: Environment, zcomp: Callable[..., Result]
) -> None:
    _locked(env)
    result = zcomp("unlock", ALICE, input=f"{TEMP}\n{TEMP}\n", minutes=0)
    assert result.exit_code == 0, result.stderr
    assert owner.login(sandbox.urls[0], ALICE, TEMP) == "account.CHANGE_PASSWORD"


def test_dry_run_changes_nothing(
    sandbox: Sandbox, env: Environment, zcomp: Callable[..., Result]
) -> None:
    _locked(env)
    sandbox.stats.reset()
    result = zcomp("unlock", ALICE, "--generate", "--dry-run", "--json", minutes=0)
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)["plan"]
    assert any("zimbraPasswordMustChange" in step for step in plan)
    assert sandbox.stats.writes == []
    assert "New temporary password" not in result.stderr


def test_usage_errors(zcomp: Callable[..., Result], tmp_path: Path) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text(TEMP)
    both = zcomp("unlock", ALICE, "--release-held", "--delete-held", "--generate")
    assert both.exit_code == 2
    two = zcomp("unlock", ALICE, "bob@sandbox.test", "--password-file", str(pw_file))
    assert two.exit_code == 2
