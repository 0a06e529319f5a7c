"""One Report over a run's outcomes decides what the run says and its exit status.

It is fed one outcome at a time (`add`) and keeps only what the summary and the exit status
need: a count per result and the accounts that did not end as asked, compactly and at most
FAILURES_KEPT of them. A 100,000-account run keeps no AccountOutcome (each one's result is in
the journal and on stdout as it finishes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from zcomp.core.outcome import AccountOutcome, Result
from zcomp.exitcodes import ExitCode

_UNFINISHED = frozenset({Result.NOT_STARTED, Result.STOPPED})
_TICKET_PENDING = frozenset({Result.TICKET_PENDING, Result.UNLOCKED_TICKET_PENDING})
FAILURES_KEPT = 200  # listed in the summary; past that only counted


@dataclass(frozen=True)
class NotDone:
    """An account that did not end as asked, as the summary lists it."""

    account: str
    result: str
    code: str  # Zimbra's fault code or zcomp's own; "" when there is none
    message: str


class Report:
    def __init__(
        self,
        outcomes: Iterable[AccountOutcome] = (),
        *,
        stopped: bool = False,
        keep: int = FAILURES_KEPT,
    ) -> None:
        self.stopped = stopped  # a stop (signal) was requested during the run
        self.total = 0
        self.counts: Counter[str] = Counter()
        self.not_done: list[NotDone] = []  # the first `keep` of them
        self.not_done_count = 0
        self.unfinished = 0  # not started, or stopped at a step boundary
        self.ticket_pending = 0
        self._keep = keep
        self._first_status: ExitCode | None = None  # the first failing account's own status
        for outcome in outcomes:
            self.add(outcome)

    def add(self, outcome: AccountOutcome) -> None:
        self.total += 1
        self.counts[str(outcome.result)] += 1
        if outcome.result in _UNFINISHED:
            self.unfinished += 1
        if outcome.result in _TICKET_PENDING:
            self.ticket_pending += 1
        if outcome.ok:
            return
        self.not_done_count += 1
        if self._first_status is None:
            self._first_status = _own_status(outcome)
        if len(self.not_done) < self._keep:
            error = outcome.error
            self.not_done.append(
                NotDone(
                    outcome.account,
                    str(outcome.result),
                    error.code if error else "",
                    error.message if error else "",
                )
            )

    @property
    def not_listed(self) -> int:
        """Accounts not done beyond those kept for the summary."""
        return self.not_done_count - len(self.not_done)

    def summary_line(self) -> str:
        """`5 accounts: 1 failed, 4 planned` (results in name order)."""
        parts = ", ".join(f"{n} {result}" for result, n in sorted(self.counts.items()))
        noun = "account" if self.total == 1 else "accounts"
        return f"{self.total} {noun}: {parts}" if parts else f"0 {noun}"

    @property
    def exit_code(self) -> ExitCode:
        """0 all done; 130 a stop left accounts unfinished; one account: its own status;
        a batch: 6 when any account failed, 7 when all are done but a ticket is pending."""
        if self.stopped and self.unfinished:
            return ExitCode.INTERRUPTED
        if self.total == 1 and self._first_status is not None:
            return self._first_status
        if self.not_done_count:
            return ExitCode.PARTIAL
        if self.ticket_pending:
            return ExitCode.TICKET_PENDING
        return ExitCode.OK


def _own_status(outcome: AccountOutcome) -> ExitCode:
    if outcome.result == Result.BUSY:
        return ExitCode.BUSY
    if outcome.result in _UNFINISHED:
        return ExitCode.INTERRUPTED
    return outcome.error.exit if outcome.error else ExitCode.FAILURE
