"""Small helpers shared by the admin and user handlers."""

from __future__ import annotations

import bisect
import weakref
from dataclasses import dataclass, field

from zcomp.sandbox.clock import gentime, parse_gentime
from zcomp.sandbox.directory import AccountEntry, Directory, copy_attrs
from zcomp.sandbox.element import El
from zcomp.sandbox.engine import RequestContext, is_admin_account
from zcomp.sandbox.faults import (
    SoapFault,
    auth_failed,
    change_password,
    invalid_password,
    maintenance_mode,
    password_change_too_soon,
    password_recently_used,
    perm_denied,
)
from zcomp.sandbox.passwords import (
    hash_password,
    password_rules,
    policy_violation,
    verify_password,
)
from zcomp.sandbox.protocol import shared_leaf
from zcomp.sandbox.schema import INT_MAX
from zcomp.sandbox.tokens import Token

# Provisioning.sanitizedAttrValue: secrets an admin read shows as VALUE-BLOCKED.
BLOCKED_ATTRS = frozenset(
    {
        "userPassword",
        "zimbraAppSpecificPassword",
        "zimbraTwoFactorAuthTrustedDevices",
        "zimbraTwoFactorAuthSecret",
        "zimbraTwoFactorAuthScratchCodes",
    }
)
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
    out = parent.children
    for name in sorted(names, key=str.lower):
        out.extend(_leaves(tag, key, parent.ns, name, attrs[name]))


def _leaves(tag: str, key: str, ns: str | None, name: str, values: list[str]) -> list[El]:
    """The <a n="name">value</a> elements of one attribute (what parent.add would make)."""
    if name in BLOCKED_ATTRS:
        return [El(tag, ns, {key: name}, [], "VALUE-BLOCKED")]
    return [El(tag, ns, {key: name}, [], v) for v in values]


def _shared_leaves(tag: str, key: str, ns: str | None, name: str, values: list[str]) -> list[El]:
    """The same elements, made to be shared: serialized once, not once per answer."""
    return [
        shared_leaf(el.name, el.ns, el.attrs, el.text) for el in _leaves(tag, key, ns, name, values)
    ]


@dataclass
class _CosLeaves:
    """The elements of every attribute an account inherits from the COS, sorted as attrs_el
    sorts them, made once and shared by every full account answer (never changed after)."""

    lowers: list[str]  # the names lower-cased, in order (distinct)
    starts: list[int]  # where each name's elements start in `leaves`; one more at the end
    where: dict[str, int]  # name -> its index
    leaves: list[El]


@dataclass
class _CosRender:
    source: dict[str, list[str]]  # a copy of the inherited attributes these were made from
    shapes: dict[tuple[str, str, str | None], _CosLeaves | None] = field(default_factory=dict)


# Per directory; checked against what the COS hands down now on every use, so a COS change (even
# one written straight into the dict) is never answered from an old rendering.
_COS_RENDERS: weakref.WeakKeyDictionary[Directory, _CosRender] = weakref.WeakKeyDictionary()


def _cos_leaves(d: Directory, tag: str, key: str, ns: str | None) -> _CosLeaves | None:
    """None when two inherited names differ only in case (then attrs_el's order needs both)."""
    inherited = d.cos_inherited()
    render = _COS_RENDERS.get(d)
    if render is None or render.source != inherited:
        render = _CosRender(copy_attrs(inherited))
        _COS_RENDERS[d] = render
    shape = (tag, key, ns)
    if shape not in render.shapes:
        render.shapes[shape] = _render_cos(render.source, tag, key, ns)
    return render.shapes[shape]


def _render_cos(
    source: dict[str, list[str]], tag: str, key: str, ns: str | None
) -> _CosLeaves | None:
    names = sorted(source, key=str.lower)
    lowers = [n.lower() for n in names]
    if len(set(lowers)) != len(lowers):
        return None
    starts: list[int] = []
    leaves: list[El] = []
    for name in names:
        starts.append(len(leaves))
        leaves.extend(_shared_leaves(tag, key, ns, name, source[name]))
    starts.append(len(leaves))
    return _CosLeaves(lowers, starts, {n: i for i, n in enumerate(names)}, leaves)


def _merged(own: dict[str, list[str]], cos: _CosLeaves, ns: str | None) -> list[El]:
    """What attrs_el makes of own values over inherited ones: own names go in before the
    inherited names sorting the same or after (sorted() keeps own names first on ties), and
    an inherited name the account has a value for is left out."""
    skips = sorted(cos.where[n] for n in own if n in cos.where)
    out: list[El] = []
    at = 0  # the next inherited name to copy
    for name in sorted(own, key=str.lower):
        pos = bisect.bisect_left(cos.lowers, name.lower())
        _copy_cos(out, cos, at, pos, skips)
        at = pos
        out.extend(_leaves("a", "n", ns, name, own[name]))
    _copy_cos(out, cos, at, len(cos.lowers), skips)
    return out


def _copy_cos(out: list[El], cos: _CosLeaves, i: int, j: int, skips: list[int]) -> None:
    """Inherited names i..j-1 into out, except the indexes in skips (sorted)."""
    starts, leaves = cos.starts, cos.leaves
    for s in skips[bisect.bisect_left(skips, i) : bisect.bisect_left(skips, j)]:
        out.extend(leaves[starts[i] : starts[s]])
        i = s + 1
    out.extend(leaves[starts[i] : starts[j]])


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
    if wanted is None and apply_cos:
        # The whole account (ModifyAccount, GetAccount): ~500 elements, nearly all inherited.
        cos = _cos_leaves(d, "a", "n", el.ns)
        if cos is not None:
            el.children.extend(_merged(entry.attrs, cos, el.ns))
            return el
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


def check_login(
    rc: RequestContext, typed: str, entry: AccountEntry, password: str, *, aging: bool = True
) -> None:
    """LdapProvisioning.authAccount on the answering server's cached entry.

    aging=False is ChangePassword's variant: no max-age or must-change check, so a user whose
    password must change can still change it.
    """
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
    if aging:
        _check_aging(rc, entry)


def _check_aging(rc: RequestContext, entry: AccountEntry) -> None:
    """zimbraPasswordMaxAge elapsed or zimbraPasswordMustChange=TRUE: account.CHANGE_PASSWORD."""
    max_age_days = rc.world.directory.effective_int(entry, "zimbraPasswordMaxAge", 0)
    changed = parse_gentime(entry.first("zimbraPasswordModifiedTime") or "")
    if max_age_days > 0 and changed is not None and changed + max_age_days * 86400 < rc.now():
        raise change_password()
    if (entry.first("zimbraPasswordMustChange") or "FALSE") == "TRUE":
        raise change_password()


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
    return policy_violation(password, password_rules(d, entry))


def new_history(rc: RequestContext, entry: AccountEntry, keep: int) -> list[str] | None:
    """LdapProvisioning.updateHistory: sort, drop the oldest to keep-1, append now:old-hash.

    The result holds the CURRENT hash too, and it is what a new password is checked against;
    None (the attribute is removed) when the account has no password.
    """
    old = entry.first("userPassword")
    if old is None:
        return None
    # Collections.sort on the "millis:hash" strings: oldest first, as the stamps never tie.
    history = sorted(entry.attrs.get("zimbraPasswordHistory", []))
    while history and len(history) >= keep:
        history.pop(0)
    history.append(f"{rc.now_ms()}:{old}")
    return history


def _in_history(password: str, history: list[str]) -> bool:
    for h in history:
        sep = h.find(":")
        if sep != -1 and verify_password(password, h[sep + 1 :]):
            return True
    return False


def password_check(rc: RequestContext, entry: AccountEntry, password: str) -> SoapFault | None:
    """setPassword's policy checks in Zimbra's order: strength, min age, history; first failure."""
    d = rc.world.directory
    violation = password_policy(d, entry, password)
    if violation is not None:
        return invalid_password(violation)
    if (entry.first("zimbraPasswordMustChange") or "FALSE") != "TRUE":  # must-change skips min age
        min_age_days = d.effective_int(entry, "zimbraPasswordMinAge", 0)
        changed = parse_gentime(entry.first("zimbraPasswordModifiedTime") or "")
        if min_age_days > 0 and changed is not None and changed + min_age_days * 86400 > rc.now():
            return password_change_too_soon()
    keep = d.effective_int(entry, "zimbraPasswordEnforceHistory", 0)
    if keep > 0:
        history = new_history(rc, entry, keep)
        if history is not None and _in_history(password, history):
            return password_recently_used()
    return None


def set_password(rc: RequestContext, entry: AccountEntry, password: str) -> None:
    """LdapProvisioning.setPassword: history, validity value +1, must-change cleared."""
    keep = rc.world.directory.effective_int(entry, "zimbraPasswordEnforceHistory", 0)
    if keep > 0:
        history = new_history(rc, entry, keep)
        if history is None:
            entry.attrs.pop("zimbraPasswordHistory", None)
        else:
            entry.attrs["zimbraPasswordHistory"] = history
    entry.attrs["userPassword"] = [hash_password(password)]
    vv = _validity(entry)
    entry.attrs["zimbraAuthTokenValidityValue"] = [str(0 if vv >= INT_MAX else vv + 1)]
    entry.attrs.pop("zimbraPasswordMustChange", None)
    entry.attrs["zimbraPasswordModifiedTime"] = [gentime(rc.now())]


def require_options(rc: RequestContext) -> None:
    """DocumentHandler.canModifyOptions: the caller needs zimbraFeatureOptionsEnabled."""
    authed = rc.require_authed()
    if rc.world.directory.effective1(authed, "zimbraFeatureOptionsEnabled", "TRUE") != "TRUE":
        raise perm_denied("can not modify options")


def is_admin(entry: AccountEntry) -> bool:
    return is_admin_account(entry)


def fault_text(fault: SoapFault) -> str:
    return f"{fault.code}: {fault.message}"
