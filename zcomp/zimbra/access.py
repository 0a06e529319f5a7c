"""What lets someone into a mailbox without its password: shares, rights, data sources, and on
Network Edition app-specific passwords, trusted devices and mobile devices.

Plain dataclasses, as the rest of zimbra/. A share's or right's secret (a guest's password, an
access key) is never kept here: `secret` only says that one exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Zimbra's grantee ids for "everyone" (ACL.GUID_PUBLIC) and "every signed-in user"
# (ACL.GUID_AUTHUSER).
PUBLIC_ID = "99999999-9999-9999-9999-999999999999"
AUTHUSER_ID = "00000000-0000-0000-0000-000000000000"

# Grantee types as GetFolder (gt=) and GetRights (gt=) name them.
USER, GROUP, DOMAIN, COS, ALL, PUBLIC, GUEST, KEY = (
    "usr",
    "grp",
    "dom",
    "cos",
    "all",
    "pub",
    "guest",
    "key",
)


@dataclass(frozen=True)
class FolderGrant:
    """One grant of a folder's ACL (`<grant gt= zid= d= perm=/>`)."""

    grantee_type: str
    grantee_id: str
    grantee_name: str
    perm: str  # r w i d x a (and p, private items)
    expiry_ms: int = 0  # 0: never
    secret: bool = False  # a guest password or access key exists (never read, never kept)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "gt": self.grantee_type,
            "zid": self.grantee_id,
            "d": self.grantee_name,
            "perm": self.perm,
        }
        if self.expiry_ms:
            out["expiry"] = self.expiry_ms
        if self.secret:
            out["secret"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FolderGrant:
        return cls(
            grantee_type=data["gt"],
            grantee_id=data.get("zid", ""),
            grantee_name=data.get("d", ""),
            perm=data.get("perm", ""),
            expiry_ms=int(data.get("expiry", 0)),
            secret=bool(data.get("secret", False)),
        )


@dataclass(frozen=True)
class Folder:
    """A folder and its ACL, as GetFolder lists it (the whole tree is flattened)."""

    id: str
    path: str  # "/Inbox"; the mailbox root is "/"
    view: str = ""  # message, contact, appointment, task, document, ...
    grants: tuple[FolderGrant, ...] = ()


@dataclass(frozen=True)
class AccountRight:
    """One ACE on the account (`<ace gt= right= zid= d=/>`): sendAs, sendOnBehalfOf, ..."""

    right: str
    grantee_type: str
    grantee_id: str
    grantee_name: str
    deny: bool = False
    secret: bool = False  # a guest password or access key exists (never kept)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "right": self.right,
            "gt": self.grantee_type,
            "zid": self.grantee_id,
            "d": self.grantee_name,
        }
        if self.deny:
            out["deny"] = True
        if self.secret:
            out["secret"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccountRight:
        return cls(
            right=data["right"],
            grantee_type=data["gt"],
            grantee_id=data.get("zid", ""),
            grantee_name=data.get("d", ""),
            deny=bool(data.get("deny", False)),
            secret=bool(data.get("secret", False)),
        )


@dataclass(frozen=True)
class DataSource:
    """An external account the mailbox pulls from (pop3, imap, caldav, rss, cal, ...).

    `attrs` holds every attribute Zimbra returned except a password (it returns none)."""

    kind: str
    id: str
    name: str
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.attrs.get("host", "")

    @property
    def enabled(self) -> bool:
        return self.attrs.get("isEnabled", "0").lower() in ("1", "true")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name, "attrs": dict(self.attrs)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSource:
        return cls(data["kind"], data["id"], data["name"], dict(data.get("attrs", {})))


@dataclass(frozen=True)
class AppPassword:
    """An app-specific password (Network Edition); only its name and dates are readable."""

    name: str
    created_ms: int = 0
    last_used_ms: int = 0


@dataclass(frozen=True)
class TrustedDevices:
    """GetTrustedDevices (Network Edition): how many devices skip the second factor."""

    others: int = 0
    this_device: bool = False


@dataclass(frozen=True)
class MobileDevice:
    """A synced mobile device (Network Edition, urn:zimbraSync)."""

    id: str
    type: str = ""
    user_agent: str = ""
    protocol: str = ""
    model: str = ""
    status: int = 0  # 1 active, 2 suspended, 3 wipe requested, ... (SyncConstants)
    last_used: str = ""
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionInfo:
    """GetVersionInfo: `network` is True on Network Edition (type="NETWORK")."""

    version: str
    type: str = ""

    @property
    def network(self) -> bool:
        return self.type.upper() == "NETWORK"
