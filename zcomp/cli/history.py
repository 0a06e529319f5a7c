"""zcomp history: incidents and their actions, from the journal (no Zimbra needed).

On a terminal: tables. Elsewhere (logs, cron mail, pipes): one line per incident and, for
`history ACCOUNT`, one line per action, since wrapped table cells are unreadable there.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import account_argument, json_option
from zcomp.output import Output
from zcomp.timestamps import stamp

if TYPE_CHECKING:
    from zcomp.core.history import IncidentHistory
    from zcomp.journal import Action

_CELL = 60  # values are shown shortened in tables; --json has them whole
_LINE = 120  # and a little longer in plain lines


def _short(value: Any, limit: int = _CELL) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(value: datetime | None) -> str:
    """To the second, in UTC: one token, sortable, greppable (zcomp.timestamps)."""
    return "-" if value is None else stamp(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def change(action: Action, limit: int) -> str:
    """What the action did: for a removal (nothing after), what was removed."""
    if _empty(action.after) and not _empty(action.before):
        return "removed " + _short(action.before, limit)
    return _short(action.after, limit)


def incident_line(item: IncidentHistory) -> str:
    i = item.incident
    ticket = f"{i.ticket_backend} {i.ticket_id}" if i.ticket_id else "-"  # as lockdown says it
    closed = when(i.closed_at) + (f" ({i.closed_how})" if i.closed_how else "")
    return (
        f"incident {i.key} account {i.account_name} state {i.state} started {when(i.started_at)} "
        f"closed {closed} ticket {ticket}"
    )


def action_line(incident_key: str, action: Action) -> str:
    changed = change(action, _LINE)
    return (
        f"  {when(action.at)} incident {incident_key} {action.step} {action.kind} "
        f"{action.target} {action.status}" + (f": {changed}" if changed else "")
    )


def show_lines(out: Output, found: list[IncidentHistory], with_actions: bool) -> None:
    for item in found:
        if out.stdout_closed:
            return  # the reader left (`| head`): a listing just ends
        out.report(incident_line(item))
        if with_actions:
            for action in item.actions:
                out.report(action_line(item.incident.key, action))


def show_tables(out: Output, found: list[IncidentHistory], with_actions: bool) -> None:
    if not with_actions:
        rows = []
        for item in found:
            i = item.incident
            ticket = f"{i.ticket_backend} {i.ticket_id}" if i.ticket_id else ""
            closed = when(i.closed_at) if i.closed_at else ""
            rows.append([i.id, i.account_name, i.state, when(i.started_at), closed, ticket])
        # The address and the times are never split; a terminal too narrow gets plain lines.
        out.report_table(
            ["incident", "account", "state", "started", "closed", "ticket"], rows, keep=(1, 3, 4)
        )
        return
    for item in found:
        i = item.incident
        out.report(f"{incident_line(item)} by {i.operator} ({i.reason})")
        rows = [
            [when(a.at), a.step, a.kind, a.target, a.status, change(a, _CELL)] for a in item.actions
        ]
        if rows:
            out.report_table(["at", "step", "kind", "target", "status", "change"], rows, keep=(0,))


@click.command()
@click.argument("account", required=False)
@click.option("--limit", type=click.IntRange(min=1, max=1_000_000), default=20, show_default=True)
@json_option
@pass_app
def history(app: AppContext, account: str | None, limit: int) -> None:
    """Incidents, newest first: one line each (id, account, state, started, closed, ticket).
    With ACCOUNT, also every action taken (time, step, kind, target, status, and what changed
    or what was removed). ACCOUNT may be an incident instead, as restore takes it
    (INC-7K3MQ9XA, 7k3mq9xa, its first 4 characters): an unknown INC-... is exit 2.
    --json: everything, values whole, one object per incident."""
    from zcomp.core.history import history as load
    from zcomp.core.history import named_incident
    from zcomp.journal import Journal

    if account is not None and "@" in account:
        account = account_argument(account)  # refused before the journal is opened
    with Journal.open(app.settings.state_dir) as journal:
        incident = named_incident(journal, account) if account is not None else None
        if account is not None and incident is None:
            account = account_argument(account)
        found = load(journal, account, limit=limit, incident=incident)
    out = app.output
    if app.json:
        for item in found:
            if out.stdout_closed:
                return  # the reader left (`| head -1`): a listing just ends, status 0
            out.data(item.to_json())
        return
    if not found:
        out.info(f"no incidents{' for ' + account if account else ''} in the journal")
        return
    if out.stdout_interactive():
        show_tables(out, found, with_actions=account is not None)
    else:
        show_lines(out, found, with_actions=account is not None)
