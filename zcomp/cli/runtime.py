"""Builds per-worker Environments (client, journal, tickets) and closes them at the end."""

from __future__ import annotations

import getpass
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from click import UsageError

from zcomp.core.services import Services

if TYPE_CHECKING:
    from zcomp.cli.context import AppContext
    from zcomp.journal import Journal
    from zcomp.tickets import TicketBackend
    from zcomp.zimbra.client import ZimbraClient
    from zcomp.zimbra.settings import ConnectionSettings


class Runtime:
    """`files_tickets`: the command files help-desk tickets (lockdown, unlock). Only then is
    the backend made (its settings checked, its secrets read); a read-only command never
    touches it, so a desk that is misconfigured or down never stops an inspect. `notes`: say
    once per run what the server lacks (Network Edition features) where it matters."""

    def __init__(
        self,
        app: AppContext,
        connection: ConnectionSettings | None = None,
        *,
        files_tickets: bool = False,
        notes: bool = True,
    ) -> None:
        self.app = app
        self.files_tickets = files_tickets
        self.notes = notes
        self.connection = connection or app.connection_settings()
        self._opened: list[Any] = []
        self._lock = threading.Lock()
        self._primary: ZimbraClient | None = None
        self._primary_in_use = False
        self._journal: Journal | None = None
        self._said: set[str] = set()

    def _client(self, *, take: bool = True) -> ZimbraClient:
        """The first client, then clones of it: one per worker (clients are not thread-safe),
        all sharing one login."""
        from zcomp.zimbra.client import ZimbraClient

        with self._lock:
            if self._primary is None:
                self._primary = ZimbraClient(self.connection)
                self._opened.append(self._primary)
            if not take:
                return self._primary
            if not self._primary_in_use:
                self._primary_in_use = True
                return self._primary
            clone = self._primary.spawn()
            self._opened.append(clone)
            return clone

    def login(self) -> None:
        """Log in once, up front, before workers start (a refused login stops the run here)."""
        self._client(take=False).login()

    def full_names(self, accounts: Sequence[str]) -> list[str]:
        """Bare names completed with zimbraDefaultDomainName (one GetConfig, only when a bare
        name is there), duplicates dropped, order kept."""
        if all("@" in name for name in accounts):
            return list(accounts)
        from zcomp.zimbra.errors import ZimbraError
        from zcomp.zimbra.operations import GetConfig

        try:
            domains = self._client(take=False).call(GetConfig("zimbraDefaultDomainName"))
        except ZimbraError as exc:
            raise UsageError(
                f"{_first_bare(accounts)}: give the full address (Zimbra's default domain, "
                f"zimbraDefaultDomainName, could not be read: {exc.message})"
            ) from None
        if not domains:
            raise UsageError(
                f"{_first_bare(accounts)}: give the full address (Zimbra has no default "
                "domain: zimbraDefaultDomainName is not set)"
            )
        from zcomp.cli.account_input import deduplicate

        return deduplicate(name if "@" in name else f"{name}@{domains[0]}" for name in accounts)

    def journal(self) -> Journal:
        """One journal for all workers: its calls are serialised, and opening a fresh file
        from several threads at once is needless contention."""
        from zcomp.journal import Journal

        with self._lock:
            if self._journal is None:
                self._journal = Journal.open(self.app.settings.state_dir)
                self._opened.append(self._journal)
            return self._journal

    def tickets(self) -> TicketBackend:
        """The configured backend, checked: a bad setting is one line naming file and key."""
        return make_tickets(self.app)

    def make_services(self) -> Services:
        from zcomp.tickets.backend import NoTickets

        settings = self.app.settings
        client = self._client()
        journal = self.journal()
        # One backend per worker: backends need not be thread-safe.
        tickets = self.tickets() if self.files_tickets else NoTickets()
        return Services(
            client=client,
            journal=journal,
            tickets=tickets,
            settings=settings,
            operator=f"{_user()} as {self.connection.admin}",
            notice=self._notice,
        )

    def _notice(self, message: str) -> None:
        """Once per run, whichever worker learns it first; only in commands where it says
        something about their result (`notes`)."""
        with self._lock:
            if not self.notes or message in self._said:
                return
            self._said.add(message)
        self.app.output.info(f"Note: {message}")

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for thing in opened:
            thing.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def make_tickets(app: AppContext) -> TicketBackend:
    from zcomp.exitcodes import ConfigError
    from zcomp.tickets import make_backend
    from zcomp.tickets.render import load_template

    settings = app.settings
    where = f"{settings.config_path}: " if settings.config_path else ""
    if settings.tickets.template is not None:
        try:
            load_template(settings.tickets.template)
        except ValueError as exc:
            raise ConfigError(f"{where}[tickets] template: {exc}") from None
    try:
        return make_backend(
            settings.tickets.backend,
            settings.tickets.options,
            settings.state_dir,
            debug=app.output.debug,
            warn=app.output.warn,
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc.message}") from None


def _first_bare(accounts: Sequence[str]) -> str:
    return next(name for name in accounts if "@" not in name)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
