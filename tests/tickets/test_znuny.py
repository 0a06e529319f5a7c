"""The znuny backend against a fake Znuny GenericInterface REST web service on loopback.

FakeZnuny speaks what Kernel/GenericInterface/Operation/Ticket/*.pm and the HTTP::REST transport
do: UserLogin/Password in the JSON body, the routes of the zcomp web service
(docs/tickets/znuny.md), refusals as HTTP 200 {"Error": {"ErrorCode", "ErrorMessage"}}, an
unknown route as HTTP 500 text, TicketSearch silently ignoring a DynamicField_<name> criterion on
a field that does not exist, and TicketUpdate/TicketGet answering AccessDenied for a ticket that
does not exist.
"""

from __future__ import annotations

import fnmatch
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.tickets.fakedesk import Answer, FakeDesk, Seen
from tests.tickets.workers import content
from zcomp.exitcodes import ConfigError
from zcomp.tickets import TicketError, TicketRef, make_backend, render_text
from zcomp.tickets.backends.znuny import ZnunyBackend
from zcomp.tickets.http import TicketNotFound, TicketUnreachable

BASE = "/otrs/nph-genericinterface.pl/Webservice/ZcompConnector"
USER = "zcomp-agent"
PASSWORD = "s3cret-Zn-pw-7781"
FIELD = "ZcompIncident"
CLOSED_TYPES = {"closed successful": "closed", "closed unsuccessful": "closed"}
STATES = {"new": "new", "open": "open", **CLOSED_TYPES}


def _error(code: str, message: str) -> Answer:
    return Answer(
        200, {"Error": {"ErrorCode": code, "ErrorMessage": f"{code.split('.')[0]}: {message}"}}
    )


class FakeZnuny(FakeDesk):
    def __init__(self) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.queues = {"Security", "Raw"}
        self.priorities = {"1 very low", "3 normal", "5 very high"}
        self.customer_users = {"helpdesk"}
        self.dynamic_fields = {FIELD}
        self.type_required = False  # sysconfig Ticket::Type
        self.route("POST", BASE + r"/Ticket", self.ticket_create)
        self.route("PATCH", BASE + r"/Ticket/(?P<id>[^/]+)", self.ticket_update)
        self.route("POST", BASE + r"/TicketSearch", self.ticket_search)
        self.route("POST", BASE + r"/TicketGet/(?P<id>[^/]+)", self.ticket_get)
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):  # HTTP::REST: no operation
            self.route(method, r".*", self.no_operation)

    def reset(self) -> None:
        with self.lock:
            self.tickets.clear()
            self.requests.clear()
            self._trouble.clear()
            self.type_required = False

    # -- GenericInterface --------------------------------------------------------------------

    def no_operation(self, seen: Seen, _m: re.Match[str]) -> Answer:
        uri = seen.path.split("/ZcompConnector", 1)[-1]
        text = f"HTTP::REST Error while determine Operation for request URI '{uri}'."
        return Answer(500, text.encode(), {"Content-Type": "text/plain; charset=UTF-8"})

    def _auth(self, operation: str, data: dict[str, Any]) -> Answer | None:
        if not data.get("UserLogin") and not data.get("SessionID"):
            return _error(
                f"{operation}.MissingParameter",
                "UserLogin, CustomerUserLogin or SessionID is required!",
            )
        if data.get("UserLogin") != USER or data.get("Password") != PASSWORD:
            if operation in ("TicketSearch", "TicketGet"):
                return _error(f"{operation}.AuthFail", "Authorization failing!")
            return _error(f"{operation}.AuthFail", "User could not be authenticated!")
        return None

    def _check_article(self, operation: str, article: Any) -> Answer | None:
        if not isinstance(article, dict) or not article:
            return _error(
                f"{operation}.MissingParameter", "Article parameter is missing or not valid!"
            )
        for needed in ("Subject", "Body"):
            if not article.get(needed):
                return _error(
                    f"{operation}.MissingParameter", f"Article->{needed} parameter is missing!"
                )
        if not article.get("ContentType") and not (
            article.get("MimeType") and article.get("Charset")
        ):
            return _error(
                f"{operation}.MissingParameter",
                "Article->ContentType or Article->MimeType and Article->Charset parameters"
                " are required!",
            )
        if article.get("CommunicationChannel", "Internal") not in ("Internal", "Email", "Phone"):
            return _error(
                f"{operation}.InvalidParameter",
                "Article->CommunicationChannel or Article->CommunicationChannelID parameter"
                " is invalid or not supported!",
            )
        return None

    def _article(self, article: dict[str, Any]) -> dict[str, Any]:
        return {
            "Subject": article["Subject"],
            "Body": article["Body"],
            "ContentType": article.get("ContentType"),
            "CommunicationChannel": article.get("CommunicationChannel", "Internal"),
            "IsVisibleForCustomer": article.get("IsVisibleForCustomer", 1),
            "SenderType": article.get("SenderType", "agent"),
        }

    def ticket_create(self, seen: Seen, _m: re.Match[str]) -> Answer:
        data = seen.json() or {}
        if (refused := self._auth("TicketCreate", data)) is not None:
            return refused
        ticket = data.get("Ticket")
        if not isinstance(ticket, dict) or not ticket:
            return _error(
                "TicketCreate.MissingParameter", "Ticket parameter is missing or not valid!"
            )
        for needed in ("Title", "CustomerUser"):
            if not ticket.get(needed):
                return _error(
                    "TicketCreate.MissingParameter", f"Ticket->{needed} parameter is missing!"
                )
        if ticket["CustomerUser"] not in self.customer_users:
            return _error(
                "TicketCreate.InvalidParameter", "Ticket->CustomerUser parameter is invalid!"
            )
        if ticket.get("Queue") not in self.queues:
            return _error(
                "TicketCreate.InvalidParameter",
                "Ticket->QueueID or Ticket->Queue parameter is invalid!",
            )
        if self.type_required and not ticket.get("Type"):
            return _error(
                "TicketCreate.MissingParameter",
                "Ticket->TypeID or Ticket->Type parameter is required by sysconfig option!",
            )
        if ticket.get("State") not in STATES:
            return _error(
                "TicketCreate.InvalidParameter",
                "Ticket->StateID or Ticket->State parameter is invalid!",
            )
        if ticket.get("Priority") not in self.priorities:
            return _error(
                "TicketCreate.InvalidParameter",
                "Ticket->PriorityID or Ticket->Priority parameter is invalid!",
            )
        if (refused := self._check_article("TicketCreate", data.get("Article"))) is not None:
            return refused
        fields: dict[str, Any] = {}
        raw = data.get("DynamicField")
        for item in raw if isinstance(raw, list) else [raw] if raw else []:
            if not isinstance(item, dict) or item.get("Name") not in self.dynamic_fields:
                return _error(
                    "TicketCreate.InvalidParameter", "DynamicField->Name parameter is invalid!"
                )
            fields[item["Name"]] = item.get("Value")
        made = self.add_ticket(
            ticket["Title"],
            fields,
            Queue=ticket["Queue"],
            State=ticket["State"],
            Priority=ticket["Priority"],
            Type=ticket.get("Type", "Unclassified"),
            CustomerUserID=ticket["CustomerUser"],
            Articles=[self._article(data["Article"])],
        )
        number = made["TicketNumber"]
        return Answer(200, {"TicketID": str(made["TicketID"]), "TicketNumber": number})

    def add_ticket(
        self, title: str, fields: dict[str, Any] | None = None, **values: Any
    ) -> dict[str, Any]:
        """A ticket as the server holds it (also one filed by hand, for the tests)."""
        ticket_id = len(self.tickets) + 1
        ticket: dict[str, Any] = {
            "TicketID": ticket_id,
            "TicketNumber": f"2024050110{ticket_id:06d}",
            "Title": title,
            "Queue": "Raw",
            "State": "open",
            "Priority": "3 normal",
            "Type": "Unclassified",
            "CustomerUserID": "helpdesk",
            "DynamicFields": fields or {},
            "Articles": [],
        }
        ticket.update(values)
        self.tickets[ticket_id] = ticket
        return ticket

    def ticket_update(self, seen: Seen, m: re.Match[str]) -> Answer:
        data = seen.json() or {}
        if (refused := self._auth("TicketUpdate", data)) is not None:
            return refused
        ticket = self.tickets.get(int(m["id"])) if m["id"].isdigit() else None
        if ticket is None:
            return _error("TicketUpdate.AccessDenied", "User does not have access to the ticket!")
        change = data.get("Ticket")
        if change is not None and (
            not isinstance(change, dict) or ("State" in change and change["State"] not in STATES)
        ):
            return _error(
                "TicketUpdate.InvalidParameter",
                "Ticket->StateID or Ticket->State parameter is invalid!",
            )
        if (
            "Article" in data
            and (refused := self._check_article("TicketUpdate", data["Article"])) is not None
        ):
            return refused
        if change and "State" in change:
            ticket["State"] = change["State"]
        if "Article" in data:
            ticket["Articles"].append(self._article(data["Article"]))
        return Answer(200, {"TicketID": str(ticket["TicketID"]), "ArticleID": "1"})

    def ticket_search(self, seen: Seen, _m: re.Match[str]) -> Answer:
        data = seen.json() or {}
        if (refused := self._auth("TicketSearch", data)) is not None:
            return refused
        found = list(self.tickets.values())
        if "Title" in data:  # LIKE: * and % are wildcards, case-insensitive
            pattern = str(data["Title"]).replace("%", "*").lower()
            found = [t for t in found if fnmatch.fnmatchcase(t["Title"].lower(), pattern)]
        for key, operators in data.items():
            name = key[len("DynamicField_") :] if key.startswith("DynamicField_") else None
            if name is None or name not in self.dynamic_fields:
                continue  # as Znuny: a criterion on an unknown field is dropped
            wanted = operators.get("Equals")
            wanted = wanted if isinstance(wanted, list) else [wanted]
            found = [t for t in found if t["DynamicFields"].get(name) in wanted]
        limit = int(data.get("Limit") or 500)
        ids = [t["TicketID"] for t in found][:limit]
        return Answer(200, {"TicketID": [str(i) for i in ids]} if ids else {})

    def ticket_get(self, seen: Seen, m: re.Match[str]) -> Answer:
        data = seen.json() or {}
        if (refused := self._auth("TicketGet", data)) is not None:
            return refused
        ids = [part.strip() for part in m["id"].split(",")]
        if not all(re.fullmatch(r"[1-9]\d*", i) for i in ids):
            return _error("TicketGet.WrongStructure", "Invalid ticket ID parameter(s) found!")
        if any(int(i) not in self.tickets for i in ids):
            return _error("TicketGet.AccessDenied", "User does not have access to the ticket!")
        out = []
        for i in ids:
            t = self.tickets[int(i)]
            item = {
                "TicketID": str(t["TicketID"]),
                "TicketNumber": t["TicketNumber"],
                "Title": t["Title"],
                "State": t["State"],
                "StateType": STATES[t["State"]],
                "Queue": t["Queue"],
                "Priority": t["Priority"],
                "CustomerUserID": t["CustomerUserID"],
            }
            if data.get("DynamicFields"):
                item["DynamicField"] = [
                    {"Name": n, "Value": t["DynamicFields"].get(n)}
                    for n in sorted(self.dynamic_fields)
                ]
            out.append(item)
        return Answer(200, {"Ticket": out})


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeZnuny]:
    # One server per module (stopping one waits out its 0.5 s poll), emptied for each test.
    running = FakeZnuny()
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def desk(server: FakeZnuny) -> FakeZnuny:
    server.reset()
    return server


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "znuny.password"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def table(desk: FakeZnuny, secret_path: Path, **changes: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "url": desk.url + BASE,
        "username": USER,
        "password_file": str(secret_path),
        "queue": "Security",
        "customer_user": "helpdesk",
        "timeout": 0.5,
    }
    settings.update(changes)
    return {key: value for key, value in settings.items() if value is not None}


class Made:
    def __init__(self, desk: FakeZnuny, password_file: Path, tmp_path: Path) -> None:
        self.desk, self.password_file, self.tmp_path = desk, password_file, tmp_path
        self.debug: list[str] = []

    def __call__(self, **changes: Any) -> ZnunyBackend:
        backend = make_backend(
            "znuny",
            {"znuny": table(self.desk, self.password_file, **changes)},
            self.tmp_path / "state",
            debug=self.debug.append,
        )
        assert isinstance(backend, ZnunyBackend)
        return backend


@pytest.fixture
def made(desk: FakeZnuny, password_file: Path, tmp_path: Path) -> Made:
    return Made(desk, password_file, tmp_path)


MODES = [pytest.param(None, id="title"), pytest.param(FIELD, id="dynamic-field")]


def assert_no_secret(desk: FakeDesk, made: Made, *texts: str) -> None:
    for seen in desk.requests:
        assert PASSWORD not in seen.path and PASSWORD not in str(seen.query)
        assert not any(PASSWORD in value for value in seen.headers.values())
    for line in made.debug:
        assert PASSWORD not in line
    for text in texts:
        assert PASSWORD not in text


# -- the round trip ------------------------------------------------------------------------


@pytest.mark.parametrize("field", MODES)
def test_open_find_comment_resolve(desk: FakeZnuny, made: Made, field: str | None) -> None:
    backend = made(dynamic_field=field)
    ref = backend.open(content(42))
    assert ref == TicketRef(
        "znuny", "1", desk.url + "/otrs/index.pl?Action=AgentTicketZoom;TicketID=1"
    )
    ticket = desk.tickets[1]
    assert ticket["Title"].startswith("zcomp INC000042: Phished account contained")
    if field:
        assert ticket["DynamicFields"] == {FIELD: "zcomp-INC000042"}
        assert "[zcomp-INC000042]" not in ticket["Title"]
    else:
        assert ticket["Title"].endswith(" [zcomp-INC000042]")
    assert (ticket["Queue"], ticket["State"], ticket["Priority"]) == ("Security", "new", "3 normal")
    first = ticket["Articles"][0]
    assert first["Body"] == render_text(content(42))
    assert first["Subject"] == ticket["Title"]
    assert (first["CommunicationChannel"], first["IsVisibleForCustomer"]) == ("Internal", 0)
    create = next(s for s in desk.requests if s.method == "POST" and s.path.endswith("/Ticket"))
    assert create.json()["UserLogin"] == USER  # GenericInterface: credentials in the body

    assert backend.find(42) == ref
    assert backend.find(43) is None

    backend.comment(ref, "Customer reached by phone.")
    assert ticket["Articles"][1]["Body"] == "Customer reached by phone."
    assert ticket["State"] == "new"

    assert backend.resolve(ref, "Unlocked; new password set by the help desk.") is True
    assert ticket["State"] == "closed successful"
    assert ticket["Articles"][2]["Body"] == "Unlocked; new password set by the help desk."
    assert backend.resolve(ref, "again") is True  # already closed: nothing added
    assert len(ticket["Articles"]) == 3
    assert_no_secret(desk, made)


def test_settings_reach_the_ticket(desk: FakeZnuny, made: Made) -> None:
    desk.type_required = True
    backend = made(
        type="Incident",
        state="open",
        priority="5 very high",
        queue="Raw",
        resolved_state="closed unsuccessful",
    )
    ref = backend.open(content(7))
    ticket = desk.tickets[1]
    assert (ticket["Type"], ticket["State"], ticket["Priority"], ticket["Queue"]) == (
        "Incident",
        "open",
        "5 very high",
        "Raw",
    )
    backend.resolve(ref, "done")
    assert ticket["State"] == "closed unsuccessful"


# -- idempotency ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", MODES)
def test_open_twice_gives_one_ticket(desk: FakeZnuny, made: Made, field: str | None) -> None:
    backend = made(dynamic_field=field)
    first = backend.open(content(42))
    again = backend.open(content(42, title="a different title"))
    assert again == first
    assert len(desk.tickets) == 1
    other = backend.open(content(43))
    assert other != first and len(desk.tickets) == 2


def test_a_longer_key_in_a_title_is_not_this_incident(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    # Filed by hand, first: the search *zcomp-INC000042* matches it, its marker does not.
    desk.add_ticket("about an older incident [zcomp-INC0000420]")
    assert backend.find(42) is None
    ref = backend.open(content(42))
    assert ref.id == "2"
    assert backend.find(42) == ref


def test_a_dynamic_field_that_does_not_exist_finds_nothing(desk: FakeZnuny, made: Made) -> None:
    made().open(content(1))  # a ticket that a dropped criterion would match
    backend = made(dynamic_field="NoSuchField")
    assert backend.find(42) is None  # Znuny ignored the criterion; zcomp checks the value
    with pytest.raises(TicketError) as caught:
        backend.open(content(42))
    assert "DynamicField->Name parameter is invalid" in caught.value.message
    assert "[tickets.znuny]" in caught.value.message and "dynamic_field" in caught.value.message
    assert len(desk.tickets) == 1


@pytest.mark.parametrize("field", MODES)
def test_a_create_applied_but_unheard_is_found_on_retry(
    desk: FakeZnuny, made: Made, field: str | None
) -> None:
    backend = made(dynamic_field=field)
    desk.stall_next("POST", r"/Ticket\Z", 1.0)  # applied; the reply comes after the 0.5 s timeout
    ref = backend.open(content(42))
    assert ref.id == "1"
    assert len(desk.tickets) == 1
    creates = [s for s in desk.requests if s.method == "POST" and s.path.endswith("/Ticket")]
    assert len(creates) == 1


def test_a_server_error_on_create_then_a_retry_creates_once(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    desk.fail_next("POST", r"/Ticket\Z", 500, body={"faultcode": "Server", "faultstring": "boom"})
    with pytest.raises(TicketUnreachable) as caught:
        backend.open(content(42))
    assert caught.value.maybe_applied
    assert desk.tickets == {}
    ref = backend.open(content(42))
    assert ref.id == "1" and len(desk.tickets) == 1
    assert backend.open(content(42)) == ref and len(desk.tickets) == 1


def test_a_gateway_error_on_create_is_unreachable(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    desk.fail_next("POST", r"/Ticket\Z", 502, body=b"Bad Gateway")
    with pytest.raises(TicketUnreachable):
        backend.open(content(42))
    assert backend.open(content(42)).id == "1" and len(desk.tickets) == 1


# -- errors --------------------------------------------------------------------------------


def test_a_wrong_password_is_one_line_naming_the_keys(
    desk: FakeZnuny, made: Made, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password", encoding="utf-8")
    wrong.chmod(0o600)
    backend = made(password_file=str(wrong))
    with pytest.raises(TicketError) as caught:
        backend.open(content(42))
    message = caught.value.message
    assert "TicketSearch.AuthFail" in message
    assert "[tickets.znuny] username" in message and "password_file" in message
    assert "\n" not in message and "not-the-password" not in message
    assert desk.tickets == {}


def test_auth_fail_on_create(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    desk.fail_next(
        "POST",
        r"/Ticket\Z",
        200,
        body={
            "Error": {
                "ErrorCode": "TicketCreate.AuthFail",
                "ErrorMessage": "TicketCreate: User could not be authenticated!",
            }
        },
    )
    with pytest.raises(TicketError, match=r"TicketCreate.AuthFail.*\[tickets.znuny\] username"):
        backend.open(content(42))


@pytest.mark.parametrize("status", [401, 403])
def test_a_proxy_refusing_is_one_line(desk: FakeZnuny, made: Made, status: int) -> None:
    backend = made()
    desk.fail_next("POST", r"/TicketSearch", status, body=b"<html>Forbidden</html>")
    with pytest.raises(TicketError) as caught:
        backend.open(content(42))
    message = caught.value.message
    assert f"HTTP {status}" in message and "web server in front" in message
    assert "[tickets.znuny] username" in message
    assert_no_secret(desk, made, message)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"queue": "Nope"}, "Ticket->QueueID or Ticket->Queue parameter is invalid!"),
        ({"customer_user": "nobody"}, "Ticket->CustomerUser parameter is invalid!"),
        ({"state": "bogus"}, "Ticket->StateID or Ticket->State parameter is invalid!"),
        ({"priority": "9 weird"}, "Ticket->PriorityID or Ticket->Priority parameter is invalid!"),
    ],
)
def test_a_refused_setting_names_it(
    desk: FakeZnuny, made: Made, changes: dict[str, str], expected: str
) -> None:
    with pytest.raises(TicketError) as caught:
        made(**changes).open(content(42))
    message = caught.value.message
    assert expected in message and "TicketCreate.InvalidParameter" in message
    assert "check [tickets.znuny] queue" in message and "\n" not in message
    assert desk.tickets == {}


def test_a_required_type_is_reported(desk: FakeZnuny, made: Made) -> None:
    desk.type_required = True
    with pytest.raises(TicketError, match=r"Type parameter is required.*MissingParameter"):
        made().open(content(42))


def test_access_denied_on_create_names_the_queue(desk: FakeZnuny, made: Made) -> None:
    desk.fail_next(
        "POST",
        r"/Ticket\Z",
        200,
        body={
            "Error": {
                "ErrorCode": "TicketCreate.AccessDenied",
                "ErrorMessage": "TicketCreate: Can not create tickets in given Queue or QueueID!",
            }
        },
    )
    with pytest.raises(TicketError, match=r"may not create tickets in queue 'Security'"):
        made().open(content(42))


def test_a_missing_web_service_route_says_what_to_import(desk: FakeZnuny, made: Made) -> None:
    backend = made(url=desk.url + "/otrs/nph-genericinterface.pl/Webservice/Other")
    with pytest.raises(TicketError) as caught:
        backend.find(42)
    assert "no route for POST TicketSearch" in caught.value.message
    assert "docs/tickets/znuny.md" in caught.value.message
    assert not isinstance(caught.value, TicketUnreachable)


def test_comment_or_resolve_on_a_missing_ticket(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    with pytest.raises(TicketNotFound, match=r"TicketUpdate.AccessDenied"):
        backend.comment(TicketRef("znuny", "99"), "x")
    with pytest.raises(TicketNotFound, match=r"TicketGet.AccessDenied"):
        backend.resolve(TicketRef("znuny", "99"), "x")
    ref = backend.open(content(42))
    desk.fail_next("PATCH", r"/Ticket/1", 404, body=b"Not Found")
    with pytest.raises(TicketNotFound):
        backend.comment(ref, "x")
    with pytest.raises(TicketError, match="not a znuny ticket"):
        backend.comment(TicketRef("zammad", "1"), "x")
    with pytest.raises(TicketError, match="not a znuny ticket"):
        backend.comment(TicketRef("znuny", "../1"), "x")


def test_a_conflict_is_a_ticket_error(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    ref = backend.open(content(42))
    desk.fail_next("PATCH", r"/Ticket/1", 409, body=b"Conflict")
    with pytest.raises(TicketError, match="conflict"):
        backend.comment(ref, "x")


def test_rate_limit_is_waited_out(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    waits: list[float] = []
    backend.http.sleep = waits.append
    desk.fail_next("POST", r"/Ticket\Z", 429, body=b"slow down", headers={"Retry-After": "2"})
    ref = backend.open(content(42))
    assert waits == [2.0]
    assert ref.id == "1" and len(desk.tickets) == 1


def test_a_search_timeout_is_unreachable_and_not_applied(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    desk.stall_next("POST", r"/TicketSearch", 1.0)
    with pytest.raises(TicketUnreachable) as caught:
        backend.find(42)
    assert not caught.value.maybe_applied
    assert "may have been applied" not in caught.value.message
    assert desk.tickets == {}


def test_a_comment_timeout_may_have_applied(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    ref = backend.open(content(42))
    desk.stall_next("PATCH", r"/Ticket/1", 1.0)
    with pytest.raises(TicketUnreachable) as caught:
        backend.comment(ref, "x")
    assert caught.value.maybe_applied


def test_nothing_is_sent_for_text_that_looks_like_a_secret(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    leaking = content(1)
    leaking.done = ["reset it, new password: Winter2024!"]
    with pytest.raises(TicketError, match="refused to write"):
        backend.open(leaking)
    assert desk.requests == []
    ref = backend.open(content(2))
    with pytest.raises(TicketError, match="refused to write"):
        backend.comment(ref, "password=hunter2")
    assert len(desk.tickets[1]["Articles"]) == 1


def test_a_reply_echoing_the_password_is_scrubbed(desk: FakeZnuny, made: Made) -> None:
    backend = made()
    desk.fail_next("POST", r"/TicketSearch", 400, body=f"bad request: Password={PASSWORD}".encode())
    with pytest.raises(TicketError) as caught:
        backend.find(1)
    assert PASSWORD not in caught.value.message and "***" in caught.value.message


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["url", "username", "queue", "customer_user"])
def test_a_required_key_missing(made: Made, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"\[tickets.znuny\] {key}: is required"):
        made(**{key: None})


def test_the_password_is_required(made: Made) -> None:
    with pytest.raises(ConfigError, match=r"\[tickets.znuny\] password: is required"):
        made(password_file=None)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"url": "ftp://desk.example.edu/x"}, r"\[tickets.znuny\] url: expected a https or http"),
        (
            {"url": "https://desk.example.edu/otrs/index.pl"},
            r"\[tickets.znuny\] url: expected the web service URL",
        ),
        ({"dynamic_field": "Zcomp-Incident"}, r"\[tickets.znuny\] dynamic_field: expected"),
        ({"timeout": 0}, r"\[tickets.znuny\] timeout: expected seconds"),
        ({"verify": "yes"}, r"\[tickets.znuny\] verify: expected true or false"),
        (
            {"ca_file": "/nonexistent/ca.pem"},
            r"\[tickets.znuny\] ca_file: .* is not a readable file",
        ),
        ({"queue": ""}, r"\[tickets.znuny\] queue: expected non-empty text"),
        ({"sessionid": "x"}, r"\[tickets.znuny\] unknown option 'sessionid'"),
    ],
)
def test_a_bad_setting(made: Made, changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        made(**changes)


def test_an_inline_password_is_refused(made: Made) -> None:
    with pytest.raises(ConfigError) as caught:
        made(password=PASSWORD, password_file=None)
    assert "[tickets.znuny] password: secrets are not written in the config" in caught.value.message
    assert PASSWORD not in caught.value.message


def test_the_password_from_an_environment_variable(
    desk: FakeZnuny, made: Made, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZCOMP_TEST_ZNUNY_PW", PASSWORD)
    backend = made(password_file=None, password_env="ZCOMP_TEST_ZNUNY_PW")
    assert backend.open(content(42)).id == "1"
    monkeypatch.delenv("ZCOMP_TEST_ZNUNY_PW")
    with pytest.raises(
        ConfigError, match=r"\[tickets.znuny\] password_env: \$ZCOMP_TEST_ZNUNY_PW is not set"
    ):
        made(password_file=None, password_env="ZCOMP_TEST_ZNUNY_PW")


def test_tls_settings_reach_the_client(made: Made, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not parsed until a request", encoding="utf-8")
    backend = made(url="https://desk.example.edu" + BASE, verify=False, ca_file=str(ca))
    assert backend.http.verify is False
    assert backend.http.ca_file == str(ca)
    assert made(url="https://desk.example.edu" + BASE).http.verify is True


@pytest.fixture
def https_desk() -> Iterator[tuple[str, trustme.CA]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    desk = FakeZnuny()
    desk.start()
    try:
        server = desk._server
        assert server is not None
        # Wrapped before any client connects: the serving thread accepts TLS from now on.
        server.socket = context.wrap_socket(server.socket, server_side=True)
        yield desk.url.replace("http://", "https://"), ca
    finally:
        desk.stop()


def test_https_verify_and_ca_file(
    https_desk: tuple[str, trustme.CA], made: Made, tmp_path: Path
) -> None:
    https_url, ca = https_desk
    bundle = tmp_path / "desk-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    assert made(url=https_url + BASE, ca_file=str(bundle)).find(1) is None
    with pytest.raises(TicketUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        made(url=https_url + BASE).find(1)
    assert made(url=https_url + BASE, verify=False).find(1) is None


# -- the documented web service ------------------------------------------------------------

ROUTES = [
    ("TicketCreate", "POST", "/Ticket"),
    ("TicketGet", "POST", "/TicketGet/:TicketID"),
    ("TicketSearch", "POST", "/TicketSearch"),
    ("TicketUpdate", "PATCH", "/Ticket/:TicketID"),
]


def test_the_documented_web_service_has_the_routes_zcomp_uses() -> None:
    doc = Path(__file__).parents[2] / "docs" / "tickets" / "znuny.md"
    text = doc.read_text(encoding="utf-8")
    (yaml,) = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    for operation, method, route in ROUTES:
        assert f"Type: Ticket::{operation}" in yaml
        mapping = rf"\n {{8}}{operation}:\n {{10}}RequestMethod:\n {{10}}- {method}\n"
        assert re.search(mapping + rf" {{10}}Route: {re.escape(route)}\n", yaml), operation
    assert "DebugThreshold: error" in yaml  # debug level would log the password
    # ... and the fake serves exactly these.
    served = {(method, pattern.pattern) for method, pattern, _ in FakeZnuny().routes}
    for _operation, method, route in ROUTES:
        regex = BASE + route.replace(":TicketID", "(?P<id>[^/]+)") + r"\Z"
        assert (method, regex) in served


def test_weak_transport_is_warned_about(made: Made) -> None:
    warnings: list[str] = []

    def make(**changes: Any) -> None:
        settings = table(made.desk, made.password_file, **changes)
        make_backend("znuny", {"znuny": settings}, made.tmp_path / "state", warn=warnings.append)

    make()  # http://127.0.0.1: a test desk, no warning
    assert warnings == []
    make(url="http://desk.example.edu" + BASE)
    make(url="https://desk.example.edu" + BASE, verify=False)
    assert warnings == [
        "[tickets.znuny] url is http://: the password would travel unencrypted",
        "[tickets.znuny] verify = false: the server's certificate is not checked",
    ]
