"""What a playbook needs to run: a Zimbra client, the journal, the ticket desk, the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zcomp.core.addresses import Organisation
from zcomp.core.replies import must
from zcomp.core.stop import StopRequest
from zcomp.zimbra.access import VersionInfo
from zcomp.zimbra.operations import GetAllDomains, GetAllServers, GetVersionInfo, Request

if TYPE_CHECKING:
    from zcomp.config import Settings
    from zcomp.journal import Journal
    from zcomp.tickets import TicketBackend
    from zcomp.zimbra.api import ZimbraAPI


def _no_event(account: str, message: str) -> None:
    return None


def _no_notice(message: str) -> None:
    return None


# Said once per run (zcomp.cli.runtime keeps it to once) when the server is not Network
# Edition: those requests do not exist there, so they are not sent.
OPEN_SOURCE_NOTE = "open-source Zimbra: no app-specific passwords or devices to check"


@dataclass
class Services:
    """One per worker: each worker has its own HTTP session; the journal is shared."""

    client: ZimbraAPI
    journal: Journal
    tickets: TicketBackend
    settings: Settings
    operator: str = "zcomp"
    events: Callable[[str, str], None] = _no_event
    # Something worth saying once per run, not per account (the edition, say).
    notice: Callable[[str], None] = _no_notice
    # Shared by every worker of a run: set by the signal handlers, read by the playbooks.
    stop: StopRequest = field(default_factory=StopRequest)
    _org: Organisation | None = field(default=None, repr=False)
    _mtas: list[str] | None = field(default=None, repr=False)
    _network: bool | None = field(default=None, repr=False)

    def event(self, account: str, message: str) -> None:
        self.events(account, message)

    def facts_requests(self) -> list[Request[Any]]:
        """Directory reads to add to the first batch of a worker (nothing once known)."""
        if self._org is not None and self._mtas is not None:
            return []
        return [GetAllDomains(), GetAllServers(service="mta"), GetVersionInfo()]

    def absorb_facts(self, results: list[Any]) -> None:
        """Take the domains and MTAs from a batch. A fault is raised, not cached: guessing the
        organisation (every colleague's address "outside") or the MTAs (nothing held) would
        do damage, so this account fails and the next one asks again."""
        if not results:
            return
        domains, servers = (must(r) for r in results[:2])
        self._org = Organisation.of(
            [d.name for d in domains], self.settings.lockdown.internal_domains
        )
        self._mtas = [s.name for s in servers]
        version = results[2] if len(results) > 2 else None
        # Unreadable (a delegated admin may lack the right): taken as open source, so Network
        # Edition requests, which would only fail there, are not sent.
        self._network = isinstance(version, VersionInfo) and version.network
        if not self._network:
            self.notice(OPEN_SOURCE_NOTE)

    @property
    def organisation(self) -> Organisation:
        return self._org or Organisation.of(self.settings.lockdown.internal_domains)

    @property
    def mtas(self) -> list[str]:
        return list(self._mtas or [])

    @property
    def network(self) -> bool:
        """The server is Network Edition (known after the first batch with `facts_requests`)."""
        return bool(self._network)
