"""The guard's decision for one message: hold it (and why) or let it go.

Pure and in memory, so the milter answers at once: contained accounts come from a snapshot
(zcomp.guard.contained), rates from bucketed per-sender windows. Every table is pruned as
time passes and bounded by max_senders (least recently seen dropped first): memory stays
constant whatever the traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from zcomp.guard import clients
from zcomp.guard.settings import GuardSettings

SLOTS = 12  # buckets per rate window: the window slides in steps of window/12
PRUNE_EVERY = 1024  # decisions between two sweeps of the tables

# Contained lookups: True/False, or None when the list cannot be trusted now (fail open).
ContainedLookup = Callable[[Iterable[str]], "bool | None"]


@dataclass(frozen=True)
class Message:
    """What the milter saw of one message."""

    sender: str  # envelope sender, lower-cased ("" for bounces)
    recipients: int
    auth_user: str = ""  # {auth_authen}: the SMTP AUTH login, if any
    x_mailer: str | None = None
    user_agent: str | None = None
    client_address: str = ""
    queue_id: str = ""

    @property
    def who(self) -> str:
        """The sender the rules count: the authenticated login, else the envelope sender."""
        return (self.auth_user or self.sender).strip().lower()


@dataclass(frozen=True)
class Verdict:
    hold: bool
    rule: str = ""  # contained | bulk | rate
    reason: str = ""
    who: str = ""
    client: str = clients.OTHER
    alert: bool = False  # the first hold of this sender in the alert window
    lockdown: bool = False  # auto-lockdown is due for this sender now
    note: str = ""  # a check that could not be made (contained list unknown): logged


ACCEPT = Verdict(hold=False)


class _Window:
    """Recipients of one sender per bucket, over the last SLOTS buckets."""

    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets: list[tuple[int, int]] = []  # (bucket number, recipients), oldest first
        self.total = 0

    def expire(self, now_bucket: int) -> None:
        oldest = now_bucket - SLOTS + 1
        while self.buckets and self.buckets[0][0] < oldest:
            self.total -= self.buckets.pop(0)[1]

    def add(self, bucket: int, n: int) -> None:
        if self.buckets and self.buckets[-1][0] == bucket:
            self.buckets[-1] = (bucket, self.buckets[-1][1] + n)
        else:
            self.buckets.append((bucket, n))
        self.total += n


@dataclass
class _Holds:
    since: float  # start of this sender's alert window
    count: int = 0
    alerted: bool = False
    lock_tried: bool = False


class Rules:
    def __init__(self, settings: GuardSettings, contained: ContainedLookup) -> None:
        self.settings = settings
        self.contained = contained
        self._rates: dict[str, _Window] = {}
        self._holds: dict[str, _Holds] = {}
        self._bucket_s = settings.rate_window_s / SLOTS
        self._allow = {a.strip().lower() for a in settings.allow if a.strip()}
        self._servers = {s.strip().lower() for s in settings.mailbox_servers if s.strip()}
        self._decisions = 0

    # -- the decision ------------------------------------------------------------------------

    def decide(self, msg: Message, now: float) -> Verdict:
        self._decisions += 1
        if self._decisions % PRUNE_EVERY == 0:
            self.prune(now)
        s = self.settings
        who = msg.who
        client = self.client_of(msg)
        note = ""
        if s.hold_contained:
            names = {a for a in (msg.auth_user.strip().lower(), msg.sender) if a}
            if names:
                found = self.contained(names)
                if found:
                    return self._hold(
                        "contained",
                        f"{who} is an account zcomp has contained; contained accounts cannot send",
                        who,
                        client,
                        now,
                    )
                if found is None:
                    note = "the list of contained accounts is not known now"
        if not who or self._allowed(msg):
            return Verdict(hold=False, who=who, client=client, note=note)
        if s.bulk_recipients and client in s.bulk_clients and msg.recipients > s.bulk_recipients:
            return self._hold(
                "bulk",
                f"{msg.recipients} recipients from the {client} client "
                f"(more than {s.bulk_recipients})",
                who,
                client,
                now,
                note,
            )
        if s.rate_recipients:
            bucket = int(now // self._bucket_s)
            window = self._rates.pop(who, None) or _Window()
            self._rates[who] = window  # re-inserted: the dict's order is least recently seen
            window.expire(bucket)
            if window.total + msg.recipients > s.rate_recipients:
                return self._hold(
                    "rate",
                    f"{window.total + msg.recipients} recipients within "
                    f"{_duration(s.rate_window_s)} (more than {s.rate_recipients})",
                    who,
                    client,
                    now,
                    note,
                )
            window.add(bucket, msg.recipients)
            self._bound(self._rates)
        return Verdict(hold=False, who=who, client=client, note=note)

    def client_of(self, msg: Message) -> str:
        if msg.auth_user:
            return clients.SMTP_AUTH
        if self._servers and msg.client_address.lower() not in self._servers:
            return clients.OTHER  # not from a mailbox server: its X-Mailer proves nothing
        return clients.classify(msg.x_mailer, msg.user_agent, None)

    def _allowed(self, msg: Message) -> bool:
        for address in (msg.auth_user.strip().lower(), msg.sender):
            if address and (
                address in self._allow or "@" + address.rpartition("@")[2] in self._allow
            ):
                return True
        return False

    def _hold(
        self, rule: str, reason: str, who: str, client: str, now: float, note: str = ""
    ) -> Verdict:
        s = self.settings
        holds = self._holds.pop(who, None)
        if holds is None or now - holds.since >= s.alert_window_s:
            holds = _Holds(since=now)
        self._holds[who] = holds
        self._bound(self._holds)
        holds.count += 1
        alert = not holds.alerted
        holds.alerted = True
        lockdown = (
            s.auto_lockdown
            and rule != "contained"  # already locked
            and holds.count >= s.lockdown_after_holds
            and not holds.lock_tried
        )
        if lockdown:
            holds.lock_tried = True
        return Verdict(True, rule, reason, who, client, alert, lockdown, note)

    # -- memory ------------------------------------------------------------------------------

    def prune(self, now: float) -> None:
        """Forget windows that are over: a sender seen once an hour ago costs nothing now."""
        bucket = int(now // self._bucket_s)
        for who in [w for w, win in self._rates.items() if _expired(win, bucket)]:
            del self._rates[who]
        cutoff = now - self.settings.alert_window_s
        for who in [w for w, h in self._holds.items() if h.since < cutoff]:
            del self._holds[who]

    def _bound(self, table: dict[str, Any]) -> None:
        over = len(table) - self.settings.max_senders
        if over > 0:
            for who in list(table)[:over]:
                del table[who]

    def sizes(self) -> tuple[int, int]:
        return len(self._rates), len(self._holds)


def _expired(window: _Window, now_bucket: int) -> bool:
    window.expire(now_bucket)
    return not window.buckets


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"
