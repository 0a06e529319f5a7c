"""A protocol-neutral element tree: what both XML and Zimbra's JSON form parse into."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

NS_ZIMBRA = "urn:zimbra"
NS_ADMIN = "urn:zimbraAdmin"
NS_ACCOUNT = "urn:zimbraAccount"
NS_MAIL = "urn:zimbraMail"


@dataclass(slots=True)  # responses build thousands of these (an account is ~400 <a>)
class El:
    name: str
    ns: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[El] = field(default_factory=list)
    text: str | None = None

    def get(self, key: str, default: str | None = None) -> str | None:
        """Zimbra's getAttribute: an XML attribute or the text of a child of that name."""
        if key in self.attrs:
            return self.attrs[key]
        for child in self.children:
            if child.name == key:
                return child.text or ""
        return default

    def child(self, name: str) -> El | None:
        for c in self.children:
            if c.name == name:
                return c
        return None

    def all(self, name: str) -> Iterator[El]:
        return (c for c in self.children if c.name == name)

    def add(
        self,
        name: str,
        attrs: dict[str, str] | None = None,
        text: str | None = None,
        ns: str | None = None,
    ) -> El:
        el = El(name, self.ns if ns is None else ns, dict(attrs) if attrs else {}, [], text)
        self.children.append(el)
        return el

    def copy(self) -> El:
        return El(
            self.name, self.ns, dict(self.attrs), [c.copy() for c in self.children], self.text
        )

    def set_ns(self, ns: str | None) -> El:
        """Put this element and its descendants in `ns` (for rules read from JSON or stored)."""
        self.ns = ns
        for c in self.children:
            c.set_ns(ns)
        return self


@dataclass(slots=True)
class SharedEl(El):
    """A childless element shared by many answers (an account's COS-inherited <a>): never
    changed once made, so it carries what the serializers write for it under a parent of its
    own namespace (protocol.shared_leaf), written once instead of once per answer."""

    xml: str = ""
    js: dict[str, str] = field(default_factory=dict)


def get_bool(el: El, key: str, default: bool = False) -> bool:
    """SOAP boolean attributes take 1/0/true/false."""
    value = el.get(key)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true")


def get_int(el: El, key: str, default: int) -> int:
    from zcomp.sandbox.faults import invalid_request

    value = el.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise invalid_request(f"invalid integer value for {key}: {value}") from exc
