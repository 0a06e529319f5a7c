"""Fixtures shared by the sandbox's wire tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.rawsoap import RawSoap, token_of
from zcomp.sandbox import Sandbox, demo_password

ALICE = "alice@sandbox.test"


@pytest.fixture
def alice(sandbox: Sandbox) -> Iterator[RawSoap]:
    """A raw SOAP client logged in as alice@sandbox.test (a user token, not an admin's)."""
    c = RawSoap(sandbox.user_url())
    c.token = token_of(c.user_login(ALICE, demo_password(ALICE)))
    yield c
    c.close()
