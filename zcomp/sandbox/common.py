"""Small helpers shared by the admin and user handlers."""

from __future__ import annotations

from zcomp.sandbox.clock import gentime
from zcomp.sandbox.directory import AccountEntry, Directory
from zcomp.sandbox.element import El
from zcomp.sandbox.engine import RequestContext, is_admin_account
from zcomp.sandbox.faults import SoapFault, auth_failed, maintenance_mode, perm_denied
from zcomp.sandbox.passwords import hash_password, policy_violation, verify_password
from zcomp.sandbox.schema import INT_MAX
from zcomp.sandbox.tokens import Token

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(value: str, default_unit: str = "s") -> int:
    value = value.strip()
    for unit in ("ms", "s", "m", "h", "d"):
        if value.endswith(unit) and value[: -len(unit)].isdigit():
            return int(value[: -len(unit)]) * _UNITS_MS[unit]
    return int(value) * _UNITS_MS[default_unit] if value.isdigit() else 0


def attrs_el(
    parent: El,
    attrs: dict[str, list[str]],
    wanted: set[str] | None = None,
    key: str = "n",
    tag: str = "a",
) -> None:
    names = attrs if wanted is None else [n for n in attrs if n.lower() in wanted]
    for name in sorted(names, key=str.lower):
        if name == "userPassword":
            parent.add(tag, {key: name}, "VALUE-BLOCKED")
            continue
        for v in attrs[name]:
            parent.add(tag, {key: name}, v)


def account_attrs(d: Directory, entry: AccountEntry, apply_cos: bool) -> dict[str, list[str]]:
    out = dict(entry.attrs)  # values are only read by callers
    if apply_cos:
        for name, values in d.cos_inherited().items():
            out.setdefault(name, values)
    return out


def wanted_set(spec: str | None) -> set[str] | None:
    if not spec:
        return None
    return {p.strip().lower() for p in spec.split(",") if p.strip()}


def account_el(
    parent: El,
    d: Directory,
    entry: AccountEntry,
    *,
    wanted: set[str] | None = None,
    apply_cos: bool = True,
) -> El:
    el = parent.add("account", {"name": entry.name, "id": entry.id})
    attrs_el(el, account_attrs(d, entry, apply_cos), wanted)
    return el


def issue_token(
    rc: RequestContext,
    entry: AccountEntry,
    lifetime_ms: int,
    *,
    admin: bool,
    admin_id: str | None = None,
) -> tuple[str, Token]:
    token = Token(
        account_id=entry.id,
        expires_ms=rc.now_ms() + lifetime_ms,
        validity=_validity(entry),
        token_id=rc.world.new_token_id(),
        admin=admin,
        admin_id=admin_id,
    )
    return rc.world.codec.encode(token), token


def _validity(entry: AccountEntry) -> int:
    try:
        return int(entry.first("zimbraAuthTokenValidityValue", "-1") or "-1")
    except ValueError:
        return -1


def check_login(rc: RequestContext, typed: str, entry: AccountEntry, password: str) -> None:
    """LdapProvisioning.authAccount on the answering server's cached entry."""
    status = entry.first("zimbraAccountStatus", "active")
    if status == "maintenance":
        _audit_fail(rc, typed, entry, "account(or domain) status is maintenance")
        raise maintenance_mode()
    if status not in ("active", "lockout"):
        _audit_fail(rc, typed, entry, f"account(or domain) status is {status}")
        raise auth_failed(typed)
    if not password:
        _audit_fail(rc, typed, entry, "empty password")
        raise auth_failed(typed)
    if not verify_password(password, entry.first("userPassword")):
        _audit_fail(rc, typed, entry, "invalid password")
        raise auth_failed(typed)


def _audit_fail(rc: RequestContext, typed: str, entry: AccountEntry | None, why: str) -> None:
    logs = rc.world.logs
    if not logs.enabled:
        return
    ctx = rc.log_ctx()
    msg = f"authentication failed for [{typed}], {why}"
    logs.mailbox(rc.now(), ctx, "SoapEngine", f"handler exception: {msg}")
    fields = [("cmd", "Auth"), ("account", entry.name if entry else typed), ("protocol", "soap")]
    logs.audit(rc.now(), ctx, [*fields, ("error", msg)], level="WARN")


def audit_fail(rc: RequestContext, typed: str, entry: AccountEntry | None, why: str) -> None:
    _audit_fail(rc, typed, entry, why)


def audit_ok(rc: RequestContext, entry: AccountEntry) -> None:
    if rc.world.logs.enabled:
        rc.log_ctx().name = entry.name
        rc.world.logs.audit(
            rc.now(), rc.log_ctx(), [("cmd", "Auth"), ("account", entry.name), ("protocol", "soap")]
        )


def password_policy(d: Directory, entry: AccountEntry, password: str) -> str | None:
    names = [
        "zimbraPasswordMinLength",
        "zimbraPasswordMaxLength",
        "zimbraPasswordMinUpperCaseChars",
        "zimbraPasswordMinLowerCaseChars",
        "zimbraPasswordMinPunctuationChars",
        "zimbraPasswordMinNumericChars",
    ]
    return policy_violation(
        password, {n: d.effective_int(entry, n, 0 if "Min" in n[13:] else 64) for n in names}
    )


def set_password(rc: RequestContext, entry: AccountEntry, password: str) -> None:
    """LdapProvisioning.setPassword: history, validity value +1, must-change cleared."""
    d = rc.world.directory
    keep = d.effective_int(entry, "zimbraPasswordEnforceHistory", 0)
    old = entry.first("userPassword")
    if keep > 0 and old:
        history = [*entry.attrs.get("zimbraPasswordHistory", []), f"{rc.now_ms()}:{old}"]
        entry.attrs["zimbraPasswordHistory"] = history[-keep:]
    entry.attrs["userPassword"] = [hash_password(password)]
    vv = _validity(entry)
    entry.attrs["zimbraAuthTokenValidityValue"] = [str(0 if vv >= INT_MAX else vv + 1)]
    entry.attrs.pop("zimbraPasswordMustChange", None)
    entry.attrs["zimbraPasswordModifiedTime"] = [gentime(rc.now())]


def recently_used(entry: AccountEntry, password: str) -> bool:
    if verify_password(password, entry.first("userPassword")):
        return True
    for h in entry.attrs.get("zimbraPasswordHistory", []):
        _, _, hashed = h.partition(":")
        if verify_password(password, hashed):
            return True
    return False


def require_options(rc: RequestContext) -> None:
    """DocumentHandler.canModifyOptions: the caller needs zimbraFeatureOptionsEnabled."""
    authed = rc.require_authed()
    if rc.world.directory.effective1(authed, "zimbraFeatureOptionsEnabled", "TRUE") != "TRUE":
        raise perm_denied("can not modify options")


def is_admin(entry: AccountEntry) -> bool:
    return is_admin_account(entry)


def fault_text(fault: SoapFault) -> str:
    return f"{fault.code}: {fault.message}"
