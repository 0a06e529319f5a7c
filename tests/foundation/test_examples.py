"""Every command's --help ends with examples, and every example parses: its options exist."""

from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner

from zcomp.cli.examples import EXAMPLES
from zcomp.cli.main import COMMANDS, cli

# Commands whose own help text already shows how to use them.
WITHOUT = {"completion"}


def _leaves(group: click.Group, ctx: click.Context, prefix: str) -> list[str]:
    out: list[str] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        path = f"{prefix} {name}".strip()
        if isinstance(command, click.Group):
            out += _leaves(command, ctx, path)
        else:
            out.append(path)
    return out


def test_every_command_has_examples() -> None:
    with click.Context(cli) as ctx:
        leaves = _leaves(cli, ctx, "")
    assert {leaf.split()[0] for leaf in leaves} == set(COMMANDS)
    missing = [leaf for leaf in leaves if leaf not in EXAMPLES and leaf not in WITHOUT]
    assert missing == []
    assert set(EXAMPLES) <= set(leaves)  # no example for a command that does not exist


def _zcomp_invocations(line: str) -> list[list[str]]:
    """The argument lists of each `zcomp ...` in a shell line (pipes split it)."""
    words = shlex.split(line.replace("|", " | ").replace(">", " > "))
    runs: list[list[str]] = []
    current: list[str] | None = None
    for word in words:
        if word == "zcomp":
            current = []
            runs.append(current)
        elif word in ("|", ">", ">>"):
            current = None
        elif current is not None:
            current.append(word)
    return runs


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_each_example_parses(path: str) -> None:
    # Click parses every option before it acts on --help: an unknown option or a bad value
    # is a usage error (exit 2) even with --help at the end.
    for _, line in EXAMPLES[path]:
        for args in _zcomp_invocations(line):
            result = CliRunner().invoke(cli, [*args, "--help"], prog_name="zcomp")
            assert result.exit_code == 0, f"{line}: {result.output}"
            assert "Usage: zcomp " in result.output


def test_the_examples_are_in_the_help() -> None:
    result = CliRunner().invoke(cli, ["lockdown", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "zcomp lockdown alice@example.edu --reason 'phish reported'" in result.output
