from __future__ import annotations

import pytest

from zcomp.cli import main


@pytest.fixture
def probe_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register tests/foundation/probe.py as `zcomp probe` for the duration of a test."""
    monkeypatch.setitem(main.COMMANDS, "probe", ("tests.foundation.probe", "probe", "Test probe."))
