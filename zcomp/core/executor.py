"""The one change executor: send, read back, retry what did not apply, journal every change.

`apply` sends a list of Changes in one BatchRequest followed by their read-backs (and any other
reads the playbook wants in the same round trip). Replies are matched to changes by requestId
(zcomp.zimbra.client does that), never by position in the reply. A change is:
- done when Zimbra accepted it and its read-back agrees (or it has none), or when its reply was
  lost or refused but the read-back shows it in place (another zcomp, or a lost reply);
- re-sent only when a read-back shows it did not apply (or, for an idempotent change with
  nothing to read back, when its reply was lost), with backoff, within the account's budget;
- failed when Zimbra refused it for good, or accepted it but the read-back disagrees;
- not-run when an earlier change of an ordered list failed, or the budget ran out before it was
  ever confirmed sent.
Every change is journaled once, with that status, when `apply` returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zcomp.core.change import Applied, Change, Status
from zcomp.core.evidence import withhold_tokens
from zcomp.core.services import Services
from zcomp.journal.model import ActionEntry
from zcomp.zimbra.errors import (
    NOT_RUN,
    ZimbraAuthError,
    ZimbraConnectionError,
    ZimbraError,
    ZimbraFault,
    ZimbraTLSError,
)
from zcomp.zimbra.operations import Request

# Faults that say "try again" rather than "no": Zimbra's own system failure (which is also what
# a proxy or a restarting mailbox server gives), and an MTA queue scan that did not finish.
TRANSIENT_FAULTS = frozenset(
    {"service.FAILURE", "service.TEMPORARILY_UNAVAILABLE", "zcomp.QUEUE_SCAN_INCOMPLETE"}
)
# Short at first (most faults are one lost packet or one busy thread), then up to 5 s so a
# mailbox server that restarts is waited for within the account's budget.
BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
MAX_ROUNDS = 40


class _Lost:
    """A reply that never came (connection reset, timeout, 5xx): the request may have run."""

    def __repr__(self) -> str:
        return "LOST"


LOST = _Lost()


def transient(result: Any) -> bool:
    if isinstance(result, ZimbraAuthError | ZimbraTLSError):
        return False
    if isinstance(result, ZimbraConnectionError) or result is LOST:
        return True
    return isinstance(result, ZimbraFault) and result.code in TRANSIENT_FAULTS


def answered(result: Any) -> bool:
    """Zimbra ran the request and said yes."""
    return not isinstance(result, ZimbraError) and result is not NOT_RUN and result is not LOST


def _unread(result: Any) -> bool:
    """A read to ask again: never answered, or answered with a failure that may pass. A
    permanent fault (say, a request this server does not know) is an answer."""
    return result is NOT_RUN or transient(result)


def fault_line(what: str, result: Any) -> str:
    if isinstance(result, ZimbraFault):
        return f"{what} failed: {result.code}: {result.reason}"
    if isinstance(result, ZimbraError):
        return f"{what} failed: {result.message}"
    return f"{what} was not run"


@dataclass
class Budget:
    """How long one account may keep retrying transient failures."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    started: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    def restart(self) -> None:
        self.started = self.clock()

    def pause(self, attempt: int, *, reads_only: bool = False) -> bool:
        """Wait before attempt+1; False when that would overrun the budget. A round that only
        reads back what a lost reply did waits least: the backoff is for re-sending."""
        delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)] / (4 if reads_only else 1)
        if self.clock() + delay - self.started > self.seconds:
            return False
        self.sleep(delay)
        return True


@dataclass
class Round:
    """What one `apply` did: each change's fate, plus the extra reads asked for."""

    applied: list[Applied]
    reads: list[Any]

    @property
    def problems(self) -> list[str]:
        return [a.problem for a in self.applied if not a.ok and a.problem]

    @property
    def done(self) -> list[str]:
        return [a.change.done for a in self.applied if a.ok]

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.applied)


class Executor:
    """One per account run: the client, the journal and the account's retry budget."""

    def __init__(self, services: Services, budget: Budget | None = None) -> None:
        self.services = services
        self.budget = budget or Budget(services.settings.lockdown.retry_budget)
        self.incident: int | None = None

    # ------------------------------------------------------------------ reads

    def read(self, requests: Sequence[Request[Any]], *, as_account: str | None = None) -> list[Any]:
        """Reads in one BatchRequest; children that failed transiently are asked again (within
        the budget). A read that never got an answer is raised as the error that lost it."""
        results: list[Any] = [NOT_RUN] * len(requests)
        last: ZimbraError | None = None
        attempt = 0
        while True:
            need = [i for i, r in enumerate(results) if r is NOT_RUN or transient(r)]
            if not need:
                return results
            try:
                replies = self.services.client.batch(
                    [requests[i] for i in need], as_account=as_account
                )
            except ZimbraError as exc:
                if not transient(exc):
                    raise
                last, replies = exc, [NOT_RUN] * len(need)
            for i, reply in zip(need, replies, strict=True):
                results[i] = reply
            if not any(r is NOT_RUN or transient(r) for r in results):
                return results
            if attempt + 1 >= MAX_ROUNDS or not self.budget.pause(attempt):
                if last is not None and all(results[i] is NOT_RUN for i in need):
                    raise last
                return results
            attempt += 1

    # ----------------------------------------------------------------- writes

    def apply(
        self,
        changes: Sequence[Change],
        *,
        as_account: str | None = None,
        reads: Sequence[Request[Any]] = (),
        ordered: bool = False,
    ) -> Round:
        """Apply `changes` (in order, stopping at the first failure when `ordered`), verify
        them by reading back, journal each, and return their fates and the extra `reads`."""
        self._plan(changes)
        final: dict[int, Applied] = {}
        extra: list[Any] = [NOT_RUN] * len(reads)
        to_send = set(range(len(changes)))
        # The last reply heard to each change that was sent: an acceptance read back only in a
        # later round is still an acceptance (with, e.g., SetPassword's policy message).
        heard: dict[int, Any] = {}
        attempt = 0  # rounds that re-sent writes: their backoff grows with these
        reading = 0  # rounds that only read back: a gentler backoff of their own
        rounds = 0
        try:
            while True:
                pending = [i for i in range(len(changes)) if i not in final]
                sending = [i for i in pending if i in to_send]
                checks = _unique([r for i in pending if (r := changes[i].read) is not None])
                # The extra reads describe the state after the writes: read them again whenever
                # a write goes out again.
                wanted = [k for k, r in enumerate(extra) if sending or _unread(r)]
                # An extra read that is also a read-back is asked once.
                own = [k for k in wanted if all(reads[k] != c for c in checks)]
                batch = [
                    *[changes[i].request for i in sending],
                    *checks,
                    *[reads[k] for k in own],
                ]
                if not batch:
                    break
                replies = self._send(batch, as_account, stop=ordered and bool(sending))
                for i, reply in zip(sending, replies, strict=False):
                    if reply is not NOT_RUN:  # never run by Zimbra: nothing was heard
                        heard[i] = reply
                read_back = replies[len(sending) : len(sending) + len(checks)]
                for k, reply in zip(own, replies[len(sending) + len(checks) :], strict=True):
                    extra[k] = reply
                for k in wanted:
                    if k not in own:
                        extra[k] = read_back[_index(checks, reads[k])]
                to_send = set()
                for i in pending:
                    change = changes[i]
                    got = (
                        read_back[_index(checks, change.read)] if change.read is not None else None
                    )
                    verdict = _decide(change, heard.get(i, NOT_RUN), i in heard, got)
                    if isinstance(verdict, Applied):
                        final[i] = verdict
                    elif verdict == "send":
                        to_send.add(i)
                        heard.pop(i, None)
                if ordered:
                    _stop_after_failure(changes, final)
                    to_send -= set(final)
                    _resend_later(changes, final, to_send)
                if len(final) == len(changes) and not any(_unread(r) for r in extra):
                    break
                if to_send:
                    paused, attempt = self.budget.pause(attempt), attempt + 1
                else:
                    paused, reading = self.budget.pause(reading, reads_only=True), reading + 1
                rounds += 1
                if not paused or rounds >= MAX_ROUNDS:
                    break
        finally:
            # Journaled even when an error ends the run: what applied must be on record.
            applied = [
                final.get(i) or _unconfirmed(changes[i], i in to_send) for i in range(len(changes))
            ]
            self._journal(applied)
        return Round(applied, extra)

    def _send(self, batch: list[Request[Any]], as_account: str | None, *, stop: bool) -> list[Any]:
        try:
            return self.services.client.batch(batch, as_account=as_account, stop_on_error=stop)
        except ZimbraError as exc:
            if not transient(exc):
                raise
            return [LOST] * len(batch)

    def _plan(self, changes: Sequence[Change]) -> None:
        """Called before anything is sent. An incident's actions are journaled with their
        outcome only; journals that record intent first (audit, guard review) override it."""

    def _journal(self, applied: list[Applied]) -> None:
        if self.incident is None or not applied:
            return
        self.services.journal.record_actions(
            self.incident,
            [
                ActionEntry(
                    step=item.change.step,
                    kind=item.change.kind,
                    target=withhold_tokens(item.change.target),
                    before=withhold_tokens(item.change.before),
                    after=withhold_tokens(item.change.after),
                    status=str(item.status),
                    detail=withhold_tokens(item.problem or item.note or item.change.detail),
                )
                for item in applied
            ],
        )


def _decide(change: Change, reply: Any, was_sent: bool, got: Any) -> Applied | str:
    """The fate of one change after a round: an Applied, "send" (again), or "wait" (read it
    back again before deciding anything)."""
    readable = change.read is not None and answered(got)
    differs = change.check(got) if readable and change.check is not None else None
    if was_sent and answered(reply):
        if change.read is None or (readable and differs is None):
            return Applied(change, Status.DONE, reply)
        if readable:
            return Applied(
                change,
                Status.FAILED,
                reply,
                problem=f"{change.plan}: Zimbra accepted it, but it reads back as {differs}",
            )
        return "wait"
    if was_sent and isinstance(reply, ZimbraError) and not transient(reply):
        if readable and differs is None:
            return Applied(change, Status.DONE, note=f"already in place ({_code(reply)})")
        return Applied(
            change, Status.FAILED, problem=_hinted(change, fault_line(change.plan, reply))
        )
    # Lost, transient, not run, or only read back this round.
    if readable:
        if differs is None:
            note = "in place (its reply was lost)" if was_sent else "already in place"
            return Applied(change, Status.DONE, note=note)
        return "send"
    if change.read is None:
        return "send"  # idempotent, nothing to read back: sending it again cannot harm
    return "wait"


def _unconfirmed(change: Change, would_send: bool) -> Applied:
    if would_send:
        return Applied(
            change,
            Status.NOT_RUN,
            problem=f"{change.plan}: not applied (transient failures outlasted the retry budget)",
        )
    return Applied(
        change,
        Status.FAILED,
        problem=f"{change.plan}: may or may not have applied (no read-back within the retry "
        "budget)",
    )


def _stop_after_failure(changes: Sequence[Change], final: dict[int, Applied]) -> None:
    """In an ordered list nothing runs after a change that failed (the order is the point:
    e.g. the password history is raised before the password is set), unless that change
    blocks nothing (`blocks_rest=False`)."""
    failed = [i for i, a in final.items() if not a.ok and changes[i].blocks_rest]
    if not failed:
        return
    first = min(failed)
    for i in range(first + 1, len(changes)):
        if i not in final:
            final[i] = Applied(
                changes[i],
                Status.NOT_RUN,
                problem=f"{changes[i].plan}: not run (an earlier change failed)",
            )


def _resend_later(changes: Sequence[Change], final: dict[int, Applied], to_send: set[int]) -> None:
    """In an ordered list, what follows a change being sent again is sent again after it (a
    cache flush after the write it flushes; zimbraPasswordMustChange after SetPassword, which
    clears it), unless sending it twice would do harm (a password already set)."""
    if not to_send:
        return
    first = min(to_send)
    for i in range(first + 1, len(changes)):
        if changes[i].repeatable and i in final and final[i].ok:
            del final[i]
            to_send.add(i)


def _hinted(change: Change, line: str) -> str:
    if change.step == "clean" and "service.PERM_DENIED" in line:
        # Mailbox writes on behalf of a user check the ADMIN's own zimbraFeatureOptionsEnabled.
        return line + " (the admin account needs zimbraFeatureOptionsEnabled=TRUE)"
    return line


def _code(error: ZimbraError) -> str:
    return error.code if isinstance(error, ZimbraFault) else type(error).__name__


def _unique(requests: list[Request[Any]]) -> list[Request[Any]]:
    out: list[Request[Any]] = []
    for request in requests:
        if all(request != seen for seen in out):
            out.append(request)
    return out


def _index(requests: list[Request[Any]], request: Request[Any]) -> int:
    for i, seen in enumerate(requests):
        if seen == request:
            return i
    raise ValueError("read-back missing from the batch")
