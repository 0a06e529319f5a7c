"""What one account's lockdown has learned so far, and how each step records what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zcomp.core.environment import Environment
from zcomp.core.evidence import withhold_tokens
from zcomp.core.findings import Finding
from zcomp.core.replies import problem
from zcomp.core.snapshot import Baseline, MailboxState
from zcomp.zimbra.model import Account


@dataclass
class LockdownState:
    account: Account
    incident_id: int | None = None
    pre_state: Account | None = None
    mailbox: MailboxState = field(default_factory=MailboxState)
    findings: list[Finding] = field(default_factory=list)
    baseline: Baseline | None = None
    held: list[dict[str, Any]] = field(default_factory=list)
    held_senders: list[str] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    admin_filters: dict[str, Any] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    marker: str = ""

    @property
    def incident(self) -> int:
        if self.incident_id is None:
            raise RuntimeError("no incident recorded yet")  # a programming error
        return self.incident_id

    @property
    def removals(self) -> list[Finding]:
        return [f for f in self.findings if f.remove]


def record(
    env: Environment,
    state: LockdownState,
    result: Any,
    *,
    step: str,
    kind: str,
    target: str,
    before: Any,
    after: Any,
    done: str,
    detail: str = "",
) -> bool:
    """Journal one change with the status Zimbra gave it; True when it was done.

    A failed change is journaled as failed and becomes a problem, never a "done" line.
    """
    trouble = problem(done, result)
    if trouble and step == "clean" and "service.PERM_DENIED" in trouble:
        # Mailbox writes on behalf of a user check the ADMIN's own zimbraFeatureOptionsEnabled.
        trouble += " (the admin account needs zimbraFeatureOptionsEnabled=TRUE)"
    env.journal.record_action(
        state.incident,
        step=step,
        kind=kind,
        target=withhold_tokens(target),
        before=withhold_tokens(before),
        after=withhold_tokens(after),
        status="failed" if trouble else "done",
        detail=withhold_tokens(trouble or detail),
    )
    if trouble:
        state.problems.append(trouble)
        return False
    state.done.append(done)
    return True
