"""Root options where people put them, and a suggestion for a mistyped command."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from zcomp.cli.main import COMMANDS, _root_options, cli, hoist_root_options
from zcomp.sandbox import Sandbox


def test_root_options_after_the_command_are_the_root_s(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    result = invoke(
        "lockdown",
        "alice@sandbox.test",
        "--url",
        sandbox.admin_url,
        "--admin=admin@sandbox.test",
        "--dry-run",
        "--json",
        env={"ZCOMP_PASSWORD": "sandbox"},
    )

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "planned"


def test_an_option_the_command_has_stays_the_command_s() -> None:
    from zcomp.cli.sandbox import attack

    root = _root_options(cli)
    moved, kept = hoist_root_options(["x@y", "--url", "http://h", "--debug"], root, attack)
    assert moved == ["--debug"] and kept == ["x@y", "--url", "http://h"]
    # After "--" nothing moves.
    from zcomp.cli.lockdown import lockdown

    moved, kept = hoist_root_options(["--", "--url"], root, lockdown)
    assert moved == [] and kept == ["--", "--url"]


def test_a_mistyped_command_gets_a_suggestion(invoke: Callable[..., Result]) -> None:
    result = invoke("lokdown", "alice@x")
    assert result.exit_code == 2
    assert "No such command 'lokdown'. Did you mean 'lockdown'?" in result.stderr
    assert "lockdown" in COMMANDS


def test_the_admin_password_file_is_never_taken_from_after_a_command() -> None:
    from zcomp.cli.unlock import unlock

    moved, kept = hoist_root_options(["a@x", "--password-file", "pw"], _root_options(cli), unlock)
    assert moved == [] and kept == ["a@x", "--password-file", "pw"]


def test_root_options_after_the_command_with_the_password_file_before_it(
    sandbox: Sandbox, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    # commands.md: --password-file before the command, the other root options on either side.
    # Its value used to be taken for the command's name, so nothing after it was hoisted.
    password = tmp_path / "password"
    password.write_text("sandbox\n")
    password.chmod(0o600)
    result = invoke(
        "--password-file",
        str(password),
        "lockdown",
        "alice@sandbox.test",
        "--url",
        sandbox.admin_url,
        "--admin",
        "admin@sandbox.test",
        "--dry-run",
        "--json",
    )

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "planned"
