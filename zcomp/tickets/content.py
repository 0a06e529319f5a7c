"""What a ticket says (TicketContent) and how a filed ticket is referred to (TicketRef)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# An incident as a desk knows it: the journal's number, or a key given as text (`zcomp ticket
# test` files under "ZCOMPTEST-..."). Backends never format it themselves: incident_key does.
IncidentRef = int | str


@dataclass
class TicketContent:
    incident_id: IncidentRef
    account: str
    title: str
    found: list[str]  # what was found, one line per item, with its reason
    done: list[str]  # what was done
    next_steps: list[str]  # what the help desk must do next
    evidence_sha256: str | None
    created_at: datetime
    extra: dict[str, str] = field(default_factory=dict)
    # The site's own ticket text ([tickets] template), with placeholders; None: the built-in.
    template: str | None = None


@dataclass(frozen=True)
class TicketRef:
    backend: str
    id: str
    url: str | None = None


def incident_key(incident_id: IncidentRef) -> str:
    """The incident's human id, e.g. INC-7K3MQ9XA (INC000042 for a number from before keys):
    the file name, and the idempotency key that remote backends store with the ticket (a tag,
    custom field or external id) to find it again."""
    if isinstance(incident_id, str):
        return incident_id
    if incident_id < 0:
        raise ValueError("incident ids are positive")
    return f"INC{incident_id:06d}"


def idempotency_key(incident_id: IncidentRef) -> str:
    """A key unique to this incident and to zcomp, e.g. zcomp-INC-7K3MQ9XA."""
    return f"zcomp-{incident_key(incident_id)}"
