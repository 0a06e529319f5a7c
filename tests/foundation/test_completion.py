"""`zcomp completion SHELL`: the script Click generates, sourced in a real bash that then
completes a command name, an option and a choice by calling zcomp back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

BIN = Path(sys.executable).parent  # the venv's bin, where the `zcomp` console script is


def _complete(*words: str) -> list[str]:
    """What bash offers after `words` (the last one being typed), one reply per line."""
    script = (
        "source <(zcomp completion bash)\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "COMPREPLY=()\n"
        "_zcomp_completion zcomp\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(  # noqa: S603 - a fixed bash script
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_commands_options_and_choices() -> None:
    assert _complete("zcomp", "lockd") == ["lockdown"]
    assert _complete("zcomp", "scan", "--mail") == ["--mailbox-log"]
    assert _complete("zcomp", "completion", "") == ["bash", "zsh", "fish"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_its_script(shell: str, invoke: Callable[..., Result]) -> None:
    result = invoke("completion", shell)
    assert result.exit_code == 0, result.stderr
    assert "_ZCOMP_COMPLETE" in result.stdout and "zcomp" in result.stdout


def test_an_unknown_shell_is_one_line(invoke: Callable[..., Result]) -> None:
    result = invoke("completion", "tcsh")
    assert result.exit_code == 2 and "tcsh" in result.stderr
