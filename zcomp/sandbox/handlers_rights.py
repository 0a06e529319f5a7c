"""Account rights (zimbraACE): urn:zimbraAccount GetRights / GrantRights / RevokeRights and
urn:zimbraAdmin GetGrants for an account target.

Handlers: store/.../service/account/GetRights.java, GrantRights.java (handleACE),
RevokeRights.java; ZimbraACL.grant/revoke; ZimbraACE.serialize (the stored form);
mail ToXML.encodeACE (the <ace> element).
"""

from __future__ import annotations

from dataclasses import dataclass

from zcomp.sandbox.directory import AccountEntry
from zcomp.sandbox.element import NS_ACCOUNT, NS_ADMIN, El, get_bool
from zcomp.sandbox.engine import RequestContext, handler
from zcomp.sandbox.faults import (
    failure,
    invalid_request,
    missing_attr,
    no_such_account,
    no_such_domain,
    parse_error,
)
from zcomp.sandbox.grantees import Named, by_id, by_name, email_entry, no_such_dl
from zcomp.sandbox.mailbox import GUID_AUTHUSER, GUID_PUBLIC, secrets_key

ACC = NS_ACCOUNT
ACE_ATTR = "zimbraACE"

# store-conf/conf/rights/zimbra-user-rights.xml: the only rights a user can grant.
USER_RIGHTS = (
    "invite",
    "viewFreeBusy",
    "loginAs",
    "sendAs",
    "sendOnBehalfOf",
    "sendAsDistList",
    "sendOnBehalfOfDistList",
    "sendToDistList",
    "viewDistList",
    "createDistList",
    "ownDistList",
)
# GranteeType.java: account-right grantee codes (guest is "gst" here, and no "cos").
GRANTEE_CODES = ("usr", "grp", "egp", "all", "dom", "edom", "gst", "key", "pub", "email")
_ENUM = {
    "usr": "GT_USER",
    "grp": "GT_GROUP",
    "egp": "GT_EXT_GROUP",
    "all": "GT_AUTHUSER",
    "dom": "GT_DOMAIN",
    "edom": "GT_EXT_DOMAIN",
    "gst": "GT_GUEST",
    "key": "GT_KEY",
    "pub": "GT_PUBLIC",
    "email": "GT_EMAIL",
}
MODIFIERS = "-+^*"  # RightModifier: deny, canDelegate, disinheritSubGroups, subDomain


@dataclass
class Ace:
    zid: str
    gt: str
    right: str
    modifier: str = ""
    secret: str | None = None

    @property
    def deny(self) -> bool:
        return self.modifier == "-"

    def serialize(self) -> str:
        """ZimbraACE.serialize: "{grantee} {gt} [modifier]{right}", "{grantee}:{secret}" for
        gst/key."""
        grantee = self.zid
        if self.gt in ("gst", "key"):
            grantee = f"{self.zid}:{self.secret or ''}"
        return f"{grantee} {self.gt} {self.modifier}{self.right}"

    @classmethod
    def parse(cls, value: str) -> Ace | None:
        parts = value.split(" ")
        if len(parts) != 3:
            return None
        grantee, gt, right = parts
        secret = None
        if gt in ("gst", "key"):
            grantee, _, secret = grantee.partition(":")
        modifier = right[0] if right[:1] in MODIFIERS else ""
        return cls(grantee, gt, right[len(modifier) :], modifier, secret)

    def is_grantee(self, zid: str) -> bool:
        """ZimbraACE.isGrantee: the GUIDs name pub/all; everything else compares exactly."""
        if zid == GUID_PUBLIC:
            return self.gt == "pub"
        if zid == GUID_AUTHUSER:
            return self.gt == "all"
        return zid == self.zid


def aces_of(entry: AccountEntry) -> list[Ace]:
    return [a for a in (Ace.parse(v) for v in entry.attrs.get(ACE_ATTR, [])) if a is not None]


def _store(entry: AccountEntry, aces: list[Ace]) -> None:
    if aces:
        entry.attrs[ACE_ATTR] = [a.serialize() for a in aces]
    else:
        entry.attrs.pop(ACE_ATTR, None)


def _display_name(rc: RequestContext, ace: Ace) -> str | None:
    """ZimbraACE.getGranteeDisplayName."""
    if ace.gt in ("usr", "grp", "dom"):
        found = by_id(rc.dir, ace.zid, ace.gt)
        return found.name if found is not None else None
    if ace.gt in ("gst", "key", "edom", "egp"):
        return ace.zid
    return None


def encode_ace(rc: RequestContext, parent: El, ace: Ace) -> None:
    attrs = {"zid": ace.zid, "gt": ace.gt, "right": ace.right}
    name = _display_name(rc, ace)
    if name is not None:
        attrs["d"] = name
    if ace.gt == "key" and ace.secret is not None:
        attrs["key"] = ace.secret
    elif ace.gt == "gst" and ace.secret is not None:
        attrs["pw"] = ace.secret
    if ace.deny:
        attrs["deny"] = "1"
    parent.add("ace", attrs)


def user_right(name: str | None) -> str:
    """RightManager.getUserRight."""
    if name is None:
        raise missing_attr("right")
    if name not in USER_RIGHTS:
        raise failure(f"invalid right {name}")
    return name


def _lookup_by_id(rc: RequestContext, zid: str, gt: str, granting: bool) -> Named | None:
    """GrantRights.lookupGranteeByZimbraId: a missing usr/grp/dom faults only when granting."""
    found = by_id(rc.dir, zid, gt)
    if found is None and granting and gt in ("usr", "grp", "dom"):
        if gt == "usr":
            raise no_such_account(zid)
        if gt == "grp":
            raise no_such_dl(zid)
        raise no_such_domain(zid)
    return found


def handle_ace(rc: RequestContext, el: El, *, granting: bool) -> Ace:
    """GrantRights.handleACE (RevokeRights uses it too, with granting=false)."""
    right = user_right(el.get("right"))
    raw_gt = el.get("gt")
    if raw_gt is None:
        raise missing_attr("gt")
    if raw_gt not in GRANTEE_CODES:
        raise parse_error(f"invalid grantee type: {raw_gt}")
    gt = raw_gt
    zid = el.get("zid")
    deny = get_bool(el, "deny")
    check_gt = get_bool(el, "chkgt")
    secret: str | None = None
    if gt == "all":
        zid = GUID_AUTHUSER
    elif gt == "pub":
        zid = GUID_PUBLIC
    elif gt == "gst":
        zid = el.get("d")
        if zid is None:
            raise missing_attr("d")
        if "@" not in zid:
            raise invalid_request("invalid guest id or password")
        internal = email_entry(rc.dir, zid)
        if internal is not None:
            zid, gt = internal.id, "grp" if internal.kind == "dl" else "usr"
        else:
            # getAttribute(A_PASSWORD) without a default: required, even to revoke.
            secret = el.get("pw")
            if secret is None:
                raise missing_attr("pw")
    elif gt == "key":
        zid = el.get("d")
        if zid is None:
            raise missing_attr("d")
        secret = el.get("key")
    elif zid is not None:
        _lookup_by_id(rc, zid, gt, granting)
    else:
        name = el.get("d")
        if name is None:
            raise missing_attr("d")
        if gt not in ("usr", "grp", "dom"):
            raise failure(f"LDAP entry not found for {name} : {_ENUM[gt]}")
        entry = by_name(rc.dir, name, gt, rc.require_authed())
        zid = entry.id
        if gt == "usr" and entry.kind == "dl":
            if check_gt:
                raise invalid_request(f"{name} is not a valid grantee for grantee type 'usr'.")
            gt = "grp"
    if zid is None:
        raise missing_attr("d")
    ace = Ace(zid, gt, right, "-" if deny else "", secret)
    # ZimbraACE.validate
    if gt in ("gst", "key"):
        if ":" in zid:
            raise invalid_request("grantee cannot contain::")
        if secret is not None and ":" in secret:
            raise invalid_request("password/accesskey cannot contain::")
    return ace


def _parse_aces(rc: RequestContext, req: El, *, granting: bool) -> list[Ace]:
    return [handle_ace(rc, el, granting=granting) for el in req.all("ace")]


def _saved(rc: RequestContext, entry: AccountEntry) -> None:
    rc.record_write(entry.name)
    rc.write_through(entry)


@handler(ACC, "GetRightsRequest", "user")
def get_rights(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    wanted = {user_right(el.get("right")) for el in req.all("ace")}
    resp = El("GetRightsResponse", ACC)
    for ace in aces_of(entry):
        if not wanted or ace.right in wanted:
            encode_ace(rc, resp, ace)
    return resp


@handler(ACC, "GrantRightsRequest", "user")
def grant_rights(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    requested = _parse_aces(rc, req, granting=True)
    aces = aces_of(entry)
    granted: list[Ace] = []
    for new in requested:
        # ZimbraACL.grant: same grantee and right -> only the modifier or secret may change.
        existing = next((a for a in aces if a.is_grantee(new.zid) and a.right == new.right), None)
        if existing is not None:
            changed = existing.modifier != new.modifier
            existing.modifier = new.modifier
            if new.gt in ("gst", "key") and new.secret is not None:
                changed = changed or new.secret != existing.secret
                existing.secret = new.secret
            if changed:
                granted.append(existing)
            continue
        if new.gt == "key" and new.secret is None:
            new.secret = secrets_key()
        aces.insert(0, new) if new.deny else aces.append(new)  # denials go first
        granted.append(new)
    _store(entry, aces)
    _saved(rc, entry)
    resp = El("GrantRightsResponse", ACC)
    for ace in granted:
        encode_ace(rc, resp, ace)
    return resp


@handler(ACC, "RevokeRightsRequest", "user")
def revoke_rights(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    requested = _parse_aces(rc, req, granting=False)
    aces = aces_of(entry)
    revoked: list[Ace] = []
    for old in requested:
        # ZimbraACL.revoke: grantee, right name and modifier must all match; else silent.
        match = next(
            (
                a
                for a in aces
                if a.is_grantee(old.zid) and a.right == old.right and a.modifier == old.modifier
            ),
            None,
        )
        if match is not None:
            aces.remove(match)
            revoked.append(match)
    _store(entry, aces)
    _saved(rc, entry)
    resp = El("RevokeRightsResponse", ACC)
    for ace in revoked:
        encode_ace(rc, resp, ace)
    return resp


# ---- admin GetGrants (target type=account) -----------------------------------------------------


def _grantee_el_name(rc: RequestContext, ace: Ace) -> str:
    return _display_name(rc, ace) or ""


@handler(NS_ADMIN, "GetGrantsRequest", "admin")
def get_grants(rc: RequestContext, req: El) -> El:
    """admin/GetGrants.java + RightCommand.Grants.toXML: <grant><target/><grantee/><right/>."""
    target_el = req.child("target")
    grantee_el = req.child("grantee")
    if target_el is None and grantee_el is None:
        raise invalid_request("at least one of target or grantee must be specified")
    entries: list[AccountEntry]
    if target_el is not None:
        ttype = target_el.get("type")
        if ttype is None:
            raise missing_attr("type")
        if ttype != "account":
            raise invalid_request(f"target type {ttype} is not supported by the sandbox")
        by = target_el.get("by") or "name"
        key = (target_el.text or "").strip()
        found = rc.dir.find(key, "id" if by == "id" else "name")
        if found is None:
            raise no_such_account(key)
        entries = [found]
    else:
        entries = list(rc.dir.accounts.values())
    want_id: str | None = None
    want_type: str | None = None
    if grantee_el is not None:
        want_type = grantee_el.get("type")
        if grantee_el.get("all") is None:
            raise missing_attr("all")
        gkey = (grantee_el.text or "").strip()
        if (grantee_el.get("by") or "name") == "id":
            want_id = gkey
        else:
            found_g = email_entry(rc.dir, gkey)
            want_id = found_g.id if found_g is not None else gkey
    resp = El("GetGrantsResponse", NS_ADMIN)
    for entry in entries:
        for ace in aces_of(entry):
            if want_id is not None and not (
                ace.zid == want_id and (want_type is None or want_type == ace.gt)
            ):
                continue
            g = resp.add("grant")
            g.add("target", {"type": "account", "id": entry.id, "name": entry.name})
            g.add("grantee", {"type": ace.gt, "id": ace.zid, "name": _grantee_el_name(rc, ace)})
            g.add(
                "right",
                {
                    "deny": "1" if ace.modifier == "-" else "0",
                    "canDelegate": "1" if ace.modifier == "+" else "0",
                    "disinheritSubGroups": "1" if ace.modifier == "^" else "0",
                    "subDomain": "1" if ace.modifier == "*" else "0",
                },
                ace.right,
            )
    return resp
