"""The `webhook` backend: a JSON request to a URL, for chat rooms (Slack, Teams, Mattermost) and
automation (n8n, Node-RED, a script of your own).

The body is a template (`body`, a TOML table or a JSON text) whose strings may hold placeholders
{event} {incident} {account} {title} {text} {time}, optionally escaped for the target with
{text|slack} or {text|html}. The template is parsed as JSON first and values are put into its
strings afterwards, so a value can never change the structure: the whole document is encoded
once, every value JSON-escaped. {{ and }} are literal braces.

Identity: a webhook cannot be searched, so `find` answers from a local record (localrecord) of
the incident's open event, and the TicketRef.id is idempotency_key(incident). Every request
carries an `Idempotency-Key` header, the same on a retry (the open event's is the key itself),
so a receiver that deduplicates sees one event; a chat room, which cannot, may show a message
twice in the rare case of a reply lost after the endpoint took the request (warned about).

With `hmac_secret`, each request carries X-Zcomp-Timestamp (Unix seconds) and
X-Zcomp-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body bytes>">; signing the
timestamp with the body lets a receiver refuse a replayed request.

The URL of a chat webhook is itself the secret (Slack, Teams, Mattermost say so): it can come
from `url_file`, `url_env` or `url_keyring`, and errors and --debug lines show only
scheme://host/… whatever the source.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from zcomp.exitcodes import ConfigError
from zcomp.tickets.backend import open_once
from zcomp.tickets.backends.localrecord import (
    SENT,
    SentRecord,
    SentRecords,
    safe_name,
    send_first,
)
from zcomp.tickets.content import (
    IncidentRef,
    TicketContent,
    TicketRef,
    idempotency_key,
    incident_key,
)
from zcomp.tickets.errors import TicketError
from zcomp.tickets.guard import refuse_secrets
from zcomp.tickets.http import (
    Reply,
    TicketConflict,
    TicketHttp,
    TicketNotFound,
    TicketUnreachable,
    excerpt,
)
from zcomp.tickets.options import Options
from zcomp.tickets.registry import BackendContext
from zcomp.tickets.render import render_text, title_line
from zcomp.timestamps import stamp
from zcomp.zimbra.model import Secret

NAME = "webhook"
METHODS = ("POST", "PUT", "PATCH")
DEFAULT_TIMEOUT_S = 15.0
USER_AGENT = "zcomp-webhook"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
FIELDS = ("event", "incident", "account", "title", "text", "time")
# The default body: every field, for automation. Chat rooms want their own (docs/tickets).
DEFAULT_BODY: dict[str, Any] = {name: "{" + name + "}" for name in FIELDS}
# 2xx is success; 4xx (but 429, which TicketHttp waits out) is judged here, to name the setting.
_ANSWERED = tuple(range(200, 300)) + tuple(c for c in range(400, 500) if c != 429)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([A-Za-z0-9_]*))?\}")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CREDENTIAL_NAME = re.compile(r"auth|token|secret|key|passw|cookie|session|signature|credential")
_RESERVED = frozenset({"content-length", "host", "transfer-encoding", "connection"})
_CREDENTIAL_VALUE = re.compile(r"(bearer|basic|token|digest)\s+\S", re.IGNORECASE)
_SECRET_QUERY = frozenset({"sig", "signature", "token", "access_token", "key", "api_key", "secret"})
_MATTERMOST_HOOK = re.compile(r"/hooks/[a-z0-9]{20,}(/|$)")


def _slack(value: str) -> str:
    # Slack's control characters (docs: "Escaping text"); only these three, nothing else.
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _html(value: str) -> str:
    return html.escape(value, quote=False)


FILTERS: dict[str, Callable[[str], str]] = {"slack": _slack, "html": _html}


@dataclass(frozen=True)
class Event:
    """What one request says; each field is a placeholder of the body template."""

    event: str  # open, comment or resolve
    incident: str
    account: str
    title: str
    text: str
    time: str


@dataclass(frozen=True)
class BodyTemplate:
    tree: Any  # JSON-shaped: dicts, lists, text, numbers, booleans, null

    @classmethod
    def parse(cls, raw: Any) -> BodyTemplate:
        """From the config (a TOML table, or a JSON text); ValueError says what is wrong."""
        if raw is None:
            return cls(DEFAULT_BODY)
        if isinstance(raw, str):
            try:
                tree = json.loads(raw)
            except ValueError as exc:
                raise ValueError(
                    f"is not valid JSON ({exc}); placeholders go inside JSON strings"
                ) from None
        elif isinstance(raw, Mapping):
            tree = raw
        else:
            raise ValueError("expected a table, or a JSON text")
        if not isinstance(tree, (dict, list)):
            raise ValueError("expected a JSON object or array")
        _check(tree, "body")
        return cls(tree)

    def render(self, event: Event) -> bytes:
        document = _fill(self.tree, event)
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _check(node: Any, where: str) -> None:
    if isinstance(node, str):
        for match in _PLACEHOLDER.finditer(node):
            name, kind = match.group(1), match.group(2)
            if name is None:
                continue  # {{ or }}
            if name not in FIELDS:
                known = ", ".join("{" + f + "}" for f in FIELDS)
                raise ValueError(
                    f"unknown placeholder {match.group(0)} in {where} (known: {known}; "
                    "write {{ and }} for literal braces)"
                )
            if kind is not None and kind not in FILTERS:
                raise ValueError(
                    f"unknown escape {match.group(0)} in {where} "
                    f"(known: {', '.join('|' + f for f in FILTERS)})"
                )
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if not isinstance(key, str):
                raise ValueError(f"a key in {where} is not text")
            _check(value, f"{where}.{key}")
    elif isinstance(node, list):
        for number, value in enumerate(node):
            _check(value, f"{where}[{number}]")
    elif node is not None and not isinstance(node, (bool, int, float)):
        raise ValueError(f"{where} is a {type(node).__name__}, which JSON cannot carry; quote it")


def _fill(node: Any, event: Event) -> Any:
    if isinstance(node, str):

        def value(match: re.Match[str]) -> str:
            token = match.group(0)
            if token in ("{{", "}}"):
                return token[0]
            text = str(getattr(event, match.group(1)))
            kind = match.group(2)
            return FILTERS[kind](text) if kind else text

        return _PLACEHOLDER.sub(value, node)
    if isinstance(node, Mapping):
        return {key: _fill(value, event) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, event) for value in node]
    return node


@dataclass(frozen=True)
class WebhookSettings:
    url: Secret  # a chat webhook's URL is its credential
    shown_url: str  # scheme://host/… for errors and debug lines
    method: str
    headers: dict[str, str]
    content_type: str
    body: BodyTemplate
    token: Secret | None = None
    token_header: str | None = None
    hmac_secret: Secret | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    verify: bool = True
    ca_file: str | None = None


def make(options: Options, context: BackendContext) -> WebhookBackend:
    settings = read_settings(options, warn=context.warn)
    records = SentRecords(Path(context.state_dir) / "tickets" / NAME)
    return WebhookBackend(settings, records, debug=context.debug, warn=context.warn)


def _config(key: str, problem: str) -> ConfigError:
    return ConfigError(f"[tickets.{NAME}] {key}: {problem}")


def read_settings(options: Options, *, warn: Callable[[str], None]) -> WebhookSettings:
    url, shown = _read_url(options, warn)
    method = options.choice("method", METHODS, default="POST")
    headers = options.table_of_texts("headers")
    content_type = "application/json"
    for name in list(headers):
        _check_header(name, headers[name])
        if name.lower() == "content-type":
            content_type = headers.pop(name)
    token = options.secret("token", required=False)
    token_header = options.text("token_header")
    if token_header is not None:
        if token is None:
            raise _config("token_header", "needs a token (token_file, token_env or token_keyring)")
        if not _HEADER_NAME.fullmatch(token_header) or _reserved(token_header):
            raise _config("token_header", f"{token_header!r} cannot carry the token")
        if any(name.lower() == token_header.lower() for name in headers):
            raise _config("headers", f"{token_header} is set by token_header already")
    hmac_secret = options.secret("hmac_secret", required=False)
    try:
        # Options has no accessor for a value that is a table *or* a text: read it raw.
        body = BodyTemplate.parse(options._get("body"))
    except ValueError as exc:
        raise _config("body", str(exc)) from None
    timeout_s = options.seconds("timeout", default=DEFAULT_TIMEOUT_S)
    verify = options.boolean("verify", default=True)
    ca_file = options.text("ca_file")
    if ca_file is not None:
        path = Path(ca_file).expanduser()
        if not path.is_file():
            raise _config("ca_file", f"{path} is not a readable file")
        ca_file = str(path)
    options.done()
    if not verify:
        warn(f"[tickets.{NAME}] verify = false: the TLS certificate of {shown} is not checked")
    return WebhookSettings(
        url=url,
        shown_url=shown,
        method=method,
        headers=headers,
        content_type=content_type,
        body=body,
        token=token,
        token_header=token_header,
        hmac_secret=hmac_secret,
        timeout_s=timeout_s,
        verify=verify,
        ca_file=ca_file,
    )


def _read_url(options: Options, warn: Callable[[str], None]) -> tuple[Secret, str]:
    """`url` in the config (a URL that carries no secret), or `url_file` / `url_env` /
    `url_keyring` (one that does, as chat webhooks' do)."""
    sources = [k for k in ("url_file", "url_env", "url_keyring") if options.table.get(k)]
    plain = options.text("url")
    if plain is not None:
        if sources:
            raise _config(sources[0], "give url or one of url_file, url_env, url_keyring")
        reason = _carries_secret(plain)
        if reason:
            raise _config(
                "url",
                f"this URL carries a secret ({reason}): put it in url_file, url_env or "
                "url_keyring = true instead of the config",
            )
        value, key = plain, "url"
    elif sources:
        secret = options.secret("url")
        if secret is None:  # not reached: a required secret is there or refused
            raise _config("url", "is required")
        value, key = secret.reveal().strip(), sources[0]
    else:
        raise _config(
            "url",
            "is required (or url_file, url_env, url_keyring = true for a URL that is itself "
            "a secret, as Slack's, Teams' and Mattermost's are)",
        )
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _port = parts.port  # a bad port raises here, not at the first request
    except ValueError:
        host = None
        parts = None
    # The value is never echoed: it may be a secret URL.
    if parts is None or parts.scheme not in ("https", "http") or not host:
        raise _config(key, "expected an https or http URL")
    if parts.username is not None or parts.password is not None:
        raise _config(key, "a URL may not hold a user name or password: use token_file")
    if any(c.isspace() for c in value):
        raise _config(key, "a URL may not contain spaces")
    shown = f"{parts.scheme}://{parts.netloc}/…"
    if parts.scheme == "http" and host.lower() not in LOOPBACK:
        warn(
            f"[tickets.{NAME}] {key}: plain http to {parts.netloc}: the ticket text (and any "
            "token) cross the network unencrypted; use https"
        )
    return Secret(value), shown


def _carries_secret(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if host == "hooks.slack.com":
        return "a Slack webhook URL"
    if host.endswith(".webhook.office.com") or host.endswith(".logic.azure.com"):
        return "a Microsoft Teams webhook URL"
    names = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    if names & _SECRET_QUERY:
        return f"a {sorted(names & _SECRET_QUERY)[0]}= parameter"
    if _MATTERMOST_HOOK.search(parts.path):
        return "a Mattermost webhook key"
    return None


def _reserved(name: str) -> bool:
    lowered = name.lower()
    return lowered in _RESERVED or lowered == "idempotency-key" or lowered.startswith("x-zcomp-")


def _check_header(name: str, value: str) -> None:
    if not _HEADER_NAME.fullmatch(name):
        raise _config("headers", f"{name!r} is not a valid header name")
    if _reserved(name):
        raise _config("headers", f"{name} is set by zcomp")
    if "\r" in value or "\n" in value:
        raise _config("headers", f"the value of {name} contains a line break")
    looks_secret = bool(_CREDENTIAL_NAME.search(name.lower()) or _CREDENTIAL_VALUE.match(value))
    if not looks_secret:
        try:
            refuse_secrets(value, f"header {name}")
        except TicketError:
            looks_secret = True
    if looks_secret:
        where = (
            "it is sent as Authorization: Bearer <token>"
            if name.lower() == "authorization"
            else f'and set token_header = "{name}"'
        )
        raise _config(
            "headers",
            f"{name} looks like a credential, and a secret is never written in the config: "
            f"put it in token_file (or token_env, token_keyring) {where}",
        )


class WebhookBackend:
    name = NAME

    def __init__(
        self,
        settings: WebhookSettings,
        records: SentRecords,
        *,
        debug: Callable[[str], None] | None = None,
        warn: Callable[[str], None] = lambda _text: None,
    ) -> None:
        self.settings = settings
        self.records = records
        self.debug = debug
        self.warn = warn
        self.sleep: Callable[[float], None] = time.sleep  # 429 waits (tests replace it)
        self.clock: Callable[[], float] = time.time

    # -- the interface ---------------------------------------------------------------------

    def open(self, content: TicketContent) -> TicketRef:
        key = idempotency_key(content.incident_id)
        event = Event(
            event="open",
            incident=incident_key(content.incident_id),
            account=content.account,
            title=title_line(content),
            text=render_text(content),
            time=stamp(),
        )
        refuse_secrets(event.title, f"the title of ticket {event.incident}")
        refuse_secrets(event.text, f"ticket {event.incident}")

        def new() -> SentRecord:
            return SentRecord(
                key=key,
                ref_id=safe_name(key),  # a file name and a header value
                incident=event.incident,
                account=event.account,
                title=event.title,
                started=event.time,
            )

        def resending(record: SentRecord) -> None:
            self.warn(
                f"{NAME}: the last attempt to post ticket {record.ref_id} got no reply and may "
                "have reached the endpoint; posting it again with the same Idempotency-Key "
                "(a chat room may show it twice)"
            )

        def create() -> TicketRef:
            record = send_first(
                self.records,
                key,
                new,
                lambda r: self._post(event, r.ref_id, r.ref_id),
                resending=resending,
            )
            return self._ref(record)

        return open_once(lambda: self.find(content.incident_id), create)

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
        record = self.records.load(idempotency_key(incident_id))
        if record is None or record.state != SENT:
            return None
        return self._ref(record)

    def comment(self, ref: TicketRef, text: str) -> None:
        refuse_secrets(text, f"a comment on ticket {ref.id}")
        with self.records.locked(self._name(ref)):
            record = self._record(ref)
            number = record.comments + 1
            # The same comment retried after a lost reply keeps its Idempotency-Key.
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
            self._post(
                self._event(record, "comment", text),
                record.ref_id,
                f"{record.ref_id}.comment-{number}-{digest}",
            )
            record.comments = number
            self.records.save(record)

    def resolve(self, ref: TicketRef, text: str) -> bool:
        """Post the resolution once; resolving a resolved ticket posts nothing."""
        refuse_secrets(text, f"the resolution of ticket {ref.id}")
        with self.records.locked(self._name(ref)):
            record = self._record(ref)
            if not record.resolved:
                event = self._event(record, "resolve", text)
                self._post(event, record.ref_id, f"{record.ref_id}.resolve")
                record.resolved = True
                self.records.save(record)
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _ref(self, record: SentRecord) -> TicketRef:
        return TicketRef(backend=NAME, id=record.ref_id, url=None)

    def _name(self, ref: TicketRef) -> str:
        if ref.backend != NAME or safe_name(ref.id) != ref.id:
            raise TicketError(f"ticket {ref.backend}:{ref.id} is not a webhook-backend ticket")
        return ref.id

    def _record(self, ref: TicketRef) -> SentRecord:
        record = self.records.load(self._name(ref))
        if record is None or record.ref_id != ref.id:
            raise TicketError(
                f"ticket {ref.id} not found: no record of it under {self.records.directory} "
                "(it was not posted from this state directory)"
            )
        if record.state != SENT:
            raise TicketError(f"ticket {ref.id} was never confirmed posted: open it again first")
        return record

    def _event(self, record: SentRecord, kind: str, text: str) -> Event:
        return Event(kind, record.incident, record.account, record.title, text, stamp())

    def _post(self, event: Event, ticket: str, delivery: str) -> None:
        s = self.settings
        body = s.body.render(event)
        refuse_secrets(body.decode("utf-8"), f"the {event.event} request for {event.incident}")
        headers = {
            "User-Agent": USER_AGENT,
            **s.headers,
            "Idempotency-Key": delivery,
            "X-Zcomp-Event": event.event,
            "X-Zcomp-Incident": ticket,
        }
        if s.hmac_secret is not None:
            timestamp = str(int(self.clock()))
            signed = timestamp.encode("ascii") + b"." + body
            digest = hmac.new(s.hmac_secret.reveal().encode("utf-8"), signed, hashlib.sha256)
            headers["X-Zcomp-Timestamp"] = timestamp
            headers["X-Zcomp-Signature"] = "sha256=" + digest.hexdigest()
        http = TicketHttp(
            backend=NAME,
            base_url=s.url.reveal(),
            auth=self._auth,
            headers=headers,
            timeout_s=s.timeout_s,
            verify=s.verify,
            ca_file=s.ca_file,
            debug=self._debug if self.debug is not None else None,
            sleep=self.sleep,
        )
        try:
            reply = http.request(s.method, "", data=body, content_type=s.content_type, ok=_ANSWERED)
        except TicketError as exc:
            raise self._hidden(exc) from None
        if reply.status >= 400:
            raise self._refusal(reply)

    def _auth(self) -> dict[str, str]:
        token = self.settings.token
        if token is None:
            return {}
        if self.settings.token_header is not None:
            return {self.settings.token_header: token.reveal()}
        return {"Authorization": f"Bearer {token.reveal()}"}

    def _refusal(self, reply: Reply) -> TicketError:
        s = self.settings
        said = excerpt(reply.body)
        where = f"{NAME}: {s.method} {s.shown_url}: HTTP {reply.status}"
        if reply.status in (401, 403):
            names = [n for n, v in (("token", s.token), ("hmac_secret", s.hmac_secret)) if v]
            check = " and ".join(names) or "url"
            return TicketError(f"{where}: refused ({said}): check [tickets.{NAME}] {check}")
        if reply.status in (404, 410):
            return TicketNotFound(f"{where}: no such endpoint ({said}): check [tickets.{NAME}] url")
        if reply.status == 409:
            return TicketConflict(f"{where}: conflict ({said})")
        if reply.status in (400, 422):
            return TicketError(
                f"{where}: the body was refused ({said}): check [tickets.{NAME}] body"
            )
        return TicketError(f"{where}: {said}")

    def _hidden(self, exc: TicketError) -> TicketError:
        """`exc` with the URL's path (and query) replaced by …: it may be the secret."""
        text = self._without_url(exc.message)
        if isinstance(exc, TicketUnreachable):
            return TicketUnreachable(text, maybe_applied=exc.maybe_applied)
        return type(exc)(text)

    def _without_url(self, text: str) -> str:
        url = self.settings.url.reveal()
        parts = urlsplit(url)
        shown = self.settings.shown_url
        # The whole URL first, then as TicketHttp shows it (without the query); a URL with no
        # path is its own shown form and carries nothing to hide.
        for full in (url, f"{parts.scheme}://{parts.netloc}{parts.path}"):
            if not shown.startswith(full):
                text = text.replace(full, shown)
        return text

    def _debug(self, text: str) -> None:
        if self.debug is not None:
            self.debug(self._without_url(text))
