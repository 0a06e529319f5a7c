"""Sandbox fixtures: an in-memory Zimbra stand-in per test, plus raw SOAP helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.rawsoap import RawSoap
from zcomp.sandbox import Sandbox, SandboxOptions

__all__ = ["raw_admin", "sandbox", "sandbox2", "sandbox_factory"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(servers=1, seed="demo")) as sb:
        yield sb


@pytest.fixture
def sandbox2() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(servers=2, seed="demo")) as sb:
        yield sb


@pytest.fixture
def sandbox_factory() -> Iterator[type[Sandbox]]:
    """Call with SandboxOptions(...) inside `with`; for tests needing other versions or options."""
    yield Sandbox


@pytest.fixture
def raw_admin(sandbox: Sandbox) -> Iterator[RawSoap]:
    """A raw SOAP 1.2 client logged in as admin@sandbox.test on the 1-server sandbox."""
    client = RawSoap(sandbox.admin_url)
    client.admin_login()
    try:
        yield client
    finally:
        client.close()
