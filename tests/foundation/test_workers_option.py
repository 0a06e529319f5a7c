"""--workers N on every account command, bounded, with the config's value as the default."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from zcomp.config import CliValues, load_settings
from zcomp.exitcodes import ConfigError
from zcomp.sandbox import Sandbox


def test_workers_out_of_bounds_is_one_clear_line(invoke: Callable[..., Result]) -> None:
    for value in ("0", "100000", "many"):
        result = invoke("lockdown", "a@x", "--dry-run", "--workers", value)
        assert result.exit_code == 2, value
        assert "--workers" in result.stderr and "Traceback" not in result.stderr


def test_a_config_workers_past_the_bound_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[lockdown]\nworkers = 100000\n")
    with pytest.raises(ConfigError, match="lockdown.workers.*from 1 to 64"):
        load_settings(CliValues(config=path), {})


def test_workers_runs_a_batch(sandbox: Sandbox, invoke: Callable[..., Result]) -> None:
    names = sandbox.add_accounts(6)
    result = invoke(
        "--url",
        sandbox.admin_url,
        "--admin",
        "admin@sandbox.test",
        "--json",
        "inspect",
        *names,
        "--workers",
        "3",
        env={"ZCOMP_PASSWORD": "sandbox"},
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(json.loads(line)["account"] for line in result.stdout.splitlines()) == names
