"""A change: one Zimbra write, what it is for, and how to tell by reading back that it applied.

Every playbook (lockdown, unlock, restore) describes its writes as Changes and hands them to
the one executor (zcomp.core.executor), which sends, journals, verifies and retries them.
`--dry-run` prints the same objects' `plan` lines.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zcomp.zimbra.operations import FlushCache, Request

# Given the read-back's result: None when the change is in place, else what differs.
Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Change:
    request: Request[Any]
    step: str  # journal step: contain | clean | record | unlock | restore
    kind: str  # journal kind: account-status, password, filter, ...
    target: str
    before: Any
    after: Any
    plan: str  # what will be done, for --dry-run ("remove the forwarding to x@y")
    done: str  # what was done, for the output and the ticket
    detail: str = ""  # why (a finding's reason), journaled with the action
    # How to tell it applied. None: an idempotent write with nothing to read back (a cache
    # flush, a queue hold), whose reply alone decides and which is re-sent when it is lost.
    read: Request[Any] | None = None
    check: Check | None = None
    # False when sending it again after it applied would do harm (a password set twice).
    repeatable: bool = True
    # False when, in an ordered list, what follows does not depend on it (a queue hold on one
    # MTA, the claim on the account): its failure is reported but stops nothing.
    blocks_rest: bool = True


class Status(str, enum.Enum):
    DONE = "done"
    FAILED = "failed"  # Zimbra refused it, or the read-back shows it did not hold
    NOT_RUN = "not-run"  # never confirmed sent (the time budget ran out, or a stop)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Applied:
    change: Change
    status: Status
    reply: Any = None  # Zimbra's reply when it answered (e.g. SetPassword's policy message)
    problem: str = ""  # one line, when not done
    note: str = ""  # e.g. "already in place" when a read-back found it done by someone else

    @property
    def ok(self) -> bool:
        return self.status is Status.DONE


def flush_change(account_id: str, target: str, *, step: str) -> Change:
    """Flush the account from every mailbox server's cache (15 minutes otherwise): without it a
    change made here is invisible to the other servers. Idempotent, nothing to read back."""
    return Change(
        request=FlushCache(ids=(account_id,), all_servers=True),
        step=step,
        kind="flush-cache",
        target=target,
        before=None,
        after="allServers",
        plan="flush the account cache on every mailbox server",
        done="flushed the account cache on every mailbox server",
    )


def password_set(validity_before: str | None) -> Check:
    """SetPassword's read-back: it raises zimbraAuthTokenValidityValue, so a value that moved
    says the password was set (a lost reply included)."""

    def check(got: Any) -> str | None:
        now = got.get("zimbraAuthTokenValidityValue")
        return (
            None if now not in (None, validity_before) else "zimbraAuthTokenValidityValue unchanged"
        )

    return check
