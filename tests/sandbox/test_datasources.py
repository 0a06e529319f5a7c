# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""urn:zimbraMail Get / Create / Modify / DeleteDataSource (§6)."""

from __future__ import annotations

from tests.sandbox.rawsoap import ADMIN, MAIL, RawSoap
from zcomp.sandbox import Sandbox

ALICE = "alice@sandbox.test"


def _call(c: RawSoap, name: str, inner: str = "", context: str = "") -> str | None:
    r = c.xml(f'<{name} xmlns="{MAIL}">{inner}</{name}>', context=context)
    return r.fault_code


def _list(c: RawSoap, context: str = "") -> list[tuple[str, dict[str, str]]]:
    r = c.xml(f'<GetDataSourcesRequest xmlns="{MAIL}"/>', context=context)
    assert r.status == 200, r.raw
    return [(el.tag.split("}")[1], dict(el.attrib)) for el in r.body]


def test_create_get_modify_delete(alice: RawSoap, sandbox: Sandbox) -> None:
    assert _list(alice) == []
    r = alice.xml(
        f'<CreateDataSourceRequest xmlns="{MAIL}"><pop3 name="Old ISP" l="2" isEnabled="1" host="pop.isp.test" port="995" '
        'connectionType="ssl" username="alice" password="IspPass1" leaveOnServer="0"/></CreateDataSourceRequest>'
    )
    created = r.find(f"{{{MAIL}}}pop3")
    assert created is not None and "l" not in created.attrib
    pop_id = created.get("id") or ""
    r = alice.xml(
        f'<CreateDataSourceRequest xmlns="{MAIL}"><imap name="Gmail" l="-1" isEnabled="1" host="imap.gmail.test" '
        'emailAddress="alice.smith@freemail.test"/></CreateDataSourceRequest>'
    )
    imap = r.find(f"{{{MAIL}}}imap")
    assert imap is not None and int(imap.get("l") or 0) >= 256  # an auto-created folder
    r = alice.xml(
        f'<CreateDataSourceRequest xmlns="{MAIL}"><contacts name="Phone" l="7" isEnabled="0"/></CreateDataSourceRequest>'
    )
    assert r.status == 200
    listed = dict((a["name"], (tag, a)) for tag, a in _list(alice))
    tag, pop = listed["Old ISP"]
    assert tag == "pop3"
    assert pop == {
        "id": pop_id,
        "name": "Old ISP",
        "l": "2",
        "isEnabled": "1",
        "importOnly": "0",
        "leaveOnServer": "0",
        "host": "pop.isp.test",
        "port": "995",
        "connectionType": "ssl",
        "username": "alice",
        "useAddressForForwardReply": "0",
    }
    assert "password" not in str(listed) and "IspPass1" not in str(listed)
    assert listed["Gmail"][1]["connectionType"] == "cleartext"  # the global default
    assert listed["Gmail"][1]["emailAddress"] == "alice.smith@freemail.test"
    assert listed["Phone"][0] == "unknown"  # types without an element of their own
    # The password is kept (never answered).
    stored = sandbox.account(ALICE).data_sources[pop_id].attrs
    assert stored["zimbraDataSourcePassword"] == ["IspPass1"]
    assert _call(alice, "ModifyDataSourceRequest", f'<pop3 id="{pop_id}" isEnabled="0"/>') is None
    after = {a["name"]: a for _, a in _list(alice)}
    assert after["Old ISP"]["isEnabled"] == "0" and after["Old ISP"]["host"] == "pop.isp.test"
    assert (
        _call(alice, "DeleteDataSourceRequest", f'<dsrc id="{pop_id}"/><imap id="no-such"/>')
        is None
    )
    assert [a["name"] for _, a in _list(alice)] == ["Gmail", "Phone"]
    assert _call(alice, "DeleteDataSourceRequest", '<imap name="gmail"/>') is None
    assert [a["name"] for _, a in _list(alice)] == ["Phone"]


def test_data_source_faults(alice: RawSoap) -> None:
    assert (
        _call(alice, "CreateDataSourceRequest", '<pop3 name="x" isEnabled="1"/>')
        == "service.INVALID_REQUEST"
    )
    assert (
        _call(alice, "CreateDataSourceRequest", '<pop3 l="2" isEnabled="1"/>')
        == "service.INVALID_REQUEST"
    )
    assert (
        _call(alice, "CreateDataSourceRequest", '<pop3 name="x" l="2"/>')
        == "service.INVALID_REQUEST"
    )
    assert _call(alice, "CreateDataSourceRequest", '<dsrc name="x" l="2" isEnabled="1"/>') == (
        "service.INVALID_REQUEST"
    )
    assert _call(alice, "CreateDataSourceRequest", '<pop3 name="x" l="999" isEnabled="1"/>') == (
        "service.INVALID_REQUEST"
    )
    assert _call(alice, "CreateDataSourceRequest", "") == "service.INVALID_REQUEST"
    assert _call(alice, "CreateDataSourceRequest", '<rss name="Feed" l="2" isEnabled="1"/>') is None
    r = alice.xml(
        f'<CreateDataSourceRequest xmlns="{MAIL}"><imap name="Other" l="2" isEnabled="1"/></CreateDataSourceRequest>'
    )
    assert "Folder location conflict: /Inbox" in r.raw.decode()
    assert _call(alice, "CreateDataSourceRequest", '<rss name="feed" l="6" isEnabled="1"/>') == (
        "account.DATA_SOURCE_EXISTS"
    )
    r = alice.xml(
        f'<ModifyDataSourceRequest xmlns="{MAIL}"><pop3 id="nope" isEnabled="0"/></ModifyDataSourceRequest>'
    )
    assert (
        r.fault_code == "service.INVALID_REQUEST"
        and "Unable to find data source with id=nope" in r.raw.decode()
    )
    assert (
        _call(alice, "ModifyDataSourceRequest", '<pop3 isEnabled="0"/>')
        == "service.INVALID_REQUEST"
    )
    assert _call(alice, "ModifyDataSourceRequest", '<dsrc id="x"/>') == "service.INVALID_REQUEST"
    assert (
        _call(alice, "ModifyDataSourceRequest", '<pop3 id="a"/><pop3 id="b"/>')
        == "service.INVALID_REQUEST"
    )
    assert _call(alice, "DeleteDataSourceRequest", "<pop3/>") == "service.INVALID_REQUEST"


def test_admin_delegated_on_locked_account(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    frank = sandbox.account("frank@sandbox.test")
    hdr = f'<account by="id">{frank.id}</account>'
    r = raw_admin.xml(
        f'<CreateDataSourceRequest xmlns="{MAIL}"><imap name="Ext" l="2" isEnabled="1" host="h.test"/></CreateDataSourceRequest>',
        context=hdr,
    )
    assert r.status == 200, r.raw
    ds = _list(raw_admin, hdr)
    assert [t for t, _ in ds] == ["imap"]
    ds_id = ds[0][1]["id"]
    assert (
        _call(raw_admin, "ModifyDataSourceRequest", f'<imap id="{ds_id}" isEnabled="0"/>', hdr)
        is None
    )
    assert _list(raw_admin, hdr)[0][1]["isEnabled"] == "0"
    # Not visible to other accounts' listings.
    assert raw_admin.xml(f'<GetDataSourcesRequest xmlns="{MAIL}"/>').findall("*") == []
    r = raw_admin.xml(
        f'<GetAccountRequest xmlns="{ADMIN}"><account by="id">{frank.id}</account></GetAccountRequest>'
    )
    assert r.status == 200
