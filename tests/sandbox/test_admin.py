# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""Admin account operations, directory search, servers and mail queues (zimbra-soap.md §2, §6)."""

from __future__ import annotations

import dataclasses
from xml.sax.saxutils import escape

import pytest

from tests.sandbox.rawsoap import ADMIN, RawSoap
from zcomp.sandbox import Sandbox, replay_attack

ALICE = "alice@sandbox.test"


def _modify(c: RawSoap, acct_id: str, pairs: list[tuple[str, str]]) -> str | None:
    body = "".join(f'<a n="{k}">{v}</a>' for k, v in pairs)
    return c.xml(
        f'<ModifyAccountRequest xmlns="{ADMIN}" id="{acct_id}">{body}</ModifyAccountRequest>'
    ).fault_code


@pytest.mark.parametrize(
    ("pairs", "code"),
    [
        ([("zimbraNoSuchAttribute", "x")], "account.INVALID_ATTR_NAME"),
        ([("zimbraPrefMailLocalDeliveryDisabled", "true")], "account.INVALID_ATTR_VALUE"),
        ([("zimbraAccountStatus", "frozen")], "account.INVALID_ATTR_VALUE"),
        ([("zimbraAuthTokenValidityValue", "abc")], "account.INVALID_ATTR_VALUE"),
        ([("zimbraAuthTokenValidityValue", "-5")], "account.INVALID_ATTR_VALUE"),
        (
            [
                ("zimbraPrefMailForwardingAddress", "a@x.test"),
                ("zimbraPrefMailForwardingAddress", "b@x.test"),
            ],
            "account.INVALID_ATTR_VALUE",
        ),
        ([("zimbraPrefMailForwardingAddress", "not-an-address")], "account.INVALID_ATTR_VALUE"),
        (
            [
                ("+zimbraMailForwardingAddress", "a@x.test"),
                ("zimbraMailForwardingAddress", "b@x.test"),
            ],
            "service.INVALID_REQUEST",
        ),
        ([("zimbraAccountStatus", "")], "service.INVALID_REQUEST"),
        ([("zimbraId", "x")], "service.INVALID_REQUEST"),
    ],
)
def test_modify_account_validation(
    raw_admin: RawSoap, sandbox: Sandbox, pairs: list[tuple[str, str]], code: str
) -> None:
    alice = sandbox.account(ALICE)
    before = {k: list(v) for k, v in alice.attrs.items()}
    assert _modify(raw_admin, alice.id, pairs) == code
    assert alice.attrs == before  # nothing applied


def test_modify_account_multi_values_and_removal(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    dave = sandbox.account("dave@sandbox.test")
    assert _modify(raw_admin, dave.id, [("+zimbraMailForwardingAddress", "x@y.test")]) is None
    assert dave.attrs["zimbraMailForwardingAddress"] == ["sam@sandbox.test", "x@y.test"]
    assert (
        _modify(raw_admin, dave.id, [("-zimbraMailForwardingAddress", "sam@sandbox.test")]) is None
    )
    assert dave.attrs["zimbraMailForwardingAddress"] == ["x@y.test"]
    assert _modify(raw_admin, dave.id, [("zimbraMailForwardingAddress", "")]) is None
    assert "zimbraMailForwardingAddress" not in dave.attrs
    assert (
        _modify(raw_admin, "no-such-id", [("zimbraPrefReplyToEnabled", "TRUE")])
        == "account.NO_SUCH_ACCOUNT"
    )
    assert (
        raw_admin.xml(f'<ModifyAccountRequest xmlns="{ADMIN}"/>').fault_code
        == "service.INVALID_REQUEST"
    )


def test_status_side_effects(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    alice.attrs["zimbraPasswordLockoutFailureTime"] = ["20240101000000Z"]
    assert _modify(raw_admin, alice.id, [("zimbraAccountStatus", "active")]) is None
    assert "zimbraPasswordLockoutFailureTime" not in alice.attrs
    finance = next(dl for dl in sandbox.directory.lists.values() if dl.name.startswith("finance"))
    staff = next(dl for dl in sandbox.directory.lists.values() if dl.name.startswith("all-staff"))
    assert _modify(raw_admin, alice.id, [("zimbraAccountStatus", "locked")]) is None
    assert ALICE in finance.members and alice.first("zimbraMailStatus") == "enabled"
    assert _modify(raw_admin, alice.id, [("zimbraAccountStatus", "closed")]) is None
    assert ALICE not in finance.members
    assert "a.smith@sandbox.test" not in staff.members
    assert alice.first("zimbraMailStatus") == "disabled"


def test_get_account_attrs_and_apply_cos(raw_admin: RawSoap) -> None:
    get = f'<GetAccountRequest xmlns="{ADMIN}" {{extra}}><account by="name">{ALICE}</account></GetAccountRequest>'
    full = raw_admin.xml(get.format(extra="")).attrs()
    assert full["zimbraPasswordEnforceHistory"] == ["0"]  # from the COS
    assert full["zimbraFeatureMailForwardingEnabled"] == ["TRUE"]
    assert full["zimbraFeatureOptionsEnabled"] == ["TRUE"]
    own = raw_admin.xml(get.format(extra='applyCos="0"')).attrs()
    assert "zimbraPasswordEnforceHistory" not in own
    some = raw_admin.xml(get.format(extra='attrs="zimbraAccountStatus,zimbraMailHost"')).attrs()
    assert set(some) == {"zimbraAccountStatus", "zimbraMailHost"}
    missing = raw_admin.xml(get.format(extra="").replace(ALICE, "nobody@sandbox.test"))
    assert missing.fault_code == "account.NO_SUCH_ACCOUNT"


def test_create_alias_delete(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    r = raw_admin.xml(
        f'<CreateAccountRequest xmlns="{ADMIN}" name="newbie@sandbox.test" password="Welcome-123">'
        '<a n="displayName">New Bie</a></CreateAccountRequest>'
    )
    acct = r.find(f"{{{ADMIN}}}account")
    assert acct is not None
    new_id = acct.get("id")
    again = raw_admin.xml(f'<CreateAccountRequest xmlns="{ADMIN}" name="newbie@sandbox.test"/>')
    assert again.fault_code == "account.ACCOUNT_EXISTS"
    alias = raw_admin.xml(
        f'<AddAccountAliasRequest xmlns="{ADMIN}" id="{new_id}" alias="nb@sandbox.test"/>'
    )
    assert alias.status == 200
    assert sandbox.directory.find("nb@sandbox.test") is not None
    assert raw_admin.xml(f'<DeleteAccountRequest xmlns="{ADMIN}" id="{new_id}"/>').status == 200
    assert sandbox.directory.find("newbie@sandbox.test") is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("(mail=alice@sandbox.test)", {"alice@sandbox.test"}),
        ("(mail=a.smith*)", {"alice@sandbox.test"}),
        (
            "(&(zimbraMailForwardingAddress=*)(!(zimbraIsSystemAccount=TRUE)))",
            {"dave@sandbox.test"},
        ),
        ("(|(uid=bob)(uid=carol))", {"bob@sandbox.test", "carol@sandbox.test"}),
        ("(zimbraAccountStatus=locked)", {"frank@sandbox.test"}),
        (
            "(zimbraPrefMailForwardingAddress=*@sandbox.test)",
            {"carol@sandbox.test", "judy@sandbox.test"},
        ),
    ],
)
def test_search_directory(raw_admin: RawSoap, query: str, expected: set[str]) -> None:
    r = raw_admin.xml(
        f'<SearchDirectoryRequest xmlns="{ADMIN}" types="accounts" attrs="zimbraId"><query>{escape(query)}</query></SearchDirectoryRequest>'
    )
    names = {a.get("name") for a in r.findall(f"{{{ADMIN}}}account")}
    assert names == expected
    assert r.body.get("searchTotal") == str(len(expected))


def test_search_paging_limits_and_lists(raw_admin: RawSoap) -> None:
    page = raw_admin.xml(
        f'<SearchDirectoryRequest xmlns="{ADMIN}" query="(objectClass=zimbraAccount)" limit="5" offset="0" sortBy="name"/>'
    )
    names = [a.get("name") or "" for a in page.findall(f"{{{ADMIN}}}account")]
    assert len(names) == 5 and names == sorted(names) and page.body.get("more") == "1"
    too_many = raw_admin.xml(f'<SearchDirectoryRequest xmlns="{ADMIN}" query="" maxResults="3"/>')
    assert too_many.fault_code == "account.TOO_MANY_SEARCH_RESULTS"
    dls = raw_admin.xml(
        f'<SearchDirectoryRequest xmlns="{ADMIN}" query="(mail=*)" types="distributionlists"/>'
    )
    assert {d.get("name") for d in dls.findall(f"{{{ADMIN}}}dl")} == {
        "all-staff@sandbox.test",
        "finance@sandbox.test",
    }


def test_bulk_accounts_are_searchable(sandbox: Sandbox, raw_admin: RawSoap) -> None:
    # How long add_accounts takes is measured in tests/bench/bench_sandbox.py, not here.
    sandbox.add_accounts(2000)
    r = raw_admin.xml(f'<SearchDirectoryRequest xmlns="{ADMIN}" query="(uid=user*)" limit="10"/>')
    assert r.body.get("searchTotal") == "2000"


def test_get_all_servers_and_account_info(sandbox2: Sandbox) -> None:
    c = RawSoap(sandbox2.admin_url)
    try:
        c.admin_login()
        r = c.xml(f'<GetAllServersRequest xmlns="{ADMIN}" service="mta"/>')
        servers = r.findall(f"{{{ADMIN}}}server")
        assert [s.get("name") for s in servers] == sandbox2.server_names
        assert "mta" in [a.text for a in servers[1] if a.get("n") == "zimbraServiceEnabled"]
        info = c.xml(
            f'<GetAccountInfoRequest xmlns="{ADMIN}"><account by="name">erin@sandbox.test</account></GetAccountInfoRequest>'
        )
        assert info.findtext(f"{{{ADMIN}}}soapURL") == sandbox2.urls[1] + "/service/soap/"
    finally:
        c.close()


def test_mail_queue_hold_release_delete(sandbox2: Sandbox) -> None:
    report = replay_attack(sandbox2)
    assert report.server_url == sandbox2.urls[1]
    c = RawSoap(sandbox2.admin_url)
    try:
        c.admin_login()
        mbox2 = sandbox2.server_names[1]
        q = (
            f'<GetMailQueueRequest xmlns="{ADMIN}"><server name="{{srv}}"><queue name="{{queue}}">'
            '<query limit="10"><field name="from"><match value="alice@sandbox.test"/></field></query>'
            "</queue></server></GetMailQueueRequest>"
        )
        r = c.xml(q.format(srv=mbox2, queue="deferred"))
        items = r.findall(f".//{{{ADMIN}}}qi")
        assert len(items) == 1 and len((items[0].get("to") or "").split(",")) == 81
        assert (
            r.findall(f".//{{{ADMIN}}}qs[@type='from']/{{{ADMIN}}}qsi")[0].get("t")
            == "alice@sandbox.test"
        )
        assert (
            c.xml(q.format(srv=sandbox2.server_names[0], queue="deferred")).findall(
                f".//{{{ADMIN}}}qi"
            )
            == []
        )
        act = (
            f'<MailQueueActionRequest xmlns="{ADMIN}"><server name="{mbox2}"><queue name="deferred">'
            '<action op="hold" by="query"><query><field name="from"><match value="alice@sandbox.test"/></field></query></action>'
            "</queue></server></MailQueueActionRequest>"
        )
        assert c.xml(act).status == 200
        assert [m.queue for m in sandbox2.mta(1).messages()] == ["hold"]
        qid = sandbox2.mta(1).messages()[0].id
        delete = (
            f'<MailQueueActionRequest xmlns="{ADMIN}"><server name="{mbox2}"><queue name="hold">'
            f'<action op="delete" by="id">{qid}</action></queue></server></MailQueueActionRequest>'
        )
        assert c.xml(delete).status == 200
        assert sandbox2.mta(1).messages() == []
        bad = c.xml(act.replace(mbox2, "nope.sandbox.test"))
        assert bad.fault_code == "service.INVALID_REQUEST"
    finally:
        c.close()


def test_admin_filter_rules_need_mail_namespace(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    rule = (
        '<filterRules><filterRule name="r1" active="1">'
        '<filterTests condition="anyof" xmlns="urn:zimbraMail"><headerTest header="Subject" stringComparison="is" value="x"/></filterTests>'
        '<filterActions xmlns="urn:zimbraMail"><actionFlag flagName="flagged"/><actionStop/></filterActions>'
        "</filterRule></filterRules>"
    )
    acct = f'<account by="name">{ALICE}</account>'
    ok = raw_admin.xml(
        f'<ModifyFilterRulesRequest xmlns="{ADMIN}" type="before">{acct}{rule}</ModifyFilterRulesRequest>'
    )
    assert ok.status == 200
    alice = sandbox.account(ALICE)
    assert "zimbraAdminSieveScriptBefore" in alice.attrs
    user_script_before = alice.first("zimbraMailSieveScript")
    got = raw_admin.xml(
        f'<GetFilterRulesRequest xmlns="{ADMIN}" type="before">{acct}</GetFilterRulesRequest>'
    )
    assert got.find(f".//{{{ADMIN}}}filterRule/{{urn:zimbraMail}}filterActions") is not None
    wrong_ns = rule.replace(' xmlns="urn:zimbraMail"', "")
    bad = raw_admin.xml(
        f'<ModifyFilterRulesRequest xmlns="{ADMIN}" type="before">{acct}{wrong_ns}</ModifyFilterRulesRequest>'
    )
    assert bad.fault_code == "service.INVALID_REQUEST"
    no_type = raw_admin.xml(
        f'<GetFilterRulesRequest xmlns="{ADMIN}">{acct}</GetFilterRulesRequest>'
    )
    assert no_type.fault_code == "service.INVALID_REQUEST"
    assert alice.first("zimbraMailSieveScript") == user_script_before


def test_queue_action_by_query_uses_the_last_scan(sandbox2: Sandbox) -> None:
    """RemoteMailQueue: a query acts on the last scan; mail queued after it is missed until
    GetMailQueue scan="1"; match values are exact (the index is lower-cased)."""
    replay_attack(sandbox2)
    c = RawSoap(sandbox2.admin_url)
    try:
        c.admin_login()
        mbox2 = sandbox2.server_names[1]
        get = (
            f'<GetMailQueueRequest xmlns="{ADMIN}"><server name="{mbox2}"><queue name="deferred"{{scan}}>'
            '<query limit="10"><field name="from"><match value="{who}"/></field></query>'
            "</queue></server></GetMailQueueRequest>"
        )
        first = c.xml(get.format(scan="", who="alice@sandbox.test"))
        assert len(first.findall(f".//{{{ADMIN}}}qi")) == 1  # first access scans
        upper = c.xml(get.format(scan="", who="Alice@Sandbox.test"))
        assert upper.findall(f".//{{{ADMIN}}}qi") == []  # exact TermQuery
        late = dataclasses.replace(sandbox2.mta(1).messages()[0], id=sandbox2.mta(1).new_id())
        sandbox2.mta(1).enqueue(late)
        act = (
            f'<MailQueueActionRequest xmlns="{ADMIN}"><server name="{mbox2}"><queue name="deferred">'
            '<action op="hold" by="query"><query><field name="from"><match value="alice@sandbox.test"/></field></query></action>'
            "</queue></server></MailQueueActionRequest>"
        )
        assert c.xml(act).status == 200
        assert sorted(m.queue for m in sandbox2.mta(1).messages()) == ["deferred", "hold"]
        rescanned = c.xml(get.format(scan=' scan="1"', who="alice@sandbox.test"))
        assert [q.get("id") for q in rescanned.findall(f".//{{{ADMIN}}}qi")] == [late.id]
        assert c.xml(act).status == 200
        assert [m.queue for m in sandbox2.mta(1).messages()] == ["hold", "hold"]
        no_query = c.xml(
            f'<GetMailQueueRequest xmlns="{ADMIN}"><server name="{mbox2}"><queue name="hold"/>'
            "</server></GetMailQueueRequest>"
        )
        assert no_query.fault_code == "service.INVALID_REQUEST"
    finally:
        c.close()


def test_a_malformed_queue_query_is_refused_even_on_an_empty_queue(sandbox2: Sandbox) -> None:
    """GetMailQueue.buildLuceneQuery reads the whole query before the queue is scanned: a field
    without name, or a match without value, is a fault whatever the queue holds."""
    c = RawSoap(sandbox2.admin_url)
    try:
        c.admin_login()
        mbox1 = sandbox2.server_names[0]
        assert sandbox2.mta(0).messages() == []
        for field in ('<field><match value="x"/></field>', '<field name="from"><match/></field>'):
            r = c.xml(
                f'<GetMailQueueRequest xmlns="{ADMIN}"><server name="{mbox1}"><queue name="deferred">'
                f'<query limit="10">{field}</query></queue></server></GetMailQueueRequest>'
            )
            assert r.fault_code == "service.INVALID_REQUEST", field
    finally:
        c.close()
