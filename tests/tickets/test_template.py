"""The ticket text from the site's own template ([tickets] template), checked at start-up."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from zcomp.sandbox import Sandbox, replay_attack

ALICE = "alice@sandbox.test"
TEMPLATE = """Compromised mailbox {account} (ticket {incident}), locked {opened} by {operator}.
Why: {reason}

Found:
{found}

Done:
{done}

Your steps:
{next_steps}

Evidence: {evidence}. Literal braces: {{ok}}
"""


def _run(invoke: Callable[..., Result], sandbox: Sandbox, config: Path, *args: str) -> Result:
    root = ["--config", str(config), "--url", sandbox.admin_url, "--admin", "admin@sandbox.test"]
    return invoke(*root, *args, env={"ZCOMP_PASSWORD": "sandbox"})


def test_the_ticket_says_what_the_sites_template_says(
    invoke: Callable[..., Result], sandbox: Sandbox, tmp_path: Path, state_dir: Path
) -> None:
    replay_attack(sandbox, ALICE)
    template = tmp_path / "ticket.txt"
    template.write_text(TEMPLATE)
    config = tmp_path / "config.toml"
    config.write_text(f'[tickets]\ntemplate = "{template}"\n')

    result = _run(invoke, sandbox, config, "--json", "lockdown", ALICE, "--reason", "reported")

    assert result.exit_code == 0, result.stderr
    key = json.loads(result.stdout)["incident"]
    [ticket] = (state_dir / "tickets").iterdir()
    text = ticket.read_text()
    assert text.startswith(f"Compromised mailbox {ALICE} (ticket {key}), locked 20")
    assert " as admin@sandbox.test.\nWhy: reported\n" in text
    assert "\n- forwarding to " in text and "\n1. Reach the owner of " in text
    assert "Literal braces: {ok}" in text


def test_a_template_with_an_unknown_placeholder_stops_lockdown_before_zimbra(
    invoke: Callable[..., Result], sandbox: Sandbox, tmp_path: Path
) -> None:
    template = tmp_path / "ticket.txt"
    template.write_text("Account {account}, password {password}\n")
    config = tmp_path / "config.toml"
    config.write_text(f'[tickets]\ntemplate = "{template}"\n')
    before = sandbox.stats.total("AuthRequest")

    result = _run(invoke, sandbox, config, "lockdown", ALICE)

    assert result.exit_code == 2
    assert "[tickets] template: unknown placeholder {password}" in result.stderr
    assert sandbox.stats.total("AuthRequest") == before
    shown = invoke("--config", str(config), "config", "show")
    assert shown.exit_code == 2 and "unknown placeholder {password}" in shown.stderr


def test_the_built_in_ticket_names_the_operator(
    invoke: Callable[..., Result], sandbox: Sandbox, tmp_path: Path, state_dir: Path
) -> None:
    replay_attack(sandbox, ALICE)
    config = tmp_path / "config.toml"
    config.write_text("")
    result = _run(invoke, sandbox, config, "lockdown", ALICE)
    assert result.exit_code == 0, result.stderr
    [ticket] = (state_dir / "tickets").iterdir()
    assert "as admin@sandbox.test" in ticket.read_text()
