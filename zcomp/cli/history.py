"""zcomp history: incidents and their actions, from the journal (no Zimbra needed)."""

from __future__ import annotations

import json
from typing import Any

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import json_option

_CELL = 60  # before/after values are shown shortened in tables; --json has them whole


def _short(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= _CELL else text[: _CELL - 1] + "…"


@click.command()
@click.argument("account", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@json_option
@pass_app
def history(app: AppContext, account: str | None, limit: int) -> None:
    """Incidents (newest first) and every action taken, for ACCOUNT or for all accounts."""
    from zcomp.core.history import history as load
    from zcomp.journal import Journal

    with Journal.open(app.settings.state_dir) as journal:
        found = load(journal, account, limit=limit)
    out = app.output
    if app.json:
        for item in found:
            out.data(item.to_json())
        return
    if not found:
        out.info(f"no incidents{' for ' + account if account else ''} in the journal")
        return
    for item in found:
        data = item.to_json()
        head = (
            f"incident {data['incident']}: {data['account']} {data['state']}, "
            f"started {data['started_at']} by {data['operator']} ({data['reason']})"
        )
        if data["closed_at"]:
            head += f", closed {data['closed_at']} ({data['closed_how']})"
        if data["ticket"]:
            head += f", ticket {data['ticket']['backend']} {data['ticket']['id']}"
        out.info(head)
        rows = [
            [a["at"], a["step"], a["kind"], a["target"], a["status"], _short(a["after"])]
            for a in data["actions"]
        ]
        if rows:
            out.table(["at", "step", "kind", "target", "status", "after"], rows)
