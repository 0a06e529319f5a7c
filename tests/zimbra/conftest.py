"""Fixtures for the SOAP client tests: settings factory and a recorder for --debug output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.zimbra.fake_server import FakeZimbra, Responder, serve
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.model import Secret
from zcomp.zimbra.settings import ConnectionSettings

ADMIN_PASSWORD = "S3cr3t-admin-pw"


class PasswordSource:
    """Counts how often the client asked for the password (it must only when logging in)."""

    def __init__(self, value: str = ADMIN_PASSWORD) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> Secret:
        self.calls += 1
        return Secret(self.value)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., ConnectionSettings]:
    def make(url: str, **overrides: Any) -> ConnectionSettings:
        values: dict[str, Any] = {
            "url": url,
            "admin": "admin@example.test",
            "password": PasswordSource(),
            "token_cache": "off",
            "state_dir": tmp_path / "state",
            "connect_timeout": 2.0,
            "read_timeout": 5.0,
        }
        values.update(overrides)
        return ConnectionSettings(**values)

    return make


@pytest.fixture
def no_sleep() -> list[float]:
    """Pass `sleep=no_sleep.append` to record backoff delays without waiting."""
    return []


@pytest.fixture
def fake_client(
    make_settings: Callable[..., ConnectionSettings],
) -> Iterator[Callable[..., tuple[FakeZimbra, ZimbraClient]]]:
    """fake_client(responder, **settings) -> (server, client); both closed at teardown."""
    with ExitStack() as stack:

        def start(responder: Responder, **overrides: Any) -> tuple[FakeZimbra, ZimbraClient]:
            fake = stack.enter_context(serve(responder))
            extra = {k: overrides.pop(k) for k in ("sleep", "clock") if k in overrides}
            client = ZimbraClient(make_settings(fake.url, **overrides), **extra)
            stack.callback(client.close)
            return fake, client

        yield start
