"""One account, one actor: no two zcomp processes change an account at the same time.

On one host the journal holds the lock (a row per account, taken in a write transaction; the
row of a killed process is taken over). Across hosts that share nothing, Zimbra holds it: a
claim value added to the account's multi-valued `description` and read back in the same round
trip. A process goes on only when its claim is the only live one; otherwise it withdraws its
claim and reports who is acting (or waits with --wait). Two processes that claim at once both
see each other and both withdraw (and try again when waiting); no two can both go on, since
the second to write always reads the first's claim. A claim expires after CLAIM_TTL, so one
left by a process killed on another host never blocks for long; one left by a killed process
of this journal is taken over at once (this process holds the journal's lock).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from zcomp.core.change import Change
from zcomp.exitcodes import ExitCode, ZcompError
from zcomp.zimbra.model import Account
from zcomp.zimbra.requests import GetAccount, ModifyAccount

if TYPE_CHECKING:
    from zcomp.core.environment import Environment
    from zcomp.core.executor import Executor

CLAIM_ATTR = "description"
CLAIM_TTL = timedelta(minutes=15)
_CLAIM = re.compile(
    r"^zcomp-claim (?P<token>\S+) until (?P<until>\S+) by (?P<who>.*) on (?P<where>\S+)$"
)
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


class Busy(ZcompError):
    exit_code = ExitCode.BUSY


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

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.host = socket.gethostname()
        self.pid = os.getpid()
        # Batch workers share the pid: the thread tells them apart.
        self.holder = f"{env.operator} [thread {threading.get_ident() % 100000}]"
        journal_key = hashlib.sha256(str(env.journal.path).encode()).hexdigest()[:8]
        self.where = f"{self.host}:{journal_key}"
        self.account_id: str | None = None
        self.claim: Claim | None = None
        self.warnings: list[str] = []

    # ------------------------------------------------------------------ this host

    def take_local(self, account: Account) -> None:
        other = self.env.journal.acquire_account(
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
            self.env.journal.release_account(
                self.account_id, holder=self.holder, host=self.host, pid=self.pid
            )
            self.account_id = None

    # ------------------------------------------------------------------ any host

    def claim_remote(self, executor: Executor, account: Account) -> Account:
        """Add this process's claim and read the account back in one round trip; returns the
        account as read after the claim. Raises Busy (claim withdrawn) if another is live."""
        now = datetime.now(timezone.utc)
        mine = Claim(secrets.token_hex(6), now + CLAIM_TTL, self.env.operator, self.where)
        stale = [
            value
            for value in account.values(CLAIM_ATTR)
            if (c := Claim.parse(value)) is not None and (c.until <= now or c.where == self.where)
        ]
        changes: dict[str, str | list[str]] = {f"+{CLAIM_ATTR}": mine.value}
        if stale:
            changes[f"-{CLAIM_ATTR}"] = stale
        write = Change(
            request=ModifyAccount(account.id, changes),
            step="claim",
            kind="claim",
            target=account.name,
            before=None,
            after=None,
            plan="claim the account for this zcomp process",
            done="claimed the account",
            read=GetAccount(account.id, by="id", apply_cos=True),
            check=lambda got: None if mine.value in got.values(CLAIM_ATTR) else "no claim",
        )
        # Set before it is sent: a claim that may have landed is withdrawn at the end.
        self.claim = mine
        applied = executor.apply([write], reads=[GetAccount(account.id, by="id", apply_cos=True)])
        fresh = applied.reads[0]
        if not applied.ok:
            # Coordination must never stand in the way of containment (a delegated admin may
            # lack the right to write `description`): go on, and say what is not guaranteed.
            self.warnings.append(
                f"could not claim {account.name} ({applied.problems[0]}): a zcomp on another "
                "host could act on it at the same time"
            )
            # Not withdrawn in the final write either: a refusal there would fail the write
            # that records the lockdown. A claim that landed unheard expires by itself.
            self.claim = None
            return fresh if isinstance(fresh, Account) else account
        if not isinstance(fresh, Account):
            raise ZcompError(f"could not read {account.name} back after claiming it")
        others = [
            c
            for value in fresh.values(CLAIM_ATTR)
            if (c := Claim.parse(value)) is not None
            and c.token != mine.token
            and c.until > now
            and c.where != self.where
        ]
        if others:
            self.release_remote(executor, account)
            first = min(others, key=lambda c: c.until)
            raise Busy(
                f"busy: {first.who} (zcomp on {first.where.split(':')[0]}) has been acting on "
                f"{account.name} since {_since(first.until - CLAIM_TTL)}; run again later, "
                "or with --wait"
            )
        return fresh

    def release_changes(self) -> dict[str, str | list[str]]:
        """The ModifyAccount change that withdraws the claim (to add to a final write)."""
        return {f"-{CLAIM_ATTR}": self.claim.value} if self.claim else {}

    def release_remote(self, executor: Executor, account: Account) -> None:
        """Best effort: a claim left behind expires by itself."""
        if self.claim is None:
            return
        with contextlib.suppress(ZcompError):
            executor.env.client.batch([ModifyAccount(account.id, self.release_changes())])
        self.claim = None
