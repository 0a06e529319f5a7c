"""Read the settings (one BatchRequest), judge them against the rules, and change the weak ones.

Reading: GetAllConfig, GetAllCos and GetAllDomains (applyConfig=0, so a domain shows only what
it holds itself) in one BatchRequest. Changing: one ModifyConfig / ModifyCos / ModifyDomain per
setting, all in one BatchRequest with their read-backs, through the change executor (the one
lockdown, unlock and restore use): verified by reading back, retried only when the read-back
shows it did not apply. Each change is in the journal before it is sent (as "planned") and
takes the executor's verdict after (zcomp.journal.audit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from zcomp.audit.rules import COS, DOMAIN, GLOBAL, RULES, Rule, Severity, Values
from zcomp.core.change import Applied, Change, Check
from zcomp.core.executor import Executor
from zcomp.core.replies import must
from zcomp.core.services import Services
from zcomp.journal import audit as journal_audit
from zcomp.zimbra.api import ZimbraAPI
from zcomp.zimbra.model import Attrs
from zcomp.zimbra.operations import Request
from zcomp.zimbra.policy import (
    GetAllConfig,
    GetAllCos,
    GetCos,
    GetDomainEntries,
    GetDomainEntry,
    ModifyConfig,
    ModifyCos,
    ModifyDomain,
)

STEP_APPLY, STEP_RESTORE, KIND = "apply", "restore", "setting"


@dataclass(frozen=True)
class Entry:
    """Where settings live: the global config, one COS, one domain."""

    scope: str  # global | cos | domain
    name: str  # the COS or domain name; "" for the global config
    id: str  # its zimbraId; "" for the global config
    attrs: Attrs = field(default_factory=dict, compare=False)

    @property
    def where(self) -> str:
        return self.scope if self.scope == GLOBAL else f"{self.scope} {self.name}"

    def ref(self) -> dict[str, str]:
        return {"scope": self.scope, "name": self.name, "id": self.id}


@dataclass(frozen=True)
class Settings:
    config: Entry
    coses: list[Entry]
    domains: list[Entry]

    @property
    def entries(self) -> list[Entry]:
        return [self.config, *self.coses, *self.domains]


@dataclass(frozen=True)
class Finding:
    entry: Entry
    rule: Rule
    current: Values
    stored: bool  # False: the entry has no value and Zimbra's default applies

    @property
    def fix(self) -> Values | None:
        return self.rule.fix(self.current)

    @property
    def shown_current(self) -> str:
        if not self.current:
            return "(unset)"  # no value stored and no default: nothing more to say
        text = ", ".join(self.current)
        return text if self.stored else f"{text} (unset: Zimbra's default)"

    def to_json(self) -> dict[str, Any]:
        fix = self.fix
        return {
            "scope": self.entry.scope,
            "name": self.entry.name or None,
            "id": self.entry.id or None,
            "attribute": self.rule.attr,
            "attr_id": self.rule.attr_id,
            "current": list(self.current),
            "stored": self.stored,
            "recommended": self.rule.recommended,
            "set_to": list(fix) if fix is not None else None,
            "why": self.rule.why,
            "severity": str(self.rule.severity),
        }


# ---------------------------------------------------------------- reading and judging


def read_requests() -> list[Request[Any]]:
    return [GetAllConfig(), GetAllCos(), GetDomainEntries()]


def read_settings(client: ZimbraAPI) -> Settings:
    """The global config, every COS and every domain, in one BatchRequest. A refused read
    (a delegated admin without the right, say) is raised: a partial audit would look clean."""
    config, coses, domains = (must(r) for r in client.batch(read_requests()))
    return Settings(
        config=Entry(GLOBAL, "", "", config.attrs),
        coses=[Entry(COS, c.name, c.id, c.attrs) for c in sorted(coses, key=lambda c: c.name)],
        domains=[
            Entry(DOMAIN, d.name, d.id, d.attrs) for d in sorted(domains, key=lambda d: d.name)
        ],
    )


def _values(entry: Entry, attr: str) -> list[str] | None:
    for name, values in entry.attrs.items():
        if name.lower() == attr.lower():
            return values
    return None


def judge(settings: Settings, minimum: Severity = Severity.LOW) -> list[Finding]:
    """Every weak setting, in rule order, each entry in turn (global, COSes, domains)."""
    found: list[Finding] = []
    for rule in RULES:
        if rule.severity.rank < minimum.rank:
            continue
        for entry in settings.entries:
            if entry.scope not in rule.places:
                continue
            stored = _values(entry, rule.attr)
            if stored:
                current, is_stored = tuple(stored), True
            elif rule.default and entry.scope != DOMAIN:
                current, is_stored = rule.default, False
            elif entry.scope == GLOBAL:
                current, is_stored = (), False  # nothing above the global config: it is unset
            else:
                continue  # unset with no default of its own: inherited, judged where it lives
            if rule.weak(current):
                found.append(Finding(entry, rule, current, is_stored))
    return found


# ---------------------------------------------------------------- changing


def modify_request(entry: Entry, attr: str, values: Sequence[str]) -> Request[Any]:
    """The write that sets `attr` on `entry` to exactly `values` (none: removes it)."""
    value: str | list[str] = list(values) if values else ""
    if entry.scope == GLOBAL:
        return ModifyConfig({attr: value})
    if entry.scope == COS:
        return ModifyCos(entry.id, {attr: value})
    return ModifyDomain(entry.id, {attr: value})


def read_request(entry: Entry) -> Request[Any]:
    if entry.scope == GLOBAL:
        return GetAllConfig()
    if entry.scope == COS:
        return GetCos(entry.id, by="id")
    return GetDomainEntry(entry.id, by="id")


def holds(attr: str, want: Sequence[str]) -> Check:
    """The read-back agrees when the attribute has exactly `want` (in any order)."""

    def check(got: Any) -> str | None:
        now: list[str] = next((v for k, v in got.attrs.items() if k.lower() == attr.lower()), [])
        if sorted(now) == sorted(want):
            return None
        return f"{attr}={', '.join(now) if now else '(unset)'}"

    return check


def setting_change(
    entry: Entry, attr: str, before: Sequence[str], after: Sequence[str], *, step: str, why: str
) -> Change:
    shown = ", ".join(after) if after else "(unset)"
    return Change(
        request=modify_request(entry, attr, after),
        step=step,
        kind=KIND,
        target=f"{entry.where} {attr}",
        before={**entry.ref(), "attr": attr, "values": list(before)},
        after={**entry.ref(), "attr": attr, "values": list(after)},
        plan=f"{entry.where}: set {attr} to {shown}",
        done=f"{entry.where}: {attr} is now {shown}",
        detail=why,
        read=read_request(entry),
        check=holds(attr, after),
    )


def changes_for(findings: Sequence[Finding]) -> list[Change]:
    """One change per finding zcomp can fix (not those needing a value only the admin knows);
    the value before is what the entry held (none when Zimbra's default applied)."""
    out = []
    for f in findings:
        fix = f.fix
        if fix is None:
            continue
        before = f.current if f.stored else ()
        out.append(
            setting_change(f.entry, f.rule.attr, before, fix, step=STEP_APPLY, why=f.rule.why)
        )
    return out


class JournaledExecutor(Executor):
    """The change executor, journaling into an audit run instead of an incident: each change
    is recorded as planned before `apply` sends anything, and takes its verdict after."""

    def __init__(self, services: Services, run_id: int) -> None:
        super().__init__(services)
        self.run_id = run_id
        self._rows: list[int] = []

    def _plan(self, changes: Sequence[Change]) -> None:
        self._rows = [
            journal_audit.plan_action(
                self.services.journal,
                self.run_id,
                step=c.step,
                kind=c.kind,
                target=c.target,
                before=c.before,
                after=c.after,
                detail=c.detail,
            )
            for c in changes
        ]

    def _journal(self, applied: list[Applied]) -> None:
        for row, item in zip(self._rows, applied, strict=True):
            journal_audit.settle_action(
                self.services.journal,
                row,
                status=str(item.status),
                detail=item.problem or item.note or item.change.detail,
            )


@dataclass
class Outcome:
    """What an --apply or a restore did."""

    run: journal_audit.AuditRun
    applied: list[Applied]
    skipped: list[str] = field(default_factory=list)  # one line each: not written, and why

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.applied)


def apply_findings(services: Services, findings: Sequence[Finding], *, zimbra: str) -> Outcome:
    """Change every fixable finding in one round trip (plus read-backs), journaled in a new
    audit run; the run's key is what `zcomp restore` takes."""
    changes = changes_for(findings)
    run = journal_audit.start_run(services.journal, zimbra=zimbra, operator=services.operator)
    executor = JournaledExecutor(services, run.id)
    try:
        done = executor.apply(changes)
    except BaseException:
        journal_audit.finish_run(services.journal, run.id, journal_audit.FAILED)
        raise
    state = journal_audit.APPLIED if done.ok else journal_audit.FAILED
    journal_audit.finish_run(services.journal, run.id, state)
    return Outcome(journal_audit.run(services.journal, run.id), done.applied)
