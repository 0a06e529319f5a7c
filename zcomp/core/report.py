"""One Report over a run's outcomes decides what the run says and its exit status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from zcomp.core.outcome import AccountOutcome, Result
from zcomp.exitcodes import ExitCode

_UNFINISHED = frozenset({Result.NOT_STARTED, Result.STOPPED})
_TICKET_PENDING = frozenset({Result.TICKET_PENDING, Result.UNLOCKED_TICKET_PENDING})


@dataclass
class Report:
    outcomes: Sequence[AccountOutcome]
    stopped: bool = False  # a stop (signal) was requested during the run

    def counts(self) -> Counter[str]:
        return Counter(str(o.result) for o in self.outcomes)

    @property
    def unfinished(self) -> list[AccountOutcome]:
        return [o for o in self.outcomes if o.result in _UNFINISHED]

    @property
    def exit_code(self) -> ExitCode:
        """0 all done; 130 a stop left accounts unfinished; one account: its own status;
        a batch: 6 when any account failed, 7 when all are done but a ticket is pending."""
        outcomes = self.outcomes
        if self.stopped and self.unfinished:
            return ExitCode.INTERRUPTED
        bad = [o for o in outcomes if not o.ok]
        pending = [o for o in outcomes if o.result in _TICKET_PENDING]
        if len(outcomes) == 1 and bad:
            return _own_status(bad[0])
        if bad:
            return ExitCode.PARTIAL
        if pending:
            return ExitCode.TICKET_PENDING
        return ExitCode.OK


def _own_status(outcome: AccountOutcome) -> ExitCode:
    if outcome.result == Result.BUSY:
        return ExitCode.BUSY
    if outcome.result in _UNFINISHED:
        return ExitCode.INTERRUPTED
    return outcome.error.exit if outcome.error else ExitCode.FAILURE
