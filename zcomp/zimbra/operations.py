"""Request descriptions: plain frozen dataclasses, one per Zimbra operation zcomp uses.

The core builds these; `ZimbraClient.call(req)` or `ZimbraClient.batch([...])` sends them.
`Request[T]` says what `call` returns. `ADMIN` requests go to urn:zimbraAdmin; `USER`
requests (urn:zimbraAccount / urn:zimbraMail) run for the account named by the call's
`as_account=` (the `<account by="id">` context header with the admin token).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from zcomp.zimbra.access import (
    AccountRight,
    AppPassword,
    DataSource,
    Folder,
    FolderGrant,
    MobileDevice,
    TrustedDevices,
    VersionInfo,
)
from zcomp.zimbra.model import (
    Account,
    AccountInfo,
    AuthResult,
    Domain,
    FilterRule,
    Identity,
    Info,
    Modified,
    QueueSummary,
    SearchPage,
    Secret,
    Server,
    SessionInfo,
    SetPasswordResult,
    Signature,
)

T = TypeVar("T")

AttrChanges = Mapping[str, "str | list[str]"]
"""ModifyAccount/ModifyPrefs values: a str or list replaces all values, "" removes the
attribute, a name prefixed with + or - adds or removes single values."""


class Request(Generic[T]):
    """Marker base. `side` is "admin" or "user"; `write` requests are never retried."""

    side: Literal["admin", "user"] = "admin"
    write: bool = False


# ---------------------------------------------------------------- urn:zimbraAdmin


@dataclass(frozen=True)
class GetAccount(Request[Account]):
    account: str
    by: Literal["name", "id"] = "name"
    attrs: tuple[str, ...] | None = None  # None: every attribute
    apply_cos: bool = False


@dataclass(frozen=True)
class GetAccountInfo(Request[AccountInfo]):
    account: str
    by: Literal["name", "id"] = "name"


@dataclass(frozen=True)
class ModifyAccount(Request[Modified]):
    id: str
    attrs: AttrChanges = field(default_factory=dict)
    write = True


@dataclass(frozen=True)
class SetPassword(Request[SetPasswordResult]):
    id: str
    new_password: Secret
    write = True


@dataclass(frozen=True)
class DelegateAuth(Request[AuthResult]):
    account: str
    by: Literal["name", "id"] = "id"
    duration_s: int = 300


@dataclass(frozen=True)
class FlushCache(Request[None]):
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ("account",)
    all_servers: bool = True
    write = True


@dataclass(frozen=True)
class GetSessions(Request[list[SessionInfo]]):
    type: Literal["soap", "imap", "admin"] = "soap"
    limit: int = 1000
    offset: int = 0


@dataclass(frozen=True)
class GetAllServers(Request[list[Server]]):
    service: str | None = None  # "mailbox", "mta", ...


@dataclass(frozen=True)
class SearchDirectory(Request[SearchPage]):
    query: str = ""
    attrs: tuple[str, ...] | None = None
    limit: int = 500
    offset: int = 0
    types: str = "accounts"
    domain: str | None = None
    sort_by: str | None = "name"


@dataclass(frozen=True)
class GetDomain(Request[Domain]):
    name: str
    by: Literal["name", "id"] = "name"


@dataclass(frozen=True)
class GetAllDomains(Request[list[Domain]]):
    pass


@dataclass(frozen=True)
class GetConfig(Request[list[str]]):
    """One global config attribute's values (Zimbra's GetConfigRequest takes exactly one)."""

    attr: str


@dataclass(frozen=True)
class GetMailQueue(Request[QueueSummary]):
    server: str  # MTA server name
    queue: str = "deferred"  # deferred|active|incoming|hold|corrupt
    sender: str | None = None  # restrict to mail from this envelope sender
    senders: tuple[str, ...] = ()  # ...or from any of these (one query: matches are OR'd)
    limit: int = 100
    offset: int = 0
    # scan=1 makes the MTA re-read the queue now; Zimbra then waits up to wait_s seconds
    # (its default: 3) for that scan before answering from it (QueueSummary.scanning).
    scan: bool = True
    wait_s: int | None = None


@dataclass(frozen=True)
class MailQueueAction(Request[None]):
    server: str
    queue: str
    op: Literal["hold", "release", "delete", "requeue"]
    sender: str | None = None  # by="query" with from=sender
    senders: tuple[str, ...] = ()  # ...or from any of these (one query: matches are OR'd)
    ids: tuple[str, ...] = ()  # by="id"
    write = True


@dataclass(frozen=True)
class AdminGetFilterRules(Request[list[FilterRule]]):
    """The admin before/after sieve scripts of an account (never the user's own rules)."""

    account: str
    when: Literal["before", "after"] = "before"
    outgoing: bool = False
    by: Literal["name", "id"] = "id"


@dataclass(frozen=True)
class AdminModifyFilterRules(Request[None]):
    account: str
    rules: tuple[FilterRule, ...]
    when: Literal["before", "after"] = "before"
    outgoing: bool = False
    by: Literal["name", "id"] = "id"
    write = True


# ---------------------------------------------- urn:zimbraAccount / urn:zimbraMail (user side)


@dataclass(frozen=True)
class GetInfo(Request[Info]):
    sections: str = "mbox,prefs,attrs,idents,sigs"
    side = "user"


@dataclass(frozen=True)
class GetPrefs(Request[dict[str, list[str]]]):
    names: tuple[str, ...] = ()  # () means every pref
    side = "user"


@dataclass(frozen=True)
class ModifyPrefs(Request[None]):
    prefs: AttrChanges = field(default_factory=dict)
    side = "user"
    write = True


@dataclass(frozen=True)
class GetFilterRules(Request[list[FilterRule]]):
    outgoing: bool = False
    side = "user"


@dataclass(frozen=True)
class ModifyFilterRules(Request[None]):
    """Replaces the whole list: send every rule to keep, in order."""

    rules: tuple[FilterRule, ...]
    outgoing: bool = False
    side = "user"
    write = True


@dataclass(frozen=True)
class GetSignatures(Request[list[Signature]]):
    side = "user"


@dataclass(frozen=True)
class CreateSignature(Request[Signature]):
    signature: Signature
    side = "user"
    write = True


@dataclass(frozen=True)
class ModifySignature(Request[None]):
    """signature.id is required; only the content types given are changed."""

    signature: Signature
    side = "user"
    write = True


@dataclass(frozen=True)
class DeleteSignature(Request[None]):
    id: str | None = None
    name: str | None = None
    side = "user"
    write = True


@dataclass(frozen=True)
class GetIdentities(Request[list[Identity]]):
    side = "user"


@dataclass(frozen=True)
class CreateIdentity(Request[Identity]):
    name: str
    attrs: AttrChanges = field(default_factory=dict)
    side = "user"
    write = True


@dataclass(frozen=True)
class ModifyIdentity(Request[None]):
    """Identify by id (preferred) or name; attrs use <a name=...>; "" removes."""

    id: str | None = None
    name: str | None = None
    attrs: AttrChanges = field(default_factory=dict)
    side = "user"
    write = True


@dataclass(frozen=True)
class DeleteIdentity(Request[None]):
    id: str | None = None
    name: str | None = None
    side = "user"
    write = True


@dataclass(frozen=True)
class NoOp(Request[None]):
    side = "user"


# ---------------------------------------------------------------- appended


@dataclass(frozen=True)
class CheckPasswordStrength(Request[None]):
    """Zimbra's own check of a password against the account's effective policy
    (LdapProvisioning.checkPasswordStrength: lengths, character classes, allowed characters,
    user name, common passwords; not history or minimum age). Changes nothing; a violation is
    an account.INVALID_PASSWORD fault whose reason says which rule ("invalid password: too
    short"). Proxied by Zimbra to the account's home server."""

    id: str
    password: Secret


# ------------------------------------------- what outlives the password (zcomp.zimbra.access)


@dataclass(frozen=True)
class GetVersionInfo(Request[VersionInfo]):
    """The server's version and edition (type NETWORK or FOSS)."""


@dataclass(frozen=True)
class GetFolders(Request[list[Folder]]):
    """The whole folder tree with every folder's ACL, in one GetFolderRequest."""

    side = "user"


@dataclass(frozen=True)
class GrantFolder(Request[None]):
    """FolderActionRequest op="grant": add (or replace) one grantee's grant on a folder."""

    folder_id: str
    grant: FolderGrant
    side = "user"
    write = True


@dataclass(frozen=True)
class RevokeFolderGrant(Request[None]):
    """FolderActionRequest op="!grant": remove one grantee's grant from a folder."""

    folder_id: str
    grantee_id: str
    side = "user"
    write = True


@dataclass(frozen=True)
class GetRights(Request[list[AccountRight]]):
    """Every ACE on the account that its owner can grant (urn:zimbraAccount)."""

    side = "user"


@dataclass(frozen=True)
class GrantRights(Request[None]):
    rights: tuple[AccountRight, ...]
    side = "user"
    write = True


@dataclass(frozen=True)
class RevokeRights(Request[None]):
    rights: tuple[AccountRight, ...]
    side = "user"
    write = True


@dataclass(frozen=True)
class GetDataSources(Request[list[DataSource]]):
    side = "user"


@dataclass(frozen=True)
class ModifyDataSource(Request[None]):
    """Change attributes of one data source; lockdown turns one off with isEnabled=0 (kept
    whole: a deleted one cannot be put back, Zimbra never returns its password)."""

    kind: str  # the element name GetDataSources used: pop3, imap, caldav, ...
    id: str
    attrs: Mapping[str, str] = field(default_factory=dict)
    side = "user"
    write = True


@dataclass(frozen=True)
class GetAppSpecificPasswords(Request[list[AppPassword]]):
    """Network Edition only."""

    side = "user"


@dataclass(frozen=True)
class RevokeAppSpecificPassword(Request[None]):
    """Network Edition only."""

    name: str
    side = "user"
    write = True


@dataclass(frozen=True)
class GetTrustedDevices(Request[TrustedDevices]):
    """Network Edition only."""

    side = "user"


@dataclass(frozen=True)
class RevokeOtherTrustedDevices(Request[None]):
    """Network Edition only: every trusted device but the caller's (an admin has none)."""

    side = "user"
    write = True


@dataclass(frozen=True)
class GetDeviceStatus(Request[list[MobileDevice]]):
    """Network Edition only (urn:zimbraSync): the account's synced mobile devices."""

    side = "user"


@dataclass(frozen=True)
class SuspendDevice(Request[None]):
    """Network Edition only (urn:zimbraSync)."""

    id: str
    side = "user"
    write = True


@dataclass(frozen=True)
class ResumeDevice(Request[None]):
    """Network Edition only (urn:zimbraSync)."""

    id: str
    side = "user"
    write = True
