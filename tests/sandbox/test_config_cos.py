"""The sandbox's global config, COS and domain handlers, over raw SOAP: Zimbra's shapes
(GetCos.encodeCos, ToXML.encodeAttrs), modify semantics and faults."""

from __future__ import annotations

from tests.sandbox.rawsoap import ADMIN, RawSoap
from zcomp.sandbox import Sandbox, demo_password

A = f"{{{ADMIN}}}"
DEFAULT_COS_ID = "e00428a1-0c00-11d9-836a-000d93afea2a"


def _a(n: str, v: str) -> str:
    return f'<a n="{n}">{v}</a>'


def test_get_all_cos_shape(raw_admin: RawSoap) -> None:
    r = raw_admin.xml(f'<GetAllCosRequest xmlns="{ADMIN}"/>')
    assert r.status == 200, r.raw
    coses = r.findall(f"{A}cos")
    assert [c.get("name") for c in coses] == ["default"]
    cos = coses[0]
    assert cos.get("id") == DEFAULT_COS_ID and cos.get("isDefaultCos") == "1"
    attrs = {a.get("n"): a for a in cos.findall(f"{A}a")}
    # accountInherited attributes carry no c; the COS's own ones (and cn) carry c="1".
    assert attrs["zimbraPasswordLockoutEnabled"].text == "FALSE"
    assert attrs["zimbraPasswordLockoutEnabled"].get("c") is None
    assert attrs["zimbraExternalSharingEnabled"].get("c") == "1"
    assert attrs["cn"].text == "default" and attrs["zimbraId"].text == DEFAULT_COS_ID


def test_create_get_modify_cos(raw_admin: RawSoap) -> None:
    r = raw_admin.xml(
        f'<CreateCosRequest xmlns="{ADMIN}"><name>Weak</name>'
        f"{_a('zimbraAllowAnyFromAddress', 'TRUE')}{_a('zimbraPasswordEnforceHistory', '')}"
        "</CreateCosRequest>"
    )
    assert r.status == 200, r.raw
    created = r.find(f"{A}cos")
    assert created is not None and created.get("name") == "weak"  # lower-cased
    cos_id = created.get("id")
    attrs = r.attrs()
    assert attrs["zimbraAllowAnyFromAddress"] == ["TRUE"]
    assert "zimbraPasswordEnforceHistory" not in attrs  # empty: the copied value removed
    assert attrs["zimbraPasswordLockoutMaxFailures"] == ["10"]  # copied from default

    again = raw_admin.xml(f'<CreateCosRequest xmlns="{ADMIN}"><name>weak</name></CreateCosRequest>')
    assert again.fault_code == "account.COS_EXISTS"

    by_name = raw_admin.xml(
        f'<GetCosRequest xmlns="{ADMIN}" attrs="zimbraAllowAnyFromAddress">'
        '<cos by="name">weak</cos></GetCosRequest>'
    )
    assert by_name.attrs() == {"zimbraAllowAnyFromAddress": ["TRUE"]}

    mod = raw_admin.xml(
        f'<ModifyCosRequest xmlns="{ADMIN}"><id>{cos_id}</id>'
        f"{_a('zimbraAllowAnyFromAddress', 'FALSE')}"
        f"{_a('+zimbraInternalSendersDomain', 'a.test')}"
        f"{_a('+zimbraInternalSendersDomain', 'b.test')}</ModifyCosRequest>"
    )
    assert mod.status == 200, mod.raw
    assert mod.attrs()["zimbraAllowAnyFromAddress"] == ["FALSE"]
    assert mod.attrs()["zimbraInternalSendersDomain"] == ["a.test", "b.test"]
    less = raw_admin.xml(
        f'<ModifyCosRequest xmlns="{ADMIN}"><id>{cos_id}</id>'
        f"{_a('-zimbraInternalSendersDomain', 'a.test')}</ModifyCosRequest>"
    )
    assert less.attrs()["zimbraInternalSendersDomain"] == ["b.test"]
    by_id = raw_admin.xml(
        f'<GetCosRequest xmlns="{ADMIN}"><cos by="id">{cos_id}</cos></GetCosRequest>'
    )
    assert by_id.attrs()["zimbraInternalSendersDomain"] == ["b.test"]


def test_cos_faults(raw_admin: RawSoap) -> None:
    def code(body: str) -> str | None:
        return raw_admin.xml(body).fault_code

    assert code(f'<GetCosRequest xmlns="{ADMIN}"><cos by="name">nope</cos></GetCosRequest>') == (
        "account.NO_SUCH_COS"
    )
    assert code(f'<GetCosRequest xmlns="{ADMIN}"><cos by="x">y</cos></GetCosRequest>') == (
        "service.INVALID_REQUEST"
    )
    assert code(f'<GetCosRequest xmlns="{ADMIN}"/>') == "service.INVALID_REQUEST"
    # ModifyCos reads <id> as an element (getElement): the attribute alone is missing it.
    assert code(f'<ModifyCosRequest xmlns="{ADMIN}" id="{DEFAULT_COS_ID}"/>') == (
        "service.INVALID_REQUEST"
    )
    assert code(f'<ModifyCosRequest xmlns="{ADMIN}"><id>nope</id></ModifyCosRequest>') == (
        "account.NO_SUCH_COS"
    )
    bad = f'<ModifyCosRequest xmlns="{ADMIN}"><id>{DEFAULT_COS_ID}</id>'
    assert code(bad + _a("zimbraNoSuchThing", "1") + "</ModifyCosRequest>") == (
        "account.INVALID_ATTR_NAME"
    )
    assert code(bad + _a("zimbraPasswordLockoutEnabled", "yes") + "</ModifyCosRequest>") == (
        "account.INVALID_ATTR_VALUE"
    )
    mixed = _a("zimbraInternalSendersDomain", "a.test") + _a("+zimbraInternalSendersDomain", "b")
    assert code(bad + mixed + "</ModifyCosRequest>") == "service.INVALID_REQUEST"
    # Nothing of a refused request was written.
    r = raw_admin.xml(
        f'<GetCosRequest xmlns="{ADMIN}"><cos by="id">{DEFAULT_COS_ID}</cos></GetCosRequest>'
    )
    assert r.attrs()["zimbraPasswordLockoutEnabled"] == ["FALSE"]
    assert "zimbraInternalSendersDomain" not in r.attrs()


def test_global_config(raw_admin: RawSoap) -> None:
    r = raw_admin.xml(f'<GetAllConfigRequest xmlns="{ADMIN}"/>')
    attrs = r.attrs()
    # Multi-valued: one <a> per value, globalConfigValue defaults from zimbra-attrs.xml.
    assert attrs["zimbraMtaRestriction"] == [
        "reject_invalid_helo_hostname",
        "reject_non_fqdn_sender",
    ]
    assert attrs["zimbraAuthTokenValidityValueEnabled"] == ["TRUE"]
    mod = raw_admin.xml(
        f'<ModifyConfigRequest xmlns="{ADMIN}">'
        f"{_a('zimbraMtaMyNetworks', '127.0.0.0/8')}{_a('zimbraMtaMyNetworks', '10.0.0.0/24')}"
        f"{_a('-zimbraMtaRestriction', 'reject_non_fqdn_sender')}</ModifyConfigRequest>"
    )
    assert mod.status == 200 and list(mod.body) == [], mod.raw  # an empty response
    one = raw_admin.xml(
        f'<GetConfigRequest xmlns="{ADMIN}"><a n="zimbraMtaMyNetworks"/></GetConfigRequest>'
    )
    assert one.attrs() == {"zimbraMtaMyNetworks": ["127.0.0.0/8", "10.0.0.0/24"]}
    replaced = raw_admin.xml(
        f'<ModifyConfigRequest xmlns="{ADMIN}">{_a("zimbraMtaMyNetworks", "127.0.0.0/8")}'
        f"{_a('zimbraMtaSmtpdSenderLoginMaps', '')}</ModifyConfigRequest>"
    )
    assert replaced.status == 200
    after = raw_admin.xml(f'<GetAllConfigRequest xmlns="{ADMIN}"/>').attrs()
    assert after["zimbraMtaMyNetworks"] == ["127.0.0.0/8"]
    assert after["zimbraMtaRestriction"] == ["reject_invalid_helo_hostname"]
    immutable = raw_admin.xml(
        f'<ModifyConfigRequest xmlns="{ADMIN}">{_a("zimbraNoSuch", "x")}</ModifyConfigRequest>'
    )
    assert immutable.fault_code == "account.INVALID_ATTR_NAME"


def test_modify_domain(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    listed = raw_admin.xml(f'<GetAllDomainsRequest xmlns="{ADMIN}" applyConfig="0"/>')
    domain = listed.find(f"{A}domain")
    assert domain is not None
    domain_id = domain.get("id")
    r = raw_admin.xml(
        f'<ModifyDomainRequest xmlns="{ADMIN}" id="{domain_id}">'
        f"{_a('zimbraPublicSharingEnabled', 'TRUE')}</ModifyDomainRequest>"
    )
    assert r.status == 200, r.raw
    assert r.attrs()["zimbraPublicSharingEnabled"] == ["TRUE"]
    got = raw_admin.xml(
        f'<GetDomainRequest xmlns="{ADMIN}"><domain by="id">{domain_id}</domain></GetDomainRequest>'
    )
    assert got.attrs()["zimbraPublicSharingEnabled"] == ["TRUE"]
    missing = raw_admin.xml(f'<ModifyDomainRequest xmlns="{ADMIN}"/>')
    assert missing.fault_code == "service.INVALID_REQUEST"
    unknown = raw_admin.xml(f'<ModifyDomainRequest xmlns="{ADMIN}" id="nope"/>')
    assert unknown.fault_code == "account.NO_SUCH_DOMAIN"


def test_admin_only(sandbox: Sandbox) -> None:
    user = RawSoap(sandbox.admin_url)
    try:
        login = user.user_login("alice@sandbox.test", demo_password("alice@sandbox.test"))
        token = login.find("{urn:zimbraAccount}authToken")
        assert token is not None
        for body in (
            f'<GetAllConfigRequest xmlns="{ADMIN}"/>',
            f'<GetAllCosRequest xmlns="{ADMIN}"/>',
            f'<ModifyConfigRequest xmlns="{ADMIN}"/>',
            f'<ModifyCosRequest xmlns="{ADMIN}"><id>{DEFAULT_COS_ID}</id></ModifyCosRequest>',
        ):
            r = user.xml(body, token=token.text)
            assert r.fault_code == "service.PERM_DENIED", body
    finally:
        user.close()
