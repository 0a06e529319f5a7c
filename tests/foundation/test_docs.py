"""`make docs` renders every command's help into docs/commands.md."""

from __future__ import annotations

from zcomp.cli.docs import render
from zcomp.cli.main import COMMANDS


def test_reference_covers_every_command_and_subcommand() -> None:
    text = render()
    for name in COMMANDS:
        assert f"## `zcomp {name}`" in text
    for sub in ("zcomp baseline capture", "zcomp sandbox serve", "zcomp config init"):
        assert f"## `{sub}`" in text
    assert "Usage: zcomp lockdown [OPTIONS] ACCOUNT..." in text
