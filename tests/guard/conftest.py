"""A guard on a real socket, its contained list read from the sandbox over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.watch.helpers import close_services, make_services
from zcomp.core.services import Services
from zcomp.guard.actions import Responder
from zcomp.guard.contained import ContainedList, fetch_contained
from zcomp.guard.rules import Rules
from zcomp.guard.server import Guard, GuardThread
from zcomp.guard.settings import GuardSettings
from zcomp.sandbox import Sandbox


@dataclass
class Log:
    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)

    def having(self, text: str) -> list[str]:
        with self.lock:
            return [line for line in self.lines if text in line]


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until check() is truthy (bounded): no sleep stands in for synchronisation."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Running:
    thread: GuardThread
    guard: Guard
    contained: ContainedList
    responder: Responder
    log: Log

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.thread.port)


@pytest.fixture
def services(sandbox: Sandbox, state_dir: Path) -> Iterator[Services]:
    made = make_services(sandbox.admin_url, state_dir)
    try:
        yield made
    finally:
        close_services(made)


@pytest.fixture
def reader(sandbox: Sandbox, tmp_path: Path) -> Iterator[Services]:
    """The contained list's own client (clients are not shared between threads)."""
    made = make_services(sandbox.admin_url, tmp_path / "reader-state")
    try:
        yield made
    finally:
        close_services(made)


StartGuard = Callable[..., Running]


@pytest.fixture
def start_guard(reader: Services) -> Iterator[StartGuard]:
    """start_guard(**settings, responder_env=..., rules=...) -> Running, on 127.0.0.1:<free>.
    The contained list is read once before serving (as `serve` does) and then on demand
    (`running.contained.refresh()`): tests decide when Zimbra is read."""
    made: list[Running] = []

    def start(
        *,
        fetch: Callable[[], set[str]] | None = None,
        responder: Responder | None = None,
        rules: Callable[[GuardSettings, ContainedList], Rules] | None = None,
        **settings: Any,
    ) -> Running:
        log = Log()
        guard_settings = GuardSettings(listen="inet:127.0.0.1:0", **settings)
        contained = ContainedList(
            fetch or (lambda: fetch_contained(reader.client.call)),
            ttl_s=guard_settings.contained_ttl_s,
            max_age_s=guard_settings.contained_max_age_s,
            log=log,
        )
        contained.refresh()
        responder = responder or Responder(log=log)
        responder.start()
        made_rules = (rules or (lambda s, c: Rules(s, c.lookup)))(guard_settings, contained)
        guard = Guard(made_rules, responder=responder, log=log)
        thread = GuardThread(guard, guard_settings.listen).start()
        running = Running(thread, guard, contained, responder, log)
        made.append(running)
        return running

    yield start
    for running in made:
        running.thread.stop()
        running.responder.stop()
