"""The REST servlet (UserServlet): GET /service/home/{account}/{folder path}[?fmt=...].

Follows store/.../service/UserServlet.java (doGet, checkAuthentication,
checkTargetAccountStatus, sendError, defaultFormat), UserServletUtil.getAccount (cookie,
?zauthtoken=, then HTTP Basic, where an unknown user is a GuestAccount) and the formatters
(RssFormatter, XmlFormatter, JsonFormatter). Access follows the folder's effective ACL
(MailItem.checkRights / ACL.Grant.matches).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from email.utils import formatdate
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape, quoteattr

from zcomp.sandbox.directory import AccountEntry
from zcomp.sandbox.engine import is_admin_account, validity_value
from zcomp.sandbox.grantees import acct_bool, in_list
from zcomp.sandbox.mailbox import RIGHT_READ, Folder, Mailbox, Message
from zcomp.sandbox.passwords import verify_password
from zcomp.sandbox.state import ServerState, World

REALM_HEADER = ("WWW-Authenticate", 'BASIC realm="Zimbra"')  # AuthUtil.getRealmHeader


@dataclass
class RestReply:
    status: int
    content_type: str
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Ctx:
    """UserServletContext: who is asking, and how they authenticated."""

    auth: AccountEntry | None = None
    admin: bool = False  # a global admin's token (AdminAccessControl.isAdequateAdminAccount)
    delegated: bool = False
    cookie_auth: bool = False
    basic_auth: bool = False
    guest: tuple[str, str] | None = None  # GuestAccount(email, password)


def is_rest_path(path: str) -> bool:
    return path.startswith(("/service/home/", "/home/", "/service/user/", "/user/"))


def _error(ctx: _Ctx, message: str) -> RestReply:
    """UserServlet.sendError: anonymous callers and guests are challenged, users get 404."""
    body = f"{message}\n".encode()
    if not ctx.cookie_auth and not ctx.basic_auth:
        return RestReply(401, "text/plain; charset=utf-8", b"must authenticate\n", [REALM_HEADER])
    if ctx.guest is not None:
        return RestReply(401, "text/plain; charset=utf-8", b"must authenticate\n", [REALM_HEADER])
    return RestReply(404, "text/plain; charset=utf-8", body)


def _authenticate(
    world: World, server: ServerState, headers: dict[str, str], query: dict[str, list[str]]
) -> _Ctx | RestReply:
    ctx = _Ctx()
    raw: str | None = None
    cookie_header = headers.get("cookie")
    if cookie_header:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except Exception:  # noqa: BLE001 - a bad cookie header is ignored
            jar = SimpleCookie()
        if "ZM_AUTH_TOKEN" in jar:
            raw = jar["ZM_AUTH_TOKEN"].value
    for key in ("zauthtoken", "authToken"):
        if raw is None and query.get(key):
            raw = query[key][0]
    if raw is not None:
        token = world.codec.decode(raw)
        entry = server.cache.get(token.account_id) if token is not None else None
        if (
            token is None
            or entry is None
            or token.expires_ms <= world.clock.now_ms()
            or token.token_id in world.directory.revoked_token_ids
            or validity_value(entry) != token.validity
            or (not token.delegated and entry.first("zimbraAccountStatus", "active") != "active")
        ):
            # UserServletUtil.validateAuthToken: 401 without a challenge
            return RestReply(401, "text/plain; charset=utf-8", b"must authenticate\n")
        ctx.auth, ctx.cookie_auth, ctx.delegated = entry, True, token.delegated
        ctx.admin = token.admin and (entry.first("zimbraIsAdminAccount") or "") == "TRUE"
        return ctx
    basic = headers.get("authorization", "")
    if basic[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(basic[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ctx
        found = world.directory.find(user, "name") if "@" in user or user else None
        if found is not None:
            entry = server.cache.get(found.id)
            status = entry.first("zimbraAccountStatus", "active") if entry else None
            ok = entry is not None and status == "active"
            if ok and entry and verify_password(password, entry.first("userPassword")):
                ctx.auth, ctx.basic_auth = entry, True
        elif "@" in user:
            ctx.guest, ctx.basic_auth = (user, password), True  # AuthUtil: new GuestAccount
    return ctx


def _rights(world: World, owner: AccountEntry, box: Mailbox, folder: Folder, ctx: _Ctx) -> int:
    """MailItem.checkRights: the owner and admins have everything; others what the folder's
    effective ACL grants them (expired grants grant nothing)."""
    if ctx.auth is not None and (ctx.auth.id == owner.id or ctx.admin):
        return 0xFFFF
    acl = box.effective_acl(folder)
    if acl is None:
        return 0
    d = world.directory
    now = world.clock.now_ms()
    public_ok = acct_bool(d, owner, "zimbraPublicSharingEnabled", True)
    external_ok = acct_bool(d, owner, "zimbraExternalSharingEnabled", True)
    granted = 0
    for g in acl.grants:
        if g.expired(acl, now):
            continue
        auth = ctx.auth
        match = False
        if g.gt == "pub":
            match = public_ok
        elif auth is not None:
            match = (
                g.gt == "all"
                or (g.gt == "usr" and g.zid == auth.id)
                or (g.gt == "grp" and in_list(d, auth, g.zid))
                or (g.gt == "dom" and g.zid == d.domain_id)
                or (g.gt == "cos" and g.zid == d.cos_id)
            )
        elif ctx.guest is not None and g.gt == "guest" and external_ok:
            # ACL.Grant.matchesGuestAccount: a grant without a password never matches.
            email, password = ctx.guest
            match = bool(g.secret) and g.zid.lower() == email.lower() and g.secret == password
        # key grants: no stock AuthProvider allows access-key auth over HTTP.
        if match:
            granted |= g.rights
    return granted


def _rss(path: str, msgs: list[Message]) -> bytes:
    out = [
        '<rss version="2.0"><channel>',
        f"<title>{escape('Zimbra ' + path)}</title><link>http://www.zimbra.com</link>",
        f"<description>{escape(f'Zimbra item {path} in RSS format.')}</description>",
        "<generator>Zimbra RSS Feed Servlet</generator>",
    ]
    for m in msgs:
        date = formatdate(m.date_ms / 1000, usegmt=True)
        out.append(
            f"<item><title>{escape(m.subject)}</title>"
            f"<description>{escape(m.fragment)}</description>"
            f"<author>{escape(m.sender)}</author><pubDate>{date}</pubDate></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode()


def _msg_fields(m: Message, owner: AccountEntry, ctx: _Ctx) -> dict[str, str]:
    qualify = ctx.auth is None or ctx.auth.id != owner.id
    fid = f"{owner.id}:{m.folder}" if qualify else str(m.folder)
    mid = f"{owner.id}:{m.id}" if qualify else str(m.id)
    return {
        "id": mid,
        "f": "u" if m.unread else "",
        "s": str(m.size),
        "d": str(m.date_ms),
        "l": fid,
    }


def _xml(msgs: list[Message], owner: AccountEntry, ctx: _Ctx) -> bytes:
    out = ["<items>"]
    for m in msgs:
        attrs = " ".join(f"{k}={quoteattr(v)}" for k, v in _msg_fields(m, owner, ctx).items() if v)
        out.append(
            f'<m {attrs}><e t="f" a={quoteattr(m.sender)} p={quoteattr(m.sender_name)}/>'
            f"<su>{escape(m.subject)}</su><fr>{escape(m.fragment)}</fr></m>"
        )
    out.append("</items>")
    return "".join(out).encode()


def _json(msgs: list[Message], owner: AccountEntry, ctx: _Ctx) -> bytes:
    items = []
    for m in msgs:
        obj: dict[str, object] = {k: v for k, v in _msg_fields(m, owner, ctx).items() if v}
        obj["e"] = [{"t": "f", "a": m.sender, "p": m.sender_name}]
        obj["su"] = m.subject
        obj["fr"] = m.fragment
        items.append(obj)
    return json.dumps({"m": items} if items else {}, separators=(",", ":")).encode()


def _render(
    fmt: str | None, folder: Folder, path: str, msgs: list[Message], owner: AccountEntry, ctx: _Ctx
) -> RestReply:
    if fmt is None:
        # UserServlet.defaultFormat: mail folders get the native formatter, which cannot
        # render a folder (NativeFormatter: notImplemented).
        if folder.view == "contact":
            return RestReply(200, "text/csv", b"")
        if folder.view in ("appointment", "task"):
            ics = (
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
                "PRODID:Zimbra-Calendar-Provider\r\nEND:VCALENDAR\r\n"
            )
            return RestReply(200, "text/calendar", ics.encode())
        if folder.view == "document":
            return RestReply(200, "text/html", b"<html><body></body></html>")
        text = b"can only handle messages/appointments/tasks/documents\n"
        return RestReply(501, "text/plain; charset=utf-8", text)
    if fmt == "rss":
        return RestReply(200, "application/rss+xml", _rss(path, msgs))
    if fmt == "xml":
        return RestReply(200, "text/xml", _xml(msgs, owner, ctx))
    if fmt == "json":
        return RestReply(200, "application/json", _json(msgs, owner, ctx))
    return RestReply(501, "text/plain; charset=utf-8", b"not implemented\n")


_KNOWN_FORMATS = {
    "atom", "cf", "csv", "ldif", "netscapeldif", "freebusy", "html", "native", "onlyoffice",
    "ics", "ifb", "json", "rss", "sync", "tar", "tgz", "vcf", "xml", "zip", "opatch",
    "mobileconfig",
}  # fmt: skip


def handle_get(
    world: World, server: ServerState, raw_path: str, headers: dict[str, str]
) -> RestReply:
    path, _, query_string = raw_path.partition("?")
    query = parse_qs(query_string)
    rest = path.removeprefix("/service")
    rest = rest.split("/", 2)[2] if rest.count("/") >= 2 else ""  # drop "/home/"
    account_part, _, item_path = rest.partition("/")
    account_part, item_path = unquote(account_part), "/" + unquote(item_path)
    fmt_values = query.get("fmt")
    fmt = fmt_values[0].lower() if fmt_values else None
    if fmt is not None and fmt not in _KNOWN_FORMATS:
        return RestReply(400, "text/plain; charset=utf-8", b"unsupported format\n")
    with world.directory.lock:
        got = _authenticate(world, server, {k.lower(): v for k, v in headers.items()}, query)
        if isinstance(got, RestReply):
            return got
        ctx = got
        if account_part == "~":
            if ctx.auth is None:
                return _error(ctx, "must authenticate")
            owner: AccountEntry | None = ctx.auth
        else:
            owner = world.directory.find(account_part, "name") if account_part else None
        if owner is None:
            return _error(ctx, "no such item")
        cached = server.cache.get(owner.id)
        status = (cached.first("zimbraAccountStatus") if cached else None) or "active"
        # checkTargetAccountStatus: maintenance stops everyone; other inactive states stop
        # all but admins and delegated tokens. The fault goes through sendError.
        if status == "maintenance" or (
            status != "active" and not (ctx.delegated or (ctx.auth and is_admin_account(ctx.auth)))
        ):
            return _error(ctx, f"account is not active:{owner.name}")
        box = world.mailboxes.get(owner.id)
        folder = box.by_path(item_path)
        if folder is None or not _rights(world, owner, box, folder, ctx) & RIGHT_READ:
            return _error(ctx, "no such item")  # getItemByPath: NO_SUCH_ITEM when not visible
        msgs = box.folder_messages(folder)
        return _render(fmt, folder, box.path(folder), msgs, owner, ctx)
