"""History: incidents and every action taken, straight from the journal (no Zimbra)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zcomp.core.replies import iso
from zcomp.journal import Action, Incident, Journal, JournalError


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
    incident: int | str | None = None,
) -> list[IncidentHistory]:
    """Newest incident first; `account` is a name (any case) or a zimbraId; `incident` one."""
    if incident is not None:
        try:
            found = journal.incident(incident)
        except JournalError:
            return []
        return [IncidentHistory(found, journal.actions(found.id))]
    return [
        IncidentHistory(i, journal.actions(i.id)) for i in journal.incidents(account, limit=limit)
    ]
