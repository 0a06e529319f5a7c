"""The one interface every help-desk backend implements.

Backends: file (now); email, rt, jira, servicenow, zendesk, webhook (later). Each makes
`open` idempotent per incident by storing `idempotency_key(incident_id)` with the ticket (a
file name, a tag, an external id, a custom field, a Message-ID) and finding it again.
"""

from __future__ import annotations

from typing import Protocol

from zcomp.tickets.content import TicketContent, TicketRef


class TicketBackend(Protocol):
    name: str

    def open(self, content: TicketContent) -> TicketRef:
        """File the ticket; a second call for the same incident returns the same ref."""
        ...

    def find(self, incident_id: int) -> TicketRef | None:
        """The incident's ticket, if one was filed."""
        ...

    def comment(self, ref: TicketRef, text: str) -> None:
        """Add a note (e.g. the unlock) to the ticket."""
        ...

    def resolve(self, ref: TicketRef, text: str) -> bool:
        """Resolve with a closing note; False when this backend cannot resolve tickets."""
        ...
