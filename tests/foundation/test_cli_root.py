"""The root group: options, exit statuses, error lines, --json in both places, light --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from zcomp import __version__

Invoke = Callable[..., Result]
REPO = Path(__file__).resolve().parents[2]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    return env


def test_help_lists_every_command(invoke: Invoke) -> None:
    from zcomp.cli.main import COMMANDS

    for flag in ("-h", "--help"):
        result = invoke(flag)
        assert result.exit_code == 0
        for name in COMMANDS:
            assert name in result.stdout
        for option in ("--config", "--profile", "--password-file", "--insecure", "--no-color"):
            assert option in result.stdout


def test_version(invoke: Invoke) -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_usage_error_exits_2(invoke: Invoke) -> None:
    assert invoke("--bogus").exit_code == 2
    assert invoke("nosuchcommand").exit_code == 2
    assert invoke("--timeout", "0", "config", "show").exit_code == 2


@pytest.mark.usefixtures("probe_command")
@pytest.mark.parametrize("status", [1, 3, 4, 5, 6])
def test_zcomp_error_is_one_line_with_its_status(invoke: Invoke, status: int) -> None:
    result = invoke("probe", "a@x", "--fail", str(status))
    assert result.exit_code == status
    assert result.stderr == "Error: probe [failed] on purpose\n"
    assert result.stdout == ""


@pytest.mark.usefixtures("probe_command")
def test_debug_adds_the_traceback(invoke: Invoke) -> None:
    result = invoke("--debug", "probe", "a@x", "--fail", "5")
    assert result.exit_code == 5
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().endswith("Error: probe [failed] on purpose")


@pytest.mark.usefixtures("probe_command")
def test_unexpected_exception_is_one_line_without_debug(invoke: Invoke) -> None:
    result = invoke("probe", "a@x", "--crash")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unexpected RuntimeError: boom")
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("probe_command")
def test_ctrl_c_exits_130(invoke: Invoke) -> None:
    result = invoke("probe", "a@x", "--interrupt")
    assert result.exit_code == 130
    # The probe changes nothing, and the message says so.
    assert result.stderr.strip() == "Interrupted before anything in Zimbra was changed."


@pytest.mark.usefixtures("probe_command")
@pytest.mark.parametrize("where", ["root", "command"])
def test_json_works_before_and_after_the_command(invoke: Invoke, where: str) -> None:
    args = (
        ["--json", "probe", "a@x", "b@x"] if where == "root" else ["probe", "a@x", "b@x", "--json"]
    )
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["account"] for r in records] == ["a@x", "b@x"]
    assert "human line for 2 accounts" in result.stderr
    assert "human line" not in result.stdout


@pytest.mark.usefixtures("probe_command")
def test_quiet_suppresses_human_lines(invoke: Invoke) -> None:
    result = invoke("-q", "--json", "probe", "a@x")
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout)["account"] == "a@x"


@pytest.mark.usefixtures("probe_command")
def test_flags_reach_the_command(invoke: Invoke) -> None:
    result = invoke("--json", "probe", "a@x", "--dry-run", "--yes", "--force")
    assert json.loads(result.stdout) == {
        "account": "a@x",
        "dry_run": True,
        "yes": True,
        "force": True,
    }


@pytest.mark.usefixtures("probe_command")
def test_accounts_from_stdin_and_args_deduplicated(invoke: Invoke) -> None:
    result = invoke("--json", "probe", "b@x", "--from", "-", input="a@x\nB@X\n# comment\n\na@x\n")
    assert [json.loads(line)["account"] for line in result.stdout.splitlines()] == ["b@x", "a@x"]


@pytest.mark.usefixtures("probe_command")
def test_no_accounts_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("probe")
    assert result.exit_code == 2 and "no accounts given" in result.stderr


def test_missing_command_module_is_one_line(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zcomp.cli import main

    monkeypatch.setitem(main.COMMANDS, "ghost", ("zcomp.cli.ghost_never", "ghost", "Not built."))
    result = invoke("ghost")
    assert result.exit_code == 1
    assert result.stderr == "Error: 'ghost' is not available in this build\n"


def test_bad_config_exits_2_naming_file_and_key(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[profiles.prod]\nulr = "https://x"\n')
    result = invoke("--config", str(path), "config", "show")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {path}: unknown key 'profiles.prod.ulr' (did you mean 'url'?)\n"
    )


def test_help_imports_no_heavy_modules() -> None:
    probe = (
        "import sys, io, contextlib\n"
        "from zcomp.cli.main import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, e.code\n"
        "assert 'lockdown' in out.getvalue()\n"
        # zcomp.output (with json and select): a tenth of the start-up, on every run.
        "heavy = ['zeep', 'requests', 'keyring', 'lxml', 'rich', 'rich.progress', 'platformdirs',"
        " 'zcomp.output']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=child_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_python_dash_m_and_exit_status() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "zcomp", "--version"],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and __version__ in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "zcomp", "--profile", "nope", "config", "show"],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: profile 'nope' (--profile)")
    assert "Traceback" not in bad.stderr
