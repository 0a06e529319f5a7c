"""Code run in spawned child processes by the ticket tests."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zcomp.tickets import FileBackend, TicketContent


def content(incident_id: int, title: str = "Phished account contained") -> TicketContent:
    return TicketContent(
        incident_id=incident_id,
        account="alice@example.edu",
        title=title,
        found=["filter rule 'x' redirects all mail to evil@mail.example (outside address)"],
        done=["account locked", "filter rule 'x' removed"],
        next_steps=["call the user", "reset the password with zcomp unlock"],
        evidence_sha256="ab" * 32,
        created_at=datetime(2024, 5, 1, 2, 30, tzinfo=timezone.utc),
        extra={"Operator": "root"},
    )


def open_tickets(directory: str, worker: int, incidents: int, barrier: Any, out: Any) -> None:
    """Race the other worker to open the same tickets; report the refs we got."""
    backend = FileBackend(Path(directory))
    refs = []
    for incident_id in range(1, incidents + 1):
        barrier.wait()
        ref = backend.open(content(incident_id, title=f"opened by worker {worker}"))
        refs.append((ref.backend, ref.id, ref.url))
    out.put((worker, refs))
