"""The `zammad` backend: Zammad REST API v1 with an access token.

The ticket is created with the incident's idempotency key (zcomp-INC-7K3MQ9XA) as a tag, in the
same request (POST /api/v1/tickets with "tags"): a ticket never exists without its key, as it
could if the tag were added by a second request that failed. It is found again with
GET /api/v1/tickets/search and a tag condition but no query: Zammad then searches its database,
not Elasticsearch, whose index lags behind a ticket created a moment ago (the very retry after a
create that timed out).

Notes are internal articles of type "note" (POST /api/v1/ticket_articles): never mailed to, nor
shown to, the ticket's customer. Resolving sets `resolved_state` with its closing note in one
PUT /api/v1/tickets/{id}.

Errors: 401 {"error": "Can't find User for Token"} (a wrong or expired token), 403 {"error":
"Not authorized"} (no agent access to the group), 404 (no such ticket), 422 {"error",
"error_human"} (an unknown group, customer, state or priority): each one TicketError line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zcomp.exitcodes import ConfigError
from zcomp.tickets.backend import open_once
from zcomp.tickets.content import IncidentRef, TicketContent, TicketRef, idempotency_key
from zcomp.tickets.errors import TicketError
from zcomp.tickets.guard import refuse_secrets
from zcomp.tickets.http import Reply, TicketHttp, TicketNotFound, excerpt
from zcomp.tickets.options import Options
from zcomp.tickets.render import one_line, render_text, title_line
from zcomp.zimbra.model import Secret

if TYPE_CHECKING:
    from zcomp.tickets.registry import BackendContext

NAME = "zammad"
API = "/api/v1"
TITLE_MAX = 250  # tickets.title is a string(250)
CONTENT_TYPE = "text/plain"
TOKEN = f"[tickets.{NAME}] token (token_file / token_env / token_keyring)"
EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\Z")


@dataclass(frozen=True)
class ZammadSettings:
    url: str  # https://desk.example.edu, without /api/v1
    group: str
    customer: str  # an email address (customer) or a user id (customer_id)
    state: str | None
    priority: str | None
    resolved_state: str
    tag: str | None  # an extra tag on every zcomp ticket, besides the idempotency key


class ZammadBackend:
    name = NAME

    def __init__(self, settings: ZammadSettings, token: Secret, http: TicketHttp) -> None:
        self.settings = settings
        self._token = token
        self.http = http

    # -- the interface ---------------------------------------------------------------------

    def open(self, content: TicketContent) -> TicketRef:
        title = title_line(content)[:TITLE_MAX]
        body = render_text(content)
        refuse_secrets(title, "the ticket title")
        refuse_secrets(body, "the ticket body")
        return open_once(
            lambda: self.find(content.incident_id),
            lambda: self._create(content.incident_id, title, body),
        )

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
        # No `query`: Zammad then runs the condition on its database (see the module doc).
        params = {
            "condition[ticket.tags][operator]": "contains all",
            "condition[ticket.tags][value]": idempotency_key(incident_id),
            "sort_by": "created_at",
            "order_by": "asc",
            "limit": "10",
        }
        data = self._request("GET", f"{API}/tickets/search", params=params).json()
        found = data.get("tickets") if isinstance(data, dict) else None
        ids = [i for i in (_id(v) for v in found or []) if i is not None]
        if not ids:
            return None
        return self._ref(min(ids))  # the first one filed, should a duplicate ever exist

    def comment(self, ref: TicketRef, text: str) -> None:
        ticket_id = self._ticket_id(ref)
        refuse_secrets(text, f"a comment on ticket {ref.id}")
        self._request(
            "POST",
            f"{API}/ticket_articles",
            json={"ticket_id": ticket_id, **self._article("zcomp: note", text)},
        )

    def resolve(self, ref: TicketRef, text: str) -> bool:
        """Set `resolved_state` with a closing note; a ticket already in it is left alone."""
        ticket_id = self._ticket_id(ref)
        refuse_secrets(text, f"the resolution of ticket {ref.id}")
        current = self._request(
            "GET", f"{API}/tickets/{ticket_id}", params={"expand": "true"}
        ).json()
        if isinstance(current, dict) and current.get("state") == self.settings.resolved_state:
            return True
        self._request(
            "PUT",
            f"{API}/tickets/{ticket_id}",
            json={
                "state": self.settings.resolved_state,
                "article": self._article("zcomp: resolved", text),
            },
        )
        return True

    # -- requests --------------------------------------------------------------------------

    def _create(self, incident_id: IncidentRef, title: str, body: str) -> TicketRef:
        settings = self.settings
        tags = [idempotency_key(incident_id)] + ([settings.tag] if settings.tag else [])
        payload: dict[str, Any] = {
            "title": title,
            "group": settings.group,
            "tags": ",".join(tags),
            "article": self._article(title, body),
        }
        if settings.customer.isdigit():
            payload["customer_id"] = int(settings.customer)
        else:
            payload["customer"] = settings.customer
        if settings.state:
            payload["state"] = settings.state
        if settings.priority:
            payload["priority"] = settings.priority
        data = self._request("POST", f"{API}/tickets", json=payload).json()
        ticket_id = _id(data.get("id")) if isinstance(data, dict) else None
        if ticket_id is None:
            raise TicketError(f"{NAME}: POST {API}/tickets answered without a ticket id")
        return self._ref(ticket_id)

    def _article(self, subject: str, body: str) -> dict[str, Any]:
        return {
            "subject": subject,
            "body": body,
            "type": "note",
            "internal": True,
            "content_type": CONTENT_TYPE,
        }

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        where = f"{NAME}: {method} {path}"
        try:
            reply = self.http.request(
                method, path, json=json, params=params, ok=(200, 201, 401, 403, 404, 422)
            )
        except TicketError as exc:
            exc.args = (self._scrub(str(exc)),)
            raise
        if reply.status not in (401, 403, 404, 422):
            return reply
        said = self._said(reply)
        if reply.status == 404:
            raise TicketNotFound(f"{where}: HTTP 404: not found ({said})")
        if reply.status == 401:
            raise TicketError(
                f"{where}: HTTP 401: the access token was refused ({said}): check {TOKEN}, "
                "and that the token has not expired"
            )
        if reply.status == 403:
            raise TicketError(
                f"{where}: HTTP 403: not allowed ({said}): the token's user needs the "
                f"ticket.agent permission and agent access to group {self.settings.group!r} "
                f"(and check {TOKEN})"
            )
        raise TicketError(
            f"{where}: HTTP 422: refused: {said}; check [tickets.{NAME}] group, customer, "
            "state, priority, resolved_state and tag"
        )

    def _said(self, reply: Reply) -> str:
        """Zammad's error_human (or error), else the start of the body; one line."""
        try:
            data = reply.json()
        except TicketError:
            data = None
        if isinstance(data, dict):
            text = data.get("error_human") or data.get("error")
            if isinstance(text, str) and text.strip():
                return self._scrub(one_line(text))[:200]
        return self._scrub(excerpt(reply.body))

    # -- helpers ---------------------------------------------------------------------------

    def _ref(self, ticket_id: int) -> TicketRef:
        return TicketRef(
            backend=NAME, id=str(ticket_id), url=f"{self.settings.url}/#ticket/zoom/{ticket_id}"
        )

    def _ticket_id(self, ref: TicketRef) -> int:
        if ref.backend != NAME or not ref.id.isdigit() or int(ref.id) <= 0:
            raise TicketError(f"ticket {ref.backend}:{ref.id} is not a {NAME} ticket")
        return int(ref.id)

    def _scrub(self, text: str) -> str:
        secret = self._token.reveal()
        return text.replace(secret, "***") if secret else text


def _id(value: Any) -> int | None:
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    return int(text) if text.isdigit() and int(text) > 0 else None


def make(options: Options, context: BackendContext) -> ZammadBackend:
    url = options.url("url")
    url = url[: -len(API)] if url.endswith(API) else url
    token = options.secret("token")
    if token is None:  # not reached: required secrets raise in Options
        raise ConfigError(f"[tickets.{NAME}] token: is required")
    group = options.required_text("group")
    customer = options.required_text("customer")
    if not (customer.isdigit() or EMAIL.match(customer)):
        raise ConfigError(
            f"[tickets.{NAME}] customer: expected an email address or a user id, got {customer!r}"
        )
    tag = options.text("tag")
    if tag is not None and "," in tag:
        raise ConfigError(f"[tickets.{NAME}] tag: one tag, without commas, got {tag!r}")
    settings = ZammadSettings(
        url=url,
        group=group,
        customer=customer,
        state=options.text("state"),
        priority=options.text("priority"),
        resolved_state=options.required_text("resolved_state", default="closed"),
        tag=tag,
    )
    secret = token.reveal()
    verify = options.boolean("verify", default=True)
    http = TicketHttp(
        backend=NAME,
        base_url=url,
        auth=lambda: {"Authorization": f"Token token={secret}"},
        timeout_s=options.seconds("timeout", default=15.0),
        verify=verify,
        ca_file=options.ca_file(),
        debug=context.debug,
    )
    options.done()
    options.transport_warnings(url, verify=verify, what="the token")
    return ZammadBackend(settings, token, http)
