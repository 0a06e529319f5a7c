"""What a playbook needs to run: a Zimbra client, the journal, the ticket desk, the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zcomp.core.addresses import Organisation
from zcomp.zimbra.requests import GetAllDomains, GetAllServers, Request

if TYPE_CHECKING:
    from zcomp.config import Settings
    from zcomp.journal import Journal
    from zcomp.tickets import TicketBackend
    from zcomp.zimbra.api import ZimbraAPI


def _no_event(account: str, message: str) -> None:
    return None


@dataclass
class Environment:
    """One per worker: each worker has its own HTTP session and journal connection."""

    client: ZimbraAPI
    journal: Journal
    tickets: TicketBackend
    settings: Settings
    operator: str = "zcomp"
    events: Callable[[str, str], None] = _no_event
    _org: Organisation | None = field(default=None, repr=False)
    _mtas: list[str] | None = field(default=None, repr=False)

    def event(self, account: str, message: str) -> None:
        self.events(account, message)

    def facts_requests(self) -> list[Request[Any]]:
        """Directory reads to add to the first batch of a worker (nothing once known)."""
        if self._org is not None and self._mtas is not None:
            return []
        return [GetAllDomains(), GetAllServers(service="mta")]

    def absorb_facts(self, results: list[Any]) -> None:
        if not results:
            return
        domains, servers = results
        names = [d.name for d in domains] if isinstance(domains, list) else []
        self._org = Organisation.of(names, self.settings.lockdown.internal_domains)
        self._mtas = [s.name for s in servers] if isinstance(servers, list) else []

    @property
    def organisation(self) -> Organisation:
        return self._org or Organisation.of(self.settings.lockdown.internal_domains)

    @property
    def mtas(self) -> list[str]:
        return list(self._mtas or [])
