"""Plain dataclasses that cross the boundary between the SOAP client and the rest of zcomp.

Nothing here imports zeep or lxml. Attribute maps are `dict[str, list[str]]` because any
Zimbra attribute may be multi-valued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Attrs = dict[str, list[str]]


class Secret:
    """A password or auth token. Its repr and str never show the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def first(attrs: Attrs, name: str, default: str | None = None) -> str | None:
    values = attrs.get(name)
    return values[0] if values else default


@dataclass
class Account:
    id: str
    name: str
    attrs: Attrs = field(default_factory=dict)

    def get(self, name: str, default: str | None = None) -> str | None:
        return first(self.attrs, name, default)

    def values(self, name: str) -> list[str]:
        return list(self.attrs.get(name, []))


@dataclass(frozen=True)
class Modified:
    """ModifyAccount's reply: which account was written. Zimbra sends its every attribute back
    (hundreds of <a>); zcomp does not parse them, because no write is trusted on its reply:
    each is verified by a read-back of the attributes it changed."""

    id: str
    name: str


@dataclass
class AccountInfo:
    id: str
    name: str
    mail_host: str | None
    soap_urls: list[str] = field(default_factory=list)
    admin_soap_url: str | None = None


@dataclass
class AuthResult:
    token: Secret
    lifetime_ms: int


@dataclass
class Node:
    """One XML element of a filter rule (a test, an action, a variable) in urn:zimbraMail.

    Kept generic so a rule read from Zimbra is written back exactly, whatever test or action
    types a newer server adds. `index` attributes the server adds on read are dropped.
    """

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    children: list[Node] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tag": self.tag}
        if self.attrs:
            out["attrs"] = dict(self.attrs)
        if self.text is not None:
            out["text"] = self.text
        if self.children:
            out["children"] = [c.to_dict() for c in self.children]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Node:
        return cls(
            tag=data["tag"],
            attrs=dict(data.get("attrs", {})),
            text=data.get("text"),
            children=[cls.from_dict(c) for c in data.get("children", [])],
        )


@dataclass
class FilterRule:
    """A user filter rule. `name` is None for a rule Zimbra returned without a name.

    `condition` is "allof", "anyof" or None (the Sieve had neither). `nested` carries the
    8.5+ nestedRule (its own name is always None).
    """

    name: str | None
    active: bool = True
    condition: str | None = "allof"
    tests: list[Node] = field(default_factory=list)
    actions: list[Node] = field(default_factory=list)
    nested: FilterRule | None = None
    variables: list[Node] = field(default_factory=list)

    def all_actions(self) -> list[Node]:
        found = list(self.actions)
        if self.nested is not None:
            found.extend(self.nested.all_actions())
        return found

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "active": self.active}
        out["condition"] = self.condition
        out["tests"] = [t.to_dict() for t in self.tests]
        out["actions"] = [a.to_dict() for a in self.actions]
        if self.nested is not None:
            out["nested"] = self.nested.to_dict()
        if self.variables:
            out["variables"] = [v.to_dict() for v in self.variables]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FilterRule:
        nested = data.get("nested")
        return cls(
            name=data.get("name"),
            active=bool(data.get("active", True)),
            condition=data.get("condition"),
            tests=[Node.from_dict(t) for t in data.get("tests", [])],
            actions=[Node.from_dict(a) for a in data.get("actions", [])],
            nested=cls.from_dict(nested) if nested else None,
            variables=[Node.from_dict(v) for v in data.get("variables", [])],
        )


@dataclass
class Signature:
    """contents maps a MIME type ("text/plain", "text/html") to the text."""

    id: str | None
    name: str
    contents: dict[str, str] = field(default_factory=dict)
    cid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "contents": dict(self.contents), "cid": self.cid}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        return cls(
            id=data.get("id"),
            name=data["name"],
            contents=dict(data.get("contents", {})),
            cid=data.get("cid"),
        )


@dataclass
class Identity:
    """An identity; the DEFAULT identity's id is the account's zimbraId."""

    id: str
    name: str
    attrs: Attrs = field(default_factory=dict)

    def get(self, name: str, default: str | None = None) -> str | None:
        return first(self.attrs, name, default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "attrs": {k: list(v) for k, v in self.attrs.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Identity:
        return cls(
            id=data["id"], name=data["name"], attrs={k: list(v) for k, v in data["attrs"].items()}
        )


@dataclass
class Server:
    id: str
    name: str
    attrs: Attrs = field(default_factory=dict)

    @property
    def services(self) -> list[str]:
        return list(self.attrs.get("zimbraServiceEnabled", []))


@dataclass
class Domain:
    id: str
    name: str
    attrs: Attrs = field(default_factory=dict)


@dataclass
class SessionInfo:
    """One entry of GetSessionsResponse (only session-using clients of the answering server)."""

    account_id: str
    account_name: str
    session_id: str
    created_ms: int
    accessed_ms: int
    type: str = "soap"


@dataclass
class QueueMessage:
    id: str
    sender: str
    recipients: list[str] = field(default_factory=list)
    received: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class QueueSummary:
    """One MTA queue as seen by GetMailQueue (filtered by sender when asked)."""

    server: str
    queue: str
    total: int
    messages: list[QueueMessage] = field(default_factory=list)
    more: bool = False
    scanning: bool = False  # the MTA scan was still running: the answer may be incomplete
    # <qs type="from|to|todomain|fromdomain|reason|addr|host"><qsi n="N" t="term"/>: each term's
    # message count over the whole queue scan (Zimbra keeps the top 100 per type), not the page.
    summaries: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class SearchPage:
    accounts: list[Account]
    more: bool
    total: int


@dataclass
class SetPasswordResult:
    """`message` carries a password-policy violation Zimbra reports but does not enforce."""

    message: str | None = None


@dataclass
class Info:
    """GetInfo (urn:zimbraAccount) for the account in the request context."""

    id: str
    name: str
    attrs: Attrs = field(default_factory=dict)
    prefs: Attrs = field(default_factory=dict)
    identities: list[Identity] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
