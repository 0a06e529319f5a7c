"""Fixtures of the reliability suite: an attacked sandbox and one zcomp host per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.harness import Zcomp
from zcomp.sandbox import Sandbox, SandboxOptions


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """One mailbox server, the demo accounts, no faults (tests turn them on when they want)."""
    with Sandbox(SandboxOptions(servers=1, seed="demo")) as sandbox:
        yield sandbox


@pytest.fixture
def host(sb: Sandbox, tmp_path: Path) -> Zcomp:
    """zcomp talking to the sandbox directly, with its own state dir (journal, tickets)."""
    return Zcomp.host(tmp_path, sb.admin_url)
