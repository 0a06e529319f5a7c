"""Fixtures for the journal tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zcomp.journal import Journal


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def journal(state_dir: Path) -> Iterator[Journal]:
    with Journal.open(state_dir) as opened:
        yield opened
