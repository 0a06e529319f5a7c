"""The `rt` backend: Request Tracker 5 through its REST2 API (<url>/REST/2.0/, core since 5.0).

Endpoints: POST /ticket (create), GET /tickets?query=<TicketSQL> (find), GET /ticket/<n> (read),
POST /ticket/<n>/comment (comment, closing note), PUT /ticket/<n> {"Status": ...} (resolve).

The incident is found again by its idempotency key ("zcomp-INC-7K3MQ9XA"): at the end of the Subject
in brackets, or, with `custom_field`, as the value of that ticket custom field. The search spans
every queue the user can see (a ticket the help desk moved to another queue is still found).

Plain TicketHttp rather than the `rt` package: four JSON endpoints do not pay for httpx, and
TicketHttp already gives the one-line errors, the create-may-have-landed signal and the
no-secret-in-errors rule every backend shares.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from zcomp.exitcodes import ConfigError
from zcomp.tickets.backend import TicketBackend, open_once
from zcomp.tickets.content import IncidentRef, TicketContent, TicketRef, idempotency_key
from zcomp.tickets.errors import TicketError
from zcomp.tickets.guard import refuse_secrets
from zcomp.tickets.http import TicketHttp, TicketNotFound
from zcomp.tickets.options import Options
from zcomp.tickets.registry import BackendContext
from zcomp.tickets.render import render_text, title_line

REST2 = "/REST/2.0"
ACCOUNT = "account"  # `requestor = "account"`: the contained account itself
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# 'CF.{name}' in TicketSQL: a name with braces, quotes or backslashes cannot be written there.
_CF_NAME = re.compile(r"[^{}'\"\\]+")
_NUMBER = re.compile(r"[1-9][0-9]*")
SUBJECT_BYTES = 200  # RT's Tickets.Subject is varchar(200)
SEARCH_PAGE = 100  # REST2's largest page; more than one ticket per incident is already a fault


@dataclass(frozen=True)
class RtSettings:
    url: str  # RT's base URL, without /REST/2.0
    queue: str
    custom_field: str | None = None  # ticket custom field holding the key; None: the Subject
    requestor: str | None = None  # an address, ACCOUNT, or None (no requestor: no RT mail)
    resolved_status: str = "resolved"


@dataclass(frozen=True)
class RtTicket:
    number: str
    status: str


class RtBackend:
    name = "rt"

    def __init__(self, settings: RtSettings, http: TicketHttp) -> None:
        self.settings = settings
        self.http = http

    # -- the interface ---------------------------------------------------------------------

    def open(self, content: TicketContent) -> TicketRef:
        return open_once(lambda: self.find(content.incident_id), lambda: self._create(content))

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
        key = idempotency_key(incident_id)
        field = self.settings.custom_field
        if field is None:
            # LIKE is a substring match with wildcards: every hit is checked for the bracketed
            # key itself below.
            query = f"Subject LIKE {_sql_text(_subject_tag(key))}"
        else:
            query = f"'CF.{{{field}}}' = {_sql_text(key)}"
        reply = self.http.request(
            "GET",
            "/tickets",
            params={
                "query": query,
                "fields": "Subject,Status" if field is None else "Subject,Status,CustomFields",
                "orderby": "id",
                "order": "ASC",
                "per_page": SEARCH_PAGE,
            },
        )
        for item in _items(reply.json()):
            if self._holds_key(item, key):
                return self._ref(_number(item.get("id")))
        return None

    def comment(self, ref: TicketRef, text: str) -> None:
        number = self._number(ref)
        refuse_secrets(text, f"a comment on RT ticket {number}")
        # RT answers a comment on a missing ticket with 400 "Message could not be recorded": read
        # the ticket first so that a wrong number is a clear "not found".
        self._ticket(number)
        self._add_comment(number, text)

    def resolve(self, ref: TicketRef, text: str) -> bool:
        """The closing note as a comment (internal: no mail to requestors), then the status.
        A resolved ticket is left alone: resolving twice adds no second note."""
        number = self._number(ref)
        refuse_secrets(text, f"the resolution of RT ticket {number}")
        wanted = self.settings.resolved_status
        if self._ticket(number).status == wanted:
            return True
        self._add_comment(number, text)
        reply = self.http.request("PUT", f"/ticket/{number}", json={"Status": wanted})
        # RT answers 200 whether or not the status changed (a lifecycle without it, a missing
        # right): its messages say why; the ticket itself says whether.
        status = self._ticket(number).status
        if status != wanted:
            said = "; ".join(str(m) for m in reply.json() or []) or "no reason given"
            raise TicketError(
                f"rt: ticket {number} is still {status!r}, not {wanted!r}: RT said: {said}"
            )
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _create(self, content: TicketContent) -> TicketRef:
        key = idempotency_key(content.incident_id)
        body = render_text(content)
        tail = _subject_tag(key) if self.settings.custom_field is None else ""
        subject = _fit_subject(title_line(content), tail)
        refuse_secrets(subject, f"the subject of the RT ticket for {key}")
        refuse_secrets(body, f"the RT ticket for {key}")
        payload: dict[str, Any] = {
            "Queue": self.settings.queue,
            "Subject": subject,
            "Content": body,
            "ContentType": "text/plain",
        }
        if self.settings.custom_field is not None:
            self._check_custom_field()
            payload["CustomFields"] = {self.settings.custom_field: key}
        requestor = self.settings.requestor
        if requestor is not None:
            address = content.account if requestor == ACCOUNT else requestor
            refuse_secrets(address, f"the requestor of the RT ticket for {key}")
            payload["Requestor"] = address
        reply = self.http.request("POST", "/ticket", json=payload)
        created = reply.json()
        if not isinstance(created, dict):
            raise TicketError("rt: the reply to the ticket create has no ticket id")
        return self._ref(_number(created.get("id")))

    def _check_custom_field(self) -> None:
        """RT creates the ticket even when the custom field does not apply to the queue (the
        value is dropped without a word), and such a ticket is never found again: every retry
        would file one more. So the queue must list the field before anything is created."""
        field = self.settings.custom_field
        queue = self.http.request("GET", f"/queue/{quote(self.settings.queue, safe='')}").json()
        listed = queue.get("TicketCustomFields") if isinstance(queue, dict) else None
        names = {cf.get("name") for cf in listed or [] if isinstance(cf, dict)}
        if field not in names:
            raise TicketError(
                f"rt: the ticket custom field {field!r} does not apply to queue "
                f"{self.settings.queue!r} (ask an RT admin to apply it, or unset custom_field)"
            )

    def _add_comment(self, number: str, text: str) -> None:
        self.http.request(
            "POST",
            f"/ticket/{number}/comment",
            json={"Content": text, "ContentType": "text/plain"},
        )

    def _ticket(self, number: str) -> RtTicket:
        try:
            data = self.http.request("GET", f"/ticket/{number}").json()
        except TicketNotFound:
            raise TicketNotFound(f"rt: ticket {number} not found") from None
        if not isinstance(data, dict):
            raise TicketError(f"rt: unexpected reply for ticket {number}")
        return RtTicket(number, str(data.get("Status") or ""))

    def _holds_key(self, item: dict[str, Any], key: str) -> bool:
        field = self.settings.custom_field
        if field is None:
            return _subject_tag(key).lower() in str(item.get("Subject") or "").lower()
        for cf in item.get("CustomFields") or []:
            if isinstance(cf, dict) and cf.get("name") == field:
                return any(str(v).lower() == key.lower() for v in cf.get("values") or [])
        return False

    def _number(self, ref: TicketRef) -> str:
        if ref.backend != self.name or not _NUMBER.fullmatch(ref.id):
            raise TicketError(f"{ref.backend} ticket {ref.id!r} is not an RT ticket")
        return ref.id

    def _ref(self, number: str) -> TicketRef:
        return TicketRef(self.name, number, f"{self.settings.url}/Ticket/Display.html?id={number}")


def _subject_tag(key: str) -> str:
    return f"[{key}]"


def _fit_subject(title: str, tail: str) -> str:
    """`title tail` within RT's Subject column (varchar(200)): RT cuts a longer subject without
    a word, and a cut-off key would never be found again. The title gives way, never the key."""
    subject = f"{title} {tail}".rstrip()
    if len(subject.encode("utf-8")) <= SUBJECT_BYTES:
        return subject
    room = SUBJECT_BYTES - len(f"... {tail}".rstrip().encode("utf-8"))
    cut = title.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip()
    return f"{cut}... {tail}".rstrip()


def _sql_text(value: str) -> str:
    """A TicketSQL string literal: single quotes, with \\ and ' escaped by a backslash."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _items(data: Any) -> list[dict[str, Any]]:
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise TicketError("rt: unexpected reply to the ticket search (no items)")
    return [item for item in items if isinstance(item, dict)]


def _number(value: Any) -> str:
    text = str(value) if isinstance(value, (int, str)) else ""
    if not _NUMBER.fullmatch(text):
        raise TicketError(f"rt: unexpected ticket id in RT's reply: {value!r}")
    return text


# -- configuration -------------------------------------------------------------------------


def make(options: Options, context: BackendContext) -> TicketBackend:
    url = options.url("url")
    # REST2 is always <url>/REST/2.0; the base URL also builds the ticket links people click.
    if url.lower().endswith(REST2.lower()):
        url = url[: -len(REST2)].rstrip("/")
    queue = options.required_text("queue")
    auth = _auth(options)
    timeout = options.seconds("timeout", default=15.0)
    verify = options.boolean("verify", default=True)
    ca_file = options.ca_file()
    custom_field = options.text("custom_field")
    if custom_field is not None and not _CF_NAME.fullmatch(custom_field):
        raise ConfigError(
            f"[tickets.rt] custom_field: {custom_field!r} cannot be searched in TicketSQL "
            "(no braces, quotes or backslashes)"
        )
    requestor = options.text("requestor")
    if requestor is not None and requestor != ACCOUNT and not _ADDRESS.fullmatch(requestor):
        raise ConfigError(
            f"[tickets.rt] requestor: expected an email address or {ACCOUNT!r}, got {requestor!r}"
        )
    resolved_status = options.required_text("resolved_status", default="resolved")
    options.done()
    options.transport_warnings(url, verify=verify, what="the credentials")
    http = TicketHttp(
        backend="rt",
        base_url=url + REST2,
        auth=auth,
        timeout_s=timeout,
        verify=verify,
        ca_file=ca_file,
        debug=context.debug,
    )
    settings = RtSettings(url, queue, custom_field, requestor, resolved_status)
    return RtBackend(settings, http)


def _auth(options: Options) -> Callable[[], dict[str, str]]:
    """`token_*` (RT auth token) or `username` + `password_*` (HTTP basic): exactly one."""
    token = options.secret("token", required=False)
    username = options.text("username")
    password = options.secret("password", required=False)
    if token is not None:
        if username is not None or password is not None:
            raise ConfigError(
                "[tickets.rt] token: give either token_* or username + password_*, not both"
            )
        header = f"token {token.reveal()}"
        return lambda: {"Authorization": header}
    if username is None and password is None:
        raise ConfigError(
            "[tickets.rt] token: is required: set token_file, token_env or token_keyring = true "
            "(or username and password_file)"
        )
    if username is None:
        raise ConfigError("[tickets.rt] username: is required with password_*")
    if password is None:
        raise ConfigError(
            "[tickets.rt] password: is required with username: set password_file, password_env "
            "or password_keyring = true"
        )
    if ":" in username:
        raise ConfigError("[tickets.rt] username: HTTP basic auth cannot carry a ':' in it")
    basic = base64.b64encode(f"{username}:{password.reveal()}".encode()).decode("ascii")
    return lambda: {"Authorization": f"Basic {basic}"}
