"""ZimbraClient against the sandbox (real HTTP on loopback): every operation, batches,
re-login after expiry, the token cache, and --debug redaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from zcomp.sandbox import Sandbox, demo_password
from zcomp.zimbra import operations as rq
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.errors import NOT_RUN, ZimbraAuthError, ZimbraFault
from zcomp.zimbra.faults import reply_body
from zcomp.zimbra.model import FilterRule, Modified, Node, Secret, Signature
from zcomp.zimbra.settings import ConnectionSettings

DOMAIN = "sandbox.test"
ADMIN = f"admin@{DOMAIN}"
ALICE = f"alice@{DOMAIN}"


def settings_for(sb: Sandbox, **overrides: Any) -> ConnectionSettings:
    values: dict[str, Any] = {
        "url": sb.admin_url,
        "admin": ADMIN,
        "password": lambda: Secret("sandbox"),
        "token_cache": "off",
    }
    values.update(overrides)
    return ConnectionSettings(**values)


@pytest.fixture
def client(sandbox2: Sandbox) -> Iterator[ZimbraClient]:
    with ZimbraClient(settings_for(sandbox2)) as made:
        yield made


def test_admin_operations(sandbox2: Sandbox, client: ZimbraClient) -> None:
    alice = client.call(rq.GetAccount(ALICE, attrs=("zimbraMailHost", "zimbraAccountStatus")))
    assert alice.name == ALICE and alice.get("zimbraAccountStatus") == "active"
    info = client.call(rq.GetAccountInfo(alice.id, by="id"))
    assert info.id == alice.id and info.mail_host == alice.get("zimbraMailHost")

    forwarding = rq.GetAccount(alice.id, by="id", attrs=("zimbraPrefMailForwardingAddress",))
    changed = client.call(
        rq.ModifyAccount(alice.id, {"zimbraPrefMailForwardingAddress": "x@evil.example"})
    )
    assert changed == Modified(alice.id, ALICE)
    assert client.call(forwarding).get("zimbraPrefMailForwardingAddress") == "x@evil.example"
    client.call(rq.ModifyAccount(alice.id, {"zimbraPrefMailForwardingAddress": ""}))
    assert client.call(forwarding).get("zimbraPrefMailForwardingAddress") is None

    delegated = client.call(rq.DelegateAuth(alice.id, duration_s=120))
    assert delegated.token.reveal() and delegated.lifetime_ms == 120_000
    assert (
        client.call(rq.SetPassword(alice.id, Secret("Zc0mp-scrambled-0123456789"))).message is None
    )
    assert client.call(rq.FlushCache((alice.id,))) is None
    assert isinstance(client.call(rq.GetSessions()), list)

    servers = client.call(rq.GetAllServers("mailbox"))
    assert sorted(s.name for s in servers) == sorted(sandbox2.server_names)
    page = client.call(rq.SearchDirectory("(zimbraAccountStatus=locked)", attrs=("zimbraId",)))
    assert f"frank@{DOMAIN}" in [a.name for a in page.accounts] and page.total >= 1
    assert client.call(rq.GetDomain(DOMAIN)).name == DOMAIN
    assert DOMAIN in [d.name for d in client.call(rq.GetAllDomains())]

    mta = sandbox2.server_names[0]
    queue = client.call(rq.GetMailQueue(mta, "deferred", sender=ALICE))
    assert queue.server == mta and queue.queue == "deferred"
    assert client.call(rq.MailQueueAction(mta, "deferred", "hold", sender=ALICE)) is None

    rule = FilterRule(name="admin-before", tests=[Node("trueTest")], actions=[Node("actionKeep")])
    client.call(rq.AdminModifyFilterRules(alice.id, (rule,)))
    assert client.call(rq.AdminGetFilterRules(alice.id)) == [rule]
    client.call(rq.AdminModifyFilterRules(alice.id, ()))
    assert client.call(rq.AdminGetFilterRules(alice.id)) == []


def test_user_operations_as_account(client: ZimbraClient) -> None:
    alice = client.call(rq.GetAccount(ALICE))
    me = alice.id
    info = client.call(rq.GetInfo(), as_account=me)
    assert info.id == me and info.name == ALICE
    assert {i.id for i in info.identities} >= {me}  # DEFAULT identity id is the zimbraId

    client.call(rq.ModifyPrefs({"zimbraPrefReplyToEnabled": "TRUE"}), as_account=me)
    prefs = client.call(rq.GetPrefs(("zimbraPrefReplyToEnabled",)), as_account=me)
    assert prefs == {"zimbraPrefReplyToEnabled": ["TRUE"]}

    rules = client.call(rq.GetFilterRules(), as_account=me)
    assert [r.name for r in rules] == ["Newsletters", None, "Boss"]
    client.call(rq.ModifyFilterRules(tuple(rules)), as_account=me)
    again = client.call(rq.GetFilterRules(), as_account=me)
    # Zimbra saves a rule written without a name as "# null"; the sandbox does the same.
    assert [r.name for r in again] == ["Newsletters", "null", "Boss"]
    assert [(r.tests, r.actions) for r in again] == [(r.tests, r.actions) for r in rules]
    assert client.call(rq.GetFilterRules(outgoing=True), as_account=me) == []

    made = client.call(
        rq.CreateSignature(Signature(None, "zcomp-test", {"text/plain": "hi"})), as_account=me
    )
    assert made.id and made.name == "zcomp-test"
    client.call(
        rq.ModifySignature(Signature(made.id, "zcomp-test", {"text/plain": "bye"})), as_account=me
    )
    sigs = {s.id: s for s in client.call(rq.GetSignatures(), as_account=me)}
    assert sigs[made.id].contents["text/plain"] == "bye"
    client.call(rq.DeleteSignature(id=made.id), as_account=me)
    assert made.id not in {s.id for s in client.call(rq.GetSignatures(), as_account=me)}

    ident = client.call(
        rq.CreateIdentity("zcomp-test", {"zimbraPrefFromAddress": ALICE}), as_account=me
    )
    assert ident.name == "zcomp-test" and ident.id
    client.call(
        rq.ModifyIdentity(id=ident.id, attrs={"zimbraPrefReplyToEnabled": "FALSE"}), as_account=me
    )
    found = {i.id: i for i in client.call(rq.GetIdentities(), as_account=me)}
    assert found[ident.id].get("zimbraPrefReplyToEnabled") == "FALSE"
    client.call(rq.DeleteIdentity(id=ident.id), as_account=me)
    assert ident.id not in {i.id for i in client.call(rq.GetIdentities(), as_account=me)}
    assert client.call(rq.NoOp(), as_account=me) is None


@pytest.mark.parametrize("stop", [False, True])
def test_batch_with_faults(client: ZimbraClient, stop: bool) -> None:
    batch: list[rq.Request[Any]] = [
        rq.GetAccount(ALICE),
        rq.GetAccount(f"nobody@{DOMAIN}"),
        rq.GetDomain(DOMAIN),
    ]
    results = client.batch(batch, stop_on_error=stop)
    assert results[0].name == ALICE
    assert isinstance(results[1], ZimbraFault) and results[1].code == "account.NO_SUCH_ACCOUNT"
    assert results[1].reason == f"no such account: nobody@{DOMAIN}"
    assert results[2] is NOT_RUN if stop else results[2].name == DOMAIN
    assert client.round_trips == 2  # login + one BatchRequest


def test_fault_raised_and_login_refused(sandbox: Sandbox) -> None:
    with ZimbraClient(settings_for(sandbox)) as client, pytest.raises(ZimbraFault) as caught:
        client.call(rq.GetAccount(f"nobody@{DOMAIN}"))
    assert caught.value.code == "account.NO_SUCH_ACCOUNT"
    bad = settings_for(sandbox, password=lambda: Secret("wrong"))
    with ZimbraClient(bad) as client, pytest.raises(ZimbraAuthError):
        client.login()


@pytest.mark.parametrize(
    "soap", ["http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"]
)
def test_both_fault_shapes_parse(sandbox: Sandbox, soap: str) -> None:
    envelope = (
        f'<soap:Envelope xmlns:soap="{soap}"><soap:Body><GetAccountRequest xmlns="urn:zimbraAdmin">'
        '<account by="name">x@y</account></GetAccountRequest></soap:Body></soap:Envelope>'
    )
    with requests.Session() as session:
        reply = session.post(sandbox.admin_url, data=envelope.encode(), timeout=10)
    with pytest.raises(ZimbraFault) as caught:
        reply_body(reply.content, reply.status_code, "", sandbox.admin_url, "GetAccountRequest")
    assert reply.status_code == 500 and caught.value.code == "service.AUTH_REQUIRED"


def test_relogin_after_token_expiry(sandbox: Sandbox) -> None:
    with ZimbraClient(settings_for(sandbox)) as client:
        client.call(rq.GetAccount(ALICE))
        sandbox.clock.advance(13 * 3600)  # past the 12 h admin token lifetime
        client.call(rq.GetAccount(ALICE))
        results = client.batch([rq.GetDomain(DOMAIN), rq.GetAccount(ALICE)])
        assert [r.name for r in results] == [DOMAIN, ALICE]
    # login, call, call refused (AUTH_EXPIRED), login, call again, batch
    assert client.round_trips == 6


def test_relogin_after_validity_bump_in_batch(sandbox: Sandbox) -> None:
    with ZimbraClient(settings_for(sandbox)) as client:
        admin = client.call(rq.GetAccount(ADMIN, attrs=("zimbraAuthTokenValidityValue",)))
        current = int(admin.get("zimbraAuthTokenValidityValue") or "0")
        client.call(rq.ModifyAccount(admin.id, {"zimbraAuthTokenValidityValue": str(current + 1)}))
        results = client.batch([rq.GetDomain(DOMAIN), rq.GetAccount(ALICE)])
        assert [r.name for r in results] == [DOMAIN, ALICE]
        assert client.round_trips == 6  # login, get, modify, batch (refused), login, batch


def test_token_cache_between_processes(sandbox: Sandbox, tmp_path: Any) -> None:
    calls: list[int] = []

    def password() -> Secret:
        calls.append(1)
        return Secret("sandbox")

    for _ in range(2):
        settings = settings_for(sandbox, password=password, token_cache="file", state_dir=tmp_path)
        with ZimbraClient(settings) as client:
            client.call(rq.GetAccount(ALICE))
    assert calls == [1] and client.round_trips == 1


def test_debug_output_redacted(sandbox: Sandbox) -> None:
    seen: list[str] = []
    alice_pw = demo_password(ALICE)
    with ZimbraClient(settings_for(sandbox, debug=seen.append)) as client:
        alice = client.call(rq.GetAccount(ALICE))
        client.call(rq.SetPassword(alice.id, Secret("N3w-Scr4mbled-pw-000")))
        delegated = client.call(rq.DelegateAuth(alice.id))
    text = "\n".join(seen)
    assert "SetPasswordRequest" in text and "DelegateAuthResponse" in text
    for secret in ("sandbox<", "N3w-Scr4mbled-pw-000", delegated.token.reveal(), alice_pw):
        assert secret not in text
    assert "authToken>***<" in text


def test_queue_hold_by_sender_sees_mail_queued_after_an_earlier_scan(
    sandbox2: Sandbox, client: ZimbraClient
) -> None:
    # Zimbra matches MailQueueAction queries against the MTA's last scan; the client rescans
    # first, so mail queued after someone's earlier GetMailQueue is still held.
    import dataclasses

    from zcomp.sandbox import replay_attack

    replay_attack(sandbox2)
    mta, queue = sandbox2.server_names[1], sandbox2.mta(1)
    before = client.call(rq.GetMailQueue(mta, "deferred", sender=ALICE.upper()))
    assert before.total == 1 and not before.scanning
    queue.enqueue(dataclasses.replace(queue.messages()[0], id=queue.new_id()))
    assert client.call(rq.MailQueueAction(mta, "deferred", "hold", sender=ALICE)) is None
    assert [m.queue for m in queue.messages()] == ["hold", "hold"]
    held = client.call(rq.GetMailQueue(mta, "hold", sender=ALICE))
    assert held.total == 2 and [m.sender for m in held.messages] == [ALICE, ALICE]
