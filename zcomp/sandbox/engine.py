"""SoapEngine: parse the envelope, authenticate, dispatch, answer in the same protocol."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from zcomp.sandbox.directory import AccountEntry, Directory
from zcomp.sandbox.element import NS_ADMIN, NS_ZIMBRA, El
from zcomp.sandbox.faults import (
    SoapFault,
    account_inactive,
    auth_expired,
    auth_required,
    failure,
    invalid_request,
    no_such_account,
    perm_denied,
    unknown_document,
)
from zcomp.sandbox.logs import LogContext
from zcomp.sandbox.protocol import Proto, ProtoFault, fault_element, parse, serialize
from zcomp.sandbox.state import ServerState, Session, World, WriteOp
from zcomp.sandbox.tokens import Token

HandlerFn = Callable[["RequestContext", El], El]


@dataclass(frozen=True)
class Handler:
    fn: HandlerFn
    auth: str  # "none" | "user" | "admin"
    network: bool = False  # registered by a Network Edition extension only


HANDLERS: dict[tuple[str, str], Handler] = {}


def handler(
    ns: str, name: str, auth: str, *, network: bool = False
) -> Callable[[HandlerFn], HandlerFn]:
    def register(fn: HandlerFn) -> HandlerFn:
        HANDLERS[(ns, name)] = Handler(fn, auth, network)
        return fn

    return register


@dataclass
class RequestContext:
    world: World
    server: ServerState
    servlet: str  # "admin" | "user"
    header: El | None
    cookies: dict[str, str]
    peer_ip: str
    oip: str | None
    token: Token | None = None
    token_voided: bool = False  # an expired/revoked token dropped by voidOnExpired
    decoded: Token | None = None  # the context token, decoded once per envelope
    raw_token: str | None = None
    authed: AccountEntry | None = None  # token owner, as the answering server's cache has it
    target: AccountEntry | None = None  # the account a user request acts on (directory entry)
    session: Session | None = None
    request_name: str = ""
    log: LogContext | None = None
    response_context: El = field(default_factory=lambda: El("context", NS_ZIMBRA))

    @property
    def dir(self) -> Directory:
        return self.world.directory

    def now(self) -> float:
        return self.world.clock.now()

    def now_ms(self) -> int:
        return self.world.clock.now_ms()

    def header_value(self, name: str) -> El | None:
        return self.header.child(name) if self.header is not None else None

    @property
    def noqualify(self) -> bool:
        """<noqualify/> in the context header (ZimbraSoapContext: wantsUnqualifiedIds)."""
        return self.header_value("noqualify") is not None

    def record_write(self, target: str) -> None:
        self.world.stats.write(WriteOp(self.server.name, self.request_name, target))

    def write_through(self, entry: AccountEntry) -> None:
        """A write through this server refreshes this server's cache entry only."""
        self.server.cache.refresh(entry.id)

    def require_target(self) -> AccountEntry:
        if self.target is None:
            raise failure("no target account")
        return self.target

    def require_authed(self) -> AccountEntry:
        if self.authed is None:
            raise auth_required()
        return self.authed

    def log_ctx(self) -> LogContext:
        if self.log is None:
            self.log = _log_ctx(self, self.request_name)
        return self.log

    def user_agent(self) -> str | None:
        ua = self.header_value("userAgent")
        if ua is None:
            return None
        name = ua.get("name") or ""
        version = ua.get("version")
        return f"{name}/{version}" if version else name or None


# ---- authentication ---------------------------------------------------------------------------


def _raw_token(rc: RequestContext) -> str | None:
    if rc.header is not None:
        value = rc.header.get("authToken")
        if value:
            return value.strip()
    cookie = "ZM_ADMIN_AUTH_TOKEN" if rc.servlet == "admin" else "ZM_AUTH_TOKEN"
    return rc.cookies.get(cookie)


def validity_value(entry: AccountEntry) -> int:
    try:
        return int(entry.first("zimbraAuthTokenValidityValue", "-1") or "-1")
    except ValueError:
        return -1


def is_admin_account(entry: AccountEntry) -> bool:
    return (entry.first("zimbraIsAdminAccount") or "FALSE") == "TRUE" or (
        entry.first("zimbraIsDelegatedAdminAccount") or "FALSE"
    ) == "TRUE"


def check_context_token(rc: RequestContext) -> None:
    """ZimbraSoapContext's constructor, run once per envelope before any handler (even Auth).

    A token that is expired or no longer registered fails the whole envelope with AUTH_EXPIRED,
    unless <authTokenControl voidOnExpired="1"/> asks to drop it (then it counts as absent).
    A malformed or forged token is silently dropped (later: AUTH_REQUIRED).
    """
    raw = _raw_token(rc)
    token = rc.world.codec.decode(raw) if raw else None
    if token is None:
        return
    rc.decoded = token
    expired = token.expires_ms <= rc.now_ms()
    if expired or token.token_id in rc.world.directory.revoked_token_ids:
        control = rc.header_value("authTokenControl")
        if control is not None and (control.get("voidOnExpired") or "").lower() in ("1", "true"):
            rc.token_voided = True
            return
        raise auth_expired()


def authenticate(rc: RequestContext, *, admin: bool) -> None:
    """SoapEngine.dispatchRequest: a token, the admin gate, then validateAuthToken."""
    raw = None if rc.token_voided else _raw_token(rc)
    token = rc.decoded if raw else None
    if token is None:
        raise auth_required()
    # isSufficientAdminForSoap looks at the token's admin flag, before the token is validated.
    if admin and not token.admin:
        raise perm_denied("need adequate admin token")
    if token.expires_ms <= rc.now_ms() or token.token_id in rc.world.directory.revoked_token_ids:
        raise auth_expired()
    entry = rc.server.cache.get(token.account_id)
    if entry is None or validity_value(entry) != token.validity:
        raise auth_expired()
    status = entry.first("zimbraAccountStatus", "active")
    if token.delegated:
        # "delegated auth allows access unless the account's in maintenance mode"
        if status == "maintenance":
            raise auth_expired()
        delegator = rc.server.cache.get(token.admin_id or "")
        if delegator is None:
            raise auth_expired()
        if not is_admin_account(delegator):
            raise perm_denied("not an admin for delegated auth")
        if delegator.first("zimbraAccountStatus", "active") != "active":
            raise auth_expired()
    elif status != "active":
        raise auth_expired()
    if admin and not is_admin_account(entry):
        raise perm_denied("need adequate admin token")
    rc.token, rc.raw_token, rc.authed = token, raw, entry


def resolve_target(rc: RequestContext) -> None:
    """The <account by> header, with Zimbra's anti-harvesting answers."""
    token, authed = rc.token, rc.require_authed()
    hdr = rc.header_value("account")
    if hdr is None:
        rc.target = rc.world.directory.find(authed.id, "id")
        if rc.target is None:
            raise auth_expired()
        return
    by = hdr.get("by", "name") or "name"
    key = (hdr.text or "").strip()
    if by not in ("name", "id"):
        raise invalid_request(f"unknown value for by: {by}")
    entry = rc.world.directory.find(key, by)
    if entry is not None and entry.id == authed.id:
        rc.target = entry
        return
    is_admin = token is not None and token.admin and is_admin_account(authed)
    if not is_admin:
        raise perm_denied(f"can not access account {key}")
    if entry is None:
        raise no_such_account(key)
    cached = rc.server.cache.get(entry.id)
    status = (cached.first("zimbraAccountStatus") if cached is not None else None) or "active"
    if status == "maintenance":
        raise account_inactive(entry.name)
    # SoapEngine.dispatchRequest: only a global admin (zimbraIsAdminAccount) skips the status
    # check; a domain/delegated admin gets ACCOUNT_INACTIVE on a locked or closed account.
    if status != "active" and (authed.first("zimbraIsAdminAccount") or "FALSE") != "TRUE":
        raise account_inactive(entry.name)
    rc.target = entry


def check_session(rc: RequestContext) -> None:
    """Attach or create the notification session the header asked for."""
    hdr = rc.header_value("session")
    if hdr is None or rc.header_value("nosession") is not None or rc.authed is None:
        return
    sid = hdr.get("id") or (hdr.text or "").strip()
    table = rc.server.sessions
    existing = table.get(sid) if sid else None
    if existing is not None and existing.account_id == rc.authed.id:
        existing.accessed_ms = rc.now_ms()
        rc.session = existing
    else:
        kind = (
            "admin" if rc.token is not None and rc.token.admin and rc.servlet == "admin" else "soap"
        )
        token_id = rc.token.token_id if rc.token else ""
        rc.session = table.create(rc.authed.id, rc.authed.name, token_id, kind, rc.now_ms())


# ---- dispatch ---------------------------------------------------------------------------------


def dispatch(rc: RequestContext, req: El, *, batch: bool = False) -> El:
    name = req.name
    rc.request_name = name
    if req.ns is None:
        raise unknown_document(name)
    h = HANDLERS.get((req.ns, name))
    if (
        h is None
        or (rc.servlet == "user" and req.ns == NS_ADMIN)
        or (h.network and rc.world.edition != "network")
    ):
        # SoapEngine: UNKNOWN_DOCUMENT(getQualifiedName()), which is the bare element name for
        # a request written with a default xmlns (XML) or _jsns (JSON), before any auth check.
        raise unknown_document(name)
    rc.world.stats.count(rc.server.name, name)
    start = time.monotonic()
    try:
        if h.auth != "none":
            authenticate(rc, admin=h.auth == "admin")
            if h.auth == "user":
                resolve_target(rc)
            check_session(rc)
        rc.log = _log_ctx(rc, name)
        with rc.world.directory.lock:
            return h.fn(rc, req)
    finally:
        elapsed = int((time.monotonic() - start) * 1000)
        if rc.world.logs.enabled:
            ctx = rc.log or _log_ctx(rc, name)
            prefix = "(batch) " if batch else ""
            rc.world.logs.mailbox(rc.now(), ctx, "soap", f"{prefix}{name} elapsed={elapsed}")


def _log_ctx(rc: RequestContext, name: str) -> LogContext:
    target = rc.target or rc.authed
    aname = None
    if rc.authed is not None and target is not None and rc.authed.id != target.id:
        aname = rc.authed.name
    base = "/service/admin/soap/" if rc.servlet == "admin" else "/service/soap/"
    return LogContext(
        server=rc.server.name,
        url=rc.server.base_url.replace("http", "", 1) + base if rc.server.base_url else base,
        request=name,
        name=target.name if target is not None else None,
        aname=aname,
        ip=rc.peer_ip,
        oip=rc.oip,
        ua=rc.user_agent(),
        soap_id=f"{rc.world.next_seq():08x}",
    )


def _trace(rc: RequestContext) -> str:
    return f"qtp1281060270-{rc.world.next_seq()}:{rc.server.base_url}"


@dataclass
class HttpReply:
    status: int
    content_type: str
    body: bytes


def handle(
    world: World,
    server: ServerState,
    servlet: str,
    raw: bytes,
    *,
    cookie_header: str | None = None,
    peer_ip: str = "127.0.0.1",
    forwarded_for: str | None = None,
) -> HttpReply:
    try:
        envelope = parse(raw)
    except ProtoFault as pf:
        trace = f"qtp1281060270-{world.next_seq()}"
        body = fault_element(pf.proto, pf.fault, trace)
        return HttpReply(500, pf.proto.content_type, serialize(pf.proto, body))
    cookies: dict[str, str] = {}
    if cookie_header:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except Exception:  # noqa: BLE001 - a bad cookie header is ignored, as Jetty does
            jar = SimpleCookie()
        cookies = {k: m.value for k, m in jar.items()}
    rc = RequestContext(world, server, servlet, envelope.header, cookies, peer_ip, forwarded_for)
    out_proto = envelope.proto
    fmt = rc.header_value("format")
    if fmt is not None:
        kind = (fmt.get("type") or "").lower()
        if kind == "js":
            out_proto = Proto.JS
        elif kind == "xml" and envelope.proto is Proto.JS:
            out_proto = Proto.SOAP12
    if envelope.body is None:
        fault = invalid_request("no document specified")
        body = fault_element(out_proto, fault, _trace(rc))
        return HttpReply(500, out_proto.content_type, serialize(out_proto, body))
    try:
        check_context_token(rc)
    except SoapFault as fault:
        body = fault_element(out_proto, fault, _trace(rc))
        return HttpReply(500, out_proto.content_type, serialize(out_proto, body))
    req = envelope.body
    if req.name == "BatchRequest" and req.ns == NS_ZIMBRA:
        resp = _batch(rc, req, out_proto)
        status = 200
    else:
        try:
            resp = dispatch(rc, req)
            status = 200
        except SoapFault as fault:
            resp = fault_element(out_proto, fault, _trace(rc))
            status = 500
        except Exception as exc:  # noqa: BLE001 - a handler bug becomes service.FAILURE, like Zimbra
            resp = fault_element(out_proto, failure(repr(exc)), _trace(rc))
            status = 500
        request_id = req.attrs.get("requestId")
        if request_id is not None:
            resp.attrs["requestId"] = request_id
    if rc.session is not None:
        rc.response_context.add(
            "session", {"id": rc.session.id, "type": rc.session.type}, rc.session.id
        )
    return HttpReply(
        status, out_proto.content_type, serialize(out_proto, resp, rc.response_context)
    )


def _batch(rc: RequestContext, req: El, proto: Proto) -> El:
    out = El("BatchResponse", NS_ZIMBRA)
    keep_going = req.attrs.get("onerror", "continue") == "continue"
    for child in req.children:
        request_id = child.attrs.get("requestId")
        try:
            resp = dispatch(rc, child, batch=True)
            failed = False
        except SoapFault as fault:
            resp = fault_element(proto, fault, _trace(rc))
            failed = True
        except Exception as exc:  # noqa: BLE001
            resp = fault_element(proto, failure(repr(exc)), _trace(rc))
            failed = True
        if request_id is not None:
            resp.attrs["requestId"] = request_id
        out.children.append(resp)
        if failed and not keep_going:
            break
    return out
