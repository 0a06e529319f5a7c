"""A state directory or journal file that someone else owns or can write to is refused."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from zcomp.journal import Journal, JournalError
from zcomp.journal.files import DB_NAME

OTHER_UID = 65534  # "nobody" on most systems; any uid that is not ours will do
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file away")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def refusal(state_dir: Path) -> str:
    with pytest.raises(JournalError) as caught:
        Journal.open(state_dir)
    message = caught.value.message
    assert "\n" not in message
    return message


@pytest.fixture
def made(state_dir: Path) -> Path:
    """A state directory holding a journal, as a first run leaves it."""
    with Journal.open(state_dir) as journal:
        journal.start_incident("id1", "a@example.edu", reason="r", operator="o")
    return state_dir


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@needs_root
def test_state_dir_owned_by_another_user(state_dir: Path) -> None:
    state_dir.mkdir(mode=0o700)
    os.chown(state_dir, OTHER_UID, -1)
    message = refusal(state_dir)
    assert f"state directory {state_dir} is owned by" in message
    assert f"uid {OTHER_UID}" in message
    assert "set state_dir or ZCOMP_STATE_DIR to a directory you own" in message
    assert not (state_dir / DB_NAME).exists()  # refused before anything is created


@pytest.mark.parametrize("loose", [0o777, 0o770, 0o702, 0o1777])
def test_state_dir_writable_by_group_or_others(state_dir: Path, loose: int) -> None:
    state_dir.mkdir()
    os.chmod(state_dir, loose)
    message = refusal(state_dir)
    assert f"state directory {state_dir} is writable by group or others" in message
    assert f"(mode {loose:04o})" in message
    assert f"chmod 700 {state_dir}" in message
    assert not (state_dir / DB_NAME).exists()


def test_readable_state_dir_is_used_as_is(state_dir: Path) -> None:
    state_dir.mkdir()
    os.chmod(state_dir, 0o755)  # noqa: S103 - others may list it, files stay 0600
    Journal.open(state_dir).close()
    assert mode(state_dir) == 0o755
    assert mode(state_dir / DB_NAME) == 0o600


@needs_root
@pytest.mark.parametrize("name", [DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"])
def test_journal_file_owned_by_another_user(made: Path, name: str) -> None:
    path = made / name
    path.touch(mode=0o600)  # -wal/-shm are gone after a clean close; plant them
    os.chown(path, OTHER_UID, -1)
    message = refusal(made)
    assert f"journal file {path} is owned by" in message
    assert f"uid {OTHER_UID}" in message
    assert "ZCOMP_STATE_DIR" in message


@pytest.mark.parametrize("name", [DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"])
@pytest.mark.parametrize("loose", [0o666, 0o620, 0o602])
def test_journal_file_writable_by_group_or_others(made: Path, name: str, loose: int) -> None:
    path = made / name
    path.touch(mode=0o600)
    os.chmod(path, loose)
    message = refusal(made)
    assert f"journal file {path} is writable by group or others (mode {loose:04o})" in message
    assert f"chmod 600 {path}" in message
    assert mode(path) == loose  # refused, not silently "fixed": someone may have changed it


def test_parents_created_by_zcomp_are_private(tmp_path: Path, loose_umask: None) -> None:
    state_dir = tmp_path / "a" / "b" / "state"
    Journal.open(state_dir).close()
    for made_dir in (tmp_path / "a", tmp_path / "a" / "b", state_dir):
        assert mode(made_dir) == 0o700, made_dir


def test_existing_parent_keeps_its_mode(tmp_path: Path, loose_umask: None) -> None:
    parent = tmp_path / "shared"
    parent.mkdir()
    os.chmod(parent, 0o755)  # noqa: S103 - an ordinary shared parent
    Journal.open(parent / "state").close()
    assert mode(parent) == 0o755
    assert mode(parent / "state") == 0o700


@needs_root
def test_cli_refuses_a_foreign_state_dir(invoke: Callable[..., Result], state_dir: Path) -> None:
    state_dir.mkdir(mode=0o700)
    os.chown(state_dir, OTHER_UID, -1)
    result = invoke("history", env={"ZCOMP_STATE_DIR": str(state_dir)})
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    assert f"state directory {state_dir} is owned by" in line


def test_cli_refuses_a_world_writable_state_dir(
    invoke: Callable[..., Result], state_dir: Path
) -> None:
    state_dir.mkdir()
    os.chmod(state_dir, 0o777)  # noqa: S103 - the unsafe case under test
    result = invoke("history", env={"ZCOMP_STATE_DIR": str(state_dir)})
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ") and f"chmod 700 {state_dir}" in line
