# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""User API: prefs, filter rules, signatures, identities (zimbra-soap.md §3, §4)."""

from __future__ import annotations

import pytest

from tests.sandbox.rawsoap import ACCOUNT, ADMIN, MAIL, RawSoap, js_fault_code, token_of
from zcomp.sandbox import Sandbox, SandboxOptions, demo_password

ALICE = "alice@sandbox.test"


def test_prefs_rules(alice: RawSoap, sandbox: Sandbox) -> None:
    bad = alice.xml(
        f'<ModifyPrefsRequest xmlns="{ACCOUNT}"><pref name="zimbraMailForwardingAddress">x@y.test</pref></ModifyPrefsRequest>'
    )
    assert bad.fault_code == "service.INVALID_REQUEST"
    bad = alice.xml(
        f'<ModifyPrefsRequest xmlns="{ACCOUNT}"><pref name="zimbraPrefMailLocalDeliveryDisabled">yes</pref></ModifyPrefsRequest>'
    )
    assert bad.fault_code == "account.INVALID_ATTR_VALUE"
    ok = alice.xml(
        f'<ModifyPrefsRequest xmlns="{ACCOUNT}"><pref name="zimbraPrefMailForwardingAddress">x@y.test</pref></ModifyPrefsRequest>'
    )
    assert ok.status == 200
    got = alice.xml(
        f'<GetPrefsRequest xmlns="{ACCOUNT}"><pref name="zimbraPrefMailForwardingAddress"/></GetPrefsRequest>'
    )
    assert [p.text for p in got.findall(f"{{{ACCOUNT}}}pref")] == ["x@y.test"]


def test_forwarding_pref_refused_when_feature_off(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.user_url())
    try:
        ken = "ken@sandbox.test"
        c.token = token_of(c.user_login(ken, demo_password(ken)))
        for value in ("a@b.test", ""):
            r = c.xml(
                f'<ModifyPrefsRequest xmlns="{ACCOUNT}"><pref name="zimbraPrefMailForwardingAddress">{value}</pref></ModifyPrefsRequest>'
            )
            assert r.fault_code == "service.PERM_DENIED"
    finally:
        c.close()


def test_options_disabled_blocks_modify(
    raw_admin: RawSoap, sandbox: Sandbox, alice: RawSoap
) -> None:
    acct = sandbox.account(ALICE)
    raw_admin.xml(
        f'<ModifyAccountRequest xmlns="{ADMIN}" id="{acct.id}"><a n="zimbraFeatureOptionsEnabled">FALSE</a></ModifyAccountRequest>'
    )
    r = alice.xml(
        f'<ModifyFilterRulesRequest xmlns="{MAIL}"><filterRules/></ModifyFilterRulesRequest>'
    )
    assert r.fault_code == "service.PERM_DENIED"


def test_filter_rules_round_trip(alice: RawSoap) -> None:
    got = alice.xml(f'<GetFilterRulesRequest xmlns="{MAIL}"/>')
    rules = got.findall(f"{{{MAIL}}}filterRules/{{{MAIL}}}filterRule")
    assert [r.get("name") for r in rules] == ["Newsletters", None, "Boss"]
    first_test = rules[0].find(f"{{{MAIL}}}filterTests")[0]  # type: ignore[index]
    assert first_test.get("index") == "0"
    keep_named = (
        '<filterRules><filterRule name="Only" active="0"><filterTests condition="allof">'
        '<headerTest index="0" header="subject" stringComparison="contains" value="x"/></filterTests>'
        '<filterActions><actionRedirect a="x@y.test" copy="1"/></filterActions></filterRule>'
        "<filterRule><filterTests><trueTest/></filterTests><filterActions><actionKeep/></filterActions></filterRule></filterRules>"
    )
    assert (
        alice.xml(
            f'<ModifyFilterRulesRequest xmlns="{MAIL}">{keep_named}</ModifyFilterRulesRequest>'
        ).status
        == 200
    )
    got = alice.xml(f'<GetFilterRulesRequest xmlns="{MAIL}"/>')
    rules = got.findall(f"{{{MAIL}}}filterRules/{{{MAIL}}}filterRule")
    assert [(r.get("name"), r.get("active")) for r in rules] == [("Only", "0"), ("null", "1")]
    assert rules[0].find(f".//{{{MAIL}}}actionRedirect").get("copy") == "1"  # type: ignore[union-attr]
    assert (
        alice.xml(
            f'<ModifyFilterRulesRequest xmlns="{MAIL}"><filterRules/></ModifyFilterRulesRequest>'
        ).status
        == 200
    )
    assert (
        alice.xml(f'<GetFilterRulesRequest xmlns="{MAIL}"/>').findall(f".//{{{MAIL}}}filterRule")
        == []
    )


@pytest.mark.parametrize(
    "action",
    ["<actionAddheader><headerName>X</headerName></actionAddheader>", "<actionTeleport/>"],
)
def test_filter_rules_rejects(alice: RawSoap, action: str) -> None:
    rule = f'<filterRules><filterRule name="r"><filterTests><trueTest/></filterTests><filterActions>{action}</filterActions></filterRule></filterRules>'
    r = alice.xml(f'<ModifyFilterRulesRequest xmlns="{MAIL}">{rule}</ModifyFilterRulesRequest>')
    assert r.fault_code in ("service.PARSE_ERROR", "service.INVALID_REQUEST")


def test_copy_needs_8_7_10() -> None:
    with Sandbox(SandboxOptions(zimbra_version="8.7.9")) as sb:
        c = RawSoap(sb.user_url())
        try:
            c.token = token_of(c.user_login(ALICE, demo_password(ALICE)))
            rule = '<filterRules><filterRule name="r"><filterTests><trueTest/></filterTests><filterActions><actionRedirect a="x@y.test" copy="1"/></filterActions></filterRule></filterRules>'
            r = c.xml(f'<ModifyFilterRulesRequest xmlns="{MAIL}">{rule}</ModifyFilterRulesRequest>')
            assert r.fault_code == "service.INVALID_REQUEST"
        finally:
            c.close()


def test_signatures(alice: RawSoap, sandbox: Sandbox) -> None:
    acct = sandbox.account(ALICE)
    sigs = alice.xml(f'<GetSignaturesRequest xmlns="{ACCOUNT}"/>').findall(
        f"{{{ACCOUNT}}}signature"
    )
    assert [s.get("name") for s in sigs] == ["Alice Smith", "Short"]
    first_id = sigs[0].get("id")
    assert first_id == acct.first("zimbraSignatureId")
    no_id = alice.xml(
        f'<ModifySignatureRequest xmlns="{ACCOUNT}"><signature name="Alice Smith"><content type="text/plain">x</content></signature></ModifySignatureRequest>'
    )
    assert no_id.fault_code == "service.INVALID_REQUEST"
    ok = alice.xml(
        f'<ModifySignatureRequest xmlns="{ACCOUNT}"><signature id="{first_id}"><content type="text/plain">new text</content></signature></ModifySignatureRequest>'
    )
    assert ok.status == 200
    assert acct.first("zimbraPrefMailSignature") == "new text"
    assert acct.first("zimbraPrefMailSignatureHTML")  # untouched
    dup = alice.xml(
        f'<CreateSignatureRequest xmlns="{ACCOUNT}"><signature name="Short"><content type="text/plain">y</content></signature></CreateSignatureRequest>'
    )
    assert dup.fault_code == "account.SIGNATURE_EXISTS"
    gone = alice.xml(
        f'<ModifySignatureRequest xmlns="{ACCOUNT}"><signature id="nope"/></ModifySignatureRequest>'
    )
    assert gone.fault_code == "account.NO_SUCH_SIGNATURE"


def test_create_first_signature_sets_default(sandbox: Sandbox) -> None:
    with Sandbox(SandboxOptions(seed="none")) as sb:
        c = RawSoap(sb.user_url())
        try:
            sb.directory.create_account("x@sandbox.test", "Passw0rd!")
            c.token = token_of(c.user_login("x@sandbox.test", "Passw0rd!"))
            r = c.xml(
                f'<CreateSignatureRequest xmlns="{ACCOUNT}"><signature name="s"><content type="text/plain">hi</content></signature></CreateSignatureRequest>'
            )
            sig_id = r.find(f"{{{ACCOUNT}}}signature").get("id")  # type: ignore[union-attr]
            acct = sb.account("x@sandbox.test")
            assert (
                acct.first("zimbraPrefDefaultSignatureId")
                == sig_id
                == acct.first("zimbraSignatureId")
            )
        finally:
            c.close()


def test_identities(alice: RawSoap, sandbox: Sandbox) -> None:
    acct = sandbox.account(ALICE)
    idents = alice.xml(f'<GetIdentitiesRequest xmlns="{ACCOUNT}"/>').findall(
        f"{{{ACCOUNT}}}identity"
    )
    assert [(i.get("name"), i.get("id")) for i in idents][0] == ("DEFAULT", acct.id)
    r = alice.xml(
        f'<ModifyIdentityRequest xmlns="{ACCOUNT}"><identity name="DEFAULT">'
        '<a name="zimbraPrefReplyToAddress">r@x.test</a><a name="zimbraIsAdminAccount">TRUE</a>'
        "</identity></ModifyIdentityRequest>"
    )
    assert r.status == 200
    assert acct.first("zimbraPrefReplyToAddress") == "r@x.test"
    assert acct.first("zimbraIsAdminAccount") is None  # silently dropped
    missing = alice.xml(
        f'<ModifyIdentityRequest xmlns="{ACCOUNT}"><identity name="Nope"><a name="zimbraPrefFromDisplay">x</a></identity></ModifyIdentityRequest>'
    )
    assert missing.fault_code == "account.NO_SUCH_IDENTITY"


def test_json_user_requests(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.user_url())
    try:
        status, doc = c.js(
            "AuthRequest",
            ACCOUNT,
            {"account": {"by": "name", "_content": ALICE}, "password": demo_password(ALICE)},
            token=None,
        )
        assert status == 200
        token = doc["Body"]["AuthResponse"]["authToken"][0]["_content"]
        status, doc = c.js("GetInfoRequest", ACCOUNT, {"sections": "mbox,prefs"}, token=token)
        assert doc["Body"]["GetInfoResponse"]["name"][0]["_content"] == ALICE
        _, doc = c.js(
            "ModifyPrefsRequest", ACCOUNT, {"pref": [{"name": "foo", "_content": "x"}]}, token=token
        )
        assert js_fault_code(doc) == "service.INVALID_REQUEST"
    finally:
        c.close()


def test_signature_semantics_follow_ldap_provisioning(sandbox: Sandbox) -> None:
    """LdapSignatureBase / LdapProvisioning: a bare zimbraPrefMailSignature is a signature;
    only the first signature becomes the default; delete unsets only the account's
    zimbraPrefDefaultSignatureId."""
    with Sandbox(SandboxOptions(seed="none")) as sb:
        c = RawSoap(sb.user_url())
        try:
            sb.directory.create_account("x@sandbox.test", "Passw0rd!")
            acct = sb.account("x@sandbox.test")
            acct.attrs["zimbraPrefMailSignature"] = ["BUY NOW"]  # set via ModifyPrefs, say
            c.token = token_of(c.user_login("x@sandbox.test", "Passw0rd!"))
            [sig] = c.xml(f'<GetSignaturesRequest xmlns="{ACCOUNT}"/>').findall(
                f"{{{ACCOUNT}}}signature"
            )
            assert sig.get("name") == "x@sandbox.test"  # the account's name, written back
            sig_id = sig.get("id")
            assert sig_id and acct.first("zimbraSignatureId") == sig_id
            dup = c.xml(
                f'<CreateSignatureRequest xmlns="{ACCOUNT}"><signature name="X@SANDBOX.TEST"/></CreateSignatureRequest>'
            )
            assert dup.fault_code == "account.SIGNATURE_EXISTS"  # names ignore case
            made = c.xml(
                f'<CreateSignatureRequest xmlns="{ACCOUNT}"><signature name="two" id="sig-2"><content type="text/plain">ok</content></signature></CreateSignatureRequest>'
            )
            assert made.find(f"{{{ACCOUNT}}}signature").get("id") == "sig-2"  # type: ignore[union-attr]
            assert acct.first("zimbraPrefDefaultSignatureId") is None  # not the first one
            again = c.xml(
                f'<CreateSignatureRequest xmlns="{ACCOUNT}"><signature name="three" id="sig-2"/></CreateSignatureRequest>'
            )
            assert again.fault_code == "account.SIGNATURE_EXISTS"
            acct.attrs["zimbraPrefDefaultSignatureId"] = [sig_id]
            acct.attrs["zimbraPrefForwardReplySignatureId"] = [sig_id]
            gone = c.xml(
                f'<DeleteSignatureRequest xmlns="{ACCOUNT}"><signature id="{sig_id}"/></DeleteSignatureRequest>'
            )
            assert gone.status == 200
            for attr in ("zimbraPrefMailSignature", "zimbraSignatureId", "zimbraSignatureName"):
                assert acct.first(attr) is None
            assert acct.first("zimbraPrefDefaultSignatureId") is None
            assert acct.first("zimbraPrefForwardReplySignatureId") == sig_id  # left dangling
            left = c.xml(f'<GetSignaturesRequest xmlns="{ACCOUNT}"/>').findall(
                f"{{{ACCOUNT}}}signature"
            )
            assert [s.get("id") for s in left] == ["sig-2"]
        finally:
            c.close()


def test_default_identity_synthesises_unset_from(sandbox: Sandbox) -> None:
    """Provisioning.getDefaultIdentity: an unset From reads back as the canonical address."""
    with Sandbox(SandboxOptions(seed="none")) as sb:
        c = RawSoap(sb.user_url())
        try:
            sb.directory.create_account("y@sandbox.test", "Passw0rd!")
            acct = sb.account("y@sandbox.test")
            acct.attrs["zimbraMailCanonicalAddress"] = ["yves@sandbox.test"]
            acct.attrs["displayName"] = ["Yves"]
            c.token = token_of(c.user_login("y@sandbox.test", "Passw0rd!"))
            [default] = c.xml(f'<GetIdentitiesRequest xmlns="{ACCOUNT}"/>').findall(
                f"{{{ACCOUNT}}}identity"
            )
            attrs = {a.get("name"): a.text for a in default.findall(f"{{{ACCOUNT}}}a")}
            assert attrs["zimbraPrefFromAddress"] == "yves@sandbox.test"
            assert attrs["zimbraPrefFromDisplay"] == "Yves"
            assert attrs["zimbraPrefIdentityId"] == acct.id
            assert "zimbraPrefForwardReplyFormat" in attrs
            assert acct.first("zimbraPrefFromAddress") is None  # only synthesised on read
        finally:
            c.close()
