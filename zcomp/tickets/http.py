"""HTTP for the help-desk backends: JSON over urllib (no start-up cost), errors as one line.

What a backend must know about a failure, and nothing more:
- TicketUnreachable: no answer (connection refused, timeout, 5xx). `maybe_applied` is True for a
  request that writes: the desk may have created the ticket all the same, so `open` looks for
  it before creating again (one ticket per incident).
- TicketNotFound (404), TicketConflict (409); any other refusal is a TicketError naming the HTTP
  status and what the desk said (401 and 403 say which credentials to check).
- 429 is waited out (Retry-After, at most `max_wait_s` in all) and asked again; reads are asked
  again after a 5xx, writes never are (see maybe_applied).
The Authorization header and every secret stay out of errors and --debug lines.
"""

from __future__ import annotations

import email.utils
import http.client
import json as jsonlib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from zcomp.tickets.errors import TicketError

READ_METHODS = frozenset({"GET", "HEAD"})
READ_RETRIES_S = (0.5, 1.0, 2.0)  # after a 5xx or no answer, for reads only
RATE_LIMIT_TRIES = 4


class TicketUnreachable(TicketError):
    """No answer, or a server error: whether a write applied is unknown."""

    def __init__(self, message: str, *, maybe_applied: bool) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied


class TicketNotFound(TicketError):
    pass


class TicketConflict(TicketError):
    pass


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        if not self.body.strip():
            return None
        try:
            return jsonlib.loads(self.body)
        except ValueError:
            raise TicketError(f"the reply is not JSON: {excerpt(self.body)}") from None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class TicketHttp:
    """One desk's base URL and credentials. `auth()` gives the auth headers per request."""

    backend: str
    base_url: str
    auth: Callable[[], dict[str, str]] = field(default=lambda: {})
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 15.0
    verify: bool = True
    ca_file: str | None = None
    max_wait_s: float = 30.0
    debug: Callable[[str], None] | None = None
    sleep: Callable[[float], None] = time.sleep

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        base = path if path.startswith(("http://", "https://")) else self.base_url + path
        if params:
            base += ("&" if "?" in base else "?") + urllib.parse.urlencode(params, doseq=True)
        return base

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> Reply:
        url = self.url(path, params)
        body = data
        headers = {"Accept": "application/json", **self.headers}
        if json is not None:
            body = jsonlib.dumps(json).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        waited = 0.0
        retries = 0
        while True:
            reply = self._send(method, url, body, headers)
            if reply.status == 429 and retries + 1 < RATE_LIMIT_TRIES:
                pause = _retry_after(reply.header("Retry-After"))
                if waited + pause <= self.max_wait_s:
                    self._log(f"{method} {_path(url)}: rate limited, waiting {pause:g} s")
                    self.sleep(pause)
                    waited += pause
                    retries += 1
                    continue
            if reply.status >= 500 and method in READ_METHODS and retries < len(READ_RETRIES_S):
                self.sleep(READ_RETRIES_S[retries])
                retries += 1
                continue
            return self._judge(method, url, reply, ok)

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Reply:
        request = urllib.request.Request(  # noqa: S310 - the desk's configured URL
            url, data=body, method=method, headers={**headers, **self.auth()}
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=self.timeout_s, context=self._tls()
            ) as response:
                reply = Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                reply = Reply(exc.code, dict(exc.headers or {}), exc.read())
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            self._log(f"{method} {_path(url)}: no answer ({reason})")
            if method in READ_METHODS:
                raise TicketUnreachable(
                    f"{self.backend}: no answer from {_host(url)} ({reason})", maybe_applied=False
                ) from None
            raise TicketUnreachable(
                f"{self.backend}: no answer from {_host(url)} ({reason}); it may have been applied",
                maybe_applied=True,
            ) from None
        self._log(
            f"{method} {_path(url)} -> HTTP {reply.status} "
            f"({(time.monotonic() - started) * 1000:.0f} ms)"
        )
        return reply

    def _judge(self, method: str, url: str, reply: Reply, ok: tuple[int, ...]) -> Reply:
        if reply.status in ok:
            return reply
        said = excerpt(reply.body)
        where = f"{self.backend}: {method} {_path(url)}: HTTP {reply.status}"
        if reply.status == 429:
            raise TicketError(f"{where}: rate limited for more than {self.max_wait_s:g} s")
        if reply.status >= 500:
            raise TicketUnreachable(
                f"{where}: server error ({said})", maybe_applied=method not in READ_METHODS
            )
        raise refusal(
            where,
            reply.status,
            said,
            refused="the credentials were refused (check the token or password)",
            forbidden=f"not allowed for this user ({said})",
        )

    def _tls(self) -> ssl.SSLContext | None:
        if not self.base_url.startswith("https://"):
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _log(self, text: str) -> None:
        if self.debug is not None:
            self.debug(text)


def refusal(where: str, status: int, said: str, *, refused: str, forbidden: str) -> TicketError:
    """The one mapping of a desk's refusal to an error. `refused` (401) and `forbidden` (403)
    say what to check: each backend knows which of its settings that is."""
    if status == 401:
        return TicketError(f"{where}: {refused}")
    if status == 403:
        return TicketError(f"{where}: {forbidden}")
    if status == 404:
        return TicketNotFound(f"{where}: not found ({said})")
    if status == 409:
        return TicketConflict(f"{where}: conflict ({said})")
    return TicketError(f"{where}: {said}")


def _retry_after(value: str | None) -> float:
    """Retry-After in seconds or as an HTTP date; 1 s when absent or unreadable."""
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def excerpt(body: bytes | str, limit: int = 200) -> str:
    """What a desk said, on one line, at most `limit` characters (for an error line)."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(raw.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


def _path(url: str) -> str:
    """The URL without its query (a search may carry the incident; never a token)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
