"""ZimbraClient: login and token cache, retries, re-login, BatchRequest assembly.

Importing this module does not import zeep, requests or lxml; the first ZimbraClient does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from zcomp.zimbra.errors import (
    NOT_RUN,
    TOKEN_FAILURE_CODES,
    ZimbraConnectionError,
    ZimbraFault,
    ZimbraTLSError,
)
from zcomp.zimbra.operations import Request
from zcomp.zimbra.settings import ConnectionSettings
from zcomp.zimbra.tokens import CachedToken, cache_key, expiry_of, open_cache
from zcomp.zimbra.urls import admin_url

if TYPE_CHECKING:
    from zcomp.zimbra.ns import Element
    from zcomp.zimbra.soap import SoapChannel

T = TypeVar("T")

RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0)  # backoff between attempts of read-only requests
# A run that cannot log in fails every account it was given, so the login rides out a longer
# hiccup than one read does (about 6 s of backoff). A wrong password is a fault that is never
# retried: no admin lockout.
LOGIN_RETRIES = 5
RETRYABLE_FAULTS = frozenset({"service.FAILURE"})
QUEUE_SCAN_WAIT_S = 5  # per queue; batches run children in turn within one HTTP read timeout


def _preludes(request: Request[Any]) -> list[Request[Any]]:
    """Requests Zimbra must run just before `request` for it to do what it says.

    MailQueueAction by="query" matches the MTA queue's *last scan* (RemoteMailQueue's index),
    not the live queue, so mail queued since that scan would be missed: rescan it first.
    """
    from zcomp.zimbra.operations import GetMailQueue, MailQueueAction

    if isinstance(request, MailQueueAction) and (request.sender or request.senders):
        return [GetMailQueue(request.server, request.queue, limit=1, wait_s=QUEUE_SCAN_WAIT_S)]
    return []


def server_wait_s(body: Element) -> float:
    """Seconds Zimbra may legitimately spend waiting inside this request (queue scans run one
    after another, each up to its `wait`, default 3 s): added to the read timeout so a slow
    scan of a big spam queue is not mistaken for a dead server."""
    from zcomp.zimbra.ns import ADMIN

    waits = [
        float(q.get("wait", "3"))
        for q in body.iter(f"{{{ADMIN}}}queue")
        if q.get("scan") == "1" or q.get("wait") is not None
    ]
    return sum(waits)


def _after_preludes(name: str, outcome: Any, preludes: list[Any]) -> Any:
    """The request's slot, given what its preludes answered: a failed or unfinished
    rescan means the request acted on an old scan, which the caller must hear about."""
    if isinstance(outcome, ZimbraFault):
        return outcome
    for pre in preludes:
        if isinstance(pre, ZimbraFault):
            return ZimbraFault(
                pre.code,
                f"rescanning the queue first failed ({pre.reason}); "
                "it may have acted on an older scan and missed mail",
                request=name,
            )
        if getattr(pre, "scanning", False) and outcome is not NOT_RUN:
            return ZimbraFault(
                "zcomp.QUEUE_SCAN_INCOMPLETE",
                f"the MTA queue scan took over {QUEUE_SCAN_WAIT_S}s; "
                "it acted on a partial scan: run it again",
                request=name,
            )
    return outcome


def _check_target(request: Request[Any], as_account: str | None) -> None:
    # Without <account> a user-side write would change the ADMIN's own mailbox settings.
    if request.side == "user" and request.write and as_account is None:
        raise ValueError(f"{type(request).__name__} changes a mailbox: pass as_account=<zimbraId>")


class ZimbraClient:
    """Talks to one Zimbra admin endpoint. Not thread-safe: one client per thread."""

    round_trips: int

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from zcomp.zimbra.soap import SoapChannel

        self.settings = settings
        self.url = admin_url(settings.url)
        self.round_trips = 0
        self._clock = clock
        self._sleep = sleep
        if settings.insecure:
            verify: bool | str = False
        elif settings.ca_bundle is not None:
            verify = str(settings.ca_bundle)
        else:
            verify = True
        self._channel: SoapChannel = SoapChannel(
            self.url,
            verify=verify,
            timeout=(settings.connect_timeout, settings.read_timeout),
            user_agent=f"zcomp/{settings.user_agent_version}",
            debug=settings.debug,
        )
        self._cache = open_cache(settings.token_cache, settings.state_dir)
        self._cache_key = cache_key(self.url, settings.admin)
        self._token: CachedToken | None = None

    def spawn(self) -> ZimbraClient:
        """A new client with its own HTTP session (for another worker thread) that reuses this
        client's login, so a batch logs in once, not once per worker."""
        other = ZimbraClient(self.settings, clock=self._clock, sleep=self._sleep)
        other._token = self._token
        return other

    # ------------------------------------------------------------------ auth

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def login(self) -> None:
        """Use the cached admin token while its `exp` is ahead, else send AuthRequest."""
        now = self._now_ms()
        if self._token is not None and self._token.valid(now):
            return
        cached = self._cache.get(self._cache_key)
        if cached is not None and cached.valid(now):
            self._token = cached
            return
        self._authenticate()

    def _authenticate(self) -> None:
        from zcomp.zimbra.build import auth_request
        from zcomp.zimbra.parse import auth_result

        self._token = None
        body = auth_request(self.settings.admin, self.settings.password())
        reply = self._attempts(
            body,
            "AuthRequest",
            write=False,
            as_account=None,
            retries=max(self.settings.retries, LOGIN_RETRIES),
        )
        result = auth_result(reply)
        entry = CachedToken(
            result.token, expiry_of(result.token, result.lifetime_ms, self._now_ms())
        )
        self._token = entry
        self._cache.put(self._cache_key, entry)

    def _forget_token(self) -> None:
        self._token = None
        self._cache.delete(self._cache_key)

    # ------------------------------------------------------------- exchange

    def _header(self, as_account: str | None) -> Element:
        from zcomp.zimbra.ns import ZIMBRA, el, sub

        header = el(ZIMBRA, "context")
        if self._token is not None:
            sub(header, ZIMBRA, "authToken", text=self._token.token.reveal())
        sub(header, ZIMBRA, "nosession")
        if as_account is not None:
            sub(header, ZIMBRA, "account", {"by": "id"}, as_account)
        version = self.settings.user_agent_version
        sub(header, ZIMBRA, "userAgent", {"name": "zcomp", "version": version})
        return header

    def _exchange(self, body: Element, name: str, as_account: str | None) -> Element:
        from zcomp.zimbra.faults import reply_body

        payload, action = self._channel.envelope(body, self._header(as_account))
        self.round_trips += 1
        status, content_type, data = self._channel.post(
            payload, action, extra_read_s=server_wait_s(body)
        )
        return reply_body(data, status, content_type, self.url, name)

    def _attempts(
        self,
        body: Element,
        name: str,
        *,
        write: bool,
        as_account: str | None,
        retries: int | None = None,
    ) -> Element:
        """One exchange; read-only ones retried with backoff on connection errors/FAILURE."""
        if retries is None:
            retries = self.settings.retries
        retries = 0 if write else max(0, retries)
        attempt = 0
        while True:
            try:
                return self._exchange(body, name, as_account)
            except ZimbraTLSError:
                raise  # a certificate problem does not go away by asking again
            except (ZimbraConnectionError, ZimbraFault) as exc:
                retryable = isinstance(exc, ZimbraConnectionError) or (
                    isinstance(exc, ZimbraFault) and exc.code in RETRYABLE_FAULTS
                )
                if not retryable or attempt >= retries:
                    raise
                self._sleep(RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)])
                attempt += 1

    def _send(
        self, body: Element, name: str, *, write: bool, as_account: str | None
    ) -> tuple[Element, bool]:
        """Exchange with the admin token; re-login once if Zimbra says it expired.

        Returns the reply body and whether a re-login already happened. Re-sending after
        AUTH_EXPIRED/AUTH_REQUIRED is safe for writes: Zimbra refused before running anything.
        """
        if self._token is None:
            self.login()
        try:
            return self._attempts(body, name, write=write, as_account=as_account), False
        except ZimbraFault as fault:
            if fault.code not in TOKEN_FAILURE_CODES:
                raise
        self._forget_token()
        self._authenticate()
        return self._attempts(body, name, write=write, as_account=as_account), True

    # ------------------------------------------------------------------ API

    def call(self, request: Request[T], *, as_account: str | None = None) -> T:
        from zcomp.zimbra.build import build
        from zcomp.zimbra.ns import local
        from zcomp.zimbra.parse import parse

        _check_target(request, as_account)
        if _preludes(request):
            outcome = self.batch([request], as_account=as_account)[0]
            if isinstance(outcome, ZimbraFault):
                raise outcome
            if outcome is NOT_RUN:
                raise ZimbraFault(
                    "service.FAILURE", "request was not run", request=local(build(request))
                )
            done: T = outcome
            return done
        body = build(request)
        reply, _ = self._send(body, local(body), write=request.write, as_account=as_account)
        result: T = parse(request, reply)
        return result

    def batch(
        self,
        requests: Sequence[Request[Any]],
        *,
        as_account: str | None = None,
        stop_on_error: bool = False,
    ) -> list[Any]:
        """Run requests in one BatchRequest. Each slot: result, ZimbraFault, or NOT_RUN."""
        if not requests:
            return []
        for request in requests:
            _check_target(request, as_account)
        results: list[Any] = [NOT_RUN] * len(requests)
        pending = list(range(len(requests)))
        relogged = False
        while True:
            reply, relogged_now = self._batch_once(requests, pending, as_account, stop_on_error)
            relogged = relogged or relogged_now
            token_failed = False
            for index, outcome in zip(pending, reply, strict=True):
                results[index] = outcome
                if isinstance(outcome, ZimbraFault) and outcome.code in TOKEN_FAILURE_CODES:
                    token_failed = True
            if not token_failed or relogged:
                return results
            # Children refused for the token (and those never run after them) did nothing:
            # re-login once and send just those again.
            pending = [
                i
                for i in pending
                if results[i] is NOT_RUN
                or (isinstance(results[i], ZimbraFault) and results[i].code in TOKEN_FAILURE_CODES)
            ]
            self._forget_token()
            self._authenticate()
            relogged = True

    def _batch_once(
        self,
        requests: Sequence[Request[Any]],
        indexes: list[int],
        as_account: str | None,
        stop_on_error: bool,
    ) -> tuple[list[Any], bool]:
        from zcomp.zimbra.build import build
        from zcomp.zimbra.faults import fault_error, is_fault
        from zcomp.zimbra.ns import ZIMBRA, children, el, local
        from zcomp.zimbra.parse import parse

        batch = el(ZIMBRA, "BatchRequest", {"onerror": "stop" if stop_on_error else "continue"})
        names: dict[str, tuple[Request[Any], str]] = {}
        prelude_ids: dict[int, list[str]] = {}
        # One rescan per (server, queue) per batch is enough: the scan indexes every sender.
        rescanned: dict[tuple[str, str], str] = {}
        for number, index in enumerate(indexes, 1):
            for k, pre in enumerate(_preludes(requests[index])):
                queue_key = (getattr(pre, "server", ""), getattr(pre, "queue", ""))
                if queue_key in rescanned:
                    prelude_ids.setdefault(number, []).append(rescanned[queue_key])
                    continue
                pre_id = f"{number}.{k}"
                rescanned[queue_key] = pre_id
                pre_child = build(pre)
                pre_child.set("requestId", pre_id)
                names[pre_id] = (pre, local(pre_child))
                prelude_ids.setdefault(number, []).append(pre_id)
                batch.append(pre_child)
            child = build(requests[index])
            child.set("requestId", str(number))
            names[str(number)] = (requests[index], local(child))
            batch.append(child)
        write = any(requests[i].write for i in indexes)
        reply, relogged = self._send(batch, "BatchRequest", write=write, as_account=as_account)
        by_id: dict[str, Any] = {}
        for node in children(reply):
            request_id = node.get("requestId")
            if request_id not in names:
                continue
            request, name = names[request_id]
            by_id[request_id] = fault_error(node, name) if is_fault(node) else parse(request, node)
        ordered = [
            _after_preludes(
                names[str(n)][1],
                by_id.get(str(n), NOT_RUN),
                [by_id.get(p, NOT_RUN) for p in prelude_ids.get(n, [])],
            )
            for n in range(1, len(indexes) + 1)
        ]
        return ordered, relogged

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> ZimbraClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
