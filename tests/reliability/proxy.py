"""A loopback HTTP proxy that loses replies on purpose, and kills its client on cue.

zcomp talks to the proxy, the proxy talks to the sandbox. Per request it can forward normally,
or forward, read the sandbox's full reply and then drop it (close the client connection without
a byte): the change applied, the client never heard. Requests are numbered in arrival order, and
hooks run at two moments of each: before it is forwarded and after the sandbox answered, so a
`kill -9` lands at a request number, not at a time.

Stdlib only; one thread per client connection. Upstream connections are kept alive and reused
(a new connection per request cost the sandbox a TCP accept and a thread each): each is used by
one request at a time, taken back only once its reply was read whole, and never retried on, so
what reaches the sandbox and what the client hears are the same as with one per request.
"""

from __future__ import annotations

import contextlib
import enum
import http.client
import os
import random
import re
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

__all__ = [
    "AFTER",
    "BEFORE",
    "Exchange",
    "Gate",
    "Hold",
    "Hook",
    "KillSwitch",
    "LossyProxy",
    "Seen",
    "Verdict",
]

BEFORE = "before"  # the request arrived; the sandbox has not seen it
AFTER = "after"  # the sandbox answered (so applied what it applies); the client has not heard

# Request names in a SOAP body, XML (<ns1:GetAccountRequest) or JSON ("GetAccountRequest":).
_NAMES = re.compile(rb"[<\"](?:[\w.-]+:)?(\w+Request)\b")
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
    }
)


UPSTREAM_IDLE_S = 5.0  # an idle upstream connection older than this is closed, not reused


class Verdict(enum.Enum):
    FORWARD = "forward"
    DROP = "drop"  # close the client connection without a reply


@dataclass
class Exchange:
    """One request through the proxy, as the hooks and the log see it."""

    n: int  # 1-based, in arrival order across every connection
    path: str
    body: bytes
    names: tuple[str, ...]  # the SOAP requests in it (a BatchRequest lists its children)
    status: int | None = None  # the sandbox's HTTP status, once it answered
    reply: bytes = b""
    forwarded: bool = False
    dropped: bool = False
    at: float = 0.0  # time.monotonic() at arrival, for diagnostics
    peer: int = 0  # the client's port: requests of one connection share it

    def has(self, name: str) -> bool:
        return name in self.names


Hook = Callable[[Exchange, str], "Verdict | None"]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the stdlib's 5 resets some of 16 workers connecting at once

    def handle_error(self, request: object, client_address: object) -> None:
        # A client killed or gone mid-request is what this proxy is for, not a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class LossyProxy:
    """Forwards to `upstream` (a sandbox server's base URL).

    `drop_rate`: the share of replies lost after the sandbox applied the request, decided per
    request by random.Random(seed) in arrival order. `hooks` run for every request at BEFORE and
    AFTER; the first that returns a Verdict decides (DROP at BEFORE: the sandbox never sees it).
    """

    def __init__(
        self, upstream: str, *, drop_rate: float = 0.0, seed: int = 0, latency_s: float = 0.0
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.drop_rate = drop_rate
        self.latency_s = latency_s  # added to every request, as a WAN link would (benchmarks)
        self.hooks: list[Hook] = []
        self.exchanges: list[Exchange] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._conns: set[socket.socket] = set()
        self._idle_upstream: list[tuple[float, http.client.HTTPConnection]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._conns.add(self.connection)

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    with proxy._lock:
                        proxy._conns.discard(self.connection)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                proxy._serve(self)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                proxy._serve(self)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return None

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- views -----------------------------------------------------------------------------

    @property
    def admin_url(self) -> str:
        return self.base_url + "/service/admin/soap/"

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.exchanges)

    @property
    def dropped(self) -> list[Exchange]:
        with self._lock:
            return [e for e in self.exchanges if e.dropped]

    def log(self) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges)

    def reset(self) -> None:
        """Number the next request 1 again (a new run) and forget the log."""
        with self._lock:
            self.exchanges.clear()

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Until no request is between arrival and its reply (or drop). A killed client's
        requests already forwarded still complete at the sandbox: settle before judging."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LossyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # idle keep-alive connections would hold their threads
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(timeout=10)
        with self._lock:
            idle, self._idle_upstream = self._idle_upstream, []
        for _, upstream in idle:
            upstream.close()

    def __enter__(self) -> LossyProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- one request -----------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        if body is None:
            handler.close_connection = True
            return
        with self._lock:
            exchange = Exchange(
                n=len(self.exchanges) + 1,
                path=handler.path,
                body=body,
                names=tuple(m.group(1).decode() for m in _NAMES.finditer(body)),
                at=time.monotonic(),
                peer=int(handler.client_address[1]),
            )
            self.exchanges.append(exchange)
            # Decided here, in arrival order, so a seed gives the same pattern every run.
            lose = self.drop_rate > 0 and self._rng.random() < self.drop_rate
            self._in_flight += 1
        try:
            if self._decide(exchange, BEFORE) is Verdict.DROP:
                self._drop(handler, exchange)
                return
            if self.latency_s:
                time.sleep(self.latency_s)
            # A hook may have rewritten the body (to make Zimbra refuse one child of a batch).
            status, headers, reply = self._forward(handler, exchange.body)
            exchange.forwarded = True
            if status is None:  # the sandbox hung up: so do we
                self._drop(handler, exchange)
                return
            exchange.status, exchange.reply = status, reply
            verdict = self._decide(exchange, AFTER)
            if verdict is Verdict.DROP or (verdict is None and lose):
                self._drop(handler, exchange)
                return
            handler.send_response(status)
            for name, value in headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(reply)))
            handler.end_headers()
            handler.wfile.write(reply)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _decide(self, exchange: Exchange, phase: str) -> Verdict | None:
        for hook in list(self.hooks):
            verdict = hook(exchange, phase)
            if verdict is not None:
                return verdict
        return None

    def _forward(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int | None, list[tuple[str, str]], bytes]:
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
        }
        conn = self._upstream_conn()
        reusable = False
        try:
            conn.request(handler.command, handler.path, body=body, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            kept = [(k, v) for k, v in reply.getheaders() if k.lower() not in _HOP_BY_HOP]
            reusable = not reply.will_close
            return reply.status, kept, data
        except (OSError, http.client.HTTPException):
            return None, [], b""
        finally:
            if reusable:
                with self._lock:
                    self._idle_upstream.append((time.monotonic(), conn))
            else:
                conn.close()

    def _upstream_conn(self) -> http.client.HTTPConnection:
        """An idle upstream connection still open, else a new one; only this request uses it."""
        while True:
            with self._lock:
                if not self._idle_upstream:
                    return http.client.HTTPConnection(*self.upstream, timeout=120)
                since, conn = self._idle_upstream.pop()
            # Idle for long, the server may be closing it as we send (the sandbox's idle timeout
            # is 60 s); readable while idle means it did close (or sent what nobody asked for).
            if time.monotonic() - since < UPSTREAM_IDLE_S and not _readable(conn):
                return conn
            conn.close()

    def _drop(self, handler: BaseHTTPRequestHandler, exchange: Exchange) -> None:
        exchange.dropped = True
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)


def _readable(conn: http.client.HTTPConnection) -> bool:
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes | None:
    """The request body (Content-Length or chunked); None when the client went away."""
    try:
        if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(handler.rfile.read(size))
                handler.rfile.readline()
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        return body if len(body) == length else None
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- hooks


@dataclass
class KillSwitch:
    """SIGKILL the client process at one request: its number `n` (or the first request naming
    `name`), at BEFORE (the sandbox never sees it) or AFTER (applied, reply never sent).

    Every later request is dropped before the sandbox sees it: the process is dead, so what it
    had not yet got through does not get through. Add it to `proxy.hooks`, then `arm(pid)`
    once the process exists (a request arriving before that waits for the pid).
    """

    n: int | None = None
    name: str | None = None
    phase: str = BEFORE
    fired_at: Exchange | None = None
    _pid: int | None = None
    _armed: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if (self.n is None) == (self.name is None):
            raise ValueError("give exactly one of n= and name=")
        if self.phase not in (BEFORE, AFTER):
            raise ValueError(f"phase must be {BEFORE!r} or {AFTER!r}")

    def arm(self, pid: int) -> None:
        self._pid = pid
        self._armed.set()

    @property
    def fired(self) -> bool:
        return self.fired_at is not None

    def __call__(self, exchange: Exchange, phase: str) -> Verdict | None:
        with self._lock:
            if self.fired_at is not None:
                return Verdict.DROP if phase == BEFORE else None
            if phase != self.phase or not self._matches(exchange):
                return None
            if not self._armed.wait(timeout=60):
                raise RuntimeError("KillSwitch fired before arm(pid) was called")
            assert self._pid is not None
            os.kill(self._pid, signal.SIGKILL)
            self.fired_at = exchange
            return Verdict.DROP

    def _matches(self, exchange: Exchange) -> bool:
        if self.n is not None:
            return exchange.n == self.n
        assert self.name is not None
        return exchange.has(self.name)


class Hold:
    """Holds the first request naming `name` at `phase` until `release()`: the process that
    sent it is then frozen mid-step (holding whatever it holds) for as long as the test needs.
    `body`: only a request whose body holds it (an account's name or id)."""

    def __init__(self, name: str, phase: str = BEFORE, *, body: bytes = b"") -> None:
        self.name = name
        self.phase = phase
        self.body = body
        self.reached = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()

    def release(self) -> None:
        self._released.set()

    def __call__(self, exchange: Exchange, phase: str) -> Verdict | None:
        with self._lock:
            if phase != self.phase or self.reached.is_set() or not exchange.has(self.name):
                return None
            if self.body not in exchange.body:
                return None
            self.reached.set()
        self._released.wait(timeout=300)  # a guard against a test that forgot to release
        return None


class Seen:
    """Notes that a request naming `name` arrived (or, via `set`, that waiting is pointless)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.event = threading.Event()

    def set(self) -> None:
        self.event.set()

    def __call__(self, exchange: Exchange, phase: str) -> Verdict | None:
        if phase == BEFORE and exchange.has(self.name):
            self.event.set()
        return None


class Gate:
    """Holds each party's first matching request until every party has reached its own, or
    has exited: processes started together then really act at the same moment.

    `hook(party, name)` gives a proxy hook for one party; `gone(party)` is called when that
    party's process exits (Zcomp.start does it), so a party that never gets there (it found the
    account busy, or died) cannot keep the others waiting.
    """

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self._cond = threading.Condition()
        self._arrived: set[int] = set()
        self._gone: set[int] = set()

    def hook(self, party: int, name: str | None = None) -> Hook:
        passed = threading.Event()

        def hold(exchange: Exchange, phase: str) -> Verdict | None:
            if phase != BEFORE or passed.is_set() or (name is not None and not exchange.has(name)):
                return None
            passed.set()
            with self._cond:
                self._arrived.add(party)
                self._cond.notify_all()
                self._cond.wait_for(self._open, timeout=120)
            return None

        return hold

    def gone(self, party: int) -> None:
        with self._cond:
            self._gone.add(party)
            self._cond.notify_all()

    @property
    def arrived(self) -> int:
        with self._cond:
            return len(self._arrived)

    def wait_arrived(self, count: int, timeout: float = 120.0) -> bool:
        """Until `count` parties are held at (or have passed) the gate."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._arrived) >= count, timeout=timeout)

    def _open(self) -> bool:
        return len(self._arrived | self._gone) >= self.parties
