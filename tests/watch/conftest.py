"""Fixtures for the watch tests: a demo sandbox, a real Services over HTTP, a watcher."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.watch.helpers import FakeClock, close_services, make_services
from zcomp.core.services import Services
from zcomp.core.watch import Watcher
from zcomp.core.watch_settings import WatchSettings
from zcomp.sandbox import Sandbox

MakeWatcher = Callable[..., Watcher]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(sandbox: Sandbox, state_dir: Path) -> Iterator[Services]:
    made = make_services(sandbox.admin_url, state_dir)
    try:
        yield made
    finally:
        close_services(made)


@pytest.fixture
def make_watcher(services: Services, state_dir: Path, clock: FakeClock) -> Iterator[MakeWatcher]:
    """A Watcher on the test's state dir; `**settings` go to WatchSettings. Several may be made
    one after the other (a restart): close the previous one first."""
    made: list[Watcher] = []

    def make(*, environment: Services | None = None, **settings: Any) -> Watcher:
        watcher = Watcher(
            environment or services, WatchSettings(**settings), state_dir=state_dir, clock=clock
        )
        made.append(watcher)
        return watcher

    yield make
    for watcher in made:
        watcher.close()
