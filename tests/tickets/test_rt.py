"""The `rt` backend against a fake Request Tracker that speaks REST2 as RT 5.0 does.

The fake's replies were copied from a real RT 5.0.3 (Debian bookworm's request-tracker5):
create answers 201 {"_url", "id", "type"} with a relative Location; a search answers
{"count", "items", "page", "pages", "per_page", "total"} ("pages" is 0.0, a float, when empty);
errors are {"message": ...}; a comment on a missing ticket is 400 "Message could not be
recorded" (not 404); a PUT answers 200 with messages whether or not the status changed; an
unknown custom field on create is dropped without a word; a Subject is cut to 200 bytes.
tests/integration/test_rt_real.py runs the same backend against the real thing.
"""

from __future__ import annotations

import base64
import re
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import trustme

from tests.tickets.fakedesk import Answer, FakeDesk, Seen
from tests.tickets.workers import content
from zcomp.exitcodes import ConfigError
from zcomp.tickets import TicketError, TicketRef, make_backend, render_text
from zcomp.tickets.backends.rt import RtBackend
from zcomp.tickets.http import TicketConflict, TicketNotFound, TicketUnreachable

TOKEN = "1-14-" + "9f" * 16  # RT's auth string shape: <id>-<user id>-<hex>
PASSWORD = "s3cret-Pa55phrase"
QUEUE = "Security"
LIFECYCLE = ("new", "open", "stalled", "resolved", "rejected", "deleted")


@dataclass
class FakeTicket:
    number: int
    queue: str
    subject: str
    content: str
    content_type: str
    status: str = "new"
    requestors: list[str] = field(default_factory=list)
    custom_fields: dict[str, list[str]] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)


class FakeRt(FakeDesk):
    """REST2 under /REST/2.0: ticket create/read/update, comment, TicketSQL search, queue."""

    def __init__(self) -> None:
        super().__init__()
        self.tickets: dict[int, FakeTicket] = {}
        self.queues: dict[str, list[str]] = {QUEUE: []}  # queue -> its ticket custom fields
        self.creators = {"root"}  # users with CreateTicket in every queue
        self.txn = 100
        base = "/REST/2.0"
        self.route("POST", base + r"/ticket/?", self.create)
        self.route("GET", base + r"/tickets", self.search)
        self.route("GET", base + r"/ticket/(\d+)/?", self.read)
        self.route("PUT", base + r"/ticket/(\d+)/?", self.update)
        self.route("POST", base + r"/ticket/(\d+)/(comment|correspond)", self.message)
        self.route("GET", base + r"/queue/([^/]+)", self.queue)

    # -- authentication: RT::REST2::Middleware::Auth (token, then basic) ------------------

    def user(self, seen: Seen) -> str | None:
        header = seen.header("Authorization") or ""
        if header == f"token {TOKEN}":
            return "root"
        if header.lower().startswith("basic "):
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if password == PASSWORD and name in ("root", "nobody"):
                return name
        return None

    def authorised(self, seen: Seen) -> bool:
        return self.user(seen) is not None

    def unauthorised(self, seen: Seen) -> Answer:
        return Answer(401, {"message": "Unauthorized"})

    # -- endpoints ------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.url}/REST/2.0{path}"

    def create(self, seen: Seen, _m: re.Match[str]) -> Answer:
        data = seen.json()
        queue = data.get("Queue")
        if not queue:
            return Answer(400, {"message": "Could not create ticket. Queue not set"})
        if queue not in self.queues or self.user(seen) not in self.creators:
            return Answer(
                403, {"message": f"No permission to create tickets in the queue '{queue}'"}
            )
        number = len(self.tickets) + 1
        subject = data.get("Subject", "").encode()[:200].decode("utf-8", "ignore")
        requestors = data.get("Requestor") or []
        ticket = FakeTicket(
            number,
            queue,
            subject,
            data.get("Content", ""),
            data.get("ContentType", "text/plain"),
            requestors=[requestors] if isinstance(requestors, str) else list(requestors),
        )
        for name, value in (data.get("CustomFields") or {}).items():
            if name in self.queues[queue]:  # RT drops a field the queue lacks, silently
                ticket.custom_fields[name] = [value] if isinstance(value, str) else list(value)
        self.tickets[number] = ticket
        return Answer(
            201,
            {"_url": self._url(f"/ticket/{number}"), "id": str(number), "type": "ticket"},
            {"Location": f"/REST/2.0/ticket/{number}"},
        )

    def search(self, seen: Seen, _m: re.Match[str]) -> Answer:
        query = seen.query.get("query", [""])[0]
        try:
            match = self._compile(query)
        except ValueError as exc:
            return Answer(400, {"message": f"{exc} in '{query}' at RT/Tickets.pm line 3187.\n"})
        per_page = min(int(seen.query.get("per_page", ["20"])[0]), 100)
        fields = [f for f in seen.query.get("fields", [""])[0].split(",") if f]
        found = [t for t in sorted(self.tickets.values(), key=lambda t: t.number) if match(t)]
        if seen.query.get("order", ["ASC"])[0] == "DESC":
            found.reverse()
        items = [self._item(t, fields) for t in found[:per_page]]
        pages: float | int = -(-len(found) // per_page) if found else 0.0
        return Answer(
            200,
            {
                "count": len(items),
                "items": items,
                "page": 1,
                "pages": pages,
                "per_page": per_page,
                "total": len(found),
            },
        )

    def _compile(self, query: str) -> Callable[[FakeTicket], bool]:
        """The TicketSQL this backend sends: clauses joined by AND, each `Subject LIKE '..'`,
        `'CF.{name}' = '..'` or `Queue = '..'`, values with backslash escapes."""
        tests = [_clause(part) for part in re.split(r"\bAND\b", query)]
        return lambda t: all(test(t) for test in tests)

    def _item(self, ticket: FakeTicket, fields: list[str]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "_url": self._url(f"/ticket/{ticket.number}"),
            "id": str(ticket.number),
            "type": "ticket",
        }
        full = self._ticket_json(ticket)
        for name in fields:
            if name in full:
                item[name] = full[name]
        return item

    def _ticket_json(self, ticket: FakeTicket) -> dict[str, Any]:
        return {
            "id": ticket.number,
            "Subject": ticket.subject,
            "Status": ticket.status,
            "Queue": {"id": "3", "type": "queue", "_url": self._url("/queue/3")},
            "Requestor": [
                {"id": r, "type": "user", "_url": self._url(f"/user/{r}")}
                for r in ticket.requestors
            ],
            "CustomFields": [
                {"id": str(i), "name": n, "type": "customfield", "values": v}
                for i, (n, v) in enumerate(ticket.custom_fields.items(), start=1)
            ],
            "_hyperlinks": [
                {"ref": "self", "type": "ticket", "id": ticket.number, "_url": self._url("")},
            ],
        }

    def read(self, seen: Seen, m: re.Match[str]) -> Answer:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return Answer(404, {"message": "Not Found"})
        return Answer(200, self._ticket_json(ticket))

    def update(self, seen: Seen, m: re.Match[str]) -> Answer:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return Answer(404, {"message": "Resource does not exist; use POST to create"})
        status = seen.json().get("Status")
        said = []
        if status is not None and status != ticket.status:
            if status in LIFECYCLE:
                said.append(f"Status changed from '{ticket.status}' to '{status}'")
                ticket.status = status
            else:
                said.append(f"Status '{status}' isn't a valid status for this ticket.")
        return Answer(200, [f"Ticket {ticket.number}: {text}" for text in said])

    def message(self, seen: Seen, m: re.Match[str]) -> Answer:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:  # RT loads nothing and the Comment fails: 400, not 404
            return Answer(400, {"message": "Message could not be recorded"})
        ctype = (seen.header("Content-Type") or "").split(";")[0]
        if ctype == "application/json":
            data = seen.json()
            if data.get("Content") and not data.get("ContentType"):
                return Answer(
                    400, {"message": "ContentType is a required field for application/json"}
                )
            text = data.get("Content", "")
        else:
            text = seen.body.decode()
        ticket.comments.append(text)
        self.txn += 1
        said = "Comments added" if m.group(2) == "comment" else "Correspondence added"
        return Answer(201, [said], {"Location": f"/REST/2.0/transaction/{self.txn}"})

    def queue(self, seen: Seen, m: re.Match[str]) -> Answer:
        name = unquote(m.group(1))
        if name not in self.queues:
            return Answer(404, {"message": "Not Found"})
        cfs = [
            {"id": str(i), "name": n, "ref": "customfield", "type": "customfield"}
            for i, n in enumerate(self.queues[name], start=1)
        ]
        return Answer(
            200, {"id": 3, "Name": name, "Lifecycle": "default", "TicketCustomFields": cfs}
        )


_CLAUSE = re.compile(
    r"\s*(Subject\s+LIKE|'CF\.\{([^}]+)\}'\s*=|Queue\s*=)\s*'((?:[^'\\]|\\.)*)'\s*", re.I
)


def _clause(text: str) -> Callable[[FakeTicket], bool]:
    m = _CLAUSE.fullmatch(text)
    if m is None:
        raise ValueError("Wrong query, expecting a OPERATOR")
    wanted = re.sub(r"\\(.)", r"\1", m.group(3)).lower()
    name = m.group(2)
    if m.group(1).lower().startswith("subject"):
        return lambda t: wanted in t.subject.lower()  # LIKE: a substring, any case
    if name is not None:
        return lambda t: any(v.lower() == wanted for v in t.custom_fields.get(name, []))
    return lambda t: t.queue.lower() == wanted


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def desk() -> Iterator[FakeRt]:
    running = FakeRt().start()
    assert isinstance(running, FakeRt)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "rt-token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "rt-password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    return path


def rt(desk_url: str, tmp_path: Path, *, debug: list[str] | None = None, **table: Any) -> RtBackend:
    options: dict[str, Any] = {"url": desk_url, "queue": QUEUE, **table}
    made = make_backend(
        "rt", {"rt": options}, tmp_path / "state", debug=None if debug is None else debug.append
    )
    assert isinstance(made, RtBackend)
    return made


@pytest.fixture
def backend(desk: FakeRt, tmp_path: Path, token_file: Path) -> RtBackend:
    return rt(desk.url, tmp_path, token_file=str(token_file), timeout=0.5)


def creates(desk: FakeRt) -> int:
    return sum(1 for s in desk.requests if s.method == "POST" and s.path == "/REST/2.0/ticket")


# -- the round trip ------------------------------------------------------------------------


def test_round_trip(desk: FakeRt, backend: RtBackend) -> None:
    ref = backend.open(content(42))
    assert ref == TicketRef("rt", "1", f"{desk.url}/Ticket/Display.html?id=1")
    ticket = desk.tickets[1]
    assert ticket.subject == "zcomp INC000042: Phished account contained [zcomp-INC000042]"
    assert ticket.content == render_text(content(42))
    assert (ticket.content_type, ticket.queue, ticket.status) == ("text/plain", QUEUE, "new")
    assert ticket.requestors == []  # no RT mail to the contained account by default
    assert backend.find(42) == ref
    assert backend.find(43) is None

    backend.comment(ref, "Customer reached by phone.")
    assert ticket.comments == ["Customer reached by phone."]
    assert backend.resolve(ref, "Unlocked; new password set by the help desk.") is True
    assert ticket.status == "resolved"
    assert ticket.comments[-1] == "Unlocked; new password set by the help desk."
    assert backend.resolve(ref, "again") is True  # already resolved: no second note
    assert ticket.comments[-1] != "again"
    assert len(ticket.comments) == 2


def test_requests_are_the_documented_ones(desk: FakeRt, backend: RtBackend) -> None:
    ref = backend.open(content(42))
    backend.resolve(ref, "done")
    search = desk.requests[0]
    assert (search.method, search.path) == ("GET", "/REST/2.0/tickets")
    assert search.query["query"] == ["Subject LIKE '[zcomp-INC000042]'"]
    create = desk.requests[1]
    assert create.header("Authorization") == f"token {TOKEN}"
    assert create.header("Content-Type") == "application/json"
    assert set(create.json()) == {"Queue", "Subject", "Content", "ContentType"}
    calls = [(s.method, s.path) for s in desk.requests[2:]]
    assert calls == [
        ("GET", "/REST/2.0/ticket/1"),
        ("POST", "/REST/2.0/ticket/1/comment"),
        ("PUT", "/REST/2.0/ticket/1"),
        ("GET", "/REST/2.0/ticket/1"),
    ]
    assert desk.requests[3].json() == {"Content": "done", "ContentType": "text/plain"}
    assert desk.requests[4].json() == {"Status": "resolved"}


def test_basic_auth(desk: FakeRt, tmp_path: Path, password_file: Path) -> None:
    backend = rt(desk.url, tmp_path, username="root", password_file=str(password_file))
    ref = backend.open(content(7))
    assert backend.find(7) == ref
    expected = "Basic " + base64.b64encode(f"root:{PASSWORD}".encode()).decode()
    assert {s.header("Authorization") for s in desk.requests} == {expected}


def test_requestor_is_opt_in(desk: FakeRt, tmp_path: Path, token_file: Path) -> None:
    account = rt(desk.url, tmp_path, token_file=str(token_file), requestor="account")
    account.open(content(1))
    assert desk.tickets[1].requestors == ["alice@example.edu"]
    fixed = rt(desk.url, tmp_path, token_file=str(token_file), requestor="soc@example.edu")
    fixed.open(content(2))
    assert desk.tickets[2].requestors == ["soc@example.edu"]


# -- idempotency ---------------------------------------------------------------------------


def test_open_twice_gives_one_ticket(desk: FakeRt, backend: RtBackend) -> None:
    first = backend.open(content(42))
    again = backend.open(content(42, title="a different title"))
    assert again == first
    assert len(desk.tickets) == 1
    assert creates(desk) == 1


def test_stalled_create_is_found_on_retry(desk: FakeRt, backend: RtBackend) -> None:
    desk.stall_next("POST", r"^/REST/2\.0/ticket$", 1.5)
    ref = backend.open(content(42))  # the reply never came; the look-again found it
    assert ref.id == "1"
    assert len(desk.tickets) == 1
    assert backend.open(content(42)) == ref
    assert creates(desk) == 1


def test_server_error_on_create_then_retry(desk: FakeRt, backend: RtBackend) -> None:
    desk.fail_next("POST", r"^/REST/2\.0/ticket$", 503, body={"message": "Service Unavailable"})
    with pytest.raises(TicketUnreachable) as caught:
        backend.open(content(42))
    assert caught.value.maybe_applied
    assert "HTTP 503" in caught.value.message
    assert desk.tickets == {}
    ref = backend.open(content(42))  # `zcomp ticket retry`
    assert ref.id == "1"
    assert backend.open(content(42)) == ref
    assert len(desk.tickets) == 1


def test_key_is_matched_exactly(desk: FakeRt, backend: RtBackend) -> None:
    """LIKE is a substring search: INC100000's key is inside INC1000000's subject."""
    backend.open(content(1_000_000))
    assert backend.find(100_000) is None
    assert backend.open(content(100_000)).id == "2"


def test_text_incident_keys_are_quoted(desk: FakeRt, backend: RtBackend) -> None:
    """A key given as text may hold TicketSQL's quote, backslash and LIKE wildcards."""
    odd = "ZCOMPTEST-it's_50%\\x"
    ref = backend.open(replace(content(1), incident_id=odd))
    assert desk.tickets[1].subject.endswith(f"[zcomp-{odd}]")
    assert backend.find(odd) == ref
    assert backend.find("ZCOMPTEST-it's_50%") is None
    assert desk.requests[0].query["query"] == ["Subject LIKE '[zcomp-ZCOMPTEST-it\\'s_50%\\\\x]'"]


def test_long_title_keeps_the_key(desk: FakeRt, backend: RtBackend) -> None:
    ref = backend.open(content(42, title="é" * 300))
    subject = desk.tickets[1].subject
    assert len(subject.encode()) <= 200
    assert subject.startswith("zcomp INC000042: éé")
    assert subject.endswith("... [zcomp-INC000042]")
    assert backend.open(content(42, title="é" * 300)) == ref
    assert len(desk.tickets) == 1


def test_custom_field_holds_the_key(desk: FakeRt, tmp_path: Path, token_file: Path) -> None:
    desk.queues[QUEUE].append("zcomp key")
    backend = rt(desk.url, tmp_path, token_file=str(token_file), custom_field="zcomp key")
    ref = backend.open(content(42))
    ticket = desk.tickets[1]
    assert ticket.custom_fields == {"zcomp key": ["zcomp-INC000042"]}
    assert ticket.subject == "zcomp INC000042: Phished account contained"
    assert backend.find(42) == ref
    assert backend.open(content(42)) == ref
    assert backend.find(4) is None
    assert any(
        s.query.get("query") == ["'CF.{zcomp key}' = 'zcomp-INC000042'"] for s in desk.requests
    )


def test_custom_field_missing_from_the_queue(
    desk: FakeRt, tmp_path: Path, token_file: Path
) -> None:
    """RT would file the ticket and drop the key: every retry would file another."""
    backend = rt(desk.url, tmp_path, token_file=str(token_file), custom_field="zcomp key")
    with pytest.raises(TicketError, match="'zcomp key' does not apply to queue 'Security'"):
        backend.open(content(42))
    assert desk.tickets == {}


# -- errors --------------------------------------------------------------------------------


def test_wrong_token(desk: FakeRt, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("1-14-" + "00" * 16)
    backend = rt(desk.url, tmp_path, token_file=str(wrong))
    with pytest.raises(TicketError) as caught:
        backend.open(content(1))
    assert "HTTP 401" in caught.value.message
    assert "check the token or password" in caught.value.message
    assert "00" * 16 not in caught.value.message


def test_wrong_password(desk: FakeRt, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-it")
    backend = rt(desk.url, tmp_path, username="root", password_file=str(wrong))
    with pytest.raises(TicketError, match="HTTP 401.*check the token or password"):
        backend.find(1)


def test_no_right_to_create(desk: FakeRt, tmp_path: Path, password_file: Path) -> None:
    backend = rt(desk.url, tmp_path, username="nobody", password_file=str(password_file))
    with pytest.raises(TicketError) as caught:
        backend.open(content(1))
    assert caught.value.message == (
        f"rt: POST {desk.url}/REST/2.0/ticket: HTTP 403: not allowed for this user "
        '({"message": "No permission to create tickets in the queue \'Security\'"})'
    )
    assert "\n" not in caught.value.message


def test_forbidden_read(desk: FakeRt, backend: RtBackend) -> None:
    ref = backend.open(content(1))
    desk.fail_next("GET", r"/ticket/1$", 403, body={"message": "Forbidden"})
    with pytest.raises(TicketError, match="HTTP 403: not allowed"):
        backend.comment(ref, "x")


def test_comment_on_a_missing_ticket(desk: FakeRt, backend: RtBackend) -> None:
    with pytest.raises(TicketNotFound, match="rt: ticket 99 not found"):
        backend.comment(TicketRef("rt", "99"), "x")
    with pytest.raises(TicketNotFound):
        backend.resolve(TicketRef("rt", "99"), "x")
    assert not any(s.method == "POST" for s in desk.requests)


def test_comment_endpoint_404(desk: FakeRt, backend: RtBackend) -> None:
    ref = backend.open(content(1))
    desk.fail_next("POST", r"/ticket/1/comment$", 404, body={"message": "Not Found"})
    with pytest.raises(TicketNotFound, match="HTTP 404"):
        backend.comment(ref, "x")


def test_conflict(desk: FakeRt, backend: RtBackend) -> None:
    """RT documents no 409 (it uses 412 for If-Match, which zcomp does not send); a proxy's
    409 still ends as one line."""
    ref = backend.open(content(1))
    desk.fail_next("PUT", r"/ticket/1$", 409, body={"message": "Conflict"})
    with pytest.raises(TicketConflict, match="HTTP 409: conflict"):
        backend.resolve(ref, "x")


def test_status_the_lifecycle_lacks(desk: FakeRt, tmp_path: Path, token_file: Path) -> None:
    backend = rt(desk.url, tmp_path, token_file=str(token_file), resolved_status="done")
    ref = backend.open(content(1))
    with pytest.raises(TicketError) as caught:
        backend.resolve(ref, "closing")
    assert caught.value.message == (
        "rt: ticket 1 is still 'new', not 'done': RT said: "
        "Ticket 1: Status 'done' isn't a valid status for this ticket."
    )


def test_rate_limited_then_served(desk: FakeRt, backend: RtBackend) -> None:
    waits: list[float] = []
    backend.http.sleep = waits.append
    desk.fail_next("GET", r"/tickets$", 429, headers={"Retry-After": "2"})
    desk.fail_next("POST", r"/ticket$", 429, headers={"Retry-After": "1"})
    assert backend.open(content(1)).id == "1"
    assert waits == [2.0, 1.0]
    assert len(desk.tickets) == 1


def test_read_timeout(desk: FakeRt, backend: RtBackend) -> None:
    desk.stall_next("GET", r"/tickets$", 1.5)
    with pytest.raises(TicketUnreachable) as caught:
        backend.find(1)
    assert not caught.value.maybe_applied
    assert "no answer from 127.0.0.1" in caught.value.message


def test_unreachable(tmp_path: Path, token_file: Path) -> None:
    with FakeRt() as gone:
        url = gone.url
    backend = rt(url, tmp_path, token_file=str(token_file), timeout=0.5)
    with pytest.raises(TicketUnreachable, match="no answer"):
        backend.open(content(1))


def test_foreign_ref(backend: RtBackend) -> None:
    with pytest.raises(TicketError, match="not an RT ticket"):
        backend.comment(TicketRef("file", "INC000001"), "x")
    with pytest.raises(TicketError, match="not an RT ticket"):
        backend.resolve(TicketRef("rt", "1/../2"), "x")


# -- secrets -------------------------------------------------------------------------------


def test_no_secret_anywhere(desk: FakeRt, tmp_path: Path, token_file: Path) -> None:
    debug: list[str] = []
    backend = rt(desk.url, tmp_path, token_file=str(token_file), debug=debug, timeout=0.5)
    ref = backend.open(content(42))
    backend.comment(ref, "called the user")
    backend.resolve(ref, "unlocked")
    desk.fail_next("GET", r"/tickets$", 401, body={"message": "Unauthorized"})
    messages = []
    with pytest.raises(TicketError) as caught:
        backend.find(43)
    messages.append(caught.value.message)
    desk.fail_next("POST", r"/ticket$", 500, body={"message": "Internal Server Error"})
    with pytest.raises(TicketUnreachable) as caught:
        backend.open(content(44))
    messages.append(caught.value.message)
    desk.stall_next("GET", r"/tickets$", 1.5)
    with pytest.raises(TicketUnreachable) as caught:
        backend.find(45)
    messages.append(caught.value.message)
    assert debug and all("HTTP" in line or "no answer" in line for line in debug)
    for text in [*debug, *messages, *(s.body.decode() for s in desk.requests)]:
        assert TOKEN not in text
        assert "token 1-" not in text
    assert "Authorization" not in repr(backend.http)  # auth is a closure, not a field


def test_tripwire_refuses_secrets(desk: FakeRt, backend: RtBackend) -> None:
    leaking = content(1)
    leaking.done = ["reset it, new password: Winter2024!"]
    with pytest.raises(TicketError, match="refused to write the RT ticket"):
        backend.open(leaking)
    assert creates(desk) == 0
    ref = backend.open(content(2))
    with pytest.raises(TicketError, match="refused"):
        backend.comment(ref, "password=hunter2")
    with pytest.raises(TicketError, match="refused"):
        backend.resolve(ref, "Password: x")
    assert desk.tickets[1].comments == []


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_desk(ca: trustme.CA) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with FakeRt() as desk:
        server = desk._server
        assert server is not None
        # Wrapped before any client connects: the serving thread accepts TLS from now on.
        server.socket = context.wrap_socket(server.socket, server_side=True)
        yield desk.url.replace("http://", "https://")


def test_ca_file_is_honoured(
    https_desk: str, ca: trustme.CA, tmp_path: Path, token_file: Path
) -> None:
    bundle = tmp_path / "rt-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    backend = rt(https_desk, tmp_path, token_file=str(token_file), ca_file=str(bundle))
    assert backend.open(content(1)).url == f"{https_desk}/Ticket/Display.html?id=1"

    untrusted = rt(https_desk, tmp_path, token_file=str(token_file))
    with pytest.raises(TicketUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.find(1)

    unverified = rt(https_desk, tmp_path, token_file=str(token_file), verify=False)
    assert unverified.find(1) is not None


# -- configuration -------------------------------------------------------------------------


def config_error(tmp_path: Path, table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        make_backend("rt", {"rt": table}, tmp_path / "state")
    return caught.value.message


GOOD = {"url": "https://rt.example.edu", "queue": QUEUE}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"url": None}, "[tickets.rt] url: is required"),
        ({"url": "rt.example.edu"}, "[tickets.rt] url: expected a https or http URL"),
        ({"queue": None}, "[tickets.rt] queue: is required"),
        ({"queue": "  "}, "[tickets.rt] queue: expected non-empty text"),
        ({"token_file": None}, "[tickets.rt] token: is required: set token_file"),
        ({"token": TOKEN}, "[tickets.rt] token: secrets are not written in the config"),
        ({"username": "root"}, "[tickets.rt] token: give either token_* or username"),
        (
            {"token_file": None, "username": "root"},
            "[tickets.rt] password: is required with username",
        ),
        (
            {"token_file": None, "username": "root", "password": PASSWORD},
            "[tickets.rt] password: secrets are not written in the config",
        ),
        ({"token_file": None, "password_env": "RT_PW"}, "[tickets.rt] username: is required"),
        (
            {"token_file": None, "username": "a:b", "password_env": "RT_PW"},
            "[tickets.rt] username: HTTP basic auth cannot carry a ':'",
        ),
        ({"token_env": "RT_TOKEN"}, "[tickets.rt] token_env: give only one of token_file"),
        ({"timeout": 0}, "[tickets.rt] timeout: expected seconds"),
        ({"verify": "no"}, "[tickets.rt] verify: expected true or false"),
        ({"ca_file": "/nonexistent/ca.pem"}, "[tickets.rt] ca_file: /nonexistent/ca.pem is not"),
        ({"custom_field": "a}b"}, "[tickets.rt] custom_field: 'a}b' cannot be searched"),
        ({"requestor": "alice"}, "[tickets.rt] requestor: expected an email address"),
        ({"resolved_status": ""}, "[tickets.rt] resolved_status: expected non-empty text"),
        ({"priority": 3}, "[tickets.rt] unknown option 'priority'"),
    ],
)
def test_bad_config(
    tmp_path: Path,
    token_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, Any],
    expected: str,
) -> None:
    monkeypatch.setenv("RT_PW", PASSWORD)
    monkeypatch.setenv("RT_TOKEN", TOKEN)
    table = {**GOOD, "token_file": str(token_file), **change}
    message = config_error(tmp_path, {k: v for k, v in table.items() if v is not None})
    assert message.startswith(expected), message
    assert TOKEN not in message and PASSWORD not in message


def test_missing_secret_file_and_variable(tmp_path: Path) -> None:
    message = config_error(tmp_path, {**GOOD, "token_file": str(tmp_path / "nope")})
    assert message.startswith("[tickets.rt] token_file: cannot read")
    message = config_error(tmp_path, {**GOOD, "token_env": "ZCOMP_TEST_RT_TOKEN_UNSET"})
    assert message == "[tickets.rt] token_env: $ZCOMP_TEST_RT_TOKEN_UNSET is not set"


def test_secrets_from_environment(
    desk: FakeRt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RT_TOKEN", TOKEN)
    assert rt(desk.url, tmp_path, token_env="RT_TOKEN").open(content(1)).id == "1"
    monkeypatch.setenv("RT_PW", PASSWORD)
    basic = rt(desk.url, tmp_path, username="root", password_env="RT_PW")
    assert basic.find(1) is not None


def test_weak_transport_is_warned_about(tmp_path: Path, token_file: Path) -> None:
    warnings: list[str] = []
    table = {"queue": QUEUE, "token_file": str(token_file)}
    for url, verify in (("http://rt.example.edu", True), ("https://rt.example.edu", False)):
        options = {"rt": {**table, "url": url, "verify": verify}}
        make_backend("rt", options, tmp_path / "state", warn=warnings.append)
    make_backend(
        "rt", {"rt": {**table, "url": "http://127.0.0.1:1"}}, tmp_path, warn=warnings.append
    )
    assert warnings == [
        "[tickets.rt] url is http://: the credentials would travel unencrypted",
        "[tickets.rt] verify = false: the server's certificate is not checked",
    ]


def test_rest2_suffix_is_ignored(desk: FakeRt, tmp_path: Path, token_file: Path) -> None:
    backend = rt(desk.url + "/REST/2.0/", tmp_path, token_file=str(token_file))
    assert backend.open(content(1)).url == f"{desk.url}/Ticket/Display.html?id=1"
