"""The one interface every help-desk backend implements.

Backends live in zcomp.tickets.backends.<name> (see zcomp.tickets.registry). Each makes `open`
idempotent per incident by storing `idempotency_key(incident_id)` with the ticket (a file
name, a tag, an external id, a custom field, a Message-ID) and finding it again: `open_once`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from zcomp.tickets.content import IncidentRef, TicketContent, TicketRef
from zcomp.tickets.errors import TicketError
from zcomp.tickets.http import TicketUnreachable


class TicketBackend(Protocol):
    name: str

    def open(self, content: TicketContent) -> TicketRef:
        """File the ticket; a second call for the same incident returns the same ref."""
        ...

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
        """The incident's ticket, if one was filed."""
        ...

    def comment(self, ref: TicketRef, text: str) -> None:
        """Add a note (e.g. the unlock) to the ticket."""
        ...

    def resolve(self, ref: TicketRef, text: str) -> bool:
        """Resolve with a closing note; False when this backend cannot resolve tickets."""
        ...


def open_once(find: Callable[[], TicketRef | None], create: Callable[[], TicketRef]) -> TicketRef:
    """The incident's ticket: found if it exists, else created. A create that got no answer
    may have landed: it is looked for again before the failure is reported (the ticket then
    stays pending and `zcomp ticket retry` looks once more before creating)."""
    existing = find()
    if existing is not None:
        return existing
    try:
        return create()
    except TicketUnreachable as exc:
        if not exc.maybe_applied:
            raise
        again = find()
        if again is not None:
            return again
        raise


class NoTickets:
    """The backend of a command that files no tickets (inspect, --dry-run): never used."""

    name = "none"

    def _refuse(self) -> TicketError:
        return TicketError("this command files no tickets")  # a programming error if reached

    def open(self, content: TicketContent) -> TicketRef:
        raise self._refuse()

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
        raise self._refuse()

    def comment(self, ref: TicketRef, text: str) -> None:
        raise self._refuse()

    def resolve(self, ref: TicketRef, text: str) -> bool:
        raise self._refuse()
