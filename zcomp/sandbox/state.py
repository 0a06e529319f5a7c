"""The shared sandbox state handed to every request: directory, per-server parts, stats."""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field

from zcomp.sandbox.cache import AccountCache
from zcomp.sandbox.clock import Clock
from zcomp.sandbox.directory import Directory
from zcomp.sandbox.logs import LogWriter
from zcomp.sandbox.mailbox import MailboxStore
from zcomp.sandbox.mta import Mta
from zcomp.sandbox.tokens import TokenCodec


@dataclass
class Session:
    id: str
    account_id: str
    account_name: str
    token_id: str
    type: str  # soap | admin
    created_ms: int
    accessed_ms: int


class SessionTable:
    """One server's SessionCache: only clients that asked for a session appear here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._ids = itertools.count(101)

    def create(self, account_id: str, name: str, token_id: str, kind: str, now_ms: int) -> Session:
        with self._lock:
            sid = str(next(self._ids))
            s = Session(sid, account_id, name, token_id, kind, now_ms, now_ms)
            self._sessions[sid] = s
            return s

    def get(self, sid: str) -> Session | None:
        with self._lock:
            return self._sessions.get(sid)

    def remove(self, sid: str) -> Session | None:
        with self._lock:
            return self._sessions.pop(sid, None)

    def all(self) -> list[Session]:
        with self._lock:
            return list(self._sessions.values())


@dataclass
class ServerState:
    index: int
    name: str
    id: str
    cache: AccountCache
    mta: Mta
    sessions: SessionTable = field(default_factory=SessionTable)
    base_url: str = ""


@dataclass(frozen=True)
class WriteOp:
    server: str
    request: str
    target: str  # account name (or queue/server) the write touched


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.writes: list[WriteOp] = []

    def count(self, server: str, request: str) -> None:
        with self._lock:
            self.requests[(server, request)] += 1

    def write(self, op: WriteOp) -> None:
        with self._lock:
            self.writes.append(op)

    def total(self, request: str) -> int:
        with self._lock:
            return sum(n for (_, r), n in self.requests.items() if r == request)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.writes.clear()


@dataclass
class World:
    version: str
    directory: Directory
    clock: Clock
    codec: TokenCodec
    logs: LogWriter
    stats: Stats
    rng: random.Random
    servers: list[ServerState] = field(default_factory=list)
    rng_lock: threading.Lock = field(default_factory=threading.Lock)
    edition: str = "foss"  # "foss" | "network": which edition's handlers are registered
    mailboxes: MailboxStore = field(default_factory=MailboxStore)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_seq(self) -> int:
        return next(self._seq)

    def new_token_id(self) -> str:
        return uuid.uuid4().hex[:12]

    def server_by_name(self, name: str) -> ServerState | None:
        for s in self.servers:
            if s.name == name:
                return s
        return None

    def major(self) -> int:
        try:
            return int(self.version.split(".")[0])
        except ValueError:
            return 10
