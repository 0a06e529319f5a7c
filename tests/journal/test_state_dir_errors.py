"""A file where the state directory should be: one line naming the path, not "File exists"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from zcomp.journal import Journal, JournalError


def test_state_dir_that_is_a_file(tmp_path: Path) -> None:
    notadir = tmp_path / "notadir"
    notadir.write_text("x")
    with pytest.raises(JournalError) as caught:
        Journal.open(notadir)
    message = caught.value.message
    assert f"state directory {notadir} is not a directory (it is a file)" in message
    assert "File exists" not in message and "\n" not in message


def test_state_dir_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError) as caught:
        Journal.open(blocker / "deeper" / "state")
    message = caught.value.message
    assert f"state directory {blocker / 'deeper' / 'state'} is not a directory" in message
    assert f"({blocker} is a file)" in message
    assert blocker.read_text() == "x"


def test_cli_names_the_state_dir(invoke: Callable[..., Result], tmp_path: Path) -> None:
    notadir = tmp_path / "notadir"
    notadir.write_text("x")
    result = invoke("history", env={"ZCOMP_STATE_DIR": str(notadir)})
    assert result.exit_code == 1
    assert f"state directory {notadir} is not a directory" in result.stderr
    assert "ZCOMP_STATE_DIR" in result.stderr
