"""`zcomp config init` and `zcomp config show`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import json_option
from zcomp.config import EXAMPLE_CONFIG, SECTION_KEYS, Settings, user_config_path
from zcomp.credentials import describe_password_source
from zcomp.exitcodes import UsageError


@click.group()
def config() -> None:
    """Write an example configuration or show the effective one."""


@config.command("init")
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write (default: the user configuration directory).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@json_option
@pass_app
def init(app: AppContext, path: Path | None, force: bool) -> None:
    """Write a commented example configuration (mode 0600)."""
    target = path or user_config_path()
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to overwrite it")
    write_private(target, EXAMPLE_CONFIG)
    if app.json:
        app.output.data({"path": str(target), "written": True})
    else:
        app.output.info(f"Wrote {target}; edit url and admin, then run `zcomp login`.")


def write_private(target: Path, text: str) -> None:
    """Create or replace a file readable by its owner only; the directory is made 0700."""
    from zcomp.securefile import make_private_dirs
    from zcomp.securefile import write_private as write_file

    try:
        make_private_dirs(target.parent)
        # Atomic and no-follow: a symlink planted at the name is replaced, never written through.
        write_file(target, text.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None


def effective_values(settings: Settings, env: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every setting with its source; the password only as where it would come from."""
    rows: list[dict[str, Any]] = [
        {
            "key": "config_path",
            "value": _show(settings.config_path),
            "source": settings.sources["config_path"],
        },
        {"key": "profile", "value": settings.profile, "source": settings.sources.get("profile")},
    ]
    for key in (
        "url",
        "admin",
        "password_file",
        "ca_bundle",
        "insecure",
        "timeout",
        "token_cache",
        "keyring",
        "state_dir",
    ):
        rows.append(
            {"key": key, "value": _show(getattr(settings, key)), "source": settings.sources[key]}
        )
    rows.append(
        {
            "key": "password",
            "value": None,
            "source": describe_password_source(settings, env),
        }
    )
    # Every key the file may set (a section's other fields are not settings).
    for name, keys in SECTION_KEYS.items():
        section = getattr(settings, name)
        for key in keys:
            value = getattr(section, key)
            rows.append(
                {
                    "key": f"{name}.{key}",
                    "value": _show(sorted(value) if isinstance(value, frozenset) else value),
                    "source": settings.sources[f"{name}.{key}"],
                }
            )
    rows.append(
        {
            "key": "tickets.backend",
            "value": settings.tickets.backend,
            "source": settings.sources["tickets.backend"],
        }
    )
    rows.append(
        {
            "key": "tickets.template",
            "value": _show(settings.tickets.template),
            "source": settings.sources["tickets.template"],
        }
    )
    for backend, options in sorted(settings.tickets.options.items()):
        for key, value in sorted(options.items()):
            name = f"tickets.{backend}.{key}"
            rows.append(
                {"key": name, "value": _show(value), "source": settings.sources.get(name, "file")}
            )
    return rows


def _show(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


@config.command("show")
@json_option
@pass_app
def show(app: AppContext) -> None:
    """Print the effective values and where each came from (never a password). The ticket
    backend's settings are checked too (its secrets read, nothing sent): a bad one is one
    line naming the file and key, exit 2."""
    from zcomp.cli.runtime import make_tickets

    make_tickets(app)
    rows = effective_values(app.settings, app.env)
    if app.json:
        app.output.data(
            {row["key"]: {"value": row["value"], "source": row["source"]} for row in rows}
        )
        return
    for row in rows:
        value = row["value"]
        # An empty path (detect.geoip_db's default) is as unset as None: no dangling "= ".
        shown = "(not set)" if value is None or value == "" else value
        if row["key"] == "password":
            shown = "(hidden)"
        app.output.data(f"{row['key']} = {_plain(shown)}    # {row['source']}")


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return str(value)
