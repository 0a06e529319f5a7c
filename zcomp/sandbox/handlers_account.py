"""urn:zimbraAccount handlers: auth, info, prefs, password, session end."""

from __future__ import annotations

from zcomp.sandbox.common import (
    attrs_el,
    audit_fail,
    audit_ok,
    check_login,
    duration_ms,
    issue_token,
    password_check,
    require_options,
    set_password,
)
from zcomp.sandbox.directory import AccountEntry
from zcomp.sandbox.element import NS_ACCOUNT, El, get_bool
from zcomp.sandbox.engine import RequestContext, authenticate, handler
from zcomp.sandbox.faults import (
    SoapFault,
    auth_failed,
    auth_required,
    failure,
    invalid_request,
    missing_attr,
    missing_element,
    password_locked,
    perm_denied,
)
from zcomp.sandbox.schema import apply_mods, check_known, parse_mods, validate_mods
from zcomp.sandbox.signatures import identities_el, signatures_el

ACC = NS_ACCOUNT


def _resp(req: El) -> El:
    return El(req.name[: -len("Request")] + "Response", ACC)


def _lookup_login(rc: RequestContext, acct_el: El | None) -> tuple[str, AccountEntry | None]:
    if acct_el is None:
        raise missing_element("account")
    by = acct_el.get("by", "name") or "name"
    typed = (acct_el.text or "").strip()
    entry = rc.dir.find(typed, "id" if by == "id" else "name")
    return typed, (rc.server.cache.get(entry.id) if entry is not None else None)


@handler(ACC, "AuthRequest", "none")
def auth(rc: RequestContext, req: El) -> El:
    token_el = req.child("authToken")
    if token_el is not None and req.get("password") is None:
        rc.header = rc.header or El("context")
        rc.header.children = [c for c in rc.header.children if c.name != "authToken"]
        rc.header.add("authToken", text=(token_el.text or "").strip())
        rc.token_voided = False
        authenticate(rc, admin=False)
        if rc.token is None:
            raise auth_required()
        resp = _resp(req)
        resp.add("authToken", text=rc.raw_token or "")
        resp.add("lifetime", text=str(max(0, rc.token.expires_ms - rc.now_ms())))
        return resp
    typed, entry = _lookup_login(rc, req.child("account"))
    password = req.get("password") or ""
    if entry is None:
        audit_fail(rc, typed, None, "account not found")
        raise auth_failed(typed)
    rc.log_ctx().name = entry.name
    check_login(rc, typed, entry, password)  # also account.CHANGE_PASSWORD (max age, must change)
    audit_ok(rc, entry)
    lifetime = duration_ms(rc.dir.effective1(entry, "zimbraAuthTokenLifetime", "2d"))
    raw, token = issue_token(rc, entry, lifetime, admin=False)
    resp = _resp(req)
    resp.add("authToken", text=raw)
    resp.add("lifetime", text=str(lifetime))
    if rc.header_value("session") is not None and rc.header_value("nosession") is None:
        rc.session = rc.server.sessions.create(
            entry.id, entry.name, token.token_id, "soap", rc.now_ms()
        )
        resp.add("session", {"id": rc.session.id, "type": "soap"}, rc.session.id)
    resp.add("skin", text="harmony")
    return resp


@handler(ACC, "ChangePasswordRequest", "none")
def change_password_handler(rc: RequestContext, req: El) -> El:
    """account/ChangePassword.java + LdapProvisioning.changePassword.

    The account is looked up by name only (<account by> is ignored), then the old password is
    verified without the aging checks (so must-change accounts can change it), then the
    password lock, then setPassword's policy: strength, min age (skipped when must-change),
    history.
    """
    acct_el = req.child("account")
    if acct_el is None:
        raise missing_attr("account")
    typed = (acct_el.text or "").strip()
    found = rc.dir.find(typed, "name")
    cached = rc.server.cache.get(found.id) if found is not None else None
    if cached is None:
        audit_fail(rc, typed, None, "account not found")
        raise auth_failed(typed)
    old = req.get("oldPassword")
    if old is None:
        raise missing_attr("oldPassword")
    new = req.get("password")
    if new is None:
        raise missing_attr("password")
    dry_run = _version_at_least(rc, (9, 0, 0)) and (req.get("dryRun") or "").lower() in (
        "1",
        "true",
    )
    check_login(rc, typed, cached, old, aging=False)
    d = rc.dir
    entry = d.get(cached.id, "id")
    if d.effective1(entry, "zimbraPasswordLocked", "FALSE") == "TRUE":
        raise password_locked()
    fault = password_check(rc, entry, new)
    if fault is not None:
        raise fault
    resp = _resp(req)
    if dry_run:
        return resp
    set_password(rc, entry, new)
    rc.record_write(entry.name)
    rc.write_through(entry)
    lifetime = duration_ms(d.effective1(entry, "zimbraAuthTokenLifetime", "2d"))
    raw, _ = issue_token(rc, entry, lifetime, admin=False)
    resp.add("authToken", text=raw)
    resp.add("lifetime", text=str(lifetime))
    return resp


@handler(ACC, "GetInfoRequest", "user")
def get_info(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    d = rc.dir
    sections = {
        s.strip() for s in (req.get("sections") or "mbox,prefs,attrs,idents,sigs").split(",")
    }
    resp = _resp(req)
    edition = "NETWORK" if rc.world.edition == "network" else "FOSS"
    resp.add("version", text=f"{rc.world.version}_GA_0001 SANDBOX {edition} edition")
    resp.add("id", text=entry.id)
    resp.add("name", text=entry.name)
    token = rc.token
    if token is not None:
        resp.add("lifetime", text=str(max(0, token.expires_ms - rc.now_ms())))
        resp.add("adminDelegated", text="1" if token.delegated else "0")
    effective = _effective_attrs(rc, entry)
    if "prefs" in sections:
        prefs = resp.add("prefs")
        attrs_el(
            prefs,
            {k: v for k, v in effective.items() if k.startswith("zimbraPref")},
            key="name",
            tag="pref",
        )
    if "attrs" in sections:
        attrs = resp.add("attrs")
        pick = {
            k: v for k, v in effective.items() if k.startswith("zimbraFeature") or k in _INFO_ATTRS
        }
        attrs_el(attrs, pick, key="name", tag="attr")
    if "idents" in sections:
        resp.children.append(identities_el(d, entry))
    if "sigs" in sections:
        resp.children.append(signatures_el(entry))
    resp.add("soapURL", text=rc.server.base_url + "/service/soap/")
    resp.add("publicURL", text=rc.server.base_url)
    return resp


_INFO_ATTRS = {
    "displayName",
    "zimbraId",
    "zimbraMailHost",
    "zimbraAccountStatus",
    "zimbraMailAlias",
    "zimbraAllowFromAddress",
    "zimbraAllowAnyFromAddress",
    "zimbraPasswordMinLength",
}


def _effective_attrs(rc: RequestContext, entry: AccountEntry) -> dict[str, list[str]]:
    # Read only: the value lists are shared, not copied (~500 of them per GetInfo/GetPrefs).
    return {**rc.dir.cos_attrs, **entry.attrs}


@handler(ACC, "GetPrefsRequest", "user")
def get_prefs(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    effective = _effective_attrs(rc, entry)
    names = [p.get("name") or "" for p in req.all("pref")]
    resp = _resp(req)
    prefs = {k: v for k, v in effective.items() if k.startswith("zimbraPref")}
    if names:
        wanted = {n.lower() for n in names}
        prefs = {k: v for k, v in prefs.items() if k.lower() in wanted}
    attrs_el(resp, prefs, key="name", tag="pref")
    return resp


@handler(ACC, "ModifyPrefsRequest", "user")
def modify_prefs(rc: RequestContext, req: El) -> El:
    require_options(rc)
    entry = rc.require_target()
    pairs = [(p.get("name") or "", p.text or "") for p in req.all("pref")]
    for name, _ in pairs:
        bare = name[1:] if name[:1] in "+-" else name
        if not bare.startswith("zimbraPref"):
            raise invalid_request(f"pref name must start with zimbraPref: {name}")
        check_known(bare)
        if (
            bare.lower() == "zimbraprefmailforwardingaddress"
            and rc.dir.effective1(entry, "zimbraFeatureMailForwardingEnabled", "TRUE") != "TRUE"
        ):
            raise perm_denied("forwarding not enabled")
    mods = parse_mods(pairs)
    validate_mods(mods, check_immutable=True)
    apply_mods(entry.attrs, mods)
    rc.record_write(entry.name)
    rc.write_through(entry)
    return _resp(req)


@handler(ACC, "EndSessionRequest", "user")
def end_session(rc: RequestContext, req: El) -> El:
    authed = rc.require_authed()
    table = rc.server.sessions
    revoked = rc.dir.revoked_token_ids
    session_id = req.get("sessionId")
    if get_bool(req, "all") and _version_at_least(rc, (8, 8, 10)):
        exclude = get_bool(req, "excludeCurrent")
        for s in table.all():
            if s.account_id != authed.id or (exclude and rc.session and s.id == rc.session.id):
                continue
            table.remove(s.id)
            revoked.add(s.token_id)
    elif session_id:
        found = table.get(session_id)
        if found is None or found.account_id != authed.id:
            raise failure("Failed to find session with given sessionId")
        table.remove(session_id)
    elif rc.session is not None:
        table.remove(rc.session.id)
        rc.session = None
    if get_bool(req, "logoff") and rc.token is not None:
        revoked.add(rc.token.token_id)
    return _resp(req)


def _version_at_least(rc: RequestContext, want: tuple[int, ...]) -> bool:
    from zcomp.sandbox.filters import version_tuple

    return version_tuple(rc.world.version) >= want


@handler(ACC, "GetAccountInfoRequest", "user")
def get_account_info(rc: RequestContext, req: El) -> El:
    sel = req.child("account")
    if sel is None:
        raise missing_element("account")
    entry = rc.dir.find((sel.text or "").strip(), "id" if sel.get("by") == "id" else "name")
    if entry is None:
        raise SoapFault("account.NO_SUCH_ACCOUNT", f"no such account: {(sel.text or '').strip()}")
    resp = _resp(req)
    resp.add("name", text=entry.name)
    resp.add("attr", {"name": "zimbraId"}, entry.id)
    resp.add("attr", {"name": "zimbraMailHost"}, entry.first("zimbraMailHost", ""))
    home = rc.world.server_by_name(entry.first("zimbraMailHost", "") or "") or rc.world.servers[0]
    resp.add("soapURL", text=home.base_url + "/service/soap/")
    resp.add("publicURL", text=home.base_url)
    return resp
