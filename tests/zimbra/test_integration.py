"""Read-only client checks against a real Zimbra: set ZCOMP_TEST_URL, ZCOMP_TEST_ADMIN,
ZCOMP_TEST_PASSWORD (and optionally ZCOMP_TEST_CA_BUNDLE / ZCOMP_TEST_INSECURE=1).

Nothing here writes. Skipped when the variables are not set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zcomp.zimbra import operations as rq
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import Secret
from zcomp.zimbra.settings import ConnectionSettings

# Read at import: the autouse isolation fixture removes ZCOMP_* variables before each test.
URL = os.environ.get("ZCOMP_TEST_URL")
ADMIN = os.environ.get("ZCOMP_TEST_ADMIN", "")
PASSWORD = os.environ.get("ZCOMP_TEST_PASSWORD", "")
CA_BUNDLE = os.environ.get("ZCOMP_TEST_CA_BUNDLE")
INSECURE = os.environ.get("ZCOMP_TEST_INSECURE") == "1"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not URL, reason="ZCOMP_TEST_URL not set (no real Zimbra to test against)"),
]


@pytest.fixture
def client() -> Iterator[ZimbraClient]:
    assert URL is not None
    settings = ConnectionSettings(
        url=URL,
        admin=ADMIN,
        password=lambda: Secret(PASSWORD),
        ca_bundle=Path(CA_BUNDLE) if CA_BUNDLE else None,
        insecure=INSECURE,
        token_cache="off",
    )
    with ZimbraClient(settings) as made:
        yield made


def test_admin_reads(client: ZimbraClient) -> None:
    me = client.call(rq.GetAccount(ADMIN, attrs=("zimbraId", "zimbraIsAdminAccount")))
    assert me.id and me.name
    info = client.call(rq.GetAccountInfo(me.id, by="id"))
    assert info.id == me.id and info.mail_host
    assert client.call(rq.GetAllServers("mailbox"))
    assert client.call(rq.GetAllDomains())
    page = client.call(rq.SearchDirectory("(objectClass=zimbraAccount)", limit=3))
    assert page.total >= 1 and len(page.accounts) <= 3
    client.call(rq.GetSessions("soap", limit=5))


def test_user_reads_as_account(client: ZimbraClient) -> None:
    me = client.call(rq.GetAccount(ADMIN, attrs=("zimbraId",)))
    info = client.call(rq.GetInfo(), as_account=me.id)
    assert info.id == me.id
    client.call(rq.GetFilterRules(), as_account=me.id)
    client.call(rq.GetFilterRules(outgoing=True), as_account=me.id)
    client.call(rq.GetSignatures(), as_account=me.id)
    idents = client.call(rq.GetIdentities(), as_account=me.id)
    assert any(i.id == me.id for i in idents)  # DEFAULT identity id == zimbraId
    client.call(rq.GetPrefs(("zimbraPrefFromAddress",)), as_account=me.id)


def test_batch_with_fault(client: ZimbraClient) -> None:
    requests: list[rq.Request[Any]] = [
        rq.GetAccount(ADMIN),
        rq.GetAccount("no-such-account-zcomp-test@invalid.invalid"),
        rq.GetAllDomains(),
    ]
    results = client.batch(requests)
    assert results[0].name
    assert isinstance(results[1], ZimbraFault)
    assert results[1].code == "account.NO_SUCH_ACCOUNT"
    assert results[2]
    with pytest.raises(ZimbraFault):
        client.call(rq.GetAccount("no-such-account-zcomp-test@invalid.invalid"))
