# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""The attack replay also plants shares, a sendAs right and (on NE) an app password."""

from __future__ import annotations

import base64
import http.client
from urllib.parse import urlsplit

from tests.sandbox.rawsoap import ACCOUNT, MAIL, RawSoap
from zcomp.sandbox import Sandbox, SandboxOptions, replay_attack

ALICE = "alice@sandbox.test"


def _status(sb: Sandbox, path: str, auth: tuple[str, str] | None = None) -> int:
    parts = urlsplit(sb.urls[0])
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    headers = {}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_attack_plants_shares_and_right(sandbox2: Sandbox) -> None:
    report = replay_attack(sandbox2)
    assert (report.public_folder, report.guest_folder) == ("/Inbox", "/Sent")
    assert report.accomplice == "victor@sandbox.test" and report.guest_password
    assert report.app_password_name == "" and report.app_password == ""  # FOSS
    c = RawSoap(sandbox2.admin_url)
    try:
        c.admin_login()
        hdr = f'<account by="id">{sandbox2.account(ALICE).id}</account><noqualify/>'
        folders = c.xml(f'<GetFolderRequest xmlns="{MAIL}"/>', context=hdr)
        by_path = {f.get("absFolderPath"): f for f in folders.body.iter(f"{{{MAIL}}}folder")}
        inbox = [dict(g.attrib) for g in by_path["/Inbox"].iter(f"{{{MAIL}}}grant")]
        sent = [dict(g.attrib) for g in by_path["/Sent"].iter(f"{{{MAIL}}}grant")]
        assert inbox == [{"gt": "pub", "perm": "r"}]
        assert sent == [
            {"zid": report.freemail, "gt": "guest", "perm": "r", "pw": report.guest_password}
        ]
        aces = c.xml(f'<GetRightsRequest xmlns="{ACCOUNT}"/>', context=hdr).findall(
            f"{{{ACCOUNT}}}ace"
        )
        assert [(a.get("right"), a.get("d")) for a in aces] == [("sendAs", report.accomplice)]
    finally:
        c.close()
    # The shares work over HTTP for anyone / for the attacker's freemail guest.
    assert _status(sandbox2, f"/service/home/{ALICE}/Inbox?fmt=rss") == 200
    assert (
        _status(
            sandbox2,
            f"/service/home/{ALICE}/Sent?fmt=rss",
            (report.freemail, report.guest_password),
        )
        == 200
    )


def test_attack_on_network_creates_app_password() -> None:
    with Sandbox(SandboxOptions(edition="network")) as sb:
        report = replay_attack(sb, accomplice="quinn@sandbox.test")
        assert report.accomplice == "quinn@sandbox.test"
        assert report.app_password_name and len(report.app_password) == 16
        c = RawSoap(sb.admin_url)
        try:
            c.admin_login()
            hdr = f'<account by="id">{sb.account(ALICE).id}</account>'
            r = c.xml(f'<GetAppSpecificPasswordsRequest xmlns="{ACCOUNT}"/>', context=hdr)
            names = [p.get("appName") for p in r.findall(f".//{{{ACCOUNT}}}passwordData")]
            assert names == [report.app_password_name]
        finally:
            c.close()
