"""Errors raised by the journal; each is one line for the admin and exits with status 1."""

from __future__ import annotations

from zcomp.exitcodes import ZcompError


class JournalError(ZcompError):
    """The journal is missing, corrupt, unreadable, locked too long, or was asked the impossible."""


class IncidentNotFound(JournalError):
    """No incident of this journal is the one asked for (or what was typed is no key at all);
    distinct from a journal that cannot answer, so a lookup may fall back to other readings."""


class AmbiguousIncident(JournalError):
    """A typed prefix matches several incidents of this journal."""


class SecretRefusedError(JournalError):
    """A value looked like a secret (auth token, password field); it was not written."""


class IncidentOpenError(JournalError):
    """The account already has an incident that is not closed (at most one per account)."""

    def __init__(self, account_id: str, incident_id: int | None) -> None:
        self.account_id = account_id
        self.incident_id = incident_id
        which = f" (incident {incident_id})" if incident_id is not None else ""
        super().__init__(f"account {account_id} already has an open incident{which}")
