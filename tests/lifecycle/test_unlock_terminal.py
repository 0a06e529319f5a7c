"""Unlock's passwords on a real (pseudo-)terminal: shown and typed there, never in logs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tests.lifecycle import owner
from tests.lifecycle.envs import ADMIN
from tests.lifecycle.terminal import Finished, run_zcomp
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.services import Services
from zcomp.sandbox import Sandbox

ALICE = "alice@sandbox.test"
TEMP = "Temp-Typed-At-Tty-7!"
SHOWN = "New temporary password for alice@sandbox.test: "


def _unlock(
    sb: Sandbox,
    tmp_path: Path,
    *args: str,
    tty: bool,
    answers: Sequence[tuple[str, str]] = (),
) -> Finished:
    config = tmp_path / "config.toml"
    config.write_text("[unlock]\nmin_locked_minutes = 0\n")
    root = ["--url", sb.admin_url, "--admin", ADMIN, "--config", str(config)]
    return run_zcomp(
        [*root, "unlock", ALICE, *args],
        workdir=tmp_path,
        env={"ZCOMP_PASSWORD": "sandbox"},
        tty=tty,
        answers=answers,
    )


def _locked(services: Services) -> None:
    assert lockdown_account(services, ALICE, LockdownOptions()).result == "contained"


def test_generated_password_goes_to_the_terminal_not_to_stderr(
    sandbox: Sandbox, services: Services, tmp_path: Path, state_dir: Path
) -> None:
    _locked(services)

    done = _unlock(sandbox, tmp_path, "--generate", "--json", tty=True)

    assert done.exit_code == 0, done.stderr
    shown = [ln for ln in done.terminal.splitlines() if ln.startswith(SHOWN)]
    assert len(shown) == 1, done.terminal
    password = shown[0].removeprefix(SHOWN)
    assert password and password not in done.stdout + done.stderr
    assert json.loads(done.stdout)["password"] == "generated"
    assert owner.login(sandbox.urls[0], ALICE, password) == "account.CHANGE_PASSWORD"
    for path in state_dir.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path


def test_generate_without_a_terminal_stops_before_contacting_zimbra(
    sandbox: Sandbox, services: Services, tmp_path: Path
) -> None:
    _locked(services)
    sandbox.stats.reset()

    done = _unlock(sandbox, tmp_path, "--generate", tty=False)

    assert done.exit_code == 2, done.stderr
    assert "no controlling terminal" in done.stderr and "--new-password-file" in done.stderr
    assert not sandbox.stats.requests
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"


def test_prompted_password_typed_twice_on_the_terminal(
    sandbox: Sandbox, services: Services, tmp_path: Path
) -> None:
    _locked(services)
    typed = [("New temporary password for", TEMP), ("Type it again", TEMP)]

    done = _unlock(sandbox, tmp_path, tty=True, answers=typed)

    assert done.exit_code == 0, done.stderr
    assert "Type it again" in done.terminal
    assert TEMP not in done.terminal + done.stdout + done.stderr  # hidden input, not echoed
    assert owner.login(sandbox.urls[0], ALICE, TEMP) == "account.CHANGE_PASSWORD"
