"""A real HTTP server on 127.0.0.1 for help-desk backend tests: each desk registers its
documented endpoints (routes) and its authentication; the tests make it misbehave on purpose.

- `fail_next(method, path, status, ...)`: the next matching request gets that reply instead
  (401, 403, 404, 409, 429 with Retry-After, 5xx), and is NOT applied.
- `stall_next(method, path, seconds)`: the next matching request IS applied, but its reply comes
  only after `seconds` (longer than the client's timeout: a create that landed unheard).
- `requests`: every request as received (method, path, query, headers, body), for assertions
  such as "no secret in any body" or "created once".
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return b"" if self.body is None else json.dumps(self.body).encode()


Route = Callable[[Seen, re.Match[str]], Answer]


@dataclass
class _Trouble:
    method: str
    pattern: re.Pattern[str]
    answer: Answer | None = None  # replaced reply (request not applied)
    stall_s: float = 0.0  # applied, reply delayed
    times: int = 1


class FakeDesk:
    """Subclass (or configure) with `route(method, regex, handler)` and `authorised(seen)`."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Route]] = []
        self.requests: list[Seen] = []
        self._trouble: list[_Trouble] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration --------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Route) -> None:
        self.routes.append((method, re.compile(pattern + r"\Z"), handler))

    def authorised(self, seen: Seen) -> bool:  # overridden by desks that check credentials
        return True

    def unauthorised(self, seen: Seen) -> Answer:
        return Answer(401, {"error": "authentication required"})

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        with self.lock:
            self._trouble.append(
                _Trouble(method, re.compile(path), Answer(status, body, headers or {}), 0.0, times)
            )

    def stall_next(self, method: str, path: str, seconds: float, *, times: int = 1) -> None:
        with self.lock:
            self._trouble.append(_Trouble(method, re.compile(path), None, seconds, times))

    # -- serving --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("not started")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> FakeDesk:
        desk = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                desk._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll: stop() returns in 50 ms, not serve_forever's default 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeDesk:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        seen = Seen(handler.command, parts.path, parse_qs(parts.query), dict(handler.headers), body)
        with self.lock:
            self.requests.append(seen)
            trouble = self._take_trouble(seen)
        if trouble is not None and trouble.answer is not None:
            self._reply(handler, trouble.answer)
            return
        answer = self._dispatch(seen)
        if trouble is not None and trouble.stall_s:
            time.sleep(trouble.stall_s)  # applied; the client has given up by now
        self._reply(handler, answer)

    def _take_trouble(self, seen: Seen) -> _Trouble | None:
        for trouble in self._trouble:
            if trouble.method == seen.method and trouble.pattern.search(seen.path):
                trouble.times -= 1
                if trouble.times <= 0:
                    self._trouble.remove(trouble)
                return trouble
        return None

    def _dispatch(self, seen: Seen) -> Answer:
        if not self.authorised(seen):
            return self.unauthorised(seen)
        for method, pattern, route in self.routes:
            if method == seen.method and (m := pattern.match(seen.path)):
                with self.lock:
                    return route(seen, m)
        return Answer(404, {"error": f"no route for {seen.method} {seen.path}"})

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        data = answer.encoded()
        try:
            handler.send_response(answer.status)
            headers = {"Content-Type": "application/json", **answer.headers}
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up (a stalled reply): nothing to tell it


@contextmanager
def running(desk: FakeDesk) -> Iterator[FakeDesk]:
    desk.start()
    try:
        yield desk
    finally:
        desk.stop()
