"""The `znuny` backend: Znuny (and OTRS 6) through a GenericInterface REST web service.

The admin imports the web service of docs/tickets/znuny.md (operations TicketCreate, TicketUpdate,
TicketSearch, TicketGet). Every request is a JSON body carrying UserLogin and Password, as
GenericInterface expects: no session to create or expire, and the password never travels in a
URL (so never in a web server's access log). That is why TicketSearch and TicketGet are routed
as POST: since OTRS 6.0.27 the REST transport ignores a GET body (bug 14203), and a query string
cannot carry the nested DynamicField search.

GenericInterface reports a refused operation as HTTP 200 with {"Error": {"ErrorCode",
"ErrorMessage"}}; those become one TicketError line here. HTTP 401/403/429/5xx come from a web
server or proxy in front and are handled by TicketHttp.

The ticket is found again by its idempotency key (zcomp-INC-7K3MQ9XA): in a dynamic field when
`dynamic_field` is set, else in the title as "[zcomp-INC-7K3MQ9XA]". TicketSearch proposes
candidates (DynamicField_<name> Equals, or a title wildcard) and TicketGet confirms each one
carries the exact key.
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
from zcomp.tickets.http import TicketHttp, TicketNotFound, TicketUnreachable, excerpt
from zcomp.tickets.options import Options
from zcomp.tickets.render import one_line, render_text, title_line
from zcomp.zimbra.model import Secret

if TYPE_CHECKING:
    from zcomp.tickets.registry import BackendContext

NAME = "znuny"
TITLE_MAX = 255  # ticket.title is varchar(255)
CONTENT_TYPE = "text/plain; charset=utf-8"
SEARCH_LIMIT = 50  # candidates to check; one is expected
# The REST transport takes the operation's route from what follows /Webservice/<name>.
WEBSERVICE_URL = re.compile(r"/nph-genericinterface\.pl/Webservice(?:ID)?/[^/]+\Z")
# The title search is a QueryCondition: + ! & | ( ) " and spaces are operators there. Any
# character but these safe ones is searched as a wildcard; the match is then checked exactly.
TITLE_SEARCH_UNSAFE = re.compile(r"[^A-Za-z0-9._:@-]")
# TicketSearch only honours DynamicField_<name> for names of letters and digits.
FIELD_NAME = re.compile(r"[A-Za-z0-9]+\Z")
CREDENTIALS = f"[tickets.{NAME}] username and password_file / password_env / password_keyring"


@dataclass(frozen=True)
class ZnunySettings:
    url: str  # the web service base, .../nph-genericinterface.pl/Webservice/<name>
    username: str
    queue: str
    customer_user: str
    type: str | None
    state: str
    priority: str
    resolved_state: str
    dynamic_field: str | None


class ZnunyBackend:
    name = NAME

    def __init__(self, settings: ZnunySettings, password: Secret, http: TicketHttp) -> None:
        self.settings = settings
        self._password = password
        self.http = http

    # -- the interface ---------------------------------------------------------------------

    def open(self, content: TicketContent) -> TicketRef:
        title = self._title(content)
        body = render_text(content)
        refuse_secrets(title, "the ticket title")
        refuse_secrets(body, "the ticket body")
        return open_once(
            lambda: self.find(content.incident_id),
            lambda: self._create(content.incident_id, title, body),
        )

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
        key = idempotency_key(incident_id)
        field = self.settings.dynamic_field
        criteria: dict[str, Any] = (
            {f"DynamicField_{field}": {"Equals": key}}
            if field
            else {"Title": f"*{TITLE_SEARCH_UNSAFE.sub('*', key)}*"}
        )
        data = self._call(
            "TicketSearch",
            "POST",
            "/TicketSearch",
            {**criteria, "SearchInArchive": "AllTickets", "Limit": SEARCH_LIMIT},
            read=True,
        )
        ids = _ids(data.get("TicketID"))
        if not ids:
            return None
        # The search only proposes: a title wildcard also matches longer keys, and Znuny
        # silently drops a criterion on a dynamic field that does not exist (matching every
        # ticket). Only a ticket that carries this exact key is the incident's.
        exact = [t for t in self._tickets(ids) if self._carries(t, key)]
        ids = _ids([t.get("TicketID") for t in exact])
        if not ids:
            return None
        return self._ref(min(ids))  # the first one filed, should a duplicate ever exist

    def _carries(self, ticket: Mapping[str, Any], key: str) -> bool:
        field = self.settings.dynamic_field
        if not field:
            return _marker(key) in str(ticket.get("Title", ""))
        values = ticket.get("DynamicField")
        for item in values if isinstance(values, list) else []:
            if isinstance(item, dict) and item.get("Name") == field:
                value = item.get("Value")
                return value == key or (isinstance(value, list) and key in value)
        return False

    def comment(self, ref: TicketRef, text: str) -> None:
        ticket_id = self._ticket_id(ref)
        refuse_secrets(text, f"a comment on ticket {ref.id}")
        self._call(
            "TicketUpdate",
            "PATCH",
            f"/Ticket/{ticket_id}",
            {"Article": self._article("zcomp: note", text)},
            ticket=ticket_id,
        )

    def resolve(self, ref: TicketRef, text: str) -> bool:
        """Set `resolved_state` with a closing note; a ticket already closed is left alone."""
        ticket_id = self._ticket_id(ref)
        refuse_secrets(text, f"the resolution of ticket {ref.id}")
        current = self._tickets([ticket_id])
        if current and str(current[0].get("StateType", "")) == "closed":
            return True
        self._call(
            "TicketUpdate",
            "PATCH",
            f"/Ticket/{ticket_id}",
            {
                "Ticket": {"State": self.settings.resolved_state},
                "Article": self._article("zcomp: resolved", text),
            },
            ticket=ticket_id,
        )
        return True

    # -- requests --------------------------------------------------------------------------

    def _create(self, incident_id: IncidentRef, title: str, body: str) -> TicketRef:
        settings = self.settings
        ticket: dict[str, Any] = {
            "Title": title,
            "Queue": settings.queue,
            "State": settings.state,
            "Priority": settings.priority,
            "CustomerUser": settings.customer_user,
        }
        if settings.type:
            ticket["Type"] = settings.type
        payload: dict[str, Any] = {"Ticket": ticket, "Article": self._article(title, body)}
        if settings.dynamic_field:
            payload["DynamicField"] = [
                {"Name": settings.dynamic_field, "Value": idempotency_key(incident_id)}
            ]
        data = self._call("TicketCreate", "POST", "/Ticket", payload)
        ticket_id = _id(data.get("TicketID"))
        if ticket_id is None:
            raise TicketError(f"{NAME}: TicketCreate answered without a TicketID")
        return self._ref(ticket_id)

    def _tickets(self, ids: list[int]) -> list[dict[str, Any]]:
        joined = ",".join(str(i) for i in ids)
        data = self._call(
            "TicketGet",
            "POST",
            f"/TicketGet/{joined}",
            {"DynamicFields": 1 if self.settings.dynamic_field else 0},
            read=True,
            ticket=ids[0],
        )
        tickets = data.get("Ticket")
        if not isinstance(tickets, list):
            return []
        return [t for t in tickets if isinstance(t, dict)]

    def _article(self, subject: str, body: str) -> dict[str, Any]:
        # An internal note from an agent: never shown to (or mailed to) the customer user.
        return {
            "CommunicationChannel": "Internal",
            "IsVisibleForCustomer": 0,
            "SenderType": "agent",
            "Subject": subject,
            "Body": body,
            "ContentType": CONTENT_TYPE,
        }

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        payload: Mapping[str, Any],
        *,
        read: bool = False,
        ticket: int | None = None,
    ) -> dict[str, Any]:
        """One GenericInterface operation; its Data, or one TicketError line."""
        body = {"UserLogin": self.settings.username, "Password": self._password.reveal()}
        body.update(payload)
        where = f"{NAME}: {operation} ({method} {path})"
        try:
            reply = self.http.request(method, path, json=body, ok=(200, 401, 403, 500))
        except TicketUnreachable as exc:
            if read:  # a search or a get sent as POST: nothing was written
                message = str(exc).replace("; it may have been applied", "")
                raise TicketUnreachable(self._scrub(message), maybe_applied=False) from None
            raise self._scrubbed(exc) from None
        except TicketError as exc:
            raise self._scrubbed(exc) from None
        said = self._scrub(excerpt(reply.body))
        if reply.status in (401, 403):
            # GenericInterface itself never answers 401/403: this is a web server or proxy.
            raise TicketError(
                f"{where}: HTTP {reply.status} from the web server in front of {NAME}, before "
                f"the web service ({said}); zcomp logs in with {CREDENTIALS} in the request "
                "body: check the web server's access rules for this URL"
            )
        if reply.status == 500:
            if "determine Operation" in said:
                raise TicketError(
                    f"{where}: the web service has no route for {method} {path.split('/')[1]}: "
                    "import the zcomp web service definition (docs/tickets/znuny.md)"
                )
            raise TicketUnreachable(f"{where}: server error ({said})", maybe_applied=not read)
        data = reply.json()
        if not isinstance(data, dict):
            raise TicketError(f"{where}: unexpected reply ({said})")
        error = data.get("Error")
        if isinstance(error, dict):
            raise self._refused(where, operation, error, ticket)
        return data

    def _refused(
        self, where: str, operation: str, error: Mapping[str, Any], ticket: int | None
    ) -> TicketError:
        code = one_line(str(error.get("ErrorCode") or "unknown"))
        message = self._scrub(one_line(str(error.get("ErrorMessage") or "no message")))
        if code.endswith(".AuthFail"):
            return TicketError(f"{where}: the login was refused ({code}): check {CREDENTIALS}")
        if code.endswith(".AccessDenied"):
            if operation == "TicketCreate":
                return TicketError(
                    f"{where}: user {self.settings.username!r} may not create tickets in queue "
                    f"{self.settings.queue!r} ({code}): check [tickets.{NAME}] queue and the "
                    "agent's queue permissions"
                )
            return TicketNotFound(
                f"{where}: ticket {ticket} does not exist or user {self.settings.username!r} "
                f"may not access it ({code})"
            )
        if code.endswith((".MissingParameter", ".InvalidParameter")):
            return TicketError(
                f"{where}: refused: {message} ({code}); check [tickets.{NAME}] queue, "
                "customer_user, state, priority, resolved_state, type and dynamic_field"
            )
        return TicketError(f"{where}: refused: {message} ({code})")

    # -- helpers ---------------------------------------------------------------------------

    def _title(self, content: TicketContent) -> str:
        title = title_line(content)
        if self.settings.dynamic_field:
            return title[:TITLE_MAX]
        marker = _marker(idempotency_key(content.incident_id))
        return f"{title[: TITLE_MAX - len(marker) - 1]} {marker}"

    def _ref(self, ticket_id: int) -> TicketRef:
        url = None
        base, found, _rest = self.settings.url.partition("/nph-genericinterface.pl")
        if found:
            url = f"{base}/index.pl?Action=AgentTicketZoom;TicketID={ticket_id}"
        return TicketRef(backend=NAME, id=str(ticket_id), url=url)

    def _ticket_id(self, ref: TicketRef) -> int:
        if ref.backend != NAME or not ref.id.isdigit() or int(ref.id) <= 0:
            raise TicketError(f"ticket {ref.backend}:{ref.id} is not a {NAME} ticket")
        return int(ref.id)

    def _scrub(self, text: str) -> str:
        """A reply that echoes the password (a misbehaving proxy) must not carry it further."""
        secret = self._password.reveal()
        return text.replace(secret, "***") if secret else text

    def _scrubbed(self, exc: TicketError) -> TicketError:
        exc.args = (self._scrub(str(exc)),)
        return exc


def _marker(key: str) -> str:
    return f"[{key}]"


def _id(value: Any) -> int | None:
    """GenericInterface gives ids as numbers or strings of digits."""
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    return int(text) if text.isdigit() and int(text) > 0 else None


def _ids(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value] if value is not None else []
    return [i for i in (_id(v) for v in values) if i is not None]


def make(options: Options, context: BackendContext) -> ZnunyBackend:
    url = options.url("url")
    if not WEBSERVICE_URL.search(url):
        raise ConfigError(
            f"[tickets.{NAME}] url: expected the web service URL, ending in "
            f"/nph-genericinterface.pl/Webservice/<name>, got {url!r}"
        )
    username = options.required_text("username")
    password = options.secret("password")
    if password is None:  # not reached: required secrets raise in Options
        raise ConfigError(f"[tickets.{NAME}] password: is required")
    dynamic_field = options.text("dynamic_field")
    if dynamic_field is not None and not FIELD_NAME.match(dynamic_field):
        raise ConfigError(
            f"[tickets.{NAME}] dynamic_field: expected a dynamic field name of letters and "
            f"digits, got {dynamic_field!r}"
        )
    settings = ZnunySettings(
        url=url,
        username=username,
        queue=options.required_text("queue"),
        customer_user=options.required_text("customer_user"),
        type=options.text("type"),
        state=options.required_text("state", default="new"),
        priority=options.required_text("priority", default="3 normal"),
        resolved_state=options.required_text("resolved_state", default="closed successful"),
        dynamic_field=dynamic_field,
    )
    verify = options.boolean("verify", default=True)
    http = TicketHttp(
        backend=NAME,
        base_url=url,
        timeout_s=options.seconds("timeout", default=15.0),
        verify=verify,
        ca_file=options.ca_file(),
        debug=context.debug,
    )
    options.done()
    options.transport_warnings(url, verify=verify, what="the password")
    return ZnunyBackend(settings, password, http)
