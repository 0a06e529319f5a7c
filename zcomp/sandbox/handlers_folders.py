"""urn:zimbraMail GetFolder and FolderAction (grant, !grant, revokeorphangrants, update).

Handlers: store/.../service/mail/GetFolder.java, FolderAction.java; encoding ToXML.encodeFolder
and encodeACL; the ACL rules live in mailbox.py.
"""

from __future__ import annotations

from zcomp.sandbox.common import duration_ms
from zcomp.sandbox.directory import AccountEntry
from zcomp.sandbox.element import NS_MAIL, El, get_bool, get_int
from zcomp.sandbox.engine import RequestContext, handler, is_admin_account
from zcomp.sandbox.faults import (
    SoapFault,
    invalid_request,
    missing_attr,
    missing_element,
    no_such_account,
    perm_denied,
)
from zcomp.sandbox.grantees import Named, acct_bool, by_id, by_name, email_entry
from zcomp.sandbox.mailbox import (
    ACL,
    ALL_RIGHTS_STRING,
    GRANTEE_TYPES,
    GUID_AUTHUSER,
    GUID_PUBLIC,
    ID_ROOT,
    ID_USER_ROOT,
    RIGHT_ADMIN,
    Folder,
    Mailbox,
    rights_from_string,
    rights_to_string,
)

M = NS_MAIL


def no_such_folder(key: int | str) -> SoapFault:
    what = f"id: {key}" if isinstance(key, int) else f"path: {key}"
    return SoapFault("mail.NO_SUCH_FOLDER", f"no such folder {what}")


def no_such_item(item_id: int) -> SoapFault:
    return SoapFault("mail.NO_SUCH_ITEM", f"no such item: {item_id}")


def _global_admin(rc: RequestContext) -> bool:
    authed = rc.require_authed()
    return rc.token is not None and rc.token.admin and is_admin_account(authed)


class Ids:
    """ItemIdFormatter: ids are "{owner}:{id}" when the caller is not the owner, unless the
    context header says <noqualify/>."""

    def __init__(self, rc: RequestContext, owner: AccountEntry) -> None:
        self.owner = owner
        self.qualify = rc.require_authed().id != owner.id and not rc.noqualify

    def fmt(self, item_id: int) -> str:
        return f"{self.owner.id}:{item_id}" if self.qualify else str(item_id)


def parse_item_id(rc: RequestContext, raw: str) -> tuple[AccountEntry, int]:
    """ItemId(String, zsc): "{accountId}:{id}" or a plain id in the requested mailbox."""
    raw = raw.strip()
    if not raw:
        raise invalid_request("empty/missing item ID")
    acct_id, sep, num = raw.rpartition(":")
    try:
        item_id = int(num)
    except ValueError as exc:
        raise invalid_request(f"malformed item ID: {raw}") from exc
    target = rc.require_target()
    if not sep or acct_id == target.id:
        return target, item_id
    # Another mailbox: Zimbra proxies the request there with the caller's credentials.
    owner = rc.dir.find(acct_id, "id")
    if owner is None:
        raise no_such_account(acct_id)
    if owner.id != rc.require_authed().id and not _global_admin(rc):
        raise perm_denied(f"you do not have sufficient permissions on item {raw}")
    return owner, item_id


# ---- GetFolder --------------------------------------------------------------------------------


def _grantee_name(rc: RequestContext, gt: str, zid: str) -> str | None:
    found = by_id(rc.dir, zid, gt)
    return found.name if found is not None else None


def encode_acl(rc: RequestContext, parent: El, acl: ACL | None, need_names: bool) -> None:
    """ToXML.encodeACL, with exposeAclAccessKey (GetFolder shows key-grant access keys)."""
    el = parent.add("acl")
    if acl is None:
        return
    if acl.internal_expiry:
        el.attrs["internalGrantExpiry"] = str(acl.internal_expiry)
    if acl.guest_expiry:
        el.attrs["guestGrantExpiry"] = str(acl.guest_expiry)
    for g in acl.grants:
        attrs: dict[str, str] = {}
        if g.has_grantee():
            attrs["zid"] = g.zid
        attrs["gt"] = g.gt
        attrs["perm"] = rights_to_string(g.rights)
        if g.expiry:
            attrs["expiry"] = str(g.expiry)
        if need_names and g.gt in ("usr", "grp", "cos", "dom"):
            name = _grantee_name(rc, g.gt, g.zid)
            if name is None:  # OperationContextData.GranteeNames.INVALID_GRANT: an orphan
                attrs["invalid"] = "1"
                attrs["d"] = ""
            else:
                attrs["d"] = name
        if g.gt == "key":
            if g.secret is not None:
                attrs["key"] = g.secret
        elif g.secret is not None:
            attrs["pw"] = g.secret  # guest passwords are stored and returned in clear
        el.add("grant", attrs)


def _encode_folder(
    rc: RequestContext,
    parent: El,
    box: Mailbox,
    folder: Folder,
    ids: Ids,
    *,
    need_names: bool,
    depth: int,
    keep: set[int] | None,
) -> None:
    msgs = box.folder_messages(folder)
    attrs: dict[str, str] = {
        "id": ids.fmt(folder.id),
        "uuid": folder.uuid,
        "deletable": "0" if folder.system else "1",
    }
    if folder.id != ID_ROOT:
        attrs["name"] = folder.name
        attrs["absFolderPath"] = box.path(folder)
        if folder.parent is not None:
            attrs["l"] = ids.fmt(folder.parent)
            parent_folder = box.folder(folder.parent)
            if parent_folder is not None:
                attrs["luuid"] = parent_folder.uuid
    flags = folder.flag_string()
    if flags:
        attrs["f"] = flags
    unread = sum(1 for m in msgs if m.unread)
    if unread:
        attrs["u"] = str(unread)
    if folder.view:
        attrs["view"] = folder.view
    attrs["rev"] = str(folder.mod_seq)
    attrs["ms"] = str(folder.mod_seq)
    attrs["webOfflineSyncDays"] = "0"
    attrs["activesyncdisabled"] = "0"
    attrs["n"] = str(len(msgs))
    attrs["s"] = str(sum(m.size for m in msgs))
    attrs["i4ms"] = str(folder.mod_seq)
    attrs["i4next"] = str(box.next_id)
    if ids.qualify:
        # A delegated request shows effective rights; canAccessAccount gives an admin all.
        attrs["perm"] = ALL_RIGHTS_STRING
    el = parent.add("folder", attrs)
    if folder.no_inherit:  # NOTIFY_FIELDS: <acl> only on folders with their own ACL
        encode_acl(rc, el, folder.acl, need_names)
    if depth == 0:
        return
    for child in box.children(folder):
        if keep is None or child.id in keep:
            _encode_folder(
                rc, el, box, child, ids, need_names=need_names, depth=depth - 1, keep=keep
            )


def _view_filter(box: Mailbox, root: Folder, view: str) -> set[int]:
    """GetFolder.filterByView: folders of that view, plus the folders leading to them."""
    keep: set[int] = set()

    def walk(folder: Folder) -> bool:
        hit = folder.view == view
        for child in box.children(folder):
            hit = walk(child) or hit
        if hit:
            keep.add(folder.id)
        return hit

    walk(root)
    return keep


@handler(M, "GetFolderRequest", "user")
def get_folder(rc: RequestContext, req: El) -> El:
    owner, base_id = rc.require_target(), ID_USER_ROOT
    sel = req.child("folder")
    folder: Folder | None = None
    if sel is not None:
        folder_uuid = sel.get("uuid")
        if folder_uuid is not None:
            box = rc.world.mailboxes.get(owner.id)
            folder = next((f for f in box.folders.values() if f.uuid == folder_uuid), None)
            if folder is None:
                raise SoapFault("mail.NO_SUCH_FOLDER", f"no such folder uuid: {folder_uuid}")
            base_id = folder.id
        else:
            owner, base_id = parse_item_id(rc, sel.get("l") or str(ID_USER_ROOT))
        box = rc.world.mailboxes.get(owner.id)
        path = sel.get("path")
        if path is not None:
            if box.folder(base_id) is None:
                raise no_such_folder(base_id)
            folder = box.by_path(path, base_id)
            if folder is None:
                raise no_such_folder(path)
    box = rc.world.mailboxes.get(owner.id)
    folder = folder or box.folder(base_id)
    if folder is None:
        raise no_such_folder(base_id)
    depth = get_int(req, "depth", -1)
    need_names = get_bool(req, "needGranteeName", True)
    view = req.get("view")
    keep = _view_filter(box, folder, view) if view else None
    resp = El("GetFolderResponse", M)
    if keep is None or folder.id in keep:
        ids = Ids(rc, owner)
        _encode_folder(rc, resp, box, folder, ids, need_names=need_names, depth=depth, keep=keep)
    return resp


# ---- FolderAction -----------------------------------------------------------------------------

_SUPPORTED_OPS = ("grant", "!grant", "revokeorphangrants", "update")


def _lifetime(rc: RequestContext, owner: AccountEntry, attr: str) -> int:
    return duration_ms(rc.dir.effective1(owner, attr, "0") or "0")


def _validate_expiry(raw: str | None, max_lifetime: int, now_ms: int) -> int:
    """ItemAction.validateGrantExpiry."""
    if raw is None:
        return now_ms + max_lifetime if max_lifetime else 0
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid_request(f"invalid long value '{raw}' for attribute: expiry") from exc
    if max_lifetime and (value == 0 or value > now_ms + max_lifetime):
        raise perm_denied("share expiration policy conflict")
    return value


def _gt(raw: str | None) -> str:
    """ACL.stringToType (ignores case)."""
    if raw is None:
        raise missing_attr("gt")
    gt = raw.lower()
    if gt not in GRANTEE_TYPES:
        raise invalid_request(f"unknown grantee type: {raw}")
    return gt


def _external_allowed(rc: RequestContext, owner: AccountEntry, email: str) -> bool:
    """MailItem.grantAccess: zimbraExternalSharingEnabled and isAllowedExternalDomain."""
    if not acct_bool(rc.dir, owner, "zimbraExternalSharingEnabled", True):
        return False
    if not acct_bool(rc.dir, owner, "zimbraExternalShareDomainWhitelistEnabled", False):
        return True
    domain = email.rpartition("@")[2].lower()
    allowed = rc.dir.effective(owner, "zimbraExternalShareWhitelistDomain")
    return domain in {a.lower() for a in allowed}


def _op_grant(rc: RequestContext, action: El, owner: AccountEntry, item_id: int, out: El) -> None:
    grant_el = action.child("grant")
    if grant_el is None:
        raise missing_element("grant")
    perm = grant_el.get("perm")
    if perm is None:
        raise missing_attr("perm")
    rights = rights_from_string(perm)
    gt = _gt(grant_el.get("gt"))
    zid = grant_el.get("zid")
    box = rc.world.mailboxes.get(owner.id)
    now = rc.now_ms()
    try:
        expiry = int(grant_el.get("expiry") or "0")
    except ValueError as exc:
        raise invalid_request("invalid long value for attribute: expiry") from exc
    secret: str | None = None
    entry: Named | None = None
    if gt == "all":
        zid = GUID_AUTHUSER
    elif gt == "pub":
        zid = GUID_PUBLIC
        if box.folder(item_id) is None:  # mbox.getFolderById for the folder's default view
            raise no_such_folder(item_id)
        expiry = _validate_expiry(
            grant_el.get("expiry"), _lifetime(rc, owner, "zimbraPublicShareLifetime"), now
        )
    elif gt == "guest":
        zid = grant_el.get("d")
        if zid is None:
            raise missing_attr("d")
        if "@" not in zid:
            raise invalid_request("invalid guest id or password")
        internal = email_entry(rc.dir, zid)
        if internal is not None:
            # "make sure they didn't accidentally specify guest instead of usr": same domain
            entry, zid = internal, internal.id
            gt = "grp" if internal.kind == "dl" else "usr"
        else:
            secret = grant_el.get("args")
            if secret is None:
                secret = grant_el.get("pw")
    elif gt == "key":
        zid = grant_el.get("d")
        if zid is None:
            raise missing_attr("d")
        secret = grant_el.get("key")
    elif zid is not None:
        entry = by_id(rc.dir, zid, gt)
    else:
        name = grant_el.get("d")
        if name is None:
            raise missing_attr("d")
        try:
            entry = by_name(rc.dir, name, gt, rc.require_authed())
            zid = entry.id
            if gt == "usr" and entry.kind == "dl":
                gt = "grp"
        except SoapFault as fault:
            if fault.code != "account.NO_SUCH_ACCOUNT":
                raise
            gt, zid = "guest", name  # an internal user not provisioned yet: external sharing
    # Mailbox.grantAccess: only users and groups may be given the admin right.
    if rights & RIGHT_ADMIN and gt not in ("usr", "grp"):
        raise SoapFault(
            "mail.CANNOT_GRANT", "cannot grant: admin right can be granted to users and groups only"
        )
    folder = box.folder(item_id)
    if folder is None:
        raise no_such_item(item_id)  # getItemById(Type.UNKNOWN)
    if zid is None:
        raise missing_attr("zid")
    g = box.grant(
        folder,
        zid,
        gt,
        rights,
        secret,
        expiry,
        public_ok=acct_bool(rc.dir, owner, "zimbraPublicSharingEnabled", True),
        external_ok=gt != "guest" or _external_allowed(rc, owner, zid),
        internal_lifetime_ms=_lifetime(rc, owner, "zimbraShareLifetime"),
        external_lifetime_ms=_lifetime(rc, owner, "zimbraExternalShareLifetime"),
        now_ms=now,
    )
    out.attrs["zid"] = zid
    if entry is not None:
        out.attrs["d"] = entry.name
    elif gt in ("guest", "key"):
        out.attrs["d"] = zid
    if gt == "key" and g.secret is not None:
        out.attrs["key"] = g.secret


def _op_revoke(rc: RequestContext, action: El, owner: AccountEntry, item_id: int) -> None:
    zid = action.get("zid")
    if zid is None:
        raise missing_attr("zid")
    box = rc.world.mailboxes.get(owner.id)
    folder = box.folder(item_id)
    if folder is None:
        raise no_such_item(item_id)
    box.revoke(folder, zid)


def _op_revoke_orphans(rc: RequestContext, action: El, owner: AccountEntry, item_id: int) -> None:
    """FolderAction.revokeOrphanGrants: only for a grantee that no longer exists; walks the
    subtree and revokes where the folder's own ACL names it."""
    zid = action.get("zid")
    if zid is None:
        raise missing_attr("zid")
    gt = _gt(action.get("gt"))
    if gt not in ("usr", "grp", "cos", "dom"):
        raise invalid_request("invalid grantee type for revokeOrphanGrants")
    if by_id(rc.dir, zid, gt) is not None:
        raise invalid_request(f"grantee {zid} exists")
    box = rc.world.mailboxes.get(owner.id)
    root = box.folder(item_id)
    if root is None:
        raise no_such_folder(item_id)
    for folder in box.subtree(root):
        acl = folder.acl
        if acl is not None and any(g.zid == zid and g.gt == gt for g in acl.grants):
            box.revoke(folder, zid)


def _parse_acl(rc: RequestContext, el: El, owner: AccountEntry) -> ACL:
    """FolderAction.parseACL: every grant needs zid, gt and perm."""
    now = rc.now_ms()
    acl = ACL(
        internal_expiry=_validate_expiry(
            el.get("internalGrantExpiry"), _lifetime(rc, owner, "zimbraShareLifetime"), now
        ),
        guest_expiry=_validate_expiry(
            el.get("guestGrantExpiry"), _lifetime(rc, owner, "zimbraExternalShareLifetime"), now
        ),
    )
    for g in el.all("grant"):
        zid = g.get("zid")
        if zid is None:
            raise missing_attr("zid")
        gt = _gt(g.get("gt"))
        perm = g.get("perm")
        if perm is None:
            raise missing_attr("perm")
        rights = rights_from_string(perm)
        if gt == "pub":
            expiry = _validate_expiry(
                g.get("expiry"), _lifetime(rc, owner, "zimbraPublicShareLifetime"), now
            )
        else:
            expiry = int(g.get("expiry") or "0")
        secret = None
        if gt == "key":
            secret = g.get("key")
        elif gt == "guest":
            secret = g.get("args")
            if secret is None:
                secret = g.get("pw")
        acl.grant(zid, gt, rights, secret, expiry)
    return acl


def _op_update(rc: RequestContext, action: El, owner: AccountEntry, item_id: int) -> None:
    box = rc.world.mailboxes.get(owner.id)
    acl_el = action.child("acl")
    acl = None
    if acl_el is not None:
        if action.get("view") is None and box.folder(item_id) is None:
            raise no_such_folder(item_id)
        acl = _parse_acl(rc, acl_el, owner)
    folder = box.folder(item_id)
    if folder is None:
        raise no_such_item(item_id)
    if acl is not None:
        box.set_permissions(folder, acl)
    flags = action.get("f")
    if flags is not None:
        if "i" not in flags:
            box.clear_no_inherit(folder)
        folder.flags = "#" if "#" in flags else ""
    name = action.get("name")
    if name is not None and name.strip():
        folder.name = name.strip()


@handler(M, "FolderActionRequest", "user")
def folder_action(rc: RequestContext, req: El) -> El:
    action = req.child("action")
    if action is None:
        raise missing_element("action")
    raw_op = action.get("op")
    if raw_op is None:
        raise missing_attr("op")
    op = raw_op.lower()
    if op in ("tag", "flag", "!tag", "!flag"):
        raise invalid_request("cannot tag/flag a folder")
    if op.endswith(("copy", "spam")):
        raise invalid_request(f"invalid operation on folder: {op}")
    raw_id = action.get("id")
    if raw_id is None:
        raise missing_attr("id")
    resp = El("FolderActionResponse", M)
    out = resp.add("action")
    if op not in _SUPPORTED_OPS:
        # The sandbox keeps no other folder state (moves, colours, retention, feeds...).
        raise invalid_request(f"unknown operation: {op}")
    owner, item_id = parse_item_id(rc, raw_id)
    if op == "grant":
        _op_grant(rc, action, owner, item_id, out)
    elif op == "!grant":
        _op_revoke(rc, action, owner, item_id)
    elif op == "revokeorphangrants":
        _op_revoke_orphans(rc, action, owner, item_id)
    else:
        _op_update(rc, action, owner, item_id)
    out.attrs["id"] = Ids(rc, owner).fmt(item_id)
    out.attrs["op"] = op
    rc.record_write(owner.name)
    return resp


# ---- CreateFolder -----------------------------------------------------------------------------

_INVALID_NAME_CHARS = set(':/"\t\r\n')  # MailItem.INVALID_NAME_PATTERN


def _valid_name(name: str) -> str:
    """MailItem.validateItemName."""
    trimmed = name.rstrip(" ")
    if (
        any(ch in _INVALID_NAME_CHARS or ord(ch) < 0x20 for ch in name)
        or not trimmed
        or len(trimmed) > 255
        or trimmed in (".", "..")
    ):
        raise SoapFault("mail.INVALID_NAME", f"invalid name: {name}")
    return trimmed


@handler(M, "CreateFolderRequest", "user")
def create_folder(rc: RequestContext, req: El) -> El:
    """mail/CreateFolder.java: under `l`, or by a path from USER_ROOT; fie returns an existing
    folder of that name instead of mail.ALREADY_EXISTS; an <acl> is set afterwards."""
    spec = req.child("folder")
    if spec is None:
        raise missing_element("folder")
    name = spec.get("name")
    if name is None:
        raise missing_attr("name")
    view = spec.get("view") or ""
    flags = spec.get("f") or ""
    fetch_if_exists = get_bool(spec, "fie")
    raw_parent = spec.get("l")
    if raw_parent is not None:
        owner, parent_id = parse_item_id(rc, raw_parent)
        parts = [name]
    else:
        owner, parent_id = rc.require_target(), ID_USER_ROOT
        parts = [p for p in name.split("/") if p] or [name]
    box = rc.world.mailboxes.get(owner.id)
    parent = box.folder(parent_id)
    if parent is None:
        raise no_such_folder(parent_id)
    acl_el = spec.child("acl")
    acl = _parse_acl(rc, acl_el, owner) if acl_el is not None else None
    folder: Folder | None = None
    for i, part in enumerate(parts):
        clean = _valid_name(part)
        existing = next((f for f in box.children(parent) if f.name.lower() == clean.lower()), None)
        last = i == len(parts) - 1
        if existing is not None and not last:
            parent = existing
            continue
        if existing is not None:
            if not fetch_if_exists:
                raise SoapFault(
                    "mail.ALREADY_EXISTS", f"object with that name already exists: {clean}"
                )
            folder = existing
            acl = None  # an existing folder's ACL is left alone
            break
        folder = box.create_folder(clean, parent.id, view if last else "")
        if last:
            folder.flags = "#" if "#" in flags else ""
        parent = folder
    if folder is None:
        raise no_such_folder(name)
    if acl is not None:
        box.set_permissions(folder, acl)
    rc.record_write(owner.name)
    resp = El("CreateFolderResponse", M)
    _encode_folder(rc, resp, box, folder, Ids(rc, owner), need_names=True, depth=0, keep=None)
    return resp
