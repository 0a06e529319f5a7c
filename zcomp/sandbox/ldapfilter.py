"""The LDAP filter subset SearchDirectory needs: (&..)(|..)(!..), =, =*, * wildcards, >= <=."""

from __future__ import annotations

import re
from collections.abc import Callable

from zcomp.sandbox.faults import invalid_request

Attrs = dict[str, list[str]]
Predicate = Callable[[Attrs], bool]


def compile_filter(text: str) -> Predicate:
    text = text.strip()
    if not text:
        return lambda _attrs: True
    if not text.startswith("("):
        text = f"({text})"
    pred, pos = _parse(text, 0)
    if text[pos:].strip():
        raise invalid_request(f"unable to parse search filter: {text}")
    return pred


def _parse(s: str, pos: int) -> tuple[Predicate, int]:
    if pos >= len(s) or s[pos] != "(":
        raise invalid_request(f"unable to parse search filter: {s}")
    pos += 1
    op = s[pos : pos + 1]
    if op in ("&", "|"):
        parts: list[Predicate] = []
        pos += 1
        while pos < len(s) and s[pos] == "(":
            p, pos = _parse(s, pos)
            parts.append(p)
        pos = _expect(s, pos)
        if op == "&":
            return (lambda a: all(p(a) for p in parts)), pos
        return (lambda a: any(p(a) for p in parts)), pos
    if op == "!":
        inner, pos = _parse(s, pos + 1)
        pos = _expect(s, pos)
        return (lambda a: not inner(a)), pos
    end = s.find(")", pos)
    if end < 0:
        raise invalid_request(f"unable to parse search filter: {s}")
    return _simple(s[pos:end]), end + 1


def _expect(s: str, pos: int) -> int:
    if pos >= len(s) or s[pos] != ")":
        raise invalid_request(f"unable to parse search filter: {s}")
    return pos + 1


def _values(attrs: Attrs, name: str) -> list[str]:
    lname = name.lower()
    for k, v in attrs.items():
        if k.lower() == lname:
            return v
    return []


def _simple(item: str) -> Predicate:
    m = re.match(r"^([\w.-]+)\s*(>=|<=|~=|=)(.*)$", item, re.S)
    if not m:
        raise invalid_request(f"unable to parse search filter: ({item})")
    name, op, value = m.group(1), m.group(2), m.group(3)
    if op == "=" and value == "*":
        return lambda a: bool(_values(a, name))
    if op in (">=", "<="):

        def cmp(a: Attrs) -> bool:
            return any(v >= value if op == ">=" else v <= value for v in _values(a, name))

        return cmp
    pattern = re.compile(
        "^" + ".*".join(re.escape(part) for part in value.split("*")) + "$", re.I | re.S
    )
    return lambda a: any(pattern.match(v) for v in _values(a, name))
