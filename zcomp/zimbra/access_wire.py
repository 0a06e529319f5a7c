"""The SOAP shapes of the requests in zcomp.zimbra.access: shares, rights, data sources, and
Network Edition's app-specific passwords, trusted devices and mobile devices.

Shapes per Zimbra's handlers (store/src/java/com/zimbra/cs/service/{mail,account}/) and JAXB
classes; sync requests in urn:zimbraSync. Registered with zcomp.zimbra.build and .parse.

Secrets Zimbra hands back are dropped here, never passed on: a guest grant's password (`pw`),
an access key (`key`), a data source's OAuth refresh token.
"""

from __future__ import annotations

from zcomp.zimbra import operations as rq
from zcomp.zimbra.access import (
    ALL,
    AUTHUSER_ID,
    PUBLIC,
    PUBLIC_ID,
    AccountRight,
    AppPassword,
    DataSource,
    Folder,
    FolderGrant,
    MobileDevice,
    TrustedDevices,
    VersionInfo,
)
from zcomp.zimbra.build import _builds
from zcomp.zimbra.ns import ACCOUNT, ADMIN, MAIL, Element, child, children, el, flag, local, sub
from zcomp.zimbra.parse import _int, _parses

SYNC = "urn:zimbraSync"

# Element names GetDataSources uses, one per type (ToXML.getDsType).
DATA_SOURCE_TYPES = ("pop3", "imap", "caldav", "yab", "rss", "gal", "cal", "unknown")
# Attributes of a data source that are credentials: never kept (Zimbra returns the refresh
# token in clear; the others it withholds, but a newer server might not).
_DATA_SOURCE_SECRETS = frozenset(
    {"password", "refreshToken", "smtpPassword", "oauthToken", "clientSecret"}
)
# The id attributes we read ourselves (not kept among the other attributes).
_DATA_SOURCE_IDS = frozenset({"id", "name"})


def plain_id(value: str) -> str:
    """A folder id as Zimbra qualifies it for another mailbox ("{accountId}:{id}") -> "id"."""
    return value.rpartition(":")[2]


def grantee_id(grant_type: str, zid: str | None) -> str:
    """GetFolder leaves out zid for `all` and `pub`; !grant needs Zimbra's fixed ids for them."""
    if grant_type == PUBLIC:
        return PUBLIC_ID
    if grant_type == ALL:
        return AUTHUSER_ID
    return zid or ""


# ---------------------------------------------------------------- version


@_builds(rq.GetVersionInfo)
def _get_version_info(r: rq.GetVersionInfo) -> Element:
    return el(ADMIN, "GetVersionInfoRequest")


@_parses(rq.GetVersionInfo)
def _version_info(r: rq.GetVersionInfo, body: Element) -> VersionInfo:
    info = child(body, "info")
    if info is None:
        return VersionInfo(version="")
    return VersionInfo(version=info.get("version", ""), type=info.get("type", ""))


# ---------------------------------------------------------------- folders and their grants


@_builds(rq.GetFolders)
def _get_folders(r: rq.GetFolders) -> Element:
    # No <folder>: the tree from USER_ROOT, every depth; grantee names resolved.
    return el(MAIL, "GetFolderRequest", {"needGranteeName": "1"})


def _grant(node: Element) -> FolderGrant:
    kind = node.get("gt", "")
    return FolderGrant(
        grantee_type=kind,
        grantee_id=grantee_id(kind, node.get("zid")),
        grantee_name=node.get("d", ""),
        perm=node.get("perm", ""),
        expiry_ms=_int(node.get("expiry")),
        secret=bool(node.get("pw") or node.get("key")),
    )


def _walk(node: Element, parent_path: str, out: list[Folder]) -> None:
    name = node.get("name", "")
    folder_id = plain_id(node.get("id", ""))
    path = node.get("absFolderPath") or (
        "/" if folder_id == "1" else f"{parent_path.rstrip('/')}/{name}"
    )
    acl = child(node, "acl")
    grants = tuple(_grant(g) for g in children(acl, "grant")) if acl is not None else ()
    out.append(Folder(id=folder_id, path=path, view=node.get("view", ""), grants=grants))
    # Mountpoints (<link>) are other people's folders: their grants are not this mailbox's.
    for sub_folder in children(node, "folder"):
        _walk(sub_folder, path, out)


@_parses(rq.GetFolders)
def _folders(r: rq.GetFolders, body: Element) -> list[Folder]:
    out: list[Folder] = []
    for top in children(body, "folder"):
        _walk(top, "", out)
    return out


@_builds(rq.GrantFolder)
def _grant_folder(r: rq.GrantFolder) -> Element:
    body = el(MAIL, "FolderActionRequest")
    action = sub(body, MAIL, "action", {"op": "grant", "id": r.folder_id})
    g = r.grant
    attrs = {"gt": g.grantee_type, "perm": g.perm}
    if g.grantee_type not in (PUBLIC, ALL):
        if g.grantee_id:
            attrs["zid"] = g.grantee_id
        if g.grantee_name:
            attrs["d"] = g.grantee_name
    if g.expiry_ms:
        attrs["expiry"] = str(g.expiry_ms)
    sub(action, MAIL, "grant", attrs)
    return body


@_builds(rq.RevokeFolderGrant)
def _revoke_folder_grant(r: rq.RevokeFolderGrant) -> Element:
    body = el(MAIL, "FolderActionRequest")
    sub(body, MAIL, "action", {"op": "!grant", "id": r.folder_id, "zid": r.grantee_id})
    return body


# ---------------------------------------------------------------- rights on the account


def _ace(node: Element) -> AccountRight:
    return AccountRight(
        right=node.get("right", ""),
        grantee_type=node.get("gt", ""),
        grantee_id=node.get("zid", ""),
        grantee_name=node.get("d", ""),
        deny=flag(node.get("deny")),
        secret=bool(node.get("pw") or node.get("key")),
    )


@_builds(rq.GetRights)
def _get_rights(r: rq.GetRights) -> Element:
    return el(ACCOUNT, "GetRightsRequest")  # no <ace>: every ACE on the account


@_parses(rq.GetRights)
def _rights(r: rq.GetRights, body: Element) -> list[AccountRight]:
    return [_ace(a) for a in children(body, "ace")]


def _ace_attrs(right: AccountRight, *, revoke: bool) -> dict[str, str]:
    attrs = {"right": right.right, "gt": right.grantee_type}
    if right.grantee_id:
        attrs["zid"] = right.grantee_id
    if right.grantee_name:
        attrs["d"] = right.grantee_name
    if right.deny:
        attrs["deny"] = "1"
    if revoke and right.grantee_type == "gst":
        # GrantRights.handleACE reads pw as required even when revoking; it is not compared.
        attrs["pw"] = "-"
    return attrs


@_builds(rq.GrantRights)
def _grant_rights(r: rq.GrantRights) -> Element:
    body = el(ACCOUNT, "GrantRightsRequest")
    for right in r.rights:
        sub(body, ACCOUNT, "ace", _ace_attrs(right, revoke=False))
    return body


@_builds(rq.RevokeRights)
def _revoke_rights(r: rq.RevokeRights) -> Element:
    body = el(ACCOUNT, "RevokeRightsRequest")
    for right in r.rights:
        sub(body, ACCOUNT, "ace", _ace_attrs(right, revoke=True))
    return body


# ---------------------------------------------------------------- data sources


@_builds(rq.GetDataSources)
def _get_data_sources(r: rq.GetDataSources) -> Element:
    return el(MAIL, "GetDataSourcesRequest")


@_parses(rq.GetDataSources)
def _data_sources(r: rq.GetDataSources, body: Element) -> list[DataSource]:
    out: list[DataSource] = []
    for node in children(body):
        kind = local(node)
        if kind not in DATA_SOURCE_TYPES:
            continue
        attrs = {
            str(k): str(v)
            for k, v in node.attrib.items()
            if k not in _DATA_SOURCE_SECRETS and k not in _DATA_SOURCE_IDS
        }
        error = child(node, "lastError")
        if error is not None and error.text:
            attrs["lastError"] = error.text
        out.append(DataSource(kind, node.get("id", ""), node.get("name", ""), attrs))
    return out


@_builds(rq.ModifyDataSource)
def _modify_data_source(r: rq.ModifyDataSource) -> Element:
    body = el(MAIL, "ModifyDataSourceRequest")
    # The element name must be the source's own type (ModifyDataSource refuses "dsrc").
    sub(body, MAIL, r.kind, {"id": r.id, **dict(r.attrs)})
    return body


# ---------------------------------------------------------------- Network Edition


@_builds(rq.GetAppSpecificPasswords)
def _get_app_passwords(r: rq.GetAppSpecificPasswords) -> Element:
    return el(ACCOUNT, "GetAppSpecificPasswordsRequest")


@_parses(rq.GetAppSpecificPasswords)
def _app_passwords(r: rq.GetAppSpecificPasswords, body: Element) -> list[AppPassword]:
    holder = child(body, "appSpecificPasswords")
    nodes = children(holder, "passwordData") if holder is not None else []
    return [
        AppPassword(
            name=n.get("appName", ""),
            created_ms=_int(n.get("created")),
            last_used_ms=_int(n.get("lastUsed")),
        )
        for n in nodes
    ]


@_builds(rq.RevokeAppSpecificPassword)
def _revoke_app_password(r: rq.RevokeAppSpecificPassword) -> Element:
    return el(ACCOUNT, "RevokeAppSpecificPasswordRequest", {"appName": r.name})


@_builds(rq.GetTrustedDevices)
def _get_trusted(r: rq.GetTrustedDevices) -> Element:
    return el(ACCOUNT, "GetTrustedDevicesRequest")


@_parses(rq.GetTrustedDevices)
def _trusted(r: rq.GetTrustedDevices, body: Element) -> TrustedDevices:
    return TrustedDevices(
        others=_int(body.get("nOtherDevices")), this_device=flag(body.get("thisDeviceTrusted"))
    )


@_builds(rq.RevokeOtherTrustedDevices)
def _revoke_trusted(r: rq.RevokeOtherTrustedDevices) -> Element:
    return el(ACCOUNT, "RevokeOtherTrustedDevicesRequest")


@_builds(rq.GetDeviceStatus)
def _get_devices(r: rq.GetDeviceStatus) -> Element:
    return el(SYNC, "GetDeviceStatusRequest")


def _text(node: Element, tag: str) -> str:
    found = child(node, tag)
    return (found.text or "") if found is not None else ""


@_parses(rq.GetDeviceStatus)
def _devices(r: rq.GetDeviceStatus, body: Element) -> list[MobileDevice]:
    out: list[MobileDevice] = []
    for node in children(body, "device"):
        extra = {
            k: str(v)
            for k, v in node.attrib.items()
            if k in ("friendly_name", "os", "os_language", "imei", "phone_number")
        }
        out.append(
            MobileDevice(
                id=node.get("id", ""),
                type=node.get("type", ""),
                user_agent=node.get("ua", ""),
                protocol=node.get("protocol", ""),
                model=node.get("model", ""),
                status=_int(_text(node, "status")),
                last_used=_text(node, "lastUsedDate"),
                attrs=extra,
            )
        )
    return out


def _device_op(name: str, device_id: str) -> Element:
    body = el(SYNC, name)
    sub(body, SYNC, "device", {"id": device_id})
    return body


@_builds(rq.SuspendDevice)
def _suspend_device(r: rq.SuspendDevice) -> Element:
    return _device_op("SuspendDeviceRequest", r.id)


@_builds(rq.ResumeDevice)
def _resume_device(r: rq.ResumeDevice) -> Element:
    return _device_op("ResumeDeviceRequest", r.id)
