"""Signatures and identities; the first signature and the DEFAULT identity are the account entry."""

from __future__ import annotations

import uuid
from functools import cache

from zcomp.sandbox.common import require_options
from zcomp.sandbox.directory import AccountEntry, ChildEntry, Directory
from zcomp.sandbox.element import NS_ACCOUNT, El
from zcomp.sandbox.engine import RequestContext, handler
from zcomp.sandbox.faults import SoapFault, invalid_request, missing_attr, missing_element
from zcomp.sandbox.schema import apply_mods, parse_mods, schema, validate_mods

ACC = NS_ACCOUNT
PLAIN, HTML = "zimbraPrefMailSignature", "zimbraPrefMailSignatureHTML"
_CT = {"text/plain": PLAIN, "text/html": HTML}


def _no_sig(key: str) -> SoapFault:
    return SoapFault("account.NO_SUCH_SIGNATURE", f"no such signature: {key}")


def _no_ident(key: str) -> SoapFault:
    return SoapFault("account.NO_SUCH_IDENTITY", f"no such identity: {key}")


# ---- signatures -------------------------------------------------------------------------------


_ACCOUNT_SIG_ATTRS = (
    "zimbraSignatureId",
    "zimbraSignatureName",
    PLAIN,
    HTML,
    "zimbraPrefMailSignatureContactId",
)


def _has_account_signature(entry: AccountEntry) -> bool:
    # LdapSignatureBase.hasAccountSignature: any of these makes the account slot a signature,
    # so a bare zimbraPrefMailSignature (ModifyPrefs/ModifyAccount) shows up as one.
    return any(
        entry.first(a) is not None for a in ("zimbraSignatureId", "zimbraSignatureName", PLAIN)
    )


def all_signatures(entry: AccountEntry) -> list[ChildEntry]:
    """Account-entry signature first (its attrs are the account's), then child entries.

    Like LdapSignatureBase.getAccountSignature, a slot without a name or id gets the account's
    name and a new id written back onto the account on first read.
    """
    out: list[ChildEntry] = []
    if _has_account_signature(entry):
        if entry.first("zimbraSignatureName") is None:
            entry.attrs["zimbraSignatureName"] = [entry.name]
        if entry.first("zimbraSignatureId") is None:
            entry.attrs["zimbraSignatureId"] = [str(uuid.uuid4())]
        sid = entry.first("zimbraSignatureId") or ""
        out.append(ChildEntry(sid, entry.first("zimbraSignatureName") or "", entry.attrs))
    out.extend(entry.signatures.values())
    return out


def _is_account_sig(entry: AccountEntry, sig: ChildEntry) -> bool:
    return sig.attrs is entry.attrs


def signatures_el(entry: AccountEntry, tag: str = "signatures") -> El:
    out = El(tag, ACC)
    for sig in all_signatures(entry):
        el = out.add("signature", {"name": sig.name, "id": sig.id})
        for ct, attr in _CT.items():
            for v in sig.attrs.get(attr, []):
                el.add("content", {"type": ct}, v)
        for cid in sig.attrs.get("zimbraPrefMailSignatureContactId", []):
            el.add("cid", text=cid)
    return out


def _find_sig(entry: AccountEntry, sig_id: str | None, name: str | None) -> ChildEntry:
    # Provisioning.get(account, SignatureBy.name, ...) compares names ignoring case.
    for sig in all_signatures(entry):
        if sig_id is not None:
            if sig.id == sig_id:
                return sig
        elif name is not None and sig.name.lower() == name.lower():
            return sig
    raise _no_sig(sig_id if sig_id is not None else name or "")


def _contents(sig_el: El) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in sig_el.all("content"):
        ct = c.get("type")
        if ct is None:
            raise missing_attr("type")
        if ct not in _CT:
            raise invalid_request(f"invalid type {ct}")
        if _CT[ct] in out:
            raise invalid_request(f"only one {ct} content is allowed")
        out[_CT[ct]] = c.text or ""
    return out


def _writable_item(rc: RequestContext, req: El, tag: str) -> tuple[AccountEntry, El]:
    """What every signature/identity write starts with: the options right, the target account
    and its <signature>/<identity> element."""
    require_options(rc)
    entry = rc.require_target()
    item = req.child(tag)
    if item is None:
        raise missing_element(tag)
    return entry, item


def _saved(rc: RequestContext, entry: AccountEntry) -> None:
    rc.record_write(entry.name)
    rc.write_through(entry)


@handler(ACC, "GetSignaturesRequest", "user")
def get_signatures(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    resp = signatures_el(entry, "GetSignaturesResponse")
    rc.write_through(entry)  # a name/id written back by all_signatures
    return resp


@handler(ACC, "CreateSignatureRequest", "user")
def create_signature(rc: RequestContext, req: El) -> El:
    entry, sig_el = _writable_item(rc, req, "signature")
    raw_name = sig_el.get("name")
    if raw_name is None:
        raise missing_attr("name")
    name = raw_name.strip()
    contents = _contents(sig_el)
    existing = all_signatures(entry)
    if any(s.name.lower() == name.lower() for s in existing):
        raise SoapFault("account.SIGNATURE_EXISTS", f"signature {name} already exists")
    explicit_id = sig_el.get("id")
    if explicit_id is not None and any(s.id == explicit_id for s in existing):
        raise SoapFault("account.SIGNATURE_EXISTS", f"signature {explicit_id} already exists")
    if len(existing) >= rc.dir.effective_int(entry, "zimbraSignatureMaxNumEntries", 20):
        raise SoapFault("account.TOO_MANY_SIGNATURES", "too many signatures. can't create any more")
    sig_id = explicit_id or str(uuid.uuid4())
    attrs = {"zimbraSignatureId": [sig_id], "zimbraSignatureName": [name]}
    attrs.update({k: [v] for k, v in contents.items() if v})  # empty content is not stored
    cid = sig_el.child("cid")
    if cid is not None:
        attrs["zimbraPrefMailSignatureContactId"] = [cid.text or ""]
    if not existing:
        # LdapProvisioning.createSignature: the new one becomes the default only when it
        # is the account's first signature (not whenever no default is set).
        entry.attrs["zimbraPrefDefaultSignatureId"] = [sig_id]
    if not _has_account_signature(entry):
        entry.attrs.update(attrs)  # the account slot is free: use it
    else:
        entry.signatures[sig_id] = ChildEntry(sig_id, name, attrs)
    _saved(rc, entry)
    resp = El("CreateSignatureResponse", ACC)
    resp.add("signature", {"id": sig_id, "name": name})
    return resp


@handler(ACC, "ModifySignatureRequest", "user")
def modify_signature(rc: RequestContext, req: El) -> El:
    entry, sig_el = _writable_item(rc, req, "signature")
    sig_id = sig_el.get("id")
    if sig_id is None:
        raise missing_attr("id")
    sig = _find_sig(entry, sig_id, None)
    contents = _contents(sig_el)
    new_name = sig_el.get("name")
    if new_name is not None:
        new_name = new_name.strip()
        if not new_name:
            raise invalid_request("empty signature name is not allowed")
        if any(
            s.name.lower() == new_name.lower() and s.id != sig.id for s in all_signatures(entry)
        ):
            raise SoapFault("account.SIGNATURE_EXISTS", f"signature {new_name} already exists")
        sig.attrs["zimbraSignatureName"] = [new_name]
        if not _is_account_sig(entry, sig):
            sig.name = new_name
    for attr, v in contents.items():
        if v:
            sig.attrs[attr] = [v]
        else:
            sig.attrs.pop(attr, None)
    cid = sig_el.child("cid")
    if cid is not None:
        if cid.text:
            sig.attrs["zimbraPrefMailSignatureContactId"] = [cid.text]
        else:
            sig.attrs.pop("zimbraPrefMailSignatureContactId", None)
    _saved(rc, entry)
    return El("ModifySignatureResponse", ACC)


@handler(ACC, "DeleteSignatureRequest", "user")
def delete_signature(rc: RequestContext, req: El) -> El:
    entry, sig_el = _writable_item(rc, req, "signature")
    sig_id = sig_el.get("id")
    name = None if sig_id is not None else sig_el.get("name")
    if sig_id is None and name is None:
        raise missing_attr("name")
    sig = _find_sig(entry, sig_id, name)
    if _is_account_sig(entry, sig):
        # LdapSignatureBase.deleteAccountSignature: every signature attr leaves the account.
        for attr in _ACCOUNT_SIG_ATTRS:
            entry.attrs.pop(attr, None)
    else:
        entry.signatures.pop(sig.id, None)
    # LdapProvisioning.deleteSignature unsets only the ACCOUNT's zimbraPrefDefaultSignatureId.
    # zimbraPrefForwardReplySignatureId and the identities' references are left dangling.
    if entry.attrs.get("zimbraPrefDefaultSignatureId") == [sig.id]:
        entry.attrs.pop("zimbraPrefDefaultSignatureId", None)
    _saved(rc, entry)
    return El("DeleteSignatureResponse", ACC)


# ---- identities -------------------------------------------------------------------------------


def _identity_attr(name: str) -> bool:
    return name.lower() in _identity_names()


@cache
def _identity_names() -> frozenset[str]:
    """Lower-cased names of the identity class's attributes (asked ~500 times a request)."""
    return frozenset(k for k, i in schema().items() if "identity" in i.classes)


def default_identity_attrs(d: Directory, entry: AccountEntry) -> dict[str, list[str]]:
    attrs = {k: list(v) for k, v in d.cos_attrs.items() if _identity_attr(k)}
    attrs.update({k: list(v) for k, v in entry.attrs.items() if _identity_attr(k)})
    # Provisioning.getDefaultIdentity synthesises what the account lacks: an unset From
    # reads back as the account's canonical address and display name (never empty).
    attrs.setdefault("zimbraPrefIdentityName", ["DEFAULT"])
    if "zimbraPrefFromAddress" not in attrs:
        canonical = entry.first("zimbraMailCanonicalAddress") or entry.name
        attrs["zimbraPrefFromAddress"] = [canonical]
    if "zimbraPrefFromDisplay" not in attrs:
        personal = entry.first("displayName") or entry.first("cn")
        if personal and personal.strip() and personal != entry.first("uid"):
            attrs["zimbraPrefFromDisplay"] = [personal]
    attrs["zimbraPrefIdentityId"] = [entry.id]
    if "zimbraPrefForwardReplyFormat" not in attrs:
        same = (entry.first("zimbraPrefForwardReplyInOriginalFormat") or "FALSE") == "TRUE"
        compose = d.effective1(entry, "zimbraPrefComposeFormat", "") or "text"
        attrs["zimbraPrefForwardReplyFormat"] = ["same" if same else compose]
    return attrs


def identities_el(d: Directory, entry: AccountEntry, tag: str = "identities") -> El:
    out = El(tag, ACC)
    idents = [("DEFAULT", entry.id, default_identity_attrs(d, entry))]
    idents += [(i.name, i.id, i.attrs) for i in entry.identities.values()]
    for name, ident_id, attrs in idents:
        el = out.add("identity", {"name": name, "id": ident_id})
        for k in sorted(attrs, key=str.lower):
            for v in attrs[k]:
                el.add("a", {"name": k}, v)
    return out


def _ident_pairs(ident_el: El) -> list[tuple[str, str]]:
    pairs = []
    for a in ident_el.all("a"):
        name = a.get("name") or ""
        if not name.startswith("zimbraPref"):
            continue  # ModifyIdentity silently drops these
        bare = name[1:] if name[:1] in "+-" else name
        if not _identity_attr(bare):
            raise invalid_request(f"unable to modify attr: {name}")
        pairs.append((name, a.text or ""))
    return pairs


@handler(ACC, "GetIdentitiesRequest", "user")
def get_identities(rc: RequestContext, req: El) -> El:
    return identities_el(rc.dir, rc.require_target(), "GetIdentitiesResponse")


@handler(ACC, "ModifyIdentityRequest", "user")
def modify_identity(rc: RequestContext, req: El) -> El:
    entry, ident_el = _writable_item(rc, req, "identity")
    ident_id, name = ident_el.get("id"), ident_el.get("name")
    mods = parse_mods(_ident_pairs(ident_el))
    validate_mods(mods)
    if ident_id == entry.id or (not ident_id and name == "DEFAULT"):
        mods.pop("zimbraPrefIdentityName", None)
        apply_mods(entry.attrs, mods)
    else:
        target = next(
            (
                i
                for i in entry.identities.values()
                if i.id == ident_id or (not ident_id and i.name == name)
            ),
            None,
        )
        if target is None:
            raise _no_ident(ident_id or name or "")
        apply_mods(target.attrs, mods)
        new_name = target.attrs.get("zimbraPrefIdentityName", [target.name])[0]
        target.name = new_name
    _saved(rc, entry)
    return El("ModifyIdentityResponse", ACC)


@handler(ACC, "CreateIdentityRequest", "user")
def create_identity(rc: RequestContext, req: El) -> El:
    entry, ident_el = _writable_item(rc, req, "identity")
    name = ident_el.get("name")
    if not name:
        raise missing_attr("name")
    if name == "DEFAULT" or any(i.name == name for i in entry.identities.values()):
        raise SoapFault("account.IDENTITY_EXISTS", f"identity already exists: {name}")
    if len(entry.identities) + 1 >= rc.dir.effective_int(entry, "zimbraIdentityMaxNumEntries", 20):
        raise SoapFault("account.TOO_MANY_IDENTITIES", "too many identities. can't create any more")
    mods = parse_mods(_ident_pairs(ident_el))
    validate_mods(mods)
    ident_id = str(uuid.uuid4())
    attrs: dict[str, list[str]] = {}
    apply_mods(attrs, mods)
    attrs["zimbraPrefIdentityName"] = [name]
    attrs["zimbraPrefIdentityId"] = [ident_id]
    entry.identities[ident_id] = ChildEntry(ident_id, name, attrs)
    _saved(rc, entry)
    resp = El("CreateIdentityResponse", ACC)
    el = resp.add("identity", {"name": name, "id": ident_id})
    for k in sorted(attrs):
        for v in attrs[k]:
            el.add("a", {"name": k}, v)
    return resp


@handler(ACC, "DeleteIdentityRequest", "user")
def delete_identity(rc: RequestContext, req: El) -> El:
    entry, ident_el = _writable_item(rc, req, "identity")
    ident_id, name = ident_el.get("id"), ident_el.get("name")
    if ident_id == entry.id or name == "DEFAULT":
        raise invalid_request("can't delete default identity")
    target = next(
        (
            i
            for i in entry.identities.values()
            if i.id == ident_id or (not ident_id and i.name == name)
        ),
        None,
    )
    if target is None:
        raise _no_ident(ident_id or name or "")
    del entry.identities[target.id]
    _saved(rc, entry)
    return El("DeleteIdentityResponse", ACC)
