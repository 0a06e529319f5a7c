"""urn:zimbraAdmin handlers (served on /service/admin/soap/ only)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from zcomp.sandbox.common import (
    account_attrs,
    account_el,
    attrs_el,
    audit_fail,
    audit_ok,
    check_login,
    duration_ms,
    issue_token,
    password_check,
    set_password,
    wanted_set,
)
from zcomp.sandbox.directory import DOMAIN, AccountEntry
from zcomp.sandbox.element import NS_ADMIN, El, get_bool, get_int
from zcomp.sandbox.engine import RequestContext, handler, is_admin_account
from zcomp.sandbox.faults import (
    SoapFault,
    auth_failed,
    auth_required,
    invalid_password,
    invalid_request,
    maintenance_mode,
    missing_attr,
    missing_element,
    no_such_account,
    no_such_domain,
    perm_denied,
    too_many_search_results,
)
from zcomp.sandbox.ldapfilter import compile_filter
from zcomp.sandbox.passwords import password_rules, policy_violation
from zcomp.sandbox.schema import apply_mods, parse_mods, validate_mods

A = NS_ADMIN


def _resp(req: El) -> El:
    return El(req.name[: -len("Request")] + "Response", A)


def _account_selector(rc: RequestContext, el: El | None) -> AccountEntry:
    if el is None:
        raise missing_element("account")
    by = el.get("by", "name") or "name"
    key = (el.text or "").strip()
    if by not in ("name", "id", "adminName", "foreignPrincipal", "appAdminName", "krb5Principal"):
        raise invalid_request(f"unknown value for by: {by}")
    entry = rc.dir.find(key, "id" if by == "id" else "name")
    if entry is None:
        raise no_such_account(key)
    return entry


def _by_id(rc: RequestContext, req: El) -> AccountEntry:
    acct_id = req.get("id")
    if not acct_id:
        raise missing_attr("id")
    entry = rc.dir.find(acct_id, "id")
    if entry is None:
        raise no_such_account(acct_id)
    return entry


def _mods(req: El) -> dict[str, list[str]]:
    return parse_mods([(a.attrs.get("n", ""), a.text or "") for a in req.all("a")])


# ---- auth -------------------------------------------------------------------------------------


@handler(A, "AuthRequest", "none")
def auth(rc: RequestContext, req: El) -> El:
    d = rc.dir
    token_el = req.child("authToken")
    password = req.get("password")
    if token_el is not None and password is None:
        return _validate_token(rc, req, (token_el.text or "").strip())
    name = req.get("name")
    acct_el = req.child("account")
    if name and acct_el is not None:
        raise invalid_request("only one of name or account can be specified")
    if not name and acct_el is None:
        raise invalid_request("missing name or account")
    typed = (name or (acct_el.text if acct_el is not None else "") or "").strip()
    by = "id" if acct_el is not None and acct_el.get("by") == "id" else "name"
    key = typed if "@" in typed or by == "id" else f"{typed}@{DOMAIN}"
    entry = d.find(key, by)
    cached = rc.server.cache.get(entry.id) if entry is not None else None
    ten = rc.world.major() >= 10
    if cached is None:
        audit_fail(rc, typed, None, "account not found")
        if ten:
            raise perm_denied("Error in Authentication")
        raise auth_failed(typed)
    if not is_admin_account(cached):
        raise perm_denied("not an admin account")
    status = cached.first("zimbraAccountStatus", "active")
    if ten and status != "active":
        audit_fail(rc, typed, cached, f"account(or domain) status is {status}")
        if status == "maintenance":
            raise maintenance_mode()
        raise perm_denied("Error in Authentication")
    check_login(rc, typed, cached, password or "")
    audit_ok(rc, cached)
    lifetime = duration_ms(d.effective1(cached, "zimbraAdminAuthTokenLifetime", "12h"))
    raw, token = issue_token(rc, cached, lifetime, admin=True)
    resp = _resp(req)
    resp.add("authToken", text=raw)
    resp.add("lifetime", text=str(lifetime))
    _maybe_session(rc, cached, token.token_id)
    return resp


def _maybe_session(rc: RequestContext, entry: AccountEntry, token_id: str) -> None:
    if rc.header_value("session") is not None and rc.header_value("nosession") is None:
        kind = (
            "admin"
            if rc.servlet == "admin" and rc.request_name and is_admin_account(entry)
            else "soap"
        )
        rc.session = rc.server.sessions.create(entry.id, entry.name, token_id, kind, rc.now_ms())


def _validate_token(rc: RequestContext, req: El, raw: str) -> El:
    from zcomp.sandbox.engine import authenticate

    rc.header = rc.header or El("context")
    rc.header.children = [c for c in rc.header.children if c.name != "authToken"]
    rc.header.add("authToken", text=raw)
    try:
        authenticate(rc, admin=True)
    except SoapFault as fault:
        if fault.code == "service.AUTH_REQUIRED":
            raise auth_required() from None
        raise
    token = rc.token
    if token is None:
        raise auth_required()
    resp = _resp(req)
    resp.add("authToken", text=raw)
    resp.add("lifetime", text=str(max(0, token.expires_ms - rc.now_ms())))
    return resp


@handler(A, "DelegateAuthRequest", "admin")
def delegate_auth(rc: RequestContext, req: El) -> El:
    entry = _account_selector(rc, req.child("account"))
    cached = rc.server.cache.get(entry.id) or entry
    duration = get_int(req, "duration", 3600)
    cap = duration_ms(rc.dir.effective1(cached, "zimbraAuthTokenLifetime", "2d"))
    lifetime = min(duration * 1000, cap)
    raw, _ = issue_token(rc, cached, lifetime, admin=False, admin_id=rc.require_authed().id)
    if rc.world.logs.enabled:
        rc.world.logs.audit(
            rc.now(),
            rc.log_ctx(),
            [("cmd", "DelegateAuth"), ("accountId", entry.id), ("accountName", entry.name)],
        )
    resp = _resp(req)
    resp.add("authToken", text=raw)
    resp.add("lifetime", text=str(duration * 1000))
    return resp


# ---- accounts ---------------------------------------------------------------------------------


@handler(A, "CreateAccountRequest", "admin")
def create_account(rc: RequestContext, req: El) -> El:
    name = req.get("name")
    if not name:
        raise missing_attr("name")
    mods = _mods(req)
    validate_mods(mods, check_immutable=True)
    attrs: dict[str, list[str]] = {}
    apply_mods(attrs, mods)
    entry = rc.dir.create_account(name, req.get("password") or None, attrs)
    rc.record_write(entry.name)
    rc.write_through(entry)
    if rc.world.logs.enabled:
        rc.world.logs.audit(
            rc.now(), rc.log_ctx(), [("cmd", "CreateAccount"), ("name", entry.name)]
        )
    resp = _resp(req)
    account_el(resp, rc.dir, entry)
    return resp


@handler(A, "DeleteAccountRequest", "admin")
def delete_account(rc: RequestContext, req: El) -> El:
    entry = _by_id(rc, req)
    rc.dir.delete_account(entry)
    rc.record_write(entry.name)
    rc.server.cache.flush([entry.id])
    return _resp(req)


@handler(A, "AddAccountAliasRequest", "admin")
def add_alias(rc: RequestContext, req: El) -> El:
    entry = _by_id(rc, req)
    alias = req.get("alias")
    if not alias:
        raise missing_attr("alias")
    rc.dir.add_alias(entry, alias)
    rc.record_write(entry.name)
    rc.write_through(entry)
    return _resp(req)


@handler(A, "GetAccountRequest", "admin")
def get_account(rc: RequestContext, req: El) -> El:
    entry = _account_selector(rc, req.child("account"))
    resp = _resp(req)
    account_el(
        resp,
        rc.dir,
        entry,
        wanted=wanted_set(req.get("attrs")),
        apply_cos=get_bool(req, "applyCos", True),
    )
    return resp


@handler(A, "GetAccountInfoRequest", "admin")
def get_account_info(rc: RequestContext, req: El) -> El:
    entry = _account_selector(rc, req.child("account"))
    resp = _resp(req)
    resp.add("name", text=entry.name)
    resp.add("a", {"n": "zimbraId"}, entry.id)
    host = entry.first("zimbraMailHost", "")
    resp.add("a", {"n": "zimbraMailHost"}, host)
    resp.add("cos", {"name": rc.dir.cos_name, "id": rc.dir.cos_id})
    home = rc.world.server_by_name(host or "") or rc.world.servers[0]
    resp.add("soapURL", text=home.base_url + "/service/soap/")
    resp.add("adminSoapURL", text=home.base_url + "/service/admin/soap/")
    resp.add("publicMailURL", text=home.base_url)
    return resp


@handler(A, "ModifyAccountRequest", "admin")
def modify_account(rc: RequestContext, req: El) -> El:
    entry = _by_id(rc, req)
    mods = _mods(req)
    validate_mods(mods, check_immutable=True)
    status_values = [v for k, v in mods.items() if k.lower() == "zimbraaccountstatus"]
    new_status = status_values[0][0] if status_values and status_values[0] else None
    sieve_keys = {
        k: v
        for k, v in mods.items()
        if k.lower() in ("zimbramailsievescript", "zimbramailoutgoingsievescript")
    }
    apply_mods(entry.attrs, mods)
    if new_status is not None:
        _status_side_effects(rc, entry, new_status, mods)
    for key in sieve_keys:
        value = entry.first(key)
        if value and value not in rc.dir.sieve_memo:
            rc.dir.sieve_memo[value] = []  # a script we did not render: no rules to show
    rc.record_write(entry.name)
    rc.write_through(entry)
    if rc.world.logs.enabled:
        fields = [("cmd", "ModifyAccount"), ("name", entry.name)]
        fields += [(k, ",".join(v)) for k, v in mods.items()]
        rc.world.logs.audit(rc.now(), rc.log_ctx(), fields)
    resp = _resp(req)
    account_el(resp, rc.dir, entry)
    return resp


def _status_side_effects(
    rc: RequestContext, entry: AccountEntry, status: str, mods: dict[str, list[str]]
) -> None:
    """callback/AccountStatus: mail status follows; active clears lockout; closed leaves lists."""
    if not any(k.lower() == "zimbramailstatus" for k in mods):
        entry.attrs["zimbraMailStatus"] = [
            "disabled" if status in ("closed", "pending") else "enabled"
        ]
    if status == "active":
        entry.attrs.pop("zimbraPasswordLockoutFailureTime", None)
        entry.attrs.pop("zimbraPasswordLockoutLockedTime", None)
    if status == "closed":
        rc.dir.remove_from_lists(entry)


@handler(A, "SetPasswordRequest", "admin")
def set_password_handler(rc: RequestContext, req: El) -> El:
    entry = _by_id(rc, req)
    password = req.get("newPassword")
    if password is None:
        raise missing_attr("newPassword")
    resp = _resp(req)
    # LdapProvisioning.setPassword(acct, pw, enforce=false): a dry run collects the first policy
    # violation (strength, min age, history) for <message>, then the password is set anyway.
    # The request's dryRun element exists in the JAXB class but the handler never reads it.
    violation = password_check(rc, entry, password)
    if violation is not None:
        resp.add(
            "message",
            text=f"Password violation: account={entry.name}, violation={violation.message}."
            "  Password is set successfully.",
        )
    set_password(rc, entry, password)
    rc.record_write(entry.name)
    rc.write_through(entry)
    if rc.world.logs.enabled:
        rc.world.logs.audit(rc.now(), rc.log_ctx(), [("cmd", "SetPassword"), ("name", entry.name)])
    return resp


@handler(A, "CheckPasswordStrengthRequest", "admin")
def check_password_strength(rc: RequestContext, req: El) -> El:
    """admin/CheckPasswordStrength: id and password read first, then the account; only
    LdapProvisioning.checkPasswordStrength (no history, no minimum age); nothing changes."""
    acct_id = req.get("id")
    if acct_id is None:
        raise missing_attr("id")
    password = req.get("password")
    if password is None:
        raise missing_attr("password")
    entry = rc.dir.find(acct_id, "id")
    if entry is None:
        raise no_such_account(acct_id)
    violation = policy_violation(password, password_rules(rc.dir, entry))
    if violation is not None:
        raise invalid_password(violation)
    if rc.world.logs.enabled:
        rc.world.logs.audit(
            rc.now(), rc.log_ctx(), [("cmd", "CheckPasswordStrength"), ("name", entry.name)]
        )
    return _resp(req)


_CACHE_TYPES = frozenset(
    [
        "acl",
        "all",
        "account",
        "config",
        "globalgrant",
        "cos",
        "domain",
        "galgroup",
        "group",
        "mime",
        "server",
        "alwaysOnCluster",
        "zimlet",
        "skin",
        "locale",
        "uistrings",
        "license",
    ]
)


@handler(A, "FlushCacheRequest", "admin")
def flush_cache(rc: RequestContext, req: El) -> El:
    """FlushCache.doFlushCache: each type in turn on this server, then the others if allServers.

    Types are split on ',' without trimming; an unknown one is INVALID_REQUEST (after the
    earlier ones were flushed). Account entries are found in each server's cache by id or
    name; "all" refuses entries. Only the account cache is modelled.
    """
    cache_el = req.child("cache")
    if cache_el is None:
        raise missing_element("cache")
    spec = cache_el.get("type")
    if spec is None:
        raise missing_attr("type")
    selectors = [((e.text or "").strip(), e.get("by") or "name") for e in cache_el.all("entry")]
    servers = [rc.server]
    if get_bool(cache_el, "allServers"):
        # flushCacheOnAllServers re-sends to every other mail server; their errors are only logged
        servers += [s for s in rc.world.servers if s is not rc.server]
    for kind in spec.split(","):
        if kind not in _CACHE_TYPES:
            raise invalid_request(f"unknown cache type: {kind}")
        if kind == "all" and selectors:
            raise invalid_request("cannot specify entry for flushing all")
        if kind in ("account", "all"):
            for s in servers:
                s.cache.flush(_selected_ids(rc, selectors) if selectors else None)
    return _resp(req)


def _selected_ids(rc: RequestContext, selectors: list[tuple[str, str]]) -> list[str]:
    ids = []
    for key, by in selectors:
        found = rc.dir.find(key, "id" if by == "id" else "name")
        if found is not None:
            ids.append(found.id)
    return ids


@handler(A, "GetSessionsRequest", "admin")
def get_sessions(rc: RequestContext, req: El) -> El:
    kind = req.get("type")
    if not kind:
        raise missing_attr("type")
    if kind not in ("soap", "imap", "admin", "wiki", "synclistener"):
        raise invalid_request(f"invalid session type: {kind}")
    sessions = [s for s in rc.server.sessions.all() if s.type == kind]
    sort = req.get("sortBy", "nameAsc") or "nameAsc"
    keyf = {"name": lambda s: s.account_name, "created": lambda s: s.created_ms}.get(
        sort.replace("Asc", "").replace("Desc", ""), lambda s: s.accessed_ms
    )
    sessions.sort(key=keyf, reverse=sort.endswith("Desc"))  # type: ignore[arg-type]
    offset, limit = get_int(req, "offset", 0), get_int(req, "limit", 0)
    page = sessions[offset : offset + limit] if limit else sessions[offset:]
    resp = _resp(req)
    resp.attrs.update(
        {"more": "1" if offset + len(page) < len(sessions) else "0", "total": str(len(sessions))}
    )
    for s in page:
        resp.add(
            "s",
            {
                "zid": s.account_id,
                "name": s.account_name,
                "sid": s.id,
                "cd": str(s.created_ms),
                "ld": str(s.accessed_ms),
            },
        )
    return resp


# ---- servers, domains, version ----------------------------------------------------------------


@handler(A, "GetAllServersRequest", "admin")
def get_all_servers(rc: RequestContext, req: El) -> El:
    service = req.get("service")
    resp = _resp(req)
    for s in rc.dir.servers:
        if service and service not in s.attrs.get("zimbraServiceEnabled", []):
            continue
        el = resp.add("server", {"name": s.name, "id": s.id})
        attrs_el(el, s.attrs)
    return resp


@handler(A, "GetServerRequest", "admin")
def get_server(rc: RequestContext, req: El) -> El:
    sel = req.child("server")
    if sel is None:
        raise missing_element("server")
    key = (sel.text or "").strip()
    for s in rc.dir.servers:
        if key in (s.name, s.id):
            resp = _resp(req)
            attrs_el(resp.add("server", {"name": s.name, "id": s.id}), s.attrs)
            return resp
    raise SoapFault("account.NO_SUCH_SERVER", f"no such server: {key}")


def _domain_el(rc: RequestContext, parent: El) -> None:
    el = parent.add("domain", {"name": DOMAIN, "id": rc.dir.domain_id})
    attrs_el(el, rc.dir.domain_attrs)


@handler(A, "GetDomainRequest", "admin")
def get_domain(rc: RequestContext, req: El) -> El:
    sel = req.child("domain")
    if sel is None:
        raise missing_element("domain")
    key = (sel.text or "").strip().lower()
    if key not in (DOMAIN, rc.dir.domain_id):
        raise no_such_domain(key)
    resp = _resp(req)
    _domain_el(rc, resp)
    return resp


@handler(A, "GetConfigRequest", "admin")
def get_config(rc: RequestContext, req: El) -> El:
    """One attribute of the global config (GetConfig.java: exactly one <a n=...>)."""
    a = req.child("a")
    if a is None:
        raise missing_element("a")
    name = a.get("n")
    if not name:
        raise missing_attr("n")
    resp = _resp(req)
    attrs_el(resp, rc.dir.config_attrs, wanted={name.lower()})
    return resp


@handler(A, "GetAllDomainsRequest", "admin")
def get_all_domains(rc: RequestContext, req: El) -> El:
    resp = _resp(req)
    _domain_el(rc, resp)
    return resp


@handler(A, "GetVersionInfoRequest", "admin")
def get_version_info(rc: RequestContext, req: El) -> El:
    v = rc.world.version
    parts = [*v.split("."), "0", "0"]
    # admin/GetVersionInfo.java: version = BuildInfo.VERSION + "." + BuildInfo.TYPE.
    edition = "NETWORK" if rc.world.edition == "network" else "FOSS"
    resp = _resp(req)
    resp.add(
        "info",
        {
            "type": edition,
            "version": f"{v}_GA_0001.SANDBOX.{edition}",
            "release": f"{v}_GA",
            "buildDate": "20240101-0000",
            "host": rc.server.name,
            "majorversion": parts[0],
            "minorversion": parts[1],
            "microversion": parts[2],
            "platform": "SANDBOX",
        },
    )
    return resp


@handler(A, "NoOpRequest", "admin")
def admin_noop(rc: RequestContext, req: El) -> El:
    return _resp(req)


# ---- search -----------------------------------------------------------------------------------


@handler(A, "SearchDirectoryRequest", "admin")
def search_directory(rc: RequestContext, req: El) -> El:
    pred = compile_filter(req.get("query") or "")
    types = {t.strip() for t in (req.get("types") or "accounts").split(",") if t.strip()}
    for t in types:
        if t not in (
            "accounts",
            "distributionlists",
            "aliases",
            "resources",
            "domains",
            "coses",
            "dynamicgroups",
        ):
            raise invalid_request(f"unknown type: {t}")
    wanted = wanted_set(req.get("attrs"))
    apply_cos = get_bool(req, "applyCos", True)
    d = rc.dir
    hits: list[tuple[str, Callable[[], El]]] = []
    if "accounts" in types:
        for entry in d.accounts.values():
            if pred(entry.attrs):
                hits.append((entry.name, partial(_account_hit, rc, entry, wanted, apply_cos)))
    if "distributionlists" in types:
        for dl in d.lists.values():
            if pred(dl.attrs):
                hits.append((dl.name, partial(_entry_hit, "dl", dl.name, dl.id, dl.attrs, wanted)))
    if "domains" in types and pred(d.domain_attrs):
        hits.append(
            (DOMAIN, partial(_entry_hit, "domain", DOMAIN, d.domain_id, d.domain_attrs, wanted))
        )
    max_results = get_int(req, "maxResults", 0)
    if max_results > 0 and len(hits) > max_results:
        raise too_many_search_results(str(max_results))
    sort_by = req.get("sortBy")
    if sort_by in (None, "", "name"):
        hits.sort(key=lambda h: h[0], reverse=not get_bool(req, "sortAscending", True))
    total = len(hits)
    if get_bool(req, "countOnly"):
        return El("SearchDirectoryResponse", A, {"num": str(total)})
    offset, limit = get_int(req, "offset", 0), get_int(req, "limit", 0)
    page = hits[offset : offset + limit] if limit > 0 else hits[offset:]
    resp = _resp(req)
    resp.attrs["more"] = "1" if offset + len(page) < total else "0"
    resp.attrs["searchTotal"] = str(total)
    resp.children.extend(build() for _, build in page)
    return resp


def _account_hit(
    rc: RequestContext, entry: AccountEntry, wanted: set[str] | None, apply_cos: bool
) -> El:
    el = El("account", A, {"name": entry.name, "id": entry.id})
    attrs_el(el, account_attrs(rc.dir, entry, apply_cos), wanted)
    return el


def _entry_hit(
    tag: str, name: str, ident: str, attrs: dict[str, list[str]], wanted: set[str] | None
) -> El:
    el = El(tag, A, {"name": name, "id": ident})
    if tag == "dl":
        el.attrs["dynamic"] = "0"
    attrs_el(el, attrs, wanted)
    return el


@handler(A, "CountAccountRequest", "admin")
def count_account(rc: RequestContext, req: El) -> El:
    resp = _resp(req)
    n = sum(1 for e in rc.dir.accounts.values() if e.first("zimbraIsSystemResource") != "TRUE")
    resp.add("cos", {"id": rc.dir.cos_id, "name": rc.dir.cos_name}, str(n))
    return resp
