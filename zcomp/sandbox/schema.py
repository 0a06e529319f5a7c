"""Zimbra's attribute schema (generated from zimbra-attrs.xml) and value validation."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from zcomp.sandbox.faults import SoapFault, invalid_attr_name, invalid_attr_value, invalid_request

_DURATION = re.compile(r"^\d+([hmsd]|ms)?$")
_GENTIME = re.compile(r"^\d{14}(\.\d{1,3})?Z$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class AttrInfo:
    name: str
    type: str
    multi: bool
    classes: tuple[str, ...]
    enum: tuple[str, ...] = ()
    min: str | None = None
    max: str | None = None
    immutable: bool = False
    required: bool = False
    inherited: bool = False  # accountInherited: the COS value applies when the account has none
    cos_default: tuple[str, ...] = ()
    global_default: tuple[str, ...] = ()


@cache
def schema() -> dict[str, AttrInfo]:
    """Keyed by lower-case name, as Zimbra's AttributeManager does."""
    raw = json.loads(resources.files("zcomp.sandbox").joinpath("data/attrs.json").read_text())
    out: dict[str, AttrInfo] = {}
    for name, e in raw.items():
        out[name.lower()] = AttrInfo(
            name=name,
            type=e["t"],
            multi=e["m"],
            classes=tuple(e["in"]),
            enum=tuple(e.get("v", ())),
            min=e.get("min"),
            max=e.get("max"),
            immutable=e.get("imm", False),
            required=e.get("req", False),
            inherited=e.get("inh", False),
            cos_default=tuple(e.get("cos", ())),
            global_default=tuple(e.get("gc", ())),
        )
    # LDAP attributes that Zimbra's own schema does not list but accounts carry.
    for extra in ("objectClass", "userPassword", "initials", "street", "l", "st", "co"):
        out.setdefault(extra.lower(), AttrInfo(extra, "string", True, ("account",)))
    return out


def info(name: str) -> AttrInfo | None:
    return schema().get(name.lower())


def canonical(name: str) -> str:
    i = info(name)
    return i.name if i else name


def check_known(name: str) -> AttrInfo:
    i = info(name)
    if i is None:
        raise invalid_attr_name(f"invalid attr name: unknown attribute: {name}")
    return i


def _int_bound(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return default


def check_value(i: AttrInfo, value: str) -> None:
    """AttributeInfo.checkValue: the empty value means unset and is always accepted here."""
    if value == "":
        return
    n = i.name
    t = i.type
    if t == "boolean":
        if value not in ("TRUE", "FALSE"):
            raise invalid_attr_value(f"{n} must be TRUE or FALSE")
    elif t == "enum":
        if value not in i.enum:
            raise invalid_attr_value(f"{n} must be one of: {','.join(i.enum)}")
    elif t in ("integer", "long"):
        try:
            v = int(value)
        except ValueError as exc:
            kind = "integer" if t == "integer" else "long"
            raise invalid_attr_value(f"{n} must be a valid {kind}: {value}") from exc
        lo = _int_bound(i.min, -(2**63))
        hi = _int_bound(i.max, INT_MAX if t == "integer" else 2**63 - 1)
        if v < lo:
            raise invalid_attr_value(f"{n} value({v}) smaller than minimum allowed: {lo}")
        if v > hi:
            raise invalid_attr_value(f"{n} value({v}) larger than max allowed: {hi}")
    elif t == "duration":
        if not _DURATION.match(value):
            raise invalid_attr_value(f"{n} must be a valid duration: nnnn([hmsd]|ms)")
    elif t == "gentime":
        if not _GENTIME.match(value):
            raise invalid_attr_value(
                f"{n} must be a valid generalized time: yyyyMMddHHmmssZ or yyyyMMddHHmmss.SSSZ"
            )
    elif t in ("email", "emailp", "cs_emailp"):
        _check_length(i, value)
        addrs = value.split(",") if t == "cs_emailp" else [value]
        for a in addrs:
            a = a.strip()
            if t != "email" and "<" in a:
                a = a[a.find("<") + 1 : a.rfind(">")]
            if "@" not in a:
                raise invalid_attr_value(f"address '{a}' does not include domain")
            if not _EMAIL.match(a):
                raise invalid_attr_value(f"invalid email address: {a}")
    elif t == "port":
        if not value.isdigit() or not 0 <= int(value) <= 65535:
            raise invalid_attr_value(f"{n} must be a valid port: {value}")
    elif t in ("string", "astring", "cstring", "ostring", "phone"):
        _check_length(i, value)


def _check_length(i: AttrInfo, value: str) -> None:
    if i.max is not None and len(value) > _int_bound(i.max, 2**31):
        raise invalid_attr_value(
            f"{i.name} value length({len(value)}) larger than max allowed: {i.max}"
        )


Mods = dict[str, list[str]]


def parse_mods(pairs: list[tuple[str, str]]) -> Mods:
    """Group `<a n=...>` pairs; keys may carry + or -."""
    mods: Mods = {}
    for name, value in pairs:
        if name == "":
            raise invalid_attr_name("empty attr name found")
        mods.setdefault(name, []).append(value)
    return mods


def validate_mods(mods: Mods, *, check_immutable: bool = True) -> None:
    """The whole request is checked before anything is written, as Zimbra does."""
    plain: set[str] = set()
    signed: set[str] = set()
    for key, values in mods.items():
        bare = key[1:] if key[:1] in "+-" else key
        (signed if key[:1] in "+-" else plain).add(bare.lower())
        i = check_known(bare)
        if check_immutable and i.immutable:
            raise invalid_request(f"{i.name} is immutable")
        for v in values:
            check_value(i, v)
        if not i.multi:
            real = [v for v in values if v != ""]
            if key[:1] != "-" and len(real) > 1:
                raise invalid_attr_value(
                    f"invalid attr value: {i.name}: multiple values provided for single-valued"
                    " attribute"
                )
        if i.required and key[:1] != "+" and all(v == "" for v in values) and key[:1] != "-":
            raise invalid_request(f"{i.name} is a required attribute")
    both = plain & signed
    if both:
        raise invalid_request(
            f"can't mix +attrName/-attrName with attrName: {canonical(sorted(both)[0])}"
        )


def apply_mods(attrs: dict[str, list[str]], mods: Mods) -> list[str]:
    """Apply validated mods to an attribute map; returns the canonical names touched."""
    touched: list[str] = []
    for key, values in mods.items():
        op = key[:1] if key[:1] in "+-" else ""
        name = canonical(key[1:] if op else key)
        touched.append(name)
        current = attrs.get(name, [])
        if op == "+":
            new = current + [v for v in values if v and v not in current]
        elif op == "-":
            new = [v for v in current if v not in values]
        else:
            new = [v for v in values if v != ""]
        if new:
            attrs[name] = new
        else:
            attrs.pop(name, None)
    return touched


def fault_if(cond: bool, fault: SoapFault) -> None:
    if cond:
        raise fault
