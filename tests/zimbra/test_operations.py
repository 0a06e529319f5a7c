"""Every request's wire shape and its reply's parse, against Zimbra-shaped canned replies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from tests.zimbra.fake_server import Exchange, FakeZimbra, Reply, ok, zimbra_like
from zcomp.zimbra import operations as rq
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import (
    Account,
    AccountInfo,
    AuthResult,
    Domain,
    FilterRule,
    Identity,
    Modified,
    Node,
    QueueMessage,
    QueueSummary,
    SearchPage,
    Secret,
    Server,
    SessionInfo,
    SetPasswordResult,
    Signature,
)

FakeClient = Callable[..., tuple[FakeZimbra, ZimbraClient]]
A, ACC, M = "urn:zimbraAdmin", "urn:zimbraAccount", "urn:zimbraMail"


def run(
    fake_client: FakeClient, request: rq.Request[Any], reply: str
) -> tuple[Any, etree._Element]:
    fake, client = fake_client(zimbra_like({}), retries=0)
    fake.responder = lambda ex: _answer(ex, reply)
    result = client.call(request, as_account="id-1" if request.side == "user" else None)
    return result, fake.exchanges[-1].body


def _answer(ex: Exchange, reply: str) -> Reply:
    from tests.zimbra.fake_server import AUTH_OK

    return ok(AUTH_OK if etree.QName(ex.body).localname == "AuthRequest" else reply)


def xml(node: etree._Element) -> str:
    """The element as text with every namespace stripped (prefixes are zeep's choice)."""
    bare = copy.deepcopy(node)
    for element in bare.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(bare)
    return etree.tostring(bare, encoding="unicode")


def test_account_info(fake_client: FakeClient) -> None:
    got, body = run(
        fake_client,
        rq.GetAccountInfo("u@x.test"),
        f'<GetAccountInfoResponse xmlns="{A}"><name>u@x.test</name><a n="zimbraId">id-1</a>'
        '<a n="zimbraMailHost">mbox1.x.test</a><cos id="c" name="default"/>'
        "<soapURL>https://mbox1:8443/service/soap/</soapURL>"
        "<adminSoapURL>https://mbox1:7071/service/admin/soap/</adminSoapURL>"
        "</GetAccountInfoResponse>",
    )
    assert got == AccountInfo(
        "id-1",
        "u@x.test",
        "mbox1.x.test",
        ["https://mbox1:8443/service/soap/"],
        "https://mbox1:7071/service/admin/soap/",
    )
    assert xml(body).endswith('<account by="name">u@x.test</account></GetAccountInfoRequest>')


def test_modify_account_values(fake_client: FakeClient) -> None:
    changes: dict[str, str | list[str]] = {
        "zimbraAccountStatus": "locked",
        "zimbraPrefMailForwardingAddress": "",
        "zimbraMailForwardingAddress": ["keep@x.test", "also@x.test"],
        "+zimbraMailAlias": "n@x.test",
    }
    got, body = run(
        fake_client,
        rq.ModifyAccount("id-1", changes),
        f'<ModifyAccountResponse xmlns="{A}"><account name="u" id="id-1">'
        '<a n="zimbraAccountStatus">locked</a></account></ModifyAccountResponse>',
    )
    assert got == Modified("id-1", "u")  # the attributes sent back are not parsed
    assert body.get("id") == "id-1"
    sent = [(a.get("n"), a.text) for a in body]
    assert sent == [
        ("zimbraAccountStatus", "locked"),
        ("zimbraPrefMailForwardingAddress", None),
        ("zimbraMailForwardingAddress", "keep@x.test"),
        ("zimbraMailForwardingAddress", "also@x.test"),
        ("+zimbraMailAlias", "n@x.test"),
    ]


def test_set_password_message(fake_client: FakeClient) -> None:
    got, _ = run(
        fake_client,
        rq.SetPassword("id-1", Secret("x")),
        f'<SetPasswordResponse xmlns="{A}"><message>too short</message></SetPasswordResponse>',
    )
    assert got == SetPasswordResult("too short")


def test_delegate_auth(fake_client: FakeClient) -> None:
    got, body = run(
        fake_client,
        rq.DelegateAuth("id-1", duration_s=120),
        f'<DelegateAuthResponse xmlns="{A}"><authToken>0_d_00</authToken>'
        "<lifetime>120000</lifetime></DelegateAuthResponse>",
    )
    assert isinstance(got, AuthResult) and got.token.reveal() == "0_d_00"
    assert got.lifetime_ms == 120000 and "0_d_00" not in repr(got)
    assert xml(body) == (
        '<DelegateAuthRequest duration="120"><account by="id">id-1</account></DelegateAuthRequest>'
    )


def test_flush_cache(fake_client: FakeClient) -> None:
    got, body = run(
        fake_client, rq.FlushCache(("id-1", "id-2")), f'<FlushCacheResponse xmlns="{A}"/>'
    )
    assert got is None
    assert xml(body) == (
        '<FlushCacheRequest><cache type="account" allServers="1"><entry by="id">id-1</entry>'
        '<entry by="id">id-2</entry></cache></FlushCacheRequest>'
    )


def test_sessions(fake_client: FakeClient) -> None:
    got, body = run(
        fake_client,
        rq.GetSessions("imap", limit=50),
        f'<GetSessionsResponse xmlns="{A}" more="0" total="1">'
        '<s zid="id-1" name="u@x.test" sid="s1" cd="1000" ld="2000"/></GetSessionsResponse>',
    )
    assert got == [SessionInfo("id-1", "u@x.test", "s1", 1000, 2000, "imap")]
    assert {str(k): str(v) for k, v in body.attrib.items()} == {
        "type": "imap",
        "refresh": "1",
        "limit": "50",
        "offset": "0",
    }


def test_servers_and_domains(fake_client: FakeClient) -> None:
    got, body = run(
        fake_client,
        rq.GetAllServers("mta"),
        f'<GetAllServersResponse xmlns="{A}"><server name="mta1" id="s1">'
        '<a n="zimbraServiceEnabled">mta</a><a n="zimbraServiceEnabled">amavis</a></server>'
        "</GetAllServersResponse>",
    )
    assert got == [Server("s1", "mta1", {"zimbraServiceEnabled": ["mta", "amavis"]})]
    assert got[0].services == ["mta", "amavis"] and body.get("service") == "mta"
    got, body = run(
        fake_client,
        rq.GetDomain("x.test"),
        f'<GetDomainResponse xmlns="{A}"><domain name="x.test" id="d1"><a n="zimbraDomainStatus">'
        "active</a></domain></GetDomainResponse>",
    )
    assert got == Domain("d1", "x.test", {"zimbraDomainStatus": ["active"]})
    got, _ = run(
        fake_client,
        rq.GetAllDomains(),
        f'<GetAllDomainsResponse xmlns="{A}"><domain name="a" id="1"/><domain name="b" id="2"/>'
        "</GetAllDomainsResponse>",
    )
    assert [d.name for d in got] == ["a", "b"]


def test_search_directory(fake_client: FakeClient) -> None:
    got, body = run(
        fake_client,
        rq.SearchDirectory(
            "(zimbraAccountStatus=locked)", attrs=("zimbraId",), limit=10, domain="x"
        ),
        f'<SearchDirectoryResponse xmlns="{A}" more="1" searchTotal="42">'
        '<account name="a@x" id="1"><a n="zimbraId">1</a></account></SearchDirectoryResponse>',
    )
    assert got == SearchPage(
        accounts=[Account("1", "a@x", {"zimbraId": ["1"]})], more=True, total=42
    )
    assert {str(k): str(v) for k, v in body.attrib.items()} == {
        "query": "(zimbraAccountStatus=locked)",
        "limit": "10",
        "offset": "0",
        "types": "accounts",
        "attrs": "zimbraId",
        "domain": "x",
        "sortBy": "name",
    }


def test_mail_queue(fake_client: FakeClient) -> None:
    got, body = run(
        fake_client,
        rq.GetMailQueue("mta1", "deferred", sender="Spammer@X.test", limit=20),
        # Real Zimbra: total= is the whole queue (57 here), not the query's hits.
        f'<GetMailQueueResponse xmlns="{A}"><server name="mta1"><queue name="deferred" time="1"'
        ' scan="0" total="57" more="0"><qs type="from"><qsi n="2" t="spammer@x.test"/></qs>'
        '<qi id="AB12" from="spammer@x.test" to="v1@y,v2@y" time="1700000000" size="9"/>'
        "</queue></server></GetMailQueueResponse>",
    )
    assert got == QueueSummary(
        server="mta1",
        queue="deferred",
        total=1,
        messages=[
            QueueMessage(
                "AB12",
                "spammer@x.test",
                ["v1@y", "v2@y"],
                "1700000000",
                {
                    "id": "AB12",
                    "from": "spammer@x.test",
                    "to": "v1@y,v2@y",
                    "time": "1700000000",
                    "size": "9",
                },
            )
        ],
        summaries={"from": {"spammer@x.test": 2}},  # over the whole queue, not the page
    )
    assert xml(body) == (
        '<GetMailQueueRequest><server name="mta1"><queue name="deferred" scan="1">'
        '<query limit="20" offset="0"><field name="from"><match value="spammer@x.test"/></field>'
        "</query></queue></server></GetMailQueueRequest>"
    )


def test_mail_queue_without_scan_and_unfinished_scan(fake_client: FakeClient) -> None:
    got, body = run(
        fake_client,
        rq.GetMailQueue("mta1", "hold", scan=False, wait_s=10),
        f'<GetMailQueueResponse xmlns="{A}"><server name="mta1"><queue name="hold" time="1"'
        ' scan="1" total="3" more="1"/></server></GetMailQueueResponse>',
    )
    assert got == QueueSummary("mta1", "hold", total=3, more=True, scanning=True)
    assert xml(body) == (
        '<GetMailQueueRequest><server name="mta1"><queue name="hold" wait="10">'
        '<query limit="100" offset="0"/></queue></server></GetMailQueueRequest>'
    )


def _queue_batch(scan: str, action: str) -> Callable[[Exchange], Reply]:
    def answer(ex: Exchange) -> Reply:
        from tests.zimbra.fake_server import AUTH_OK

        if etree.QName(ex.body).localname == "AuthRequest":
            return ok(AUTH_OK)
        return ok(
            f'<BatchResponse xmlns="urn:zimbra">'
            f'<GetMailQueueResponse xmlns="{A}" requestId="1.0"><server name="mta1">'
            f'<queue name="deferred" time="1" scan="{scan}" total="0" more="0"/></server>'
            f"</GetMailQueueResponse>{action}</BatchResponse>"
        )

    return answer


def test_mail_queue_action_by_query_rescans_first(fake_client: FakeClient) -> None:
    # MailQueueAction by="query" searches the MTA's last scan, so the client rescans first.
    fake, client = fake_client(zimbra_like({}), retries=0)
    done = f'<MailQueueActionResponse xmlns="{A}" requestId="1"/>'
    fake.responder = _queue_batch("0", done)
    request = rq.MailQueueAction("mta1", "deferred", "hold", sender="S@x")
    assert client.call(request) is None
    batch = fake.exchanges[-1].body
    assert xml(batch) == (
        '<BatchRequest onerror="continue">'
        '<GetMailQueueRequest requestId="1.0"><server name="mta1">'
        '<queue name="deferred" scan="1" wait="5"><query limit="1" offset="0"/>'
        "</queue></server></GetMailQueueRequest>"
        '<MailQueueActionRequest requestId="1"><server name="mta1"><queue name="deferred">'
        '<action op="hold" by="query"><query><field name="from"><match value="s@x"/></field>'
        "</query></action></queue></server></MailQueueActionRequest></BatchRequest>"
    )
    # A scan still running after the wait: the action matched a partial scan; say so.
    fake.responder = _queue_batch("1", done)
    with pytest.raises(ZimbraFault) as failed:
        client.call(request)
    assert failed.value.code == "zcomp.QUEUE_SCAN_INCOMPLETE"
    # A failed rescan (e.g. another scan in progress) is reported on the action's slot.
    busy = (
        '<BatchResponse xmlns="urn:zimbra"><soap:Fault requestId="1.0"'
        ' xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Reason><soap:Text>busy'
        '</soap:Text></soap:Reason><soap:Detail><Error xmlns="urn:zimbra">'
        "<Code>service.ALREADY_IN_PROGRESS</Code></Error></soap:Detail></soap:Fault>"
        f"{done}</BatchResponse>"
    )
    fake.responder = lambda ex: ok(busy)
    [slot] = client.batch([request])
    assert isinstance(slot, ZimbraFault) and slot.code == "service.ALREADY_IN_PROGRESS"


def test_mail_queue_action(fake_client: FakeClient) -> None:
    reply = f'<MailQueueActionResponse xmlns="{A}"/>'
    _, body = run(
        fake_client, rq.MailQueueAction("mta1", "hold", "release", ids=("A1", "B2")), reply
    )
    assert xml(body).endswith(
        '<action op="release" by="id">A1,B2</action></queue></server></MailQueueActionRequest>'
    )
    with pytest.raises(ValueError):
        run(fake_client, rq.MailQueueAction("mta1", "hold", "release"), reply)


RULE = FilterRule(
    name="r", tests=[Node("trueTest")], actions=[Node("actionRedirect", {"a": "x@evil"})]
)


def test_admin_filter_rules(fake_client: FakeClient) -> None:
    got, body = run(
        fake_client,
        rq.AdminGetFilterRules("id-1", when="after", outgoing=True),
        f'<GetOutgoingFilterRulesResponse xmlns="{A}" type="after"><filterRules>'
        f'<filterRule name="r" active="1"><filterTests xmlns="{M}" condition="allof">'
        '<trueTest index="0"/></filterTests>'
        f'<filterActions xmlns="{M}"><actionRedirect index="0" a="x@evil"/></filterActions>'
        "</filterRule></filterRules></GetOutgoingFilterRulesResponse>",
    )
    assert got == [RULE]
    assert xml(body) == (
        '<GetOutgoingFilterRulesRequest type="after"><account by="id">id-1</account>'
        "</GetOutgoingFilterRulesRequest>"
    )
    got, body = run(
        fake_client,
        rq.AdminModifyFilterRules("id-1", (RULE,)),
        f'<ModifyFilterRulesResponse xmlns="{A}"/>',
    )
    assert got is None and body.tag == f"{{{A}}}ModifyFilterRulesRequest"
    assert body.get("type") == "before"


def test_user_filter_rules(fake_client: FakeClient) -> None:
    got, body = run(
        fake_client,
        rq.GetFilterRules(),
        f'<GetFilterRulesResponse xmlns="{M}"><filterRules><filterRule name="r" active="1">'
        '<filterTests condition="allof"><trueTest index="0"/></filterTests><filterActions>'
        '<actionRedirect index="0" a="x@evil"/></filterActions></filterRule></filterRules>'
        "</GetFilterRulesResponse>",
    )
    assert got == [RULE] and body.tag == f"{{{M}}}GetFilterRulesRequest"
    got, body = run(
        fake_client,
        rq.ModifyFilterRules((), outgoing=True),
        f'<ModifyOutgoingFilterRulesResponse xmlns="{M}"/>',
    )
    assert got is None
    assert (
        xml(body)
        == "<ModifyOutgoingFilterRulesRequest><filterRules/></ModifyOutgoingFilterRulesRequest>"
    )


SIGS = (
    f'<GetSignaturesResponse xmlns="{ACC}"><signature id="s1" name="work">'
    '<content type="text/plain">Regards</content><content type="text/html">&lt;b&gt;R&lt;/b&gt;'
    '</content></signature><signature id="s2" name="evil"><content type="text/plain">'
    "Wire money</content><cid>c1</cid></signature></GetSignaturesResponse>"
)


def test_signatures(fake_client: FakeClient) -> None:
    got, _ = run(fake_client, rq.GetSignatures(), SIGS)
    assert got == [
        Signature("s1", "work", {"text/plain": "Regards", "text/html": "<b>R</b>"}),
        Signature("s2", "evil", {"text/plain": "Wire money"}, "c1"),
    ]
    made, body = run(
        fake_client,
        rq.CreateSignature(Signature(None, "restored", {"text/plain": "Hi"})),
        f'<CreateSignatureResponse xmlns="{ACC}"><signature id="s9" name="restored"/>'
        "</CreateSignatureResponse>",
    )
    assert made == Signature("s9", "restored", {"text/plain": "Hi"})
    assert xml(body) == (
        '<CreateSignatureRequest><signature name="restored"><content type="text/plain">Hi'
        "</content></signature></CreateSignatureRequest>"
    )
    _, body = run(
        fake_client,
        rq.ModifySignature(Signature("s2", "evil", {"text/plain": ""})),
        f'<ModifySignatureResponse xmlns="{ACC}"/>',
    )
    assert xml(body) == (
        '<ModifySignatureRequest><signature id="s2"><content type="text/plain"/></signature>'
        "</ModifySignatureRequest>"
    )
    _, body = run(
        fake_client, rq.DeleteSignature(name="evil"), f'<DeleteSignatureResponse xmlns="{ACC}"/>'
    )
    assert xml(body) == '<DeleteSignatureRequest><signature name="evil"/></DeleteSignatureRequest>'


IDENTS = (
    f'<GetIdentitiesResponse xmlns="{ACC}"><identity name="DEFAULT" id="id-1">'
    '<a name="zimbraPrefFromAddress">u@x.test</a><a name="zimbraPrefReplyToAddress">evil@y</a>'
    '<a name="zimbraPrefReplyToEnabled">TRUE</a></identity></GetIdentitiesResponse>'
)


def test_identities(fake_client: FakeClient) -> None:
    got, _ = run(fake_client, rq.GetIdentities(), IDENTS)
    assert got == [
        Identity(
            "id-1",
            "DEFAULT",
            {
                "zimbraPrefFromAddress": ["u@x.test"],
                "zimbraPrefReplyToAddress": ["evil@y"],
                "zimbraPrefReplyToEnabled": ["TRUE"],
            },
        )
    ]
    _, body = run(
        fake_client,
        rq.ModifyIdentity(
            id="id-1", attrs={"zimbraPrefReplyToEnabled": "FALSE", "zimbraPrefReplyToAddress": ""}
        ),
        f'<ModifyIdentityResponse xmlns="{ACC}"/>',
    )
    assert xml(body) == (
        '<ModifyIdentityRequest><identity id="id-1"><a name="zimbraPrefReplyToEnabled">FALSE</a>'
        '<a name="zimbraPrefReplyToAddress"/></identity></ModifyIdentityRequest>'
    )
    made, _ = run(
        fake_client,
        rq.CreateIdentity("alt", {"zimbraPrefFromAddress": "u@x.test"}),
        f'<CreateIdentityResponse xmlns="{ACC}"><identity name="alt" id="i2">'
        '<a name="zimbraPrefFromAddress">u@x.test</a></identity></CreateIdentityResponse>',
    )
    assert made == Identity("i2", "alt", {"zimbraPrefFromAddress": ["u@x.test"]})
    _, body = run(
        fake_client, rq.DeleteIdentity(id="i2"), f'<DeleteIdentityResponse xmlns="{ACC}"/>'
    )
    assert xml(body) == '<DeleteIdentityRequest><identity id="i2"/></DeleteIdentityRequest>'


def inner(response: str) -> str:
    """The children of a canned response, to embed them in another."""
    return response[response.index(">") + 1 : response.rindex("</")]


def test_prefs_and_info(fake_client: FakeClient) -> None:
    _, body = run(
        fake_client,
        rq.ModifyPrefs(
            {"zimbraPrefMailForwardingAddress": "", "zimbraPrefReplyToEnabled": "FALSE"}
        ),
        f'<ModifyPrefsResponse xmlns="{ACC}"/>',
    )
    assert xml(body) == (
        '<ModifyPrefsRequest><pref name="zimbraPrefMailForwardingAddress"/>'
        '<pref name="zimbraPrefReplyToEnabled">FALSE</pref></ModifyPrefsRequest>'
    )
    _, body = run(
        fake_client, rq.GetPrefs(("zimbraPrefFromAddress",)), f'<GetPrefsResponse xmlns="{ACC}"/>'
    )
    assert xml(body) == '<GetPrefsRequest><pref name="zimbraPrefFromAddress"/></GetPrefsRequest>'
    info, body = run(
        fake_client,
        rq.GetInfo(),
        f'<GetInfoResponse xmlns="{ACC}"><version>10.0</version><id>id-1</id><name>u@x.test</name>'
        '<lifetime>1</lifetime><attrs><attr name="zimbraAccountStatus">active</attr></attrs>'
        '<prefs><pref name="zimbraPrefFromAddress">u@x.test</pref></prefs>'
        f"<identities>{inner(IDENTS)}</identities><signatures>{inner(SIGS)}"
        "</signatures><soapURL>x</soapURL></GetInfoResponse>",
    )
    assert info.id == "id-1" and info.name == "u@x.test"
    assert info.attrs == {"zimbraAccountStatus": ["active"]}
    assert info.prefs == {"zimbraPrefFromAddress": ["u@x.test"]}
    assert [i.name for i in info.identities] == ["DEFAULT"]
    assert [s.name for s in info.signatures] == ["work", "evil"]
    assert body.get("sections") == "mbox,prefs,attrs,idents,sigs"


def test_noop(fake_client: FakeClient) -> None:
    got, body = run(fake_client, rq.NoOp(), f'<NoOpResponse xmlns="{M}"/>')
    assert got is None and body.tag == f"{{{M}}}NoOpRequest"


def test_one_queue_query_matches_every_sender(fake_client: FakeClient) -> None:
    """Zimbra ORs the <match>es of one <field> (GetMailQueue.buildLuceneQuery)."""
    fake, client = fake_client(zimbra_like({}), retries=0)
    fake.responder = _queue_batch("0", f'<MailQueueActionResponse xmlns="{A}" requestId="1"/>')
    client.call(rq.MailQueueAction("mta1", "hold", "release", senders=("A@x", "b@x", "a@x")))
    action = xml(fake.exchanges[-1].body).split("<MailQueueActionRequest", 1)[1]
    assert '<field name="from"><match value="a@x"/><match value="b@x"/></field>' in action


def test_read_timeout_allows_for_the_scans_zimbra_waits_on() -> None:
    from zcomp.zimbra.build import build
    from zcomp.zimbra.client import server_wait_s
    from zcomp.zimbra.ns import ZIMBRA, el

    batch = el(ZIMBRA, "BatchRequest")
    batch.append(build(rq.GetMailQueue("mta1", "hold", wait_s=5)))
    batch.append(build(rq.GetMailQueue("mta1", "deferred")))  # scan="1", Zimbra's 3 s default
    batch.append(build(rq.GetMailQueue("mta1", "active", scan=False)))
    assert server_wait_s(batch) == 8
