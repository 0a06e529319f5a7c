"""Help-desk tickets: one interface (TicketBackend), backends chosen by name in the config."""

from __future__ import annotations

from zcomp.tickets.backend import TicketBackend
from zcomp.tickets.content import TicketContent, TicketRef, idempotency_key, incident_key
from zcomp.tickets.errors import TicketError
from zcomp.tickets.file_backend import FileBackend
from zcomp.tickets.registry import (
    DEFAULT_BACKEND,
    available_backends,
    make_backend,
)
from zcomp.tickets.render import render_text

__all__ = [
    "DEFAULT_BACKEND",
    "FileBackend",
    "TicketBackend",
    "TicketContent",
    "TicketError",
    "TicketRef",
    "available_backends",
    "idempotency_key",
    "incident_key",
    "make_backend",
    "render_text",
]
