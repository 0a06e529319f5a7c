"""Which addresses belong to the account and which domains to the organisation."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from zcomp.zimbra.model import Account

# Well-known free mailbox providers: an outside address there is the classic attacker drop box.
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com", "outlook.com",
        "hotmail.com", "live.com", "msn.com", "aol.com", "gmx.com", "gmx.net", "gmx.de", "mail.com",
        "proton.me", "protonmail.com", "pm.me", "yandex.com", "yandex.ru", "icloud.com", "me.com",
        "zoho.com", "mail.ru", "inbox.ru", "list.ru", "bk.ru", "qq.com", "163.com", "126.com",
        "tutanota.com", "tuta.io", "web.de", "yahoo.co.uk", "hotmail.co.uk", "rediffmail.com",
    }
)  # fmt: skip

_ADDRESS = re.compile(r"[A-Za-z0-9._%+'=-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().strip(">").lower()


def split_addresses(value: str) -> list[str]:
    """A comma/space separated address list (zimbraPrefMailForwardingAddress is one string)."""
    return [part.strip() for part in re.split(r"[,;\s]+", value) if part.strip()]


def find_addresses(text: str) -> list[str]:
    return _ADDRESS.findall(text)


@dataclass
class Organisation:
    """The organisation's domains (all domains of the server plus configured ones)."""

    domains: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *groups: Iterable[str]) -> Organisation:
        return cls(frozenset(d.lower().strip(".") for group in groups for d in group if d))

    def is_inside_domain(self, domain: str) -> bool:
        domain = domain.lower().strip(".")
        return any(domain == d or domain.endswith("." + d) for d in self.domains)

    def is_inside(self, address: str) -> bool:
        return self.is_inside_domain(domain_of(address))


def is_freemail(address: str) -> bool:
    return domain_of(address) in FREEMAIL_DOMAINS


def own_addresses(account: Account) -> frozenset[str]:
    """The account's name, aliases, delivery addresses and allowed From addresses."""
    names = [account.name]
    for attr in ("zimbraMailAlias", "zimbraMailDeliveryAddress", "zimbraAllowFromAddress", "mail"):
        names.extend(account.values(attr))
    return frozenset(n.lower() for n in names if n)


def describe_outside(address: str) -> str:
    return f"{address} is outside the organisation" + (
        " (freemail)" if is_freemail(address) else ""
    )
