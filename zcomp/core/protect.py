"""Accounts lockdown refuses without --force: admins, system accounts, the allow list."""

from __future__ import annotations

from collections.abc import Iterable

from zcomp.zimbra.model import Account

_FLAGS = (
    ("zimbraIsAdminAccount", "a global admin account"),
    ("zimbraIsDelegatedAdminAccount", "a delegated admin account"),
    ("zimbraIsSystemAccount", "a system account"),
    ("zimbraIsSystemResource", "a system resource"),
)
_SYSTEM_PREFIXES = ("spam.", "ham.", "virus-quarantine.", "galsync", "admin@")


def protection_reason(
    account: Account, allow_list: Iterable[str], current_admin: str | None
) -> str | None:
    """Why the account is protected, or None when lockdown may proceed."""
    for attr, what in _FLAGS:
        if (account.get(attr) or "").upper() == "TRUE":
            return f"{account.name} is {what} ({attr}=TRUE)"
    name = account.name.lower()
    if any(name.startswith(p) for p in _SYSTEM_PREFIXES):
        return f"{account.name} looks like a Zimbra system account"
    if current_admin and name == current_admin.lower():
        return f"{account.name} is the admin account zcomp is logged in as"
    domain = "@" + name.rsplit("@", 1)[-1]
    for entry in allow_list:
        entry = entry.lower().strip()
        if entry in (name, domain):
            return f"{account.name} is on the protected list of the configuration ({entry})"
    return None
