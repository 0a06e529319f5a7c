"""Put back what an audit run changed, from the values its journal recorded before each change.

One read (the entries the run touched, one BatchRequest), then one batch of writes with their
read-backs through the same journaled executor, recorded in the same run (step "restore").
A setting is put back only while it still holds what the run set: one changed since by someone
else is left alone and reported, unless `force`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zcomp.audit.audit import (
    STEP_APPLY,
    STEP_RESTORE,
    Entry,
    JournaledExecutor,
    Outcome,
    read_request,
    setting_change,
)
from zcomp.audit.rules import GLOBAL
from zcomp.core.change import Change
from zcomp.core.replies import must
from zcomp.core.services import Services
from zcomp.exitcodes import UsageError
from zcomp.journal import Journal
from zcomp.journal import audit as journal_audit


@dataclass(frozen=True)
class Item:
    """One setting an audit run changed (its last apply action)."""

    entry: Entry
    attr: str
    before: list[str]
    after: list[str]
    status: str  # the apply's verdict: done, failed, not-run, planned (a run cut short)
    restored: bool  # a later restore of this run put it back

    @property
    def label(self) -> str:
        return f"{self.entry.where} {self.attr}"

    @property
    def option(self) -> str:
        """How --setting names it: global:ATTR, cos:NAME:ATTR, domain:NAME:ATTR."""
        if self.entry.scope == GLOBAL:
            return f"global:{self.attr}"
        return f"{self.entry.scope}:{self.entry.name}:{self.attr}"

    def to_json(self) -> dict[str, Any]:
        return {
            "setting": self.option,
            "scope": self.entry.scope,
            "name": self.entry.name or None,
            "attribute": self.attr,
            "before": self.before,
            "after": self.after,
            "status": self.status,
            "restored": self.restored,
        }


def _entry(data: dict[str, Any]) -> Entry:
    return Entry(str(data["scope"]), str(data.get("name", "")), str(data.get("id", "")))


def changed_items(journal: Journal, key: str) -> tuple[journal_audit.AuditRun, list[Item]]:
    """The settings the run changed or may have changed (never sent: left out), in order."""
    run = journal_audit.run(journal, key)
    latest: dict[tuple[str, str, str], Item] = {}
    for action in journal_audit.actions(journal, run.id):
        before, after = action.before, action.after
        if not isinstance(before, dict) or not isinstance(after, dict):
            continue
        entry = _entry(before)
        slot = (entry.scope, entry.id, str(before["attr"]).lower())
        if action.step == STEP_APPLY:
            if action.status == "not-run":
                continue  # never sent: nothing to put back
            latest[slot] = Item(
                entry,
                str(before["attr"]),
                list(before["values"]),
                list(after["values"]),
                action.status,
                restored=False,
            )
        elif action.step == STEP_RESTORE and action.status == "done" and slot in latest:
            item = latest[slot]
            latest[slot] = Item(
                item.entry, item.attr, item.before, item.after, item.status, restored=True
            )
    return run, list(latest.values())


def select(items: Sequence[Item], names: Sequence[str], everything: bool) -> list[Item]:
    if everything:
        return list(items)
    chosen: list[Item] = []
    for name in names:
        found = [i for i in items if i.option.lower() == name.strip().lower()]
        if not found:
            listed = ", ".join(i.option for i in items) or "none"
            raise UsageError(f"{name!r} is not a setting this audit run changed ({listed})")
        chosen.extend(f for f in found if f not in chosen)
    return chosen


def restore_run(
    services: Services,
    key: str,
    names: Sequence[str],
    *,
    everything: bool = False,
    force: bool = False,
    dry_run: bool = False,
) -> tuple[Outcome | None, list[str], list[Change]]:
    """Returns (what was done, None on a dry run or when nothing is to write; lines about
    settings left alone; the changes planned)."""
    run, items = changed_items(services.journal, key)
    chosen = select(items, names, everything)
    entries = list({(i.entry.scope, i.entry.id): i.entry for i in chosen}.values())
    reads = [read_request(e) for e in entries]
    now = [must(r) for r in services.client.batch(reads)] if reads else []
    current = {
        (e.scope, e.id): {k.lower(): v for k, v in got.attrs.items()}
        for e, got in zip(entries, now, strict=True)
    }
    skipped: list[str] = []
    changes: list[Change] = []
    for item in chosen:
        values = current[(item.entry.scope, item.entry.id)].get(item.attr.lower(), [])
        if sorted(values) == sorted(item.before):
            skipped.append(f"{item.label}: already as before the audit, nothing changed")
            continue
        if sorted(values) != sorted(item.after) and not force:
            shown = ", ".join(values) if values else "(unset)"
            skipped.append(
                f"{item.label}: now {shown}, changed since the audit set it; left alone "
                "(--force puts it back anyway)"
            )
            continue
        why = f"restore of audit run {run.key}"
        changes.append(
            setting_change(item.entry, item.attr, values, item.before, step=STEP_RESTORE, why=why)
        )
    if dry_run or not changes:
        return None, skipped, changes
    executor = JournaledExecutor(services, run.id)
    done = executor.apply(changes)
    return (
        Outcome(journal_audit.run(services.journal, run.id), done.applied, skipped),
        skipped,
        changes,
    )
