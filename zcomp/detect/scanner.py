"""Scanner: turns log lines into per-account signals, incrementally.

Fed either whole blocks (scan()) or single lines (`zcomp watch` following growing files);
both go through the same parsers and rules. Events should arrive roughly in time order (scan
merges the kinds by time); all state is windowed or capped so that days of feeding keep
memory flat.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, deque
from collections.abc import Iterator

from zcomp.detect.account import Account
from zcomp.detect.audit import audit_events
from zcomp.detect.clock import YearGuess, from_datetime
from zcomp.detect.events import (
    Change,
    Event,
    FailedSend,
    Login,
    RemoteReject,
    Send,
    Tick,
    WebAction,
)
from zcomp.detect.geoip import Countries
from zcomp.detect.mailbox import mailbox_events
from zcomp.detect.model import Evidence, LogKind, Suspect
from zcomp.detect.mta import MtaParser
from zcomp.detect.nginx import nginx_events
from zcomp.detect.settings import DetectSettings
from zcomp.detect.sources import Block
from zcomp.detect.webjoin import WebJoin

JOIN_TTL = 600.0  # seconds a pre-8.8.7 send and its postfix first hop wait for each other
DEDUP_TTL = 120.0  # audit lines also written to mailbox.log are seen twice (sandbox, §2)
MAX_ACCOUNTS = 100_000  # typed names of password spraying must not grow state forever


class Scanner:
    def __init__(
        self,
        settings: DetectSettings | None = None,
        *,
        year: int | None = None,
        year_ref: tuple[int, int] | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        mta_only: bool = False,
        web: bool = False,
    ) -> None:
        """year: of syslog lines (zimbra.log has none); else year_ref, the (year, month) of
        the newest line of the other logs; else each file's modification time.
        mta_only: no mailbox.log is fed, so webmail sends are counted from zimbra.log's first
        hops by envelope sender (otherwise they would be counted twice).
        web: an nginx.access.log will be fed, so remember which account uses which address
        from the start (a Scanner fed one anyway starts remembering at its first line)."""
        self.settings = settings or DetectSettings()
        self._year = year
        self._year_ref = year_ref
        self._since = from_datetime(since) if since else None
        self._until = from_datetime(until) if until else None
        self._accounts: OrderedDict[str, Account] = OrderedDict()
        self._night = self.settings.night_minutes()
        self._mta = MtaParser(mta_only, self.settings.servers)
        self._years: dict[str, YearGuess] = {}
        self._domains: dict[str, int] = {}
        self._now = float("-inf")  # newest event time seen
        self._next_expiry = float("-inf")
        # pre-8.8.7 sends waiting for their postfix lines (Message-ID join, §1.3, §3.3)
        self._legacy: dict[str, Send] = {}
        self._join_order: deque[tuple[float, str]] = deque()
        self._mta_block: Block | None = None
        # The same login written to audit.log and mailbox.log counts once: per key, count per
        # file and keep the largest.
        self._dedup: dict[tuple[object, ...], dict[str, int]] = {}
        self._dedup_order: deque[tuple[float, tuple[object, ...]]] = deque()
        # nginx lines name no account: joined by client address (§4), once any is fed
        self._web: WebJoin | None = WebJoin() if web else None
        geoip = self.settings.geoip_db
        self._countries = Countries.open(geoip) if geoip else None  # GeoIPError: one line

    # ---- input --------------------------------------------------------------------------------

    @property
    def wants_rcpts(self) -> bool:
        """Recipient lists are only split out of send lines when a phish list needs them."""
        return bool(self.settings.phish_list)

    def feed(self, kind: LogKind | str, file: str, lineno: int, line: bytes) -> None:
        """One line (with or without its newline) of `file`, line number `lineno`."""
        self.feed_block(kind, Block(file, lineno, line.rstrip(b"\r\n") + b"\n"))

    def feed_block(self, kind: LogKind | str, block: Block) -> None:
        for event in self.events(LogKind(kind), block):
            self.apply(event)

    def events(self, kind: LogKind, block: Block) -> Iterator[Event]:
        """Parse a block into events without applying them (scan() merges kinds by time)."""
        if block.parsed is not None:
            return iter(block.parsed)
        if kind is LogKind.MAILBOX:
            return mailbox_events(block, self.wants_rcpts)
        if kind is LogKind.AUDIT:
            return audit_events(block)
        if kind is LogKind.MTA:
            years = self._years.get(block.file)
            if years is None:
                years = self._years[block.file] = YearGuess.for_file(
                    block.file, self._year, self._year_ref
                )
            self._mta_block = block
            return self._mta.events(block, years)
        if self._web is None:
            self._web = WebJoin()
        return nginx_events(block)

    def apply(self, e: Event) -> None:
        if e.ts > self._now:
            self._now = e.ts
            if e.ts >= self._next_expiry:  # at most once a second of log time: TTLs are minutes
                self._next_expiry = e.ts + 1.0
                self._expire(e.ts)
        if isinstance(e, Tick):
            self._retry_legacy()
            return
        if isinstance(e, Send) and e.n is None and e.msgid and e.source == "web":
            self._legacy_send(e)
            return
        if self._web is not None and (
            isinstance(e, (Send, Change)) or (isinstance(e, Login) and e.ok)
        ):
            # Before the --since cut: a session opened earlier still owns its address.
            self._owner(self._web, e.ip, e.account, e.ts)
        if (self._since is not None and e.ts < self._since) or (
            self._until is not None and e.ts > self._until
        ):
            return
        if isinstance(e, Send):
            self._account(e.account).send(e)
        elif isinstance(e, Login):
            # Only failures are counted; a success seen twice changes nothing.
            if e.ok or self._first_copy(e):
                self._account(e.account).login(e)
        elif isinstance(e, Change):
            self._account(e.account).change(e)
        elif isinstance(e, WebAction) and self._web is not None:
            owner = self._web.action(e)
            if owner is not None:
                self._account(owner).web_action(e)
        elif isinstance(e, FailedSend):
            self._account(e.account).failed_send(e)
        elif isinstance(e, RemoteReject) and e.sender in self._accounts:
            self._account(e.sender).remote_reject(e)  # only senders we know as accounts

    def finish(self) -> None:
        """End of input: pre-8.8.7 sends never joined count as one recipient each."""
        pending = list(self._legacy.values())
        self._legacy.clear()
        for send in pending:
            send.n = None
            send.msgid = None
            self.apply(send)

    # ---- output -------------------------------------------------------------------------------

    def suspects(self) -> list[Suspect]:
        """Accounts scoring at least min_score, highest first; allow-listed ones never."""
        s = self.settings
        out: list[Suspect] = []
        for name, acct in self._accounts.items():
            if not acct.hits or name in s.allow:
                continue
            signals = sorted(
                (h.signal() for h in acct.hits.values()), key=lambda g: (-g.weight, g.rule)
            )
            score = round(sum(g.weight for g in signals), 3)
            if score >= s.min_score:
                out.append(Suspect(name, score, tuple(signals)))
        out.sort(key=lambda x: (-x.score, x.account))
        return out

    def state_size(self) -> int:
        """Rough count of retained entries (tests check it stays bounded)."""
        return (
            len(self._accounts)
            + self._mta.pending()
            + len(self._legacy)
            + len(self._dedup)
            + (len(self._web) if self._web is not None else 0)
        )

    # ---- internals ----------------------------------------------------------------------------

    def _account(self, name: str) -> Account:
        acct = self._accounts.get(name)
        if acct is not None:
            self._accounts.move_to_end(name)
            return acct
        if "@" not in name:
            name = self._qualify(name)
            if name in self._accounts:
                return self._account(name)
        else:
            domain = name.rpartition("@")[2]
            if domain in self._domains or len(self._domains) < 64:
                self._domains[domain] = self._domains.get(domain, 0) + 1
        acct = self._accounts[name] = Account(name, self.settings, self._night, self._countries)
        if len(self._accounts) > MAX_ACCOUNTS:
            self._evict()
        return acct

    def _qualify(self, name: str) -> str:
        """saslauthd and typed login names may lack the domain (§8 item 9)."""
        if not self._domains:
            return name
        return f"{name}@{max(self._domains, key=self._domains.__getitem__)}"

    def _evict(self) -> None:
        for name in list(self._accounts)[: MAX_ACCOUNTS // 10]:
            if not self._accounts[name].hits:
                del self._accounts[name]

    def _owner(self, web: WebJoin, ip: str | None, account: str, ts: float) -> None:
        """The account now using a client address; nginx lines waiting for it are applied."""
        if ip is None:
            return
        for action in web.owner(ip, account, ts):
            self._account(account).web_action(action)

    def _first_copy(self, e: Login) -> bool:
        key = (e.account, e.ok, e.lockout, e.ip, e.protocol, int(e.ts))
        per_file = self._dedup.get(key)
        if per_file is None:
            per_file = self._dedup[key] = {}
            self._dedup_order.append((e.ts, key))
        before = max(per_file.values(), default=0)
        per_file[e.evidence.file] = per_file.get(e.evidence.file, 0) + 1
        return per_file[e.evidence.file] > before

    def _legacy_send(self, e: Send) -> None:
        msgid = e.msgid or ""
        found = self._mta.legacy_count(msgid)
        if found is not None:
            self._joined(e, *found)
        elif msgid not in self._legacy:
            self._legacy[msgid] = e
            self._join_order.append((e.ts, msgid))

    def _retry_legacy(self) -> None:
        """A new zimbra.log block arrived: look for the waiting Message-IDs in it."""
        block = self._mta_block
        if not self._legacy or block is None:
            return
        for msgid in [m for m in self._legacy if m.encode() in block.data]:
            found = self._mta.legacy_count(msgid)
            if found is not None:
                self._joined(self._legacy.pop(msgid), *found)

    def _joined(self, send: Send, n: int, evidence: tuple[Evidence, ...]) -> None:
        send.n = n  # postfix nrcpt is after alias expansion (§3.3 counting traps)
        send.evidence = (*send.evidence, *evidence)
        self.apply(send)

    def _expire(self, now: float) -> None:
        order = self._join_order
        while order and order[0][0] < now - JOIN_TTL:
            msgid = order.popleft()[1]
            send = self._legacy.pop(msgid, None)
            if send is not None:  # never joined: count it as one message
                send.msgid = None
                self.apply(send)
        dorder = self._dedup_order
        while dorder and dorder[0][0] < now - DEDUP_TTL:
            self._dedup.pop(dorder.popleft()[1], None)
        if self._web is not None:
            self._web.expire(now)
