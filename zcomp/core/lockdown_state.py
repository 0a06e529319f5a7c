"""What one account's lockdown has learned so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zcomp.core.change import Applied
from zcomp.core.findings import Finding
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
    held_queues: list[dict[str, Any]] = field(default_factory=list)  # per MTA and queue
    held_senders: list[str] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    admin_filters: dict[str, Any] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    marker: str = ""
    resumed: bool = False  # containment was confirmed by an earlier, interrupted run
    containment: list[Applied] = field(default_factory=list)

    @property
    def incident(self) -> int:
        if self.incident_id is None:
            raise RuntimeError("no incident recorded yet")  # a programming error
        return self.incident_id

    @property
    def removals(self) -> list[Finding]:
        return [f for f in self.findings if f.remove]
