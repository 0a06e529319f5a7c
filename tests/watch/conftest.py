"""Fixtures for the watch tests: a demo sandbox, a real Environment over HTTP, a watcher."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.watch.helpers import FakeClock, close_env, make_env
from zcomp.core.environment import Environment
from zcomp.core.watch import Watcher
from zcomp.core.watch_settings import WatchSettings
from zcomp.sandbox import Sandbox

MakeWatcher = Callable[..., Watcher]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def env(sandbox: Sandbox, state_dir: Path) -> Iterator[Environment]:
    made = make_env(sandbox.admin_url, state_dir)
    try:
        yield made
    finally:
        close_env(made)


@pytest.fixture
def make_watcher(env: Environment, state_dir: Path, clock: FakeClock) -> Iterator[MakeWatcher]:
    """A Watcher on the test's state dir; `**settings` go to WatchSettings. Several may be made
    one after the other (a restart): close the previous one first."""
    made: list[Watcher] = []

    def make(*, environment: Environment | None = None, **settings: Any) -> Watcher:
        watcher = Watcher(
            environment or env, WatchSettings(**settings), state_dir=state_dir, clock=clock
        )
        made.append(watcher)
        return watcher

    yield make
    for watcher in made:
        watcher.close()
