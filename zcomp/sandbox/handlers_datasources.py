"""urn:zimbraMail data sources: Get / Create / Modify / DeleteDataSource.

Handlers: store/.../service/mail/GetDataSources.java, CreateDataSource.java,
ModifyDataSource.java, DeleteDataSource.java; encoding mail ToXML.encodeDataSource. Data sources
are LDAP child entries of the account; the password is stored and never returned.
"""

from __future__ import annotations

import uuid

from zcomp.sandbox.common import duration_ms, require_options
from zcomp.sandbox.directory import AccountEntry, ChildEntry
from zcomp.sandbox.element import NS_MAIL, El, get_bool
from zcomp.sandbox.engine import RequestContext, handler
from zcomp.sandbox.faults import SoapFault, invalid_request, missing_attr
from zcomp.sandbox.mailbox import ID_USER_ROOT

M = NS_MAIL
P = "zimbraDataSource"

# soap/.../admin/type/DataSourceType.java, in declaration order (the fault lists them so).
DS_TYPES = (
    "pop3",
    "imap",
    "caldav",
    "contacts",
    "yab",
    "rss",
    "cal",
    "gal",
    "xsync",
    "tagmap",
    "unknown",
    "oauth2contact",
    "oauth2calendar",
    "oauth2caldav",
    "oauth2noop",
)
_ELEMENT = {"pop3", "imap", "caldav", "yab", "rss", "gal", "cal"}  # ToXML.getDsType; else unknown
# DataSourceManager.getDefaultImportClass
_IMPORT_CLASS = {
    "caldav": "com.zimbra.cs.datasource.CalDavDataImport",
    "gal": "com.zimbra.cs.gal.GalImport",
}
# Request attribute -> LDAP attribute, for the plain string ones (CreateDataSource /
# ModifyDataSource.processCommonOptionalAttrs).
_STRINGS = {
    "host": f"{P}Host",
    "port": f"{P}Port",
    "connectionType": f"{P}ConnectionType",
    "username": f"{P}Username",
    "password": f"{P}Password",
    "refreshToken": f"{P}OAuthRefreshToken",
    "refreshTokenUrl": f"{P}OAuthRefreshTokenUrl",
    "oauthToken": f"{P}OAuthToken",
    "clientId": f"{P}OAuthClientId",
    "clientSecret": f"{P}OAuthClientSecret",
    "smtpHost": f"{P}SmtpHost",
    "smtpPort": f"{P}SmtpPort",
    "smtpConnectionType": f"{P}SmtpConnectionType",
    "smtpUsername": f"{P}SmtpAuthUsername",
    "smtpPassword": f"{P}SmtpAuthPassword",
    "emailAddress": f"{P}EmailAddress",
    "defaultSignature": "zimbraPrefDefaultSignatureId",
    "forwardReplySignature": "zimbraPrefForwardReplySignatureId",
    "fromDisplay": "zimbraPrefFromDisplay",
    "replyToAddress": "zimbraPrefReplyToAddress",
    "replyToDisplay": "zimbraPrefReplyToDisplay",
    "pollingInterval": f"{P}PollingInterval",
}
_BOOLS = {
    "isEnabled": f"{P}Enabled",
    "importOnly": f"{P}ImportOnly",
    "leaveOnServer": f"{P}LeaveOnServer",
    "smtpEnabled": f"{P}SmtpEnabled",
    "smtpAuthRequired": f"{P}SmtpAuthRequired",
    "useAddressForForwardReply": f"{P}UseAddressForForwardReply",
}


def _ldap_bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def _one(ds: ChildEntry, attr: str) -> str | None:
    values = ds.attrs.get(attr)
    return values[0] if values else None


def _bool(ds: ChildEntry, attr: str) -> str:
    return "1" if (_one(ds, attr) or "FALSE").upper() == "TRUE" else "0"


def encode(parent: El, ds: ChildEntry) -> El:
    """mail ToXML.encodeDataSource; passwords, OAuth token and client secret never appear."""
    dtype = _one(ds, f"{P}Type") or "unknown"
    el = parent.add(dtype if dtype in _ELEMENT else "unknown")
    a = el.attrs
    a["id"] = ds.id
    a["name"] = ds.name
    a["l"] = _one(ds, f"{P}FolderId") or ""
    a["isEnabled"] = _bool(ds, f"{P}Enabled")
    a["importOnly"] = _bool(ds, f"{P}ImportOnly")
    if dtype == "pop3":
        a["leaveOnServer"] = "1" if _one(ds, f"{P}LeaveOnServer") != "FALSE" else "0"
    for key in ("host", "port", "connectionType", "username"):
        if (v := _one(ds, _STRINGS[key])) is not None:
            a[key] = v
    interval = duration_ms(_one(ds, f"{P}PollingInterval") or "0")
    if interval > 0:
        a["pollingInterval"] = str(interval)
    if _one(ds, f"{P}SmtpEnabled") is not None:
        a["smtpEnabled"] = _bool(ds, f"{P}SmtpEnabled")
    for key in ("smtpHost", "smtpPort"):
        if (v := _one(ds, _STRINGS[key])) is not None:
            a[key] = v
    if (ct := _one(ds, f"{P}SmtpConnectionType")) is not None:
        a["smtpConnectionType"] = "ssl" if ct == "ssl" else "cleartext"
    if _one(ds, f"{P}SmtpAuthRequired") is not None:
        a["smtpAuthRequired"] = _bool(ds, f"{P}SmtpAuthRequired")
    if (v := _one(ds, f"{P}SmtpAuthUsername")) is not None:
        a["smtpUsername"] = v
    if (v := _one(ds, f"{P}ImportClassName")) is not None:
        a["importClass"] = v
    for key in ("refreshToken", "refreshTokenUrl", "emailAddress"):
        if (v := _one(ds, _STRINGS[key])) is not None:
            a[key] = v
    a["useAddressForForwardReply"] = _bool(ds, f"{P}UseAddressForForwardReply")
    for key in ("defaultSignature", "forwardReplySignature", "fromDisplay"):
        if (v := _one(ds, _STRINGS[key])) is not None:
            a[key] = v
    for key in ("replyToAddress", "replyToDisplay"):
        if (v := _one(ds, _STRINGS[key])) is not None:
            a[key] = v
    if (since := _one(ds, f"{P}FailingSince")) is not None:
        a["failingSince"] = since
    if (err := _one(ds, f"{P}LastError")) is not None:
        el.add("lastError", text=err)
    return el


def _ds_element(req: El) -> tuple[El, str]:
    """CreateDataSource.getDataSourceElement + DataSourceType.fromString."""
    if len(req.children) != 1:
        raise invalid_request(f"Only 1 data source allowed per request.  Found {len(req.children)}")
    el = req.children[0]
    if el.name not in DS_TYPES:
        raise invalid_request(f"invalid type: {el.name}, valid values: [{', '.join(DS_TYPES)}]")
    return el, el.name


def _folder_id(el: El) -> int:
    raw = el.get("l")
    if raw is None:
        raise missing_attr("l")
    try:
        return int(raw)
    except ValueError as exc:
        raise invalid_request(f"invalid folder id: {raw}") from exc


def _validate_folder(rc: RequestContext, entry: AccountEntry, el: El, dtype: str) -> None:
    """CreateDataSource.validateFolderId: the folder exists and is not inside another data
    source's folder tree (several pop3 sources may share one, for a unified inbox)."""
    folder_id = _folder_id(el)
    box = rc.world.mailboxes.get(entry.id)
    if box.folder(folder_id) is None:
        raise invalid_request(f"Invalid folder id: {folder_id}")
    own_id = el.get("id")
    for ds in entry.data_sources.values():
        if own_id is not None and ds.id == own_id:
            continue
        ds_folder = box.folder(int(_one(ds, f"{P}FolderId") or "0"))
        if ds_folder is None:
            continue
        for sub in box.subtree(ds_folder):
            if sub.id == folder_id and not (dtype == "pop3" and _one(ds, f"{P}Type") == "pop3"):
                raise invalid_request(f"Folder location conflict: {box.path(sub)}")


def _apply_common(attrs: dict[str, list[str]], el: El, *, create: bool) -> None:
    for key, attr in _STRINGS.items():
        value = el.get(key)
        if value is not None:
            attrs[attr] = [value]
    for key, attr in _BOOLS.items():
        if el.get(key) is not None:
            attrs[attr] = [_ldap_bool(get_bool(el, key))]
    if create and el.get("smtpEnabled") is not None and get_bool(el, "smtpEnabled"):
        # processSmtpAttrs: an enabled SMTP side needs its host, port, type, auth, address.
        for key in ("smtpHost", "smtpPort", "smtpConnectionType", "smtpAuthRequired"):
            if el.get(key) is None:
                raise missing_attr(key)
        if el.get("emailAddress") is None:
            raise missing_attr("emailAddress")


@handler(M, "GetDataSourcesRequest", "user")
def get_data_sources(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    resp = El("GetDataSourcesResponse", M)
    for ds in entry.data_sources.values():
        if _one(ds, f"{P}IsInternal") == "TRUE":  # GetDataSources skips internal ones
            continue
        encode(resp, ds)
    return resp


@handler(M, "CreateDataSourceRequest", "user")
def create_data_source(rc: RequestContext, req: El) -> El:
    el, dtype = _ds_element(req)
    require_options(rc)
    entry = rc.require_target()
    box = rc.world.mailboxes.get(entry.id)
    folder_id = _folder_id(el)
    name = el.get("name")
    if name is None:
        raise missing_attr("name")
    new_folder = None
    if folder_id == -1:
        folder_name = name
        while box.by_path(folder_name) is not None:
            folder_name = f"{name}_{rc.world.rng.randrange(1000)}"
        new_folder = box.create_folder(folder_name, ID_USER_ROOT, "message")
        folder_id = new_folder.id
    else:
        _validate_folder(rc, entry, el, dtype)
    try:
        if el.get("isEnabled") is None:
            raise missing_attr("isEnabled")
        attrs: dict[str, list[str]] = {
            f"{P}FolderId": [str(folder_id)],
            f"{P}Enabled": [_ldap_bool(get_bool(el, "isEnabled"))],
            f"{P}ImportOnly": [_ldap_bool(get_bool(el, "importOnly"))],
            f"{P}ConnectionType": [rc.dir.config_attrs.get(f"{P}ConnectionType", ["cleartext"])[0]],
        }
        _apply_common(attrs, el, create=True)
        attrs[f"{P}FolderId"] = [str(folder_id)]
        if dtype == "pop3":
            attrs[f"{P}LeaveOnServer"] = [_ldap_bool(get_bool(el, "leaveOnServer", True))]
        import_class = el.get("importClass") or _IMPORT_CLASS.get(dtype)
        if import_class is not None:
            attrs[f"{P}ImportClassName"] = [import_class]
        # LdapProvisioning.createDataSource: the count limit, then the name must be free.
        limit = rc.dir.effective_int(entry, f"{P}MaxNumEntries", 20)
        if len(entry.data_sources) >= limit:
            raise SoapFault(
                "account.TOO_MANY_DATA_SOURCES", "too many data sources. can't create any more"
            )
        if any(ds.name.lower() == name.lower() for ds in entry.data_sources.values()):
            raise SoapFault("account.DATA_SOURCE_EXISTS", f"data source already exists: {name}")
    except SoapFault:
        if new_folder is not None:  # the auto-created folder goes away again
            box.folders.pop(new_folder.id, None)
        raise
    ds_id = str(uuid.uuid4())
    attrs[f"{P}Id"] = [ds_id]
    attrs[f"{P}Name"] = [name]
    attrs[f"{P}Type"] = [dtype]
    entry.data_sources[ds_id] = ChildEntry(ds_id, name, attrs)
    rc.record_write(entry.name)
    rc.write_through(entry)
    resp = El("CreateDataSourceResponse", M)
    out = resp.add(dtype, {"id": ds_id})
    if new_folder is not None:
        out.attrs["l"] = str(folder_id)
    return resp


@handler(M, "ModifyDataSourceRequest", "user")
def modify_data_source(rc: RequestContext, req: El) -> El:
    require_options(rc)
    entry = rc.require_target()
    el, dtype = _ds_element(req)
    ds_id = el.get("id")
    if ds_id is None:
        raise missing_attr("id")
    ds = entry.data_sources.get(ds_id)
    if ds is None:
        raise invalid_request(f"Unable to find data source with id={ds_id}")
    new_name = el.get("name")
    if new_name is not None and any(
        other.name.lower() == new_name.lower() and other.id != ds.id
        for other in entry.data_sources.values()
    ):
        raise SoapFault("account.DATA_SOURCE_EXISTS", f"data source already exists: {new_name}")
    if el.get("l") is not None:
        _validate_folder(rc, entry, el, dtype)
        ds.attrs[f"{P}FolderId"] = [str(_folder_id(el))]
    if el.get("leaveOnServer") is not None and dtype != "pop3":
        raise invalid_request("leaveOnServer only allowed for pop3 data sources")
    _apply_common(ds.attrs, el, create=False)
    # The import class is reset to the element type's default when not sent.
    import_class = el.get("importClass") or _IMPORT_CLASS.get(dtype)
    if import_class is not None:
        ds.attrs[f"{P}ImportClassName"] = [import_class]
    if new_name is not None:
        ds.name = new_name
        ds.attrs[f"{P}Name"] = [new_name]
    rc.record_write(entry.name)
    rc.write_through(entry)
    return El("ModifyDataSourceResponse", M)


@handler(M, "DeleteDataSourceRequest", "user")
def delete_data_source(rc: RequestContext, req: El) -> El:
    require_options(rc)
    entry = rc.require_target()
    for el in req.children:
        ds_id, name = el.get("id"), el.get("name")
        if ds_id is not None:
            ds = entry.data_sources.get(ds_id)
        elif name is not None:
            ds = next(
                (d for d in entry.data_sources.values() if d.name.lower() == name.lower()), None
            )
        else:
            raise invalid_request("must specify either 'id' or 'name'")
        if ds is None:  # an unknown data source is skipped
            continue
        del entry.data_sources[ds.id]
    rc.record_write(entry.name)
    rc.write_through(entry)
    return El("DeleteDataSourceResponse", M)
