# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""GetFolder and FolderAction grant / !grant / update / revokeorphangrants (issue 12 §1-§2)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.sandbox.rawsoap import MAIL, RawSoap, js_fault_code
from zcomp.sandbox import Sandbox

ALICE, BOB = "alice@sandbox.test", "bob@sandbox.test"
F = f"{{{MAIL}}}folder"
PUBLIC = "99999999-9999-9999-9999-999999999999"
AUTHUSER = "00000000-0000-0000-0000-000000000000"


def _hdr(sb: Sandbox, name: str = ALICE, extra: str = "") -> str:
    return f'<account by="id">{sb.account(name).id}</account>{extra}'


def _folders(root: ET.Element) -> dict[str, ET.Element]:
    """Every <folder> in the response by absFolderPath."""
    return {f.get("absFolderPath") or "": f for f in root.iter(F)}


def _grants(folder: ET.Element) -> list[dict[str, str]]:
    return [dict(g.attrib) for g in folder.findall(f"{{{MAIL}}}acl/{{{MAIL}}}grant")]


def _action(c: RawSoap, inner: str, context: str = "") -> ET.Element:
    r = c.xml(f'<FolderActionRequest xmlns="{MAIL}">{inner}</FolderActionRequest>', context=context)
    assert r.status == 200, r.raw
    el = r.find(f"{{{MAIL}}}action")
    assert el is not None
    return el


def test_owner_tree_plain_ids_and_benign_share(alice: RawSoap, sandbox: Sandbox) -> None:
    r = alice.xml(f'<GetFolderRequest xmlns="{MAIL}"/>')
    root = r.find(F)
    assert root is not None
    assert (root.get("id"), root.get("name"), root.get("absFolderPath"), root.get("l")) == (
        "1",
        "USER_ROOT",
        "/",
        "11",
    )
    folders = _folders(r.body)
    expected = {
        "/Inbox": "2",
        "/Trash": "3",
        "/Junk": "4",
        "/Sent": "5",
        "/Drafts": "6",
        "/Contacts": "7",
        "/Calendar": "10",
        "/Emailed Contacts": "13",
        "/Chats": "14",
        "/Tasks": "15",
        "/Briefcase": "16",
    }
    for path, fid in expected.items():
        assert folders[path].get("id") == fid
        assert folders[path].get("l") == "1"
    assert folders["/Inbox"].get("view") == "message"
    assert int(folders["/Inbox"].get("n") or 0) >= 2
    assert folders["/Calendar"].get("f") == "#"
    assert "perm" not in folders["/Inbox"].attrib  # the owner's own request is not delegated
    projects = folders["/Projects"]
    assert int(projects.get("id") or 0) >= 256 and projects.get("f") == "i"
    bob = sandbox.account(BOB)
    assert _grants(projects) == [{"zid": bob.id, "gt": "usr", "perm": "r", "d": BOB}]
    # <acl> only on folders with their own ACL.
    assert folders["/Inbox"].find(f"{{{MAIL}}}acl") is None
    no_names = alice.xml(f'<GetFolderRequest xmlns="{MAIL}" needGranteeName="0"/>')
    assert _grants(_folders(no_names.body)["/Projects"]) == [
        {"zid": bob.id, "gt": "usr", "perm": "r"}
    ]


def test_admin_delegated_ids_are_qualified_unless_noqualify(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    aid = sandbox.account(ALICE).id
    r = raw_admin.xml(f'<GetFolderRequest xmlns="{MAIL}"/>', context=_hdr(sandbox))
    folders = _folders(r.body)
    assert folders["/"].get("id") == f"{aid}:1" and folders["/"].get("l") == f"{aid}:11"
    assert folders["/Inbox"].get("id") == f"{aid}:2" and folders["/Inbox"].get("l") == f"{aid}:1"
    assert folders["/Inbox"].get("perm") == "rwidxapfc"
    assert _grants(folders["/Projects"])[0]["d"] == BOB
    plain = raw_admin.xml(
        f'<GetFolderRequest xmlns="{MAIL}"/>', context=_hdr(sandbox, extra="<noqualify/>")
    )
    assert _folders(plain.body)["/Inbox"].get("id") == "2"
    # From the real root: ROOT has no name or path, the hidden system folders hang off it.
    root = raw_admin.xml(
        f'<GetFolderRequest xmlns="{MAIL}"><folder l="11"/></GetFolderRequest>',
        context=_hdr(sandbox, extra="<noqualify/>"),
    ).find(F)
    assert root is not None and root.get("id") == "11" and "name" not in root.attrib
    assert [c.get("id") for c in root.findall(F)] == ["1", "8", "9", "17"]
    # JSON form, with the header's noqualify as an object.
    status, doc = raw_admin.js(
        "GetFolderRequest",
        MAIL,
        {"folder": {"path": "/Projects"}},
        context={"account": {"by": "id", "_content": aid}, "noqualify": {}},
    )
    assert status == 200
    folder = doc["Body"]["GetFolderResponse"]["folder"][0]
    assert folder["name"] == "Projects" and folder["acl"][0]["grant"][0]["gt"] == "usr"


def test_get_folder_faults(alice: RawSoap) -> None:
    r = alice.xml(f'<GetFolderRequest xmlns="{MAIL}"><folder l="999"/></GetFolderRequest>')
    assert r.fault_code == "mail.NO_SUCH_FOLDER"
    r = alice.xml(f'<GetFolderRequest xmlns="{MAIL}"><folder path="/Nope"/></GetFolderRequest>')
    assert r.fault_code == "mail.NO_SUCH_FOLDER"
    assert "no such folder path: /Nope" in r.raw.decode()
    r = alice.xml(f'<GetFolderRequest xmlns="{MAIL}"><folder l="x"/></GetFolderRequest>')
    assert r.fault_code == "service.INVALID_REQUEST"
    one = alice.xml(
        f'<GetFolderRequest xmlns="{MAIL}" depth="0"><folder path="inbox"/></GetFolderRequest>'
    )
    inbox = one.find(F)
    assert inbox is not None and inbox.get("id") == "2" and inbox.findall(F) == []


def test_grant_kinds_and_response(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    hdr = _hdr(sandbox)
    aid = sandbox.account(ALICE).id
    pub = _action(raw_admin, '<action op="grant" id="2"><grant gt="pub" perm="r"/></action>', hdr)
    assert pub.attrib == {"zid": PUBLIC, "id": f"{aid}:2", "op": "grant"}
    allu = _action(
        raw_admin, f'<action op="grant" id="{aid}:3"><grant gt="all" perm="r"/></action>', hdr
    )
    assert allu.get("zid") == AUTHUSER
    guest = _action(
        raw_admin,
        '<action op="grant" id="5"><grant gt="guest" d="Drop@Freemail.test" args="s3cret" perm="r"/></action>',
        hdr,
    )
    assert (guest.get("zid"), guest.get("d")) == ("Drop@Freemail.test", "Drop@Freemail.test")
    key = _action(
        raw_admin, '<action op="grant" id="6"><grant gt="key" d="partner" perm="r"/></action>', hdr
    )
    assert key.get("zid") == "partner" and len(key.get("key") or "") == 32
    bob = sandbox.account(BOB)
    usr = _action(
        raw_admin, '<action op="grant" id="7"><grant gt="usr" d="bob" perm="rw"/></action>', hdr
    )
    assert (usr.get("zid"), usr.get("d")) == (bob.id, BOB)
    grp = _action(
        raw_admin,
        '<action op="grant" id="10"><grant gt="usr" d="finance@sandbox.test" perm="r"/></action>',
        hdr,
    )
    assert grp.get("d") == "finance@sandbox.test"
    # An unprovisioned internal name becomes a guest grant; a guest naming a user becomes usr.
    ghost = _action(
        raw_admin,
        '<action op="grant" id="13"><grant gt="usr" d="ghost@sandbox.test" perm="r"/></action>',
        hdr,
    )
    assert ghost.get("zid") == "ghost@sandbox.test"
    internal = _action(
        raw_admin,
        f'<action op="grant" id="14"><grant gt="guest" d="{BOB}" perm="r"/></action>',
        hdr,
    )
    assert internal.get("zid") == bob.id
    folders = _folders(
        raw_admin.xml(
            f'<GetFolderRequest xmlns="{MAIL}"/>', context=_hdr(sandbox, extra="<noqualify/>")
        ).body
    )
    assert _grants(folders["/Inbox"]) == [{"gt": "pub", "perm": "r"}]
    assert folders["/Inbox"].get("f") == "i"
    assert _grants(folders["/Trash"]) == [{"gt": "all", "perm": "r"}]
    assert _grants(folders["/Sent"]) == [
        {"zid": "Drop@Freemail.test", "gt": "guest", "perm": "r", "pw": "s3cret"}
    ]
    assert _grants(folders["/Drafts"])[0]["key"] == key.get("key")
    assert _grants(folders["/Contacts"]) == [{"zid": bob.id, "gt": "usr", "perm": "rw", "d": BOB}]
    assert _grants(folders["/Calendar"])[0]["gt"] == "grp"
    assert _grants(folders["/Emailed Contacts"])[0]["gt"] == "guest"
    assert _grants(folders["/Chats"])[0]["gt"] == "usr"


def test_grant_faults_exists_and_replace(alice: RawSoap, sandbox: Sandbox) -> None:
    def fault(inner: str) -> str | None:
        return alice.xml(
            f'<FolderActionRequest xmlns="{MAIL}">{inner}</FolderActionRequest>'
        ).fault_code

    g = '<action op="grant" id="2"><grant gt="pub" perm="r"/></action>'
    assert alice.xml(f'<FolderActionRequest xmlns="{MAIL}">{g}</FolderActionRequest>').status == 200
    assert fault(g) == "mail.GRANT_EXISTS"
    # A grant to a grantee that already has one replaces it.
    _action(alice, '<action op="grant" id="2"><grant gt="pub" perm="rw"/></action>')
    inbox = _folders(alice.xml(f'<GetFolderRequest xmlns="{MAIL}"/>').body)["/Inbox"]
    assert _grants(inbox) == [{"gt": "pub", "perm": "rw"}]
    assert fault('<action op="grant" id="2"><grant gt="guest" d="nobody" perm="r"/></action>') == (
        "service.INVALID_REQUEST"
    )
    assert fault('<action op="grant" id="2"><grant gt="bogus" perm="r"/></action>') == (
        "service.INVALID_REQUEST"
    )
    assert fault('<action op="grant" id="2"><grant gt="pub" perm="rz"/></action>') == (
        "service.INVALID_REQUEST"
    )
    assert fault('<action op="grant" id="2"><grant gt="pub" perm="ra"/></action>') == (
        "mail.CANNOT_GRANT"
    )
    assert fault(f'<action op="grant" id="2"><grant gt="usr" d="{ALICE}" perm="r"/></action>') == (
        "service.PERM_DENIED"
    )
    assert fault('<action op="grant" id="2"><grant gt="grp" d="nolist" perm="r"/></action>') == (
        "account.NO_SUCH_DISTRIBUTION_LIST"
    )
    assert fault('<action op="grant" id="999"><grant gt="usr" d="bob" perm="r"/></action>') == (
        "mail.NO_SUCH_ITEM"
    )
    assert fault('<action op="grant" id="999"><grant gt="pub" perm="r"/></action>') == (
        "mail.NO_SUCH_FOLDER"
    )
    assert fault('<action op="grant" id="2"/>') == "service.INVALID_REQUEST"
    assert fault('<action op="move" id="2"/>') == "service.INVALID_REQUEST"
    assert fault('<action op="tag" id="2"/>') == "service.INVALID_REQUEST"


def test_sharing_disabled_faults(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    aid = sandbox.account(ALICE).id
    raw_admin.xml(
        f'<ModifyAccountRequest xmlns="urn:zimbraAdmin" id="{aid}"><a n="zimbraPublicSharingEnabled">FALSE</a>'
        '<a n="zimbraExternalSharingEnabled">FALSE</a></ModifyAccountRequest>'
    )
    hdr = _hdr(sandbox)
    r = raw_admin.xml(
        f'<FolderActionRequest xmlns="{MAIL}"><action op="grant" id="2"><grant gt="pub" perm="r"/></action></FolderActionRequest>',
        context=hdr,
    )
    assert r.fault_code == "service.PERM_DENIED" and "public sharing not allowed" in r.raw.decode()
    r = raw_admin.xml(
        f'<FolderActionRequest xmlns="{MAIL}"><action op="grant" id="2"><grant gt="guest" d="a@b.test" perm="r"/></action></FolderActionRequest>',
        context=hdr,
    )
    assert "external sharing not allowed" in r.raw.decode()


def test_revoke_inherit_copy_and_silence(alice: RawSoap, sandbox: Sandbox) -> None:
    _action(
        alice,
        '<action op="grant" id="1"><grant gt="guest" d="x@ext.test" pw="p" perm="r"/></action>',
    )
    _action(alice, '<action op="grant" id="1"><grant gt="pub" perm="r"/></action>')
    # Revoking on a folder that only inherits: the parent's ACL is copied, then edited there.
    out = _action(alice, f'<action op="!grant" id="2" zid="{PUBLIC}"/>')
    assert out.attrib == {"id": "2", "op": "!grant"}
    folders = _folders(alice.xml(f'<GetFolderRequest xmlns="{MAIL}"/>').body)
    assert {g["gt"] for g in _grants(folders["/"])} == {"guest", "pub"}
    assert _grants(folders["/Inbox"]) == [
        {"zid": "x@ext.test", "gt": "guest", "perm": "r", "pw": "p"}
    ]
    assert folders["/Inbox"].get("f") == "i" and folders["/Sent"].find(f"{{{MAIL}}}acl") is None
    # Guest zids compare ignoring case; an absent grantee is a silent success.
    _action(alice, '<action op="!grant" id="1" zid="X@EXT.TEST"/>')
    _action(alice, '<action op="!grant" id="1" zid="nobody@nowhere.test"/>')
    _action(alice, '<action op="!grant" id="3" zid="nobody@nowhere.test"/>')
    folders = _folders(alice.xml(f'<GetFolderRequest xmlns="{MAIL}"/>').body)
    assert _grants(folders["/"]) == [{"gt": "pub", "perm": "r"}]
    assert folders["/Trash"].find(f"{{{MAIL}}}acl") is None  # nothing removed: no copy
    r = alice.xml(
        f'<FolderActionRequest xmlns="{MAIL}"><action op="!grant" id="2"/></FolderActionRequest>'
    )
    assert r.fault_code == "service.INVALID_REQUEST"
    aid = sandbox.account(ALICE).id
    r = alice.xml(
        f'<FolderActionRequest xmlns="{MAIL}"><action op="!grant" id="2" zid="{aid}"/></FolderActionRequest>'
    )
    assert r.fault_code == "service.PERM_DENIED"
    r = alice.xml(
        f'<FolderActionRequest xmlns="{MAIL}"><action op="!grant" id="777" zid="{PUBLIC}"/></FolderActionRequest>'
    )
    assert r.fault_code == "mail.NO_SUCH_ITEM"
    # The last grant gone: an empty <acl/> on a folder that keeps its `i` flag.
    _action(alice, f'<action op="!grant" id="1" zid="{PUBLIC}"/>')
    root = _folders(alice.xml(f'<GetFolderRequest xmlns="{MAIL}"/>').body)["/"]
    assert root.find(f"{{{MAIL}}}acl") is not None and _grants(root) == []


def test_update_acl_replace_and_clear(alice: RawSoap, sandbox: Sandbox) -> None:
    bob = sandbox.account(BOB)
    _action(
        alice,
        f'<action op="update" id="5"><acl><grant gt="usr" zid="{bob.id}" perm="r"/>'
        f'<grant gt="pub" zid="{PUBLIC}" perm="r"/></acl></action>',
    )
    sent = _folders(alice.xml(f'<GetFolderRequest xmlns="{MAIL}"/>').body)["/Sent"]
    assert [g["gt"] for g in _grants(sent)] == ["usr", "pub"]
    _action(alice, '<action op="update" id="5"><acl/></action>')
    sent = _folders(alice.xml(f'<GetFolderRequest xmlns="{MAIL}"/>').body)["/Sent"]
    assert _grants(sent) == [] and sent.get("f") == "i"
    r = alice.xml(
        f'<FolderActionRequest xmlns="{MAIL}"><action op="update" id="5"><acl><grant gt="usr" perm="r"/></acl></action></FolderActionRequest>'
    )
    assert r.fault_code == "service.INVALID_REQUEST"
    r = alice.xml(
        f'<FolderActionRequest xmlns="{MAIL}"><action op="update" id="888"><acl/></action></FolderActionRequest>'
    )
    assert r.fault_code == "mail.NO_SUCH_FOLDER"


def test_revoke_orphan_grants(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    hdr = _hdr(sandbox, extra="<noqualify/>")
    mike = sandbox.account("mike@sandbox.test")
    _action(
        raw_admin,
        f'<action op="grant" id="2"><grant gt="usr" zid="{mike.id}" perm="r"/></action>',
        hdr,
    )
    r = raw_admin.xml(
        f'<FolderActionRequest xmlns="{MAIL}"><action op="revokeorphangrants" id="1" zid="{mike.id}" gt="usr"/></FolderActionRequest>',
        context=hdr,
    )
    assert r.fault_code == "service.INVALID_REQUEST" and "exists" in r.raw.decode()
    raw_admin.xml(f'<DeleteAccountRequest xmlns="urn:zimbraAdmin" id="{mike.id}"/>')
    inbox = _folders(raw_admin.xml(f'<GetFolderRequest xmlns="{MAIL}"/>', context=hdr).body)[
        "/Inbox"
    ]
    assert _grants(inbox) == [{"zid": mike.id, "gt": "usr", "perm": "r", "invalid": "1", "d": ""}]
    _action(raw_admin, f'<action op="revokeorphangrants" id="1" zid="{mike.id}" gt="usr"/>', hdr)
    inbox = _folders(raw_admin.xml(f'<GetFolderRequest xmlns="{MAIL}"/>', context=hdr).body)[
        "/Inbox"
    ]
    assert _grants(inbox) == []


def test_locked_account_admin_access_and_json(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    frank = sandbox.account("frank@sandbox.test")  # seeded locked
    status, doc = raw_admin.js(
        "FolderActionRequest",
        MAIL,
        {"action": {"op": "grant", "id": f"{frank.id}:2", "grant": {"gt": "pub", "perm": "r"}}},
        context={"account": {"by": "id", "_content": frank.id}},
    )
    assert status == 200, doc
    assert doc["Body"]["FolderActionResponse"]["action"][0]["id"] == f"{frank.id}:2"
    status, doc = raw_admin.js(
        "FolderActionRequest",
        MAIL,
        {"action": {"op": "grant", "id": "2", "grant": {"gt": "pub", "perm": "r"}}},
        context={"account": {"by": "id", "_content": frank.id}},
    )
    assert js_fault_code(doc) == "mail.GRANT_EXISTS"


def test_create_folder(alice: RawSoap, raw_admin: RawSoap, sandbox: Sandbox) -> None:
    r = alice.xml(
        f'<CreateFolderRequest xmlns="{MAIL}"><folder name="Clients" l="1" view="message"/></CreateFolderRequest>'
    )
    made = r.find(F)
    assert made is not None and made.get("absFolderPath") == "/Clients" and made.get("l") == "1"
    assert int(made.get("id") or 0) >= 256
    r = alice.xml(
        f'<CreateFolderRequest xmlns="{MAIL}"><folder name="clients" l="1"/></CreateFolderRequest>'
    )
    assert r.fault_code == "mail.ALREADY_EXISTS"
    again = alice.xml(
        f'<CreateFolderRequest xmlns="{MAIL}"><folder name="clients" l="1" fie="1"/></CreateFolderRequest>'
    ).find(F)
    assert again is not None and again.get("id") == made.get("id")
    deep = alice.xml(
        f'<CreateFolderRequest xmlns="{MAIL}"><folder name="/Clients/Acme/2024"/></CreateFolderRequest>'
    ).find(F)
    assert deep is not None and deep.get("absFolderPath") == "/Clients/Acme/2024"
    r = alice.xml(
        f'<CreateFolderRequest xmlns="{MAIL}"><folder name="a:b" l="1"/></CreateFolderRequest>'
    )
    assert r.fault_code == "mail.INVALID_NAME"
    r = alice.xml(
        f'<CreateFolderRequest xmlns="{MAIL}"><folder name="x" l="999"/></CreateFolderRequest>'
    )
    assert r.fault_code == "mail.NO_SUCH_FOLDER"
    # With an ACL, and delegated (qualified ids back).
    aid = sandbox.account(ALICE).id
    r = raw_admin.xml(
        f'<CreateFolderRequest xmlns="{MAIL}"><folder name="Shared" l="{aid}:1"><acl><grant gt="pub" zid="{PUBLIC}" perm="r"/></acl></folder></CreateFolderRequest>',
        context=_hdr(sandbox),
    )
    shared = r.find(F)
    assert shared is not None and shared.get("id", "").startswith(f"{aid}:")
    assert _grants(shared) == [{"gt": "pub", "perm": "r"}] and shared.get("f") == "i"
