"""History: incidents and every action taken, straight from the journal (no Zimbra)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zcomp.core.replies import iso
from zcomp.exitcodes import UsageError
from zcomp.journal import Action, AmbiguousIncident, Incident, IncidentNotFound, Journal
from zcomp.journal.keys import LENGTH, normalise_key


@dataclass
class IncidentHistory:
    incident: Incident
    actions: list[Action]

    def to_json(self) -> dict[str, Any]:
        i = self.incident
        return {
            "incident": i.key,
            "account": i.account_name,
            "account_id": i.account_id,
            "state": i.state,
            "reason": i.reason,
            "operator": i.operator,
            "started_at": iso(i.started_at),
            "closed_at": iso(i.closed_at) if i.closed_at else None,
            "closed_how": i.closed_how,
            "ticket": None
            if not i.ticket_id
            else {"backend": i.ticket_backend, "id": i.ticket_id, "url": i.ticket_url},
            "evidence_sha256": i.evidence_sha256,
            "actions": [
                {
                    "at": iso(a.at),
                    "step": a.step,
                    "kind": a.kind,
                    "target": a.target,
                    "status": a.status,
                    "before": a.before,
                    "after": a.after,
                    "detail": a.detail,
                }
                for a in self.actions
            ],
        }


def history(
    journal: Journal,
    account: str | None = None,
    *,
    limit: int = 100,
    incident: Incident | None = None,
) -> list[IncidentHistory]:
    """Newest incident first; `account` is a name (any case) or a zimbraId; `incident` one
    (from named_incident)."""
    if incident is not None:
        return [IncidentHistory(incident, journal.actions(incident.id))]
    return [
        IncidentHistory(i, journal.actions(i.id)) for i in journal.incidents(account, limit=limit)
    ]


def named_incident(journal: Journal, typed: str) -> Incident | None:
    """The incident `typed` names, found as `zcomp restore` finds it (INC-7K3MQ9XA, 7k3mq9xa,
    its first 4+ characters, INC000042 or 42), or None when it is an account's name.

    Written as an incident (INC-..., or INC and its 8 characters or digits), it must be one:
    an unknown or ambiguous one is a UsageError, as it is for restore. A bare word such as
    `7k3m` or `dave` is an incident when one matches, else an account; when it is both, the
    UsageError asks which.
    """
    text = typed.strip()
    if "@" in text or not text:
        return None
    explicit = _written_as_incident(text)
    if not explicit and not normalise_key(text):
        return None
    try:
        found = journal.incident(text)
    except IncidentNotFound as exc:
        if explicit:
            raise UsageError(exc.message) from None
        return None
    except AmbiguousIncident as exc:
        if explicit or not journal.incidents(text, limit=1):
            raise UsageError(exc.message) from None
        raise UsageError(_both(text)) from None
    if not explicit and journal.incidents(text, limit=1):
        raise UsageError(_both(text))
    return found


def _both(text: str) -> str:
    return (
        f"{text!r} is an account and the start of an incident's key: give the whole key "
        "(INC-7K3MQ9XA) or the account's address"
    )


def _written_as_incident(text: str) -> bool:
    """INC-7K3M..., INC 7K3M, INC7K3MQ9XA, INC000042: not a bare name such as `incognito`."""
    upper = text.upper()
    if not upper.startswith("INC"):
        return False
    rest = upper[3:]
    return rest[:1] in ("-", " ") or rest.isdigit() or len(rest) == LENGTH
