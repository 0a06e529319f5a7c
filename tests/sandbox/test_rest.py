# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""The public/guest REST servlet: GET /service/home/{account}/{folder}[?fmt=] (§8)."""

from __future__ import annotations

import base64
import http.client
import json
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from tests.sandbox.rawsoap import ADMIN, MAIL, RawSoap, token_of
from zcomp.sandbox import Sandbox, demo_password

ALICE, BOB = "alice@sandbox.test", "bob@sandbox.test"
PUBLIC = "99999999-9999-9999-9999-999999999999"


def _get(
    sb: Sandbox,
    path: str,
    *,
    user: str | None = None,
    password: str = "",
    cookie: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(sb.urls[0])
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    headers: dict[str, str] = {}
    if user is not None:
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        )
    if cookie is not None:
        headers["Cookie"] = f"ZM_AUTH_TOKEN={cookie}"
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _grant(c: RawSoap, folder: str, grant: str, context: str = "") -> None:
    r = c.xml(
        f'<FolderActionRequest xmlns="{MAIL}"><action op="grant" id="{folder}">{grant}</action></FolderActionRequest>',
        context=context,
    )
    assert r.status == 200, r.raw


def _alice(sb: Sandbox) -> RawSoap:
    c = RawSoap(sb.user_url())
    c.token = token_of(c.user_login(ALICE, demo_password(ALICE)))
    return c


def test_anonymous_public_share(sandbox: Sandbox) -> None:
    status, headers, _ = _get(sandbox, f"/service/home/{ALICE}/Inbox?fmt=rss")
    assert status == 401 and headers["www-authenticate"] == 'BASIC realm="Zimbra"'
    c = _alice(sandbox)
    try:
        _grant(c, "2", '<grant gt="pub" perm="r"/>')
        status, headers, body = _get(sandbox, f"/service/home/{ALICE}/Inbox?fmt=rss")
        assert status == 200 and headers["content-type"] == "application/rss+xml"
        rss = ET.fromstring(body)  # noqa: S314 - our own test server
        titles = [t.text for t in rss.iter("title")]
        assert titles[0] == "Zimbra /Inbox" and len(titles) >= 3
        status, headers, body = _get(sandbox, f"/home/{ALICE}/inbox?fmt=xml")
        assert status == 200 and headers["content-type"] == "text/xml"
        items = ET.fromstring(body)  # noqa: S314
        assert items.tag == "items" and items.find("m/su") is not None
        status, headers, body = _get(sandbox, f"/service/home/{ALICE}/Inbox?fmt=json")
        assert status == 200 and json.loads(body)["m"][0]["su"]
        # No fmt on a mail folder: the native formatter cannot render a folder.
        assert _get(sandbox, f"/service/home/{ALICE}/Inbox")[0] == 501
        # Inherited by nothing: Sent has no grant.
        assert _get(sandbox, f"/service/home/{ALICE}/Sent?fmt=rss")[0] == 401
        # A public grant on USER_ROOT flows to every folder without its own ACL.
        _grant(c, "1", '<grant gt="pub" perm="r"/>')
        assert _get(sandbox, f"/service/home/{ALICE}/Sent?fmt=rss")[0] == 200
        assert _get(sandbox, f"/service/home/{ALICE}/Projects?fmt=rss")[0] == 401  # own ACL
        # Revoked: back to 401.
        r = c.xml(
            f'<FolderActionRequest xmlns="{MAIL}"><action op="!grant" id="2" zid="{PUBLIC}"/></FolderActionRequest>'
        )
        assert r.status == 200
        assert _get(sandbox, f"/service/home/{ALICE}/Inbox?fmt=rss")[0] == 401
        assert _get(sandbox, f"/service/home/{ALICE}/Nope?fmt=rss")[0] == 401
        assert _get(sandbox, "/service/home/nobody@sandbox.test/Inbox?fmt=rss")[0] == 401
    finally:
        c.close()


def test_guest_basic_auth(sandbox: Sandbox) -> None:
    c = _alice(sandbox)
    try:
        _grant(c, "5", '<grant gt="guest" d="drop@freemail.test" args="Gu3st-pw" perm="r"/>')
        path = f"/service/home/{ALICE}/Sent?fmt=rss"
        assert _get(sandbox, path, user="Drop@Freemail.test", password="Gu3st-pw")[0] == 200
        status, headers, _ = _get(sandbox, path, user="drop@freemail.test", password="wrong")
        assert status == 401 and "www-authenticate" in headers
        assert (
            _get(
                sandbox,
                f"/service/home/{ALICE}/Inbox?fmt=rss",
                user="drop@freemail.test",
                password="Gu3st-pw",
            )[0]
            == 401
        )
        # A guest grant without a password never matches a guest.
        _grant(c, "4", '<grant gt="guest" d="nopw@freemail.test" perm="r"/>')
        assert (
            _get(sandbox, f"/service/home/{ALICE}/Junk?fmt=xml", user="nopw@freemail.test")[0]
            == 401
        )
        r = c.xml(
            f'<FolderActionRequest xmlns="{MAIL}"><action op="!grant" id="5" zid="DROP@freemail.test"/></FolderActionRequest>'
        )
        assert r.status == 200
        assert _get(sandbox, path, user="drop@freemail.test", password="Gu3st-pw")[0] == 401
    finally:
        c.close()


def test_expired_grant(sandbox: Sandbox) -> None:
    c = _alice(sandbox)
    try:
        past = sandbox.clock.now_ms() - 1000
        _grant(
            c, "6", f'<grant gt="guest" d="old@freemail.test" args="pw" perm="r" expiry="{past}"/>'
        )
        assert (
            _get(
                sandbox,
                f"/service/home/{ALICE}/Drafts?fmt=xml",
                user="old@freemail.test",
                password="pw",
            )[0]
            == 401
        )
    finally:
        c.close()


def test_zimbra_users(sandbox: Sandbox) -> None:
    # Bob reads alice's Projects (usr grant) by Basic, by cookie and by ?zauthtoken=.
    path = f"/service/home/{ALICE}/Projects?fmt=json"
    assert _get(sandbox, path, user=BOB, password=demo_password(BOB))[0] == 200
    b = RawSoap(sandbox.user_url())
    try:
        tok = token_of(b.user_login(BOB, demo_password(BOB)))
    finally:
        b.close()
    assert _get(sandbox, path, cookie=tok)[0] == 200
    assert _get(sandbox, path + f"&zauthtoken={tok}")[0] == 200
    # No access for an authenticated Zimbra user: 404, no challenge.
    status, headers, _ = _get(sandbox, f"/service/home/{ALICE}/Inbox?fmt=rss", cookie=tok)
    assert status == 404 and "www-authenticate" not in headers
    assert (
        _get(
            sandbox, f"/service/home/{ALICE}/Inbox?fmt=rss", user=BOB, password=demo_password(BOB)
        )[0]
        == 404
    )
    # The owner reads everything of her own, including through "~".
    assert (
        _get(
            sandbox,
            f"/service/home/{ALICE}/Inbox?fmt=rss",
            user=ALICE,
            password=demo_password(ALICE),
        )[0]
        == 200
    )
    assert (
        _get(sandbox, "/service/home/~/Inbox?fmt=xml", user=ALICE, password=demo_password(ALICE))[0]
        == 200
    )
    assert _get(sandbox, "/service/home/~/Inbox?fmt=xml")[0] == 401
    assert _get(sandbox, path, cookie="garbage")[0] == 401
    assert _get(sandbox, f"/service/home/{ALICE}/Inbox?fmt=bogus")[0] == 400
    assert _get(sandbox, "/service/other")[0] == 404


def test_locked_account_cuts_public_and_guest_access(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    hdr = f'<account by="id">{alice.id}</account>'
    _grant(raw_admin, "2", '<grant gt="pub" perm="r"/>', hdr)
    _grant(raw_admin, "5", '<grant gt="guest" d="drop@freemail.test" args="pw" perm="r"/>', hdr)
    _grant(raw_admin, "3", '<grant gt="usr" d="bob" perm="r"/>', hdr)
    assert _get(sandbox, f"/service/home/{ALICE}/Inbox?fmt=rss")[0] == 200
    r = raw_admin.xml(
        f'<ModifyAccountRequest xmlns="{ADMIN}" id="{alice.id}"><a n="zimbraAccountStatus">locked</a></ModifyAccountRequest>'
    )
    assert r.status == 200
    status, headers, _ = _get(sandbox, f"/service/home/{ALICE}/Inbox?fmt=rss")
    assert status == 401 and "www-authenticate" in headers
    assert (
        _get(
            sandbox, f"/service/home/{ALICE}/Sent?fmt=rss", user="drop@freemail.test", password="pw"
        )[0]
        == 401
    )
    assert (
        _get(
            sandbox, f"/service/home/{ALICE}/Trash?fmt=rss", user=BOB, password=demo_password(BOB)
        )[0]
        == 404
    )
    # The global admin's delegated GetFolder still shows (and can revoke) the grants.
    folders = raw_admin.xml(f'<GetFolderRequest xmlns="{MAIL}"/>', context=hdr + "<noqualify/>")
    assert folders.status == 200
    grants = [g.get("gt") for g in folders.body.iter(f"{{{MAIL}}}grant")]
    assert "pub" in grants and "guest" in grants
