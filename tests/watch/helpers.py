"""Shared pieces of the watch tests: a real Services over HTTP, a movable clock, and mail
queued straight into the sandbox MTA (what an attacker's SMTP session leaves behind)."""

from __future__ import annotations

import time
from pathlib import Path

from zcomp.config import CliValues, load_settings
from zcomp.core.services import Services
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox
from zcomp.sandbox.mta import QueuedMessage
from zcomp.tickets import TicketBackend, make_backend
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.model import Secret
from zcomp.zimbra.settings import ConnectionSettings

ADMIN = "admin@sandbox.test"
ALICE = "alice@sandbox.test"
BOB = "bob@sandbox.test"
CAROL = "carol@sandbox.test"


class FakeClock:
    """Epoch seconds that tests move forward (the quiet period is an hour)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_services(
    admin_url: str, state: Path, *, tickets: TicketBackend | None = None, retries: int = 2
) -> Services:
    client = ZimbraClient(
        ConnectionSettings(
            url=admin_url,
            admin=ADMIN,
            password=lambda: Secret("sandbox"),
            token_cache="off",
            retries=retries,
        )
    )
    settings = load_settings(
        CliValues(url=admin_url, admin=ADMIN), env={"ZCOMP_STATE_DIR": str(state)}
    )
    return Services(
        client=client,
        journal=Journal.open(state),
        tickets=tickets or make_backend("file", {}, state),
        settings=settings,
    )


def close_services(services: Services) -> None:
    services.client.close()  # type: ignore[attr-defined]
    services.journal.close()


def flood(
    sb: Sandbox,
    sender: str,
    count: int,
    *,
    domains: int = 30,
    queue: str = "deferred",
    mta: int = 0,
    recipients_each: int = 3,
) -> list[str]:
    """Queue `count` messages from `sender`, to recipients spread over `domains` domains."""
    box = sb.mta(mta)
    ids = []
    for i in range(count):
        rcpts = [
            f"victim{i}-{j}@target{(i * recipients_each + j) % domains}.example"
            for j in range(recipients_each)
        ]
        msg = QueuedMessage(
            id=box.new_id(),
            sender=sender,
            recipients=rcpts,
            arrival=sb.clock.now(),
            size=2048,
            message_id=f"<flood{i}.{time.monotonic_ns()}@sandbox.test>",
            subject="Outstanding invoice",
            reason="host mx.target.example said: 421 4.7.0 Try again later",
            queue=queue,
        )
        ids.append(box.enqueue(msg).id)
    return ids


def bounce_flood(sb: Sandbox, to: str, count: int) -> None:
    """Non-delivery reports (null envelope sender) queued to `to`: its spam coming back."""
    box = sb.mta(0)
    for i in range(count):
        box.enqueue(
            QueuedMessage(
                id=box.new_id(),
                sender="",
                recipients=[to],
                arrival=sb.clock.now(),
                size=900,
                message_id=f"<ndr{i}.{time.monotonic_ns()}@mx.example>",
                queue="active",
            )
        )


def drain(sb: Sandbox, sender: str) -> None:
    """The MTA delivered (or expired) everything from `sender`."""
    box = sb.mta(0)
    for m in box.messages():
        if m.sender == sender:
            box.act("delete", [m.id], m.queue)


def watch_tickets(state: Path) -> list[Path]:
    return sorted((state / "tickets").glob("zcomp-WATCH-*.md"))


def lockdown_tickets(state: Path) -> list[Path]:
    return sorted((state / "tickets").glob("zcomp-INC-*.md"))
