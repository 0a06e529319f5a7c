"""Builds per-worker Environments (client, journal, tickets) and closes them at the end."""

from __future__ import annotations

import getpass
import threading
from typing import TYPE_CHECKING, Any

from zcomp.core.environment import Environment

if TYPE_CHECKING:
    from zcomp.cli.context import AppContext
    from zcomp.zimbra.settings import ConnectionSettings


class Runtime:
    def __init__(self, app: AppContext, connection: ConnectionSettings | None = None) -> None:
        self.app = app
        self.connection = connection or app.connection_settings()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def make_env(self) -> Environment:
        from zcomp.journal import Journal
        from zcomp.tickets import make_backend
        from zcomp.zimbra.client import ZimbraClient

        settings = self.app.settings
        client = ZimbraClient(self.connection)
        journal = Journal.open(settings.state_dir)
        tickets = make_backend(
            settings.tickets.backend, settings.tickets.options, settings.state_dir
        )
        with self._lock:
            self._opened += [client, journal]
        return Environment(
            client=client,
            journal=journal,
            tickets=tickets,
            settings=settings,
            operator=f"{_user()} as {self.connection.admin}",
        )

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for thing in opened:
            thing.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
