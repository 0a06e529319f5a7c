"""What a playbook needs to run: a Zimbra client, the journal, the ticket desk, the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zcomp.core.addresses import Organisation
from zcomp.core.replies import must
from zcomp.core.stop import StopRequest
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
    """One per worker: each worker has its own HTTP session; the journal is shared."""

    client: ZimbraAPI
    journal: Journal
    tickets: TicketBackend
    settings: Settings
    operator: str = "zcomp"
    events: Callable[[str, str], None] = _no_event
    # Shared by every worker of a run: set by the signal handlers, read by the playbooks.
    stop: StopRequest = field(default_factory=StopRequest)
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
        """Take the domains and MTAs from a batch. A fault is raised, not cached: guessing the
        organisation (every colleague's address "outside") or the MTAs (nothing held) would
        do damage, so this account fails and the next one asks again."""
        if not results:
            return
        domains, servers = (must(r) for r in results)
        self._org = Organisation.of(
            [d.name for d in domains], self.settings.lockdown.internal_domains
        )
        self._mtas = [s.name for s in servers]

    @property
    def organisation(self) -> Organisation:
        return self._org or Organisation.of(self.settings.lockdown.internal_domains)

    @property
    def mtas(self) -> list[str]:
        return list(self._mtas or [])
