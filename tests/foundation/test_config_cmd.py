"""`zcomp config init` and `zcomp config show`."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from zcomp.config import EXAMPLE_CONFIG

Invoke = Callable[..., Result]


def user_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "zcomp" / "config.toml"


def test_init_writes_0600_to_the_user_dir_and_refuses_to_overwrite(invoke: Invoke) -> None:
    result = invoke("config", "init")
    assert result.exit_code == 0, result.stderr
    target = user_file()
    assert target.read_text() == EXAMPLE_CONFIG
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert str(target) in result.stderr and result.stdout == ""
    again = invoke("config", "init")
    assert again.exit_code == 2 and "already exists; use --force" in again.stderr
    target.write_text("# mine\n")
    target.chmod(0o644)
    forced = invoke("config", "init", "--force")
    assert forced.exit_code == 0
    assert target.read_text() == EXAMPLE_CONFIG
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_init_path_and_json(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "zcomp.toml"
    result = invoke("config", "init", "--path", str(target), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"path": str(target), "written": True}
    assert target.is_file()


def test_init_works_next_to_a_broken_config(invoke: Invoke, tmp_path: Path) -> None:
    broken = user_file()
    broken.parent.mkdir(parents=True)
    broken.write_text("nonsense = [\n")
    assert invoke("config", "show").exit_code == 2
    assert invoke("config", "init", "--force").exit_code == 0
    assert invoke("config", "show").exit_code == 0


def test_show_sources_and_no_password(invoke: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        'default_profile = "prod"\n[profiles.prod]\nurl = "https://mail.example.edu:7071"\n'
        'admin = "admin@example.edu"\n[lockdown]\nworkers = 7\n'
    )
    result = invoke(
        "--json",
        "--config",
        str(config),
        "--timeout",
        "9",
        "config",
        "show",
        env={"ZCOMP_ADMIN": "env-admin@example.edu", "ZCOMP_PASSWORD": "hunter2-secret"},
    )
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["url"] == {
        "value": "https://mail.example.edu:7071",
        "source": f"file {config} [profiles.prod]",
    }
    assert shown["admin"] == {"value": "env-admin@example.edu", "source": "env ZCOMP_ADMIN"}
    assert shown["timeout"] == {"value": 9.0, "source": "flag"}
    assert shown["lockdown.workers"] == {"value": 7, "source": f"file {config} [lockdown]"}
    assert shown["profile"]["value"] == "prod"
    assert shown["config_path"] == {"value": str(config), "source": "flag"}
    assert shown["password"] == {"value": None, "source": "env ZCOMP_PASSWORD"}
    assert "hunter2" not in result.stdout + result.stderr


def test_show_human_never_prints_password_file_contents(invoke: Invoke, tmp_path: Path) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text("hunter2-secret\n")
    result = invoke("--password-file", str(secret_file), "config", "show")
    assert result.exit_code == 0
    assert f"password_file = {secret_file}    # flag" in result.stdout
    assert "password = (hidden)" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr


def test_show_says_not_set_for_an_unset_path(invoke: Invoke) -> None:
    """detect.geoip_db is "" when unset: it reads as the other unset keys do, not `= `."""
    result = invoke("config", "show")
    assert result.exit_code == 0, result.stderr
    assert "detect.geoip_db = (not set)    # default" in result.stdout.splitlines()
    assert not [line for line in result.stdout.splitlines() if " =  " in line]


def test_show_names_the_file_and_table_of_a_ticket_backend_option(
    invoke: Invoke, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[tickets.file]\ndirectory = "/srv/top"\n'
        '[profiles.lab.tickets.file]\ndirectory = "/srv/lab"\n'
    )
    top = invoke("--config", str(config), "config", "show")
    assert top.exit_code == 0, top.stderr
    assert f"tickets.file.directory = /srv/top    # file {config} [tickets.file]" in top.stdout

    lab = invoke("--json", "--config", str(config), "--profile", "lab", "config", "show")
    assert lab.exit_code == 0, lab.stderr
    assert json.loads(lab.stdout)["tickets.file.directory"] == {
        "value": "/srv/lab",
        "source": f"file {config} [profiles.lab.tickets.file]",
    }
