"""Grantee lookups shared by folder grants (FolderAction) and account rights (GrantRights)."""

from __future__ import annotations

from dataclasses import dataclass

from zcomp.sandbox.directory import DOMAIN, AccountEntry, Directory
from zcomp.sandbox.faults import SoapFault, no_such_account, no_such_domain


@dataclass(frozen=True)
class Named:
    """A NamedEntry: an account, a distribution list, the COS or the domain."""

    kind: str  # "account" | "dl" | "cos" | "domain"
    id: str
    name: str


def no_such_dl(name: str) -> SoapFault:
    return SoapFault("account.NO_SUCH_DISTRIBUTION_LIST", f"no such distribution list: {name}")


def no_such_cos(name: str) -> SoapFault:
    return SoapFault("account.NO_SUCH_COS", f"no such cos: {name}")


def _dl_by_name(d: Directory, name: str) -> Named | None:
    for dl in d.lists.values():
        if dl.name.lower() == name.lower():
            return Named("dl", dl.id, dl.name)
    return None


def email_entry(d: Directory, name: str) -> Named | None:
    """FolderAction/GrantRights.lookupEmailAddress: an account (or alias), else a list."""
    acct = d.find(name, "name") if "@" in name else None
    if acct is not None:
        return Named("account", acct.id, acct.name)
    return _dl_by_name(d, name)


def by_name(d: Directory, name: str, gt: str, authed: AccountEntry) -> Named:
    """lookupGranteeByName: a bare usr/grp name gets the authenticated user's domain."""
    if gt in ("usr", "grp") and "@" not in name:
        name += authed.name[authed.name.index("@") :]
    found: Named | None = None
    if gt == "usr":
        found = email_entry(d, name)
    elif gt == "grp":
        found = _dl_by_name(d, name)
    elif gt == "dom" and name.lower() == DOMAIN:
        found = Named("domain", d.domain_id, DOMAIN)
    elif gt == "cos" and name == d.cos_name:
        found = Named("cos", d.cos_id, d.cos_name)
    if found is not None:
        return found
    if gt == "usr":
        raise no_such_account(name)
    if gt == "grp":
        raise no_such_dl(name)
    if gt == "dom":
        raise no_such_domain(name)
    if gt == "cos":
        raise no_such_cos(name)
    raise SoapFault("service.FAILURE", f"system failure: LDAP entry not found for {name} : {gt}")


def by_id(d: Directory, zid: str, gt: str) -> Named | None:
    """lookupGranteeByZimbraId: None for a grantee that does not exist (an orphan)."""
    if gt == "usr":
        acct = d.find(zid, "id")
        return Named("account", acct.id, acct.name) if acct is not None else None
    if gt == "grp":
        dl = d.lists.get(zid)
        return Named("dl", dl.id, dl.name) if dl is not None else None
    if gt == "dom":
        return Named("domain", d.domain_id, DOMAIN) if zid == d.domain_id else None
    if gt == "cos":
        return Named("cos", d.cos_id, d.cos_name) if zid == d.cos_id else None
    return None


def in_list(d: Directory, account: AccountEntry, dl_id: str) -> bool:
    dl = d.lists.get(dl_id)
    return dl is not None and bool(d.names_of(account) & {m.lower() for m in dl.members})


def acct_bool(d: Directory, entry: AccountEntry, attr: str, default: bool) -> bool:
    """An account/COS boolean (account value, else the COS's, else the schema default)."""
    value = entry.first(attr) or next(iter(d.cos_attrs.get(attr, [])), None)
    return default if value is None else value.upper() == "TRUE"
