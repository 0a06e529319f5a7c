"""The SOAP shapes of shares, rights, data sources and devices: built as Zimbra's handlers read
them, parsed from replies in Zimbra's own form, secrets dropped on the way in."""

from __future__ import annotations

from lxml import etree

from zcomp.zimbra import operations as rq
from zcomp.zimbra.access import AUTHUSER_ID, PUBLIC_ID, AccountRight, FolderGrant
from zcomp.zimbra.build import build
from zcomp.zimbra.parse import parse

ACCT = "6b1d6c2e-0000-4000-8000-000000000001"
FOLDERS = f"""<GetFolderResponse xmlns="urn:zimbraMail">
  <folder id="{ACCT}:1" name="USER_ROOT" absFolderPath="/" l="{ACCT}:11">
    <folder id="{ACCT}:2" name="Inbox" absFolderPath="/Inbox" view="message" f="i">
      <acl guestGrantExpiry="0">
        <grant gt="pub" perm="r"/>
        <grant gt="guest" zid="crook@freemail.test" perm="r" pw="Sh4red-secret"/>
        <grant gt="key" zid="partners" d="partners" perm="r" key="0123456789abcdef"/>
        <grant gt="all" perm="r"/>
        <grant gt="usr" zid="bob-id" d="bob@example.org" perm="rwidx" expiry="1893456000000"/>
      </acl>
      <folder id="{ACCT}:257" name="Sub" absFolderPath="/Inbox/Sub" view="message"/>
    </folder>
    <link id="{ACCT}:300" name="Bob's" absFolderPath="/Bob's" view="message"/>
  </folder>
</GetFolderResponse>"""


def test_folder_tree_flattened_with_plain_ids_and_no_secret() -> None:
    folders = parse(rq.GetFolders(), etree.fromstring(FOLDERS))
    assert [(f.id, f.path) for f in folders] == [("1", "/"), ("2", "/Inbox"), ("257", "/Inbox/Sub")]
    inbox = folders[1]
    assert [g.grantee_id for g in inbox.grants] == [
        PUBLIC_ID,  # GetFolder leaves zid out for pub and all: !grant needs the fixed ids
        "crook@freemail.test",
        "partners",
        AUTHUSER_ID,
        "bob-id",
    ]
    assert [g.secret for g in inbox.grants] == [False, True, True, False, False]
    assert inbox.grants[4] == FolderGrant(
        "usr", "bob-id", "bob@example.org", "rwidx", 1893456000000
    )
    assert folders[0].grants == () and folders[2].grants == ()  # inherited: no <acl> of their own
    text = repr(folders)
    assert "Sh4red-secret" not in text and "0123456789abcdef" not in text


def test_revoke_and_grant_shapes() -> None:
    revoke = etree.tostring(build(rq.RevokeFolderGrant("2", PUBLIC_ID))).decode()
    assert revoke == (
        '<FolderActionRequest xmlns="urn:zimbraMail">'
        f'<action op="!grant" id="2" zid="{PUBLIC_ID}"/></FolderActionRequest>'
    )
    grant = etree.tostring(build(rq.GrantFolder("2", FolderGrant("pub", PUBLIC_ID, "", "r"))))
    assert b'<grant gt="pub" perm="r"/>' in grant  # Zimbra sets the id of pub itself
    gst = AccountRight("sendAs", "gst", "crook@freemail.test", "crook@freemail.test")
    revoked = etree.tostring(build(rq.RevokeRights((gst,)))).decode()
    assert 'pw="-"' in revoked  # GrantRights.handleACE reads pw even to revoke; not compared


def test_data_sources_keep_no_credentials() -> None:
    reply = etree.fromstring(
        """<GetDataSourcesResponse xmlns="urn:zimbraMail">
             <imap id="ds1" name="drop" l="1" isEnabled="1" host="imap.freemail.test" port="993"
                   username="crook" connectionType="ssl" refreshToken="1//oauth-refresh"/>
             <rss id="ds2" name="news" l="260" isEnabled="0"><lastError>timeout</lastError></rss>
           </GetDataSourcesResponse>"""
    )
    drop, news = parse(rq.GetDataSources(), reply)
    assert (drop.kind, drop.id, drop.name, drop.host, drop.enabled) == (
        "imap",
        "ds1",
        "drop",
        "imap.freemail.test",
        True,
    )
    assert "refreshToken" not in drop.attrs
    assert news.attrs["lastError"] == "timeout" and not news.enabled
    off = etree.tostring(build(rq.ModifyDataSource("imap", "ds1", {"isEnabled": "0"}))).decode()
    assert off == (
        '<ModifyDataSourceRequest xmlns="urn:zimbraMail"><imap id="ds1" isEnabled="0"/>'
        "</ModifyDataSourceRequest>"
    )


def test_network_edition_replies() -> None:
    apps = parse(
        rq.GetAppSpecificPasswords(),
        etree.fromstring(
            '<GetAppSpecificPasswordsResponse xmlns="urn:zimbraAccount"><appSpecificPasswords>'
            '<passwordData appName="Outlook" created="1700000000000" lastUsed="0"/>'
            "</appSpecificPasswords><maxAppPasswords>10</maxAppPasswords>"
            "</GetAppSpecificPasswordsResponse>"
        ),
    )
    assert [(a.name, a.created_ms) for a in apps] == [("Outlook", 1700000000000)]
    devices = parse(
        rq.GetDeviceStatus(),
        etree.fromstring(
            '<GetDeviceStatusResponse xmlns="urn:zimbraSync"><device id="D1" type="iPhone"'
            ' ua="Apple-iPhone" protocol="16.1"><provisionable>1</provisionable>'
            "<status>1</status><firstReqReceived>1700000000</firstReqReceived>"
            "<recoveryPassword>r3cov3ry</recoveryPassword></device></GetDeviceStatusResponse>"
        ),
    )
    assert [(d.id, d.type, d.status) for d in devices] == [("D1", "iPhone", 1)]
    assert "r3cov3ry" not in repr(devices)
    version = parse(
        rq.GetVersionInfo(),
        etree.fromstring(
            '<GetVersionInfoResponse xmlns="urn:zimbraAdmin"><info type="NETWORK"'
            ' version="10.1.0_GA_4655.NETWORK"/></GetVersionInfoResponse>'
        ),
    )
    assert version.network
