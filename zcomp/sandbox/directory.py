"""The shared directory (what LDAP holds): accounts, COS, domain, servers, lists, child entries."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from zcomp.sandbox.clock import Clock, gentime
from zcomp.sandbox.element import El
from zcomp.sandbox.faults import (
    account_exists,
    cos_exists,
    invalid_request,
    no_such_account,
    no_such_domain,
)
from zcomp.sandbox.passwords import hash_password
from zcomp.sandbox.schema import info, schema

Attrs = dict[str, list[str]]
DOMAIN = "sandbox.test"


@dataclass
class ChildEntry:
    """A signature or identity stored below the account (not the account-entry one)."""

    id: str
    name: str
    attrs: Attrs = field(default_factory=dict)

    def copy(self) -> ChildEntry:
        return ChildEntry(self.id, self.name, copy_attrs(self.attrs))


def copy_attrs(attrs: Attrs) -> Attrs:
    """A deep copy of attribute values (lists of strings)."""
    return {k: list(v) for k, v in attrs.items()}


@dataclass
class AccountEntry:
    id: str
    name: str
    attrs: Attrs
    signatures: dict[str, ChildEntry] = field(default_factory=dict)
    identities: dict[str, ChildEntry] = field(default_factory=dict)
    data_sources: dict[str, ChildEntry] = field(default_factory=dict)  # LDAP child entries

    def first(self, name: str, default: str | None = None) -> str | None:
        values = self.attrs.get(name)
        return values[0] if values else default

    def snapshot(self) -> AccountEntry:
        """What copy.deepcopy made, without its generic walk (a cache refresh is one)."""
        return AccountEntry(
            self.id,
            self.name,
            copy_attrs(self.attrs),
            {k: c.copy() for k, c in self.signatures.items()},
            {k: c.copy() for k, c in self.identities.items()},
            {k: c.copy() for k, c in self.data_sources.items()},
        )


@dataclass
class DistributionList:
    id: str
    name: str
    members: list[str]
    attrs: Attrs = field(default_factory=dict)


@dataclass
class CosEntry:
    """A class of service. `attrs` holds its settings; cn, objectClass and zimbraId are added
    when it is encoded (GetCos), so code reading the default COS's settings never sees them."""

    id: str
    name: str
    attrs: Attrs


@dataclass
class ServerEntry:
    id: str
    name: str
    attrs: Attrs


class Directory:
    """All mutations take `lock`; handlers hold it for a whole request so requests are atomic."""

    def __init__(self, clock: Clock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.accounts: dict[str, AccountEntry] = {}
        self._by_name: dict[str, str] = {}  # primary name and aliases (lower case) -> id
        self.cos_id = str(uuid.UUID(int=0xE00428A1_0C00_11D9_836A_000D93AFEA2A))
        self.cos_name = "default"
        self.cos_attrs: Attrs = {}
        self._cos_inherited: Attrs | None = None
        for i in schema().values():
            if i.cos_default:
                self.cos_attrs[i.name] = list(i.cos_default)
        # Every COS by id; the default one shares `cos_attrs` (what accounts inherit here).
        self.coses: dict[str, CosEntry] = {
            self.cos_id: CosEntry(self.cos_id, self.cos_name, self.cos_attrs)
        }
        self.domain_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, DOMAIN))
        self.domain_attrs: Attrs = {
            "zimbraDomainName": [DOMAIN],
            "zimbraId": [self.domain_id],
            "zimbraDomainStatus": ["active"],
            "zimbraDomainType": ["local"],
            "o": [f"{DOMAIN} domain"],
        }
        # Global config: the schema's defaults, and the domain Zimbra's installer makes the
        # default (zimbraDefaultDomainName), which completes a bare account name.
        self.config_attrs: Attrs = {
            i.name: list(i.global_default) for i in schema().values() if i.global_default
        }
        self.config_attrs["zimbraDefaultDomainName"] = [DOMAIN]
        self.servers: list[ServerEntry] = []
        self.lists: dict[str, DistributionList] = {}
        self.revoked_token_ids: set[str] = set()
        # Rules are rendered into the Sieve attributes; this remembers each rendering's structure so
        # a script written back verbatim (e.g. an undo) still reads back as rules.
        self.sieve_memo: dict[str, list[El]] = {}

    # ---- lookup -----------------------------------------------------------------------------

    def find(self, key: str, by: str = "name") -> AccountEntry | None:
        with self.lock:
            if by == "id":
                return self.accounts.get(key)
            acct_id = self._by_name.get(self.full_name(key).lower())
            return self.accounts.get(acct_id) if acct_id else None

    def full_name(self, name: str) -> str:
        """A bare name gets zimbraDefaultDomainName, as LdapProvisioning.fixupAccountName
        does; with no default domain Zimbra refuses it."""
        name = name.strip()
        if "@" in name:
            return name
        domain = next(iter(self.config_attrs.get("zimbraDefaultDomainName", [])), "")
        if not domain:
            raise invalid_request(f"must be valid email address: {name}")
        return f"{name}@{domain}"

    def get(self, key: str, by: str = "name") -> AccountEntry:
        entry = self.find(key, by)
        if entry is None:
            raise no_such_account(key)
        return entry

    def effective(self, entry: AccountEntry, name: str) -> list[str]:
        """Account value, else the COS value for inherited attributes."""
        values = entry.attrs.get(name)
        if values:
            return values
        i = info(name)
        if i and i.inherited:
            return self.cos_attrs.get(i.name, [])
        return []

    def effective1(self, entry: AccountEntry, name: str, default: str = "") -> str:
        values = self.effective(entry, name)
        return values[0] if values else default

    def effective_int(self, entry: AccountEntry, name: str, default: int = 0) -> int:
        try:
            return int(self.effective1(entry, name, str(default)))
        except ValueError:
            return default

    def cos_inherited(self) -> Attrs:
        """COS values an account without its own value inherits (accountInherited attributes)."""
        if self._cos_inherited is None:
            out: Attrs = {}
            for name, values in self.cos_attrs.items():
                i = info(name)
                if i is not None and i.inherited and "account" in i.classes:
                    out[name] = values
            self._cos_inherited = out
        return self._cos_inherited

    def cos_changed(self) -> None:
        """A COS was modified: what accounts inherit is computed again."""
        self._cos_inherited = None

    def find_cos(self, key: str, by: str = "name") -> CosEntry | None:
        with self.lock:
            if by == "id":
                return self.coses.get(key)
            wanted = key.strip().lower()
            return next((c for c in self.coses.values() if c.name == wanted), None)

    def create_cos(self, name: str, attrs: Attrs) -> CosEntry:
        """LdapProvisioning.createCos: a copy of the default COS, then the given attributes
        (an empty value removes the copied one); the name is lower-cased."""
        name = name.strip().lower()
        with self.lock:
            if self.find_cos(name) is not None:
                raise cos_exists(name)
            cos_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "cos:" + name))
            copied = copy_attrs(self.cos_attrs)
            for k, v in attrs.items():
                if v:
                    copied[k] = list(v)
                else:
                    copied.pop(k, None)
            entry = CosEntry(cos_id, name, copied)
            self.coses[cos_id] = entry
            return entry

    def server_names(self) -> list[str]:
        return [s.name for s in self.servers]

    # ---- creation ---------------------------------------------------------------------------

    def create_account(
        self,
        name: str,
        password: str | None,
        attrs: Attrs | None = None,
        *,
        account_id: str | None = None,
        password_hash: str | None = None,
    ) -> AccountEntry:
        name = name.strip().lower()
        local, _, domain = name.partition("@")
        if domain != DOMAIN:
            raise no_such_domain(domain or name)
        with self.lock:
            if name in self._by_name:
                raise account_exists(name)
            acct_id = account_id or str(uuid.uuid4())
            now = self.clock.now()
            base: Attrs = {
                "objectClass": ["inetOrgPerson", "zimbraAccount", "amavisAccount"],
                "zimbraId": [acct_id],
                "uid": [local],
                "mail": [name],
                "zimbraMailDeliveryAddress": [name],
                "zimbraAccountStatus": ["active"],
                "zimbraMailStatus": ["enabled"],
                "zimbraMailHost": [self.servers[0].name if self.servers else "mbox1.sandbox.test"],
                "zimbraMailTransport": [
                    f"lmtp:{self.servers[0].name if self.servers else 'mbox1.sandbox.test'}:7025"
                ],
                "zimbraCreateTimestamp": [gentime(now)],
                "cn": [local],
                "sn": [local],
            }
            for k, v in (attrs or {}).items():
                if v:
                    base[k] = list(v)
                else:
                    base.pop(k, None)
            if "zimbraMailHost" in (attrs or {}):
                base["zimbraMailTransport"] = [f"lmtp:{base['zimbraMailHost'][0]}:7025"]
            if password_hash is not None:
                base["userPassword"] = [password_hash]
            elif password:
                base["userPassword"] = [hash_password(password)]
            if "userPassword" in base:
                base["zimbraPasswordModifiedTime"] = [gentime(now)]
            entry = AccountEntry(acct_id, name, base)
            self.accounts[acct_id] = entry
            self._by_name[name] = acct_id
            for alias in base.get("zimbraMailAlias", []):
                self._by_name[alias.lower()] = acct_id
            return entry

    def add_alias(self, entry: AccountEntry, alias: str) -> None:
        alias = alias.strip().lower()
        if alias.partition("@")[2] != DOMAIN:
            raise no_such_domain(alias.partition("@")[2] or alias)
        with self.lock:
            if alias in self._by_name:
                raise account_exists(alias)
            self._by_name[alias] = entry.id
            entry.attrs.setdefault("zimbraMailAlias", []).append(alias)
            entry.attrs.setdefault("mail", []).append(alias)

    def delete_account(self, entry: AccountEntry) -> None:
        with self.lock:
            self.remove_from_lists(entry)
            self.accounts.pop(entry.id, None)
            for key in [k for k, v in self._by_name.items() if v == entry.id]:
                del self._by_name[key]

    def remove_from_lists(self, entry: AccountEntry) -> None:
        addrs = {entry.name, *(a.lower() for a in entry.attrs.get("zimbraMailAlias", []))}
        for dl in self.lists.values():
            dl.members = [m for m in dl.members if m.lower() not in addrs]
            dl.attrs["zimbraMailForwardingAddress"] = list(dl.members)

    def create_list(self, name: str, members: list[str]) -> DistributionList:
        with self.lock:
            dl_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "dl:" + name))
            dl = DistributionList(
                dl_id,
                name,
                list(members),
                {
                    "zimbraId": [dl_id],
                    "mail": [name],
                    "uid": [name.partition("@")[0]],
                    "zimbraMailStatus": ["enabled"],
                    "objectClass": ["zimbraDistributionList", "zimbraMailRecipient"],
                    "zimbraMailForwardingAddress": list(members),
                },
            )
            self.lists[dl_id] = dl
            return dl

    def add_server(self, name: str, port: int) -> ServerEntry:
        sid = str(uuid.uuid5(uuid.NAMESPACE_DNS, name))
        attrs: Attrs = {
            "cn": [name],
            "zimbraId": [sid],
            "zimbraServiceHostname": [name],
            "zimbraServiceInstalled": ["mailbox", "mta", "logger", "stats", "spell"],
            "zimbraServiceEnabled": ["mailbox", "mta", "stats"],
            "zimbraAdminPort": [str(port)],
            "zimbraMailPort": [str(port)],
            "zimbraMailMode": ["http"],
            "zimbraSmtpHostname": [name],
            "zimbraLowestSupportedAuthVersion": ["2"],
        }
        if not self.servers:
            attrs["zimbraServiceEnabled"].append("logger")
        entry = ServerEntry(sid, name, attrs)
        self.servers.append(entry)
        return entry

    def names_of(self, entry: AccountEntry) -> set[str]:
        return {entry.name, *(a.lower() for a in entry.attrs.get("zimbraMailAlias", []))}
