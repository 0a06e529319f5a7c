"""`zcomp watch` on the command line: one look with --once, as cron or an admin would run it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.watch.helpers import flood
from zcomp.sandbox import Sandbox

ADMIN = "admin@sandbox.test"
BOB = "bob@sandbox.test"


def _watch(invoke: Callable[..., Result], sb: Sandbox, config: Path, *args: str) -> Result:
    root = ["--url", sb.admin_url, "--admin", ADMIN, "--config", str(config)]
    return invoke(*root, "watch", "--once", *args, env={"ZCOMP_PASSWORD": "sandbox"})


def test_watch_once_alerts_once_and_says_why(
    sandbox: Sandbox, invoke: Callable[..., Result], state_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[watch]\nqueued_messages = 40\nrecipient_domains = 0\nlockdown_score = 2.0\n"
    )
    quiet = _watch(invoke, sandbox, config)
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stdout == ""

    flood(sandbox, BOB, 60)
    first = _watch(invoke, sandbox, config, "--json")
    assert first.exit_code == 1, first.stderr
    [seen] = [json.loads(line) for line in first.stdout.splitlines()]
    assert seen["account"] == BOB and seen["queued"] == 60 and seen["alert"]
    assert seen["lockdown"] is None  # auto-lockdown is off unless asked
    [ticket] = (state_dir / "tickets").iterdir()
    assert BOB in ticket.read_text() and f"zcomp lockdown {BOB}" in ticket.read_text()

    again = _watch(invoke, sandbox, config, "--json")
    assert again.exit_code == 1
    assert json.loads(again.stdout)["alert"] is None  # the same episode: no second alert
    assert len(list((state_dir / "tickets").iterdir())) == 1

    locked = _watch(invoke, sandbox, config, "--auto-lockdown")
    assert locked.exit_code == 1, locked.stderr
    assert f"{BOB}: score" in locked.stdout and "lockdown contained" in locked.stdout
    assert sandbox.account(BOB).attrs["zimbraAccountStatus"] == ["locked"]


def test_bad_watch_settings_are_one_line(
    sandbox: Sandbox, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[watch]\nalert_score = 2.0\nlockdown_score = 1.0\n")
    result = _watch(invoke, sandbox, config)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "[watch]" in result.stderr
