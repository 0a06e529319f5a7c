"""One account, one actor: no two zcomp processes clean an account at the same time.

On one host the journal holds the lock (a row per account, taken in a write transaction; the
row of a killed process is taken over). Across hosts that share nothing, Zimbra holds it: a
claim value added to the account's multi-valued `description`.

Containment stays the first write, and costs no extra round trip: a process that finds a live
claim of another when it resolves the account reports who is acting (or waits with --wait) and
touches nothing. Otherwise its claim rides in the containment batch, after the containment
writes, and is read back at the end of that batch. Containing twice is harmless (locked is
locked; any random password will do), so the claim only decides who goes on to clean. A process
that reads back only its own claim cleans. One that reads back a rival's live claim withdraws
its own and looks again: a rival's claim still there means that rival cleans, and this one hands
the account over (its incident closed as handed over); otherwise it claims again, after a random
pause. Of two processes, the later to look always sees the other's claim (still there, or
withdrawn), so they never both hand over, and never both clean. Past CONTEND_ROUNDS a process
goes on with a warning: two cleaners are safe, none is not. A claim expires after CLAIM_TTL, so
one left by a process killed on another host never blocks for long; one left by a killed process
of this journal is taken over at once (this process holds the journal's lock).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from zcomp.core.change import Applied, Change
from zcomp.exitcodes import ExitCode, ZcompError
from zcomp.zimbra.model import Account
from zcomp.zimbra.operations import GetAccount, ModifyAccount

if TYPE_CHECKING:
    from zcomp.core.executor import Executor
    from zcomp.core.services import Services

CLAIM_ATTR = "description"
CLAIM_TTL = timedelta(minutes=15)
CONTEND_ROUNDS = 8
CONTEND_PAUSE_S = (0.05, 0.5)  # between withdrawing and claiming again, random
_CLAIM = re.compile(
    r"^zcomp-claim (?P<token>\S+) until (?P<until>\S+) by (?P<who>.*) on (?P<where>\S+)$"
)
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


class Busy(ZcompError):
    exit_code = ExitCode.BUSY


@dataclass(frozen=True)
class Handover:
    """Another zcomp cleans the account: who, and whether it has already finished."""

    holder: str
    finished: bool = False


FINISHED = Handover("another zcomp contained and cleaned it meanwhile (see zimbraNotes)", True)


@dataclass(frozen=True)
class Claim:
    token: str
    until: datetime
    who: str
    where: str  # host and journal, e.g. "adm1:3f2a9c1e"

    @property
    def value(self) -> str:
        return f"zcomp-claim {self.token} until {self.until:{_STAMP}} by {self.who} on {self.where}"

    @classmethod
    def parse(cls, value: str) -> Claim | None:
        m = _CLAIM.match(value)
        if m is None:
            return None
        try:
            until = datetime.strptime(m["until"], _STAMP).replace(tzinfo=timezone.utc)
        except ValueError:
            return None
        return cls(m["token"], until, m["who"], m["where"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def _since(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(_STAMP)


class Actor:
    """This process acting on one account."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.host = socket.gethostname()
        self.pid = os.getpid()
        # Batch workers share the pid: the thread tells them apart.
        self.holder = f"{services.operator} [thread {threading.get_ident() % 100000}]"
        journal_key = hashlib.sha256(str(services.journal.path).encode()).hexdigest()[:8]
        self.where = f"{self.host}:{journal_key}"
        self.account_id: str | None = None
        self.claim: Claim | None = None
        self.warnings: list[str] = []

    # ------------------------------------------------------------------ this host

    def take_local(self, account: Account) -> None:
        other = self.services.journal.acquire_account(
            account.id, holder=self.holder, host=self.host, pid=self.pid, alive=_alive
        )
        if other is not None:
            raise Busy(
                f"busy: {other.holder} (pid {other.pid} on {other.host}) has been acting on "
                f"{account.name} since {_since(other.since)}; run again later, or with --wait"
            )
        self.account_id = account.id

    def release_local(self) -> None:
        if self.account_id is not None:
            self.services.journal.release_account(
                self.account_id, holder=self.holder, host=self.host, pid=self.pid
            )
            self.account_id = None

    # ------------------------------------------------------------------ any host

    def check_free(self, account: Account) -> None:
        """Raise Busy when another zcomp's live claim is on the account (as resolved)."""
        rivals = self._rivals(account, mine=None)
        if rivals:
            raise Busy(
                f"busy: {self._holder(rivals)} is acting on {account.name}; "
                "run again later, or with --wait"
            )

    def claim_change(self, account: Account, read: GetAccount) -> Change:
        """This process's claim (and the removal of stale ones), for the containment batch;
        `read` is that batch's read-back of the account, which must include CLAIM_ATTR."""
        now = datetime.now(timezone.utc)
        mine = Claim(secrets.token_hex(6), now + CLAIM_TTL, self.services.operator, self.where)
        stale = [
            value
            for value in account.values(CLAIM_ATTR)
            if (c := Claim.parse(value)) is not None and (c.until <= now or c.where == self.where)
        ]
        changes: dict[str, str | list[str]] = {f"+{CLAIM_ATTR}": mine.value}
        if stale:
            changes[f"-{CLAIM_ATTR}"] = stale
        # Set before it is sent: a claim that may have landed is withdrawn at the end.
        self.claim = mine
        return Change(
            request=ModifyAccount(account.id, changes),
            step="claim",
            kind="claim",
            target=account.name,
            before=None,
            # What history shows for it: who claimed the account, until when, from where.
            after={CLAIM_ATTR: mine.value},
            plan="claim the account for this zcomp process",
            done="claimed the account",
            read=read,
            check=lambda got: None if mine.value in got.values(CLAIM_ATTR) else "no claim",
            # Coordination never stands in the way of containment.
            blocks_rest=False,
        )

    def settle(
        self,
        executor: Executor,
        account: Account,
        claimed: Applied,
        seen: object,
        finished_elsewhere: Callable[[Account], bool],
    ) -> Handover | None:
        """After the containment batch: None when this process goes on to clean, else to whom
        it hands the account over. `seen` is the account as that batch read it back;
        `finished_elsewhere(seen)` tells a zcomp that contained and cleaned it meanwhile."""
        if not claimed.ok:
            # A delegated admin may lack the right to write `description`: go on, and say
            # what is not guaranteed. A claim that landed unheard expires by itself.
            self.warnings.append(
                f"could not claim {account.name} ({claimed.problem}): a zcomp on another host "
                "could act on it at the same time"
            )
            self.claim = None
            return None
        if not isinstance(seen, Account) or self.claim is None:
            return None
        if finished_elsewhere(seen):
            return FINISHED
        if not self._rivals(seen, mine=self.claim):
            return None
        return self._contend(executor, account, finished_elsewhere)

    def _contend(
        self, executor: Executor, account: Account, finished_elsewhere: Callable[[Account], bool]
    ) -> Handover | None:
        """Rivals claimed the account in the same moment: withdraw, look, and claim again
        until one process holds it alone. A process that finds a rival's claim after
        withdrawing its own hands over; of two, the later to look always sees the other's
        claim gone or live, so they never both hand over, and one that reads back only its own
        claim is the only one (any later claimant reads it). Bounded: past the rounds, go on
        (two cleaners are safe, none is not)."""
        for _ in range(CONTEND_ROUNDS):
            seen = self._write(executor, account, {f"-{CLAIM_ATTR}": self._mine().value})
            self.claim = None
            if rivals := self._rivals(seen, mine=None):
                return Handover(self._holder(rivals))
            if finished_elsewhere(seen):
                return FINISHED
            time.sleep(random.uniform(*CONTEND_PAUSE_S))  # apart, so one claims first
            now = datetime.now(timezone.utc)
            self.claim = Claim(
                secrets.token_hex(6), now + CLAIM_TTL, self.services.operator, self.where
            )
            seen = self._write(executor, account, {f"+{CLAIM_ATTR}": self.claim.value})
            if self.claim.value in seen.values(CLAIM_ATTR) and not self._rivals(
                seen, mine=self.claim
            ):
                return None
        self.warnings.append(
            f"could not settle with another zcomp which one cleans {account.name}: both may"
        )
        return None

    def _mine(self) -> Claim:
        if self.claim is None:
            raise RuntimeError("no claim to withdraw")  # a programming error
        return self.claim

    @staticmethod
    def _write(
        executor: Executor, account: Account, changes: dict[str, str | list[str]]
    ) -> Account:
        """One round trip: a claim write and the account read back (a transient failure is
        retried within the budget by the client's batch; anything else ends the run)."""
        read = GetAccount(account.id, by="id", attrs=(CLAIM_ATTR, "zimbraNotes"))
        results = executor.read([ModifyAccount(account.id, changes), read])
        seen = results[1]
        if not isinstance(seen, Account):
            raise ZcompError(f"could not read {account.name} back while settling the claim")
        return seen

    def _rivals(self, account: Account, *, mine: Claim | None) -> list[Claim]:
        now = datetime.now(timezone.utc)
        return [
            c
            for value in account.values(CLAIM_ATTR)
            if (c := Claim.parse(value)) is not None
            and (mine is None or c.token != mine.token)
            and c.until > now
            and c.where != self.where
        ]

    @staticmethod
    def _holder(rivals: list[Claim]) -> str:
        """Who: "ops as admin@x (zcomp on adm2, since 2026-11-30T05:37:13Z)"."""
        first = min(rivals, key=lambda c: c.until)
        host = first.where.split(":")[0]
        return f"{first.who} (zcomp on {host}, since {_since(first.until - CLAIM_TTL)})"

    def release_changes(self) -> dict[str, str | list[str]]:
        """The ModifyAccount change that withdraws the claim (to add to a final write)."""
        return {f"-{CLAIM_ATTR}": self.claim.value} if self.claim else {}

    def release_remote(self, executor: Executor, account: Account) -> None:
        """Best effort: a claim left behind expires by itself."""
        if self.claim is None:
            return
        with contextlib.suppress(ZcompError):
            executor.services.client.batch([ModifyAccount(account.id, self.release_changes())])
        self.claim = None
