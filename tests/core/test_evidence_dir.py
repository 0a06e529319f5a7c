"""--evidence-dir: created 0700, files 0600, and a directory others can write to is refused."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zcomp.core.evidence import canonical, prepare_evidence_dir, write_bundle
from zcomp.exitcodes import ExitCode, UsageError

ACCOUNT = "alice@example.edu"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write(folder: Path, bundle: dict[str, Any] | None = None) -> Path:
    bundle = bundle or {"findings": ["forwarding to evil@mail.example"]}
    sha = hashlib.sha256(canonical(bundle)).hexdigest()
    return write_bundle(bundle, sha, folder, ACCOUNT, 3)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_new_directory_and_its_parents_are_0700_files_0600(
    tmp_path: Path, loose_umask: None
) -> None:
    folder = tmp_path / "cases" / "2024" / "evidence"
    path = write(folder)
    for level in (tmp_path / "cases", tmp_path / "cases" / "2024", folder):
        assert mode(level) == 0o700, level
    checksum = folder / (path.name + ".sha256")
    assert mode(path) == 0o600 and mode(checksum) == 0o600
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert checksum.read_text() == f"{digest}  {path.name}\n"  # `sha256sum -c` format
    assert sorted(p.name for p in folder.iterdir()) == sorted([path.name, checksum.name])


def test_existing_private_or_readable_directory_is_used_as_is(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    os.chmod(folder, 0o755)  # noqa: S103 - others may list it; they cannot write to it
    path = write(folder)
    assert mode(folder) == 0o755 and mode(path) == 0o600


def test_rewriting_a_bundle_leaves_it_private(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    first = write(folder)
    os.chmod(first, 0o644)
    again = write(folder, {"findings": ["second run"]})
    assert again == first and mode(again) == 0o600 and "second run" in again.read_text()


@pytest.mark.parametrize("loose", [0o777, 0o770, 0o730, 0o703, 0o1777])
def test_directory_others_can_write_to_is_refused(tmp_path: Path, loose: int) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    os.chmod(folder, loose)
    with pytest.raises(UsageError) as caught:
        write(folder)
    message = caught.value.message
    assert "\n" not in message
    assert f"evidence directory {folder} is writable by group or others (mode {loose:04o})" in (
        message
    )
    assert f"chmod 700 {folder}" in message and "--evidence-dir" in message
    assert caught.value.exit_code == ExitCode.USAGE
    assert list(folder.iterdir()) == []  # nothing written
    assert mode(folder) == loose  # and nothing "fixed" behind the admin's back


def test_a_file_in_the_way_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "evidence"
    blocker.write_text("x")
    with pytest.raises(UsageError) as caught:
        prepare_evidence_dir(blocker / "deeper")
    assert caught.value.message == (
        f"cannot use evidence directory {blocker / 'deeper'}: it, or a parent, is a file"
    )
    assert blocker.read_text() == "x"
