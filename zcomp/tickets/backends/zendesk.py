"""The `zendesk` backend: a ticket through the Zendesk Support (Ticketing) API, API token auth.

- open: POST /api/v2/tickets.json, the body as the first comment (private), the incident's
  idempotency key (zcomp-INC-7K3MQ9XA) as the ticket's `external_id` and, lower-cased, as a tag.
  The create also carries the key as its Idempotency-Key header: Zendesk answers a repeat
  within two hours with the ticket the first request made.
- find: GET /api/v2/tickets.json?external_id=<key> (a database lookup: a create whose reply was
  lost is found at once). With `external_id = false` (the field belongs to another integration)
  the tag is searched instead, GET /api/v2/search.json, which Zendesk indexes within minutes.
- comment: PUT /api/v2/tickets/{id}.json with a private comment.
- resolve: the same PUT with status "solved" and the closing note as a private comment; an
  unassigned ticket is assigned to the API user, as Zendesk refuses to solve it otherwise.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from zcomp.exitcodes import ConfigError
from zcomp.tickets.backend import open_once
from zcomp.tickets.content import (
    IncidentRef,
    TicketContent,
    TicketRef,
    idempotency_key,
    incident_key,
)
from zcomp.tickets.errors import TicketError
from zcomp.tickets.guard import refuse_secrets
from zcomp.tickets.http import Reply, TicketConflict, TicketHttp, refusal
from zcomp.tickets.options import Options
from zcomp.tickets.registry import BackendContext
from zcomp.tickets.render import render_text, title_line
from zcomp.zimbra.model import Secret

NAME = "zendesk"
FINISHED = frozenset({"solved", "closed"})
_REFUSALS = (400, 401, 403, 404, 409, 422)  # judged here, to say which setting to check
_TICKET_ID = re.compile(r"[1-9][0-9]*")
_TAG = re.compile(r"[^\s,]+")  # Zendesk splits tags on spaces (and commas in the UI)


@dataclass(frozen=True)
class ZendeskSettings:
    url: str
    email: str  # the API user: also the assignee when an unassigned ticket is solved
    external_id: bool  # the key in external_id (found by a lookup), else only as a tag
    group_id: int | None
    requester: str | int | None  # an email, or a user id
    tags: tuple[str, ...]


class ZendeskBackend:
    name = NAME

    def __init__(self, settings: ZendeskSettings, http: TicketHttp) -> None:
        self.settings = settings
        self.http = http

    # -- the interface ---------------------------------------------------------------------

    def open(self, content: TicketContent) -> TicketRef:
        where = f"ticket {incident_key(content.incident_id)}"
        subject = title_line(content)
        body = render_text(content)
        refuse_secrets(subject, where)
        refuse_secrets(body, where)
        key = idempotency_key(content.incident_id)
        return open_once(
            lambda: self.find(content.incident_id), lambda: self._create(key, subject, body)
        )

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
        key = idempotency_key(incident_id)
        if self.settings.external_id:
            listed = self._call("GET", "/api/v2/tickets.json", params={"external_id": key})
            tickets = _list(listed.json(), "tickets")
            matches = [t for t in tickets if t.get("external_id") == key]
        else:
            tag = _key_tag(key)
            query = f'type:ticket tags:"{tag}"'
            listed = self._call("GET", "/api/v2/search.json", params={"query": query})
            results = _list(listed.json(), "results")
            matches = [
                t
                for t in results
                if t.get("result_type", "ticket") == "ticket" and tag in _tags_of(t)
            ]
        ids = sorted(i for t in matches if isinstance(i := t.get("id"), int) and i > 0)
        return self._ref(ids[0]) if ids else None  # a duplicate, if ever: the oldest wins

    def comment(self, ref: TicketRef, text: str) -> None:
        ticket_id = self._ticket_id(ref)
        refuse_secrets(text, f"a comment on ticket {ref.id}")
        self._update(ticket_id, {"comment": {"body": text, "public": False}})

    def resolve(self, ref: TicketRef, text: str) -> bool:
        ticket_id = self._ticket_id(ref)
        refuse_secrets(text, f"the resolution of ticket {ref.id}")
        shown = self._call("GET", f"/api/v2/tickets/{ticket_id}.json").json()
        ticket = shown.get("ticket") if isinstance(shown, Mapping) else None
        if not isinstance(ticket, Mapping):
            raise TicketError(f"{NAME}: the reply for ticket {ticket_id} holds no ticket")
        if ticket.get("status") in FINISHED:
            return True
        change: dict[str, Any] = {
            "status": "solved",
            "comment": {"body": text, "public": False},
        }
        if ticket.get("assignee_id") is None:
            change["assignee_email"] = self.settings.email
        self._update(ticket_id, change)
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _create(self, key: str, subject: str, body: str) -> TicketRef:
        s = self.settings
        ticket: dict[str, Any] = {
            "subject": subject,
            "comment": {"body": body, "public": False},
            "tags": [*s.tags, _key_tag(key)],
        }
        if s.external_id:
            ticket["external_id"] = key
        if s.group_id is not None:
            ticket["group_id"] = s.group_id
        if isinstance(s.requester, int):
            ticket["requester_id"] = s.requester
        elif s.requester is not None:
            ticket["requester"] = {"email": s.requester}
        # The key as Idempotency-Key too: a repeat of this create within two hours is
        # answered with the first one's ticket, whatever the lookup above saw.
        http = dataclasses.replace(self.http, headers={**self.http.headers, "Idempotency-Key": key})
        reply = self._call(
            "POST", "/api/v2/tickets.json", json={"ticket": ticket}, ok=(201,), http=http
        )
        made = reply.json()
        made_ticket = made.get("ticket") if isinstance(made, Mapping) else None
        ticket_id = made_ticket.get("id") if isinstance(made_ticket, Mapping) else None
        if not isinstance(ticket_id, int) or ticket_id <= 0:
            raise TicketError(f"{NAME}: the create reply names no ticket id")
        return self._ref(ticket_id)

    def _update(self, ticket_id: str, change: Mapping[str, Any]) -> None:
        path = f"/api/v2/tickets/{ticket_id}.json"
        try:
            self._call("PUT", path, json={"ticket": change})
        except TicketConflict:
            # Zendesk answers 409 when another update of the ticket was under way and asks
            # for a retry; the refused update was not applied.
            self._call("PUT", path, json={"ticket": change})

    def _ref(self, ticket_id: int) -> TicketRef:
        return TicketRef(NAME, str(ticket_id), f"{self.settings.url}/agent/tickets/{ticket_id}")

    def _ticket_id(self, ref: TicketRef) -> str:
        if ref.backend != NAME or not _TICKET_ID.fullmatch(ref.id):
            raise TicketError(f"ticket {ref.backend}:{ref.id} is not a Zendesk ticket")
        return ref.id

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        ok: tuple[int, ...] = (200,),
        http: TicketHttp | None = None,
    ) -> Reply:
        via = http or self.http
        reply = via.request(method, path, json=json, params=params, ok=ok + _REFUSALS)
        if reply.status in ok:
            return reply
        raise self._refusal(method, path, reply)

    def _refusal(self, method: str, path: str, reply: Reply) -> TicketError:
        where = f"{NAME}: {method} {path}: HTTP {reply.status}"
        said = _said(reply)
        return refusal(
            where,
            reply.status,
            said,
            refused=f"the credentials were refused ({said}); check [tickets.{NAME}] email and "
            "token (an API token, with token access enabled in the Admin Center)",
            forbidden=f"not allowed ({said}); check the role of [tickets.{NAME}] email (an "
            "agent who may create and edit tickets)",
        )


# -- making the backend --------------------------------------------------------------------


def make(options: Options, context: BackendContext) -> ZendeskBackend:
    url = options.url("url")
    email = options.required_text("email")
    token = options.secret("token")
    if token is None:  # required=True already refused a missing one
        raise _config_error("token", "is required")
    external_id = options.boolean("external_id", default=True)
    group_id = options.integer("group_id", default=0, low=1, high=2**63 - 1) or None
    requester = _requester(options)
    tags = tuple(options.strings("tags")) if "tags" in options.table else ("zcomp",)
    for tag in tags:
        if not _TAG.fullmatch(tag):
            raise _config_error("tags", f"a tag cannot hold spaces or commas, got {tag!r}")
    timeout = options.seconds("timeout", default=15.0)
    verify = options.boolean("verify", default=True)
    ca_file = options.ca_file()
    options.done()
    options.transport_warnings(url, verify=verify, what="the token")
    settings = ZendeskSettings(url, email, external_id, group_id, requester, tags)
    http = TicketHttp(
        backend=NAME,
        base_url=url,
        auth=_auth(email, token),
        timeout_s=timeout,
        verify=verify,
        ca_file=ca_file,
        debug=context.debug,
    )
    return ZendeskBackend(settings, http)


def _auth(email: str, token: Secret) -> Callable[[], dict[str, str]]:
    def basic() -> dict[str, str]:
        # Zendesk's API-token form of basic auth: "{email}/token:{api_token}".
        pair = f"{email}/token:{token.reveal()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    return basic


def _requester(options: Options) -> str | int | None:
    if isinstance(options.table.get("requester"), int):
        return options.integer("requester", default=0, low=1, high=2**63 - 1)
    value = options.text("requester")
    if value is not None and "@" not in value:
        raise _config_error("requester", f"expected an email address or a user id, got {value!r}")
    return value


def _config_error(key: str, problem: str) -> ConfigError:
    return ConfigError(f"[tickets.{NAME}] {key}: {problem}")


# -- small pure helpers ---------------------------------------------------------------------


def _key_tag(key: str) -> str:
    # Tags are matched without regard to case; lower case is how Zendesk shows them.
    return key.lower()


def _list(body: Any, key: str) -> list[Mapping[str, Any]]:
    items = body.get(key) if isinstance(body, Mapping) else None
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def _tags_of(ticket: Mapping[str, Any]) -> set[str]:
    tags = ticket.get("tags")
    return {t.lower() for t in tags if isinstance(t, str)} if isinstance(tags, list) else set()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _said(reply: Reply) -> str:
    """Zendesk's {"error": "RecordInvalid", "description": ..., "details": {field: [{...}]}},
    {"error": "Couldn't authenticate you"} or {"error": {"title": ..., "message": ...}}."""
    try:
        body = reply.json()
    except TicketError:
        body = None
    parts: list[str] = []
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            parts += [str(error[k]) for k in ("title", "message") if error.get(k)]
        elif isinstance(error, str):
            parts.append(error)
        if isinstance(body.get("description"), str):
            parts.append(body["description"])
        details = body.get("details")
        if isinstance(details, Mapping):
            for field, problems in details.items():
                for problem in problems if isinstance(problems, list) else []:
                    if isinstance(problem, Mapping) and problem.get("description"):
                        parts.append(f"{field}: {problem['description']}")
    text = "; ".join(parts) if parts else reply.body.decode("utf-8", "replace")
    return _clip(" ".join(text.split()), 300) or "no details"
