"""The zammad backend against a fake Zammad REST API v1 on loopback.

FakeZammad answers as Zammad's controllers do (docs.zammad.org/en/latest/api/ticket/,
app/controllers/tickets_controller.rb, ticket_articles, application_controller/handles_errors):
`Authorization: Token token=...`; 401 {"error": "Can't find User for Token"} for a wrong token,
403 {"error": "Authentication required"} without one and {"error": "Not authorized"} without
group access; 404 {"error": "Couldn't find Ticket with 'id'=N"}; 422 {"error", "error_human"}
for a name that does not resolve; tickets created with their "tags" in the same request;
GET /api/v1/tickets/search with a `condition` on ticket.tags and no query (a database search).
"""

from __future__ import annotations

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
from zcomp.tickets.backends.zammad import ZammadBackend
from zcomp.tickets.http import TicketConflict, TicketNotFound, TicketUnreachable
from zcomp.tickets.render import title_line

TOKEN = "zAmMaD-t0ken-5f3a9c27e1"
STATES = {1: "new", 2: "open", 4: "closed", 7: "pending close"}
PRIORITIES = {1: "1 low", 2: "2 normal", 3: "3 high"}
GROUPS = {1: "Users", 2: "Security", 3: "Finance"}
CUSTOMERS = {3: "helpdesk@example.edu", 9: "security@example.edu"}


def _fail(status: int, error: str) -> Answer:
    return Answer(status, {"error": error, "error_human": error})


def _lookup(table: dict[int, str], name: Any) -> int | None:
    return next((key for key, value in table.items() if value == name), None)


class FakeZammad(FakeDesk):
    def __init__(self) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.articles: list[dict[str, Any]] = []
        self.tags: dict[int, list[str]] = {}
        self.agent_groups = {"Users", "Security"}  # the token user's group access
        api = "/api/v1"
        self.route("POST", api + r"/tickets", self.ticket_create)
        self.route("GET", api + r"/tickets/search", self.ticket_search)
        self.route("GET", api + r"/tickets/(?P<id>\d+)", self.ticket_show)
        self.route("PUT", api + r"/tickets/(?P<id>\d+)", self.ticket_update)
        self.route("POST", api + r"/ticket_articles", self.article_create)

    def reset(self) -> None:
        with self.lock:
            self.tickets.clear()
            self.articles.clear()
            self.tags.clear()
            self.requests.clear()
            self._trouble.clear()
            self.agent_groups = {"Users", "Security"}

    # -- authentication ----------------------------------------------------------------------

    def authorised(self, seen: Seen) -> bool:
        return seen.header("Authorization") == f"Token token={TOKEN}"

    def unauthorised(self, seen: Seen) -> Answer:
        if seen.header("Authorization") is None:
            return Answer(403, {"error": "Authentication required"})
        answer = _fail(401, "Can't find User for Token")
        answer.headers["X-Failure"] = "Can't find User for Token"
        return answer

    # -- tickets ---------------------------------------------------------------------------

    def _missing(self, ticket_id: Any) -> Answer:
        return _fail(404, f"Couldn't find Ticket with 'id'={ticket_id}")

    def _ticket_json(self, ticket: dict[str, Any], *, expand: bool = False) -> dict[str, Any]:
        out = dict(ticket)
        out["article_ids"] = [a["id"] for a in self.articles if a["ticket_id"] == ticket["id"]]
        if expand:
            out["state"] = STATES[ticket["state_id"]]
            out["group"] = GROUPS[ticket["group_id"]]
            out["priority"] = PRIORITIES[ticket["priority_id"]]
            out["customer"] = CUSTOMERS[ticket["customer_id"]]
        return out

    def _article(self, ticket_id: int, data: Any) -> Answer | dict[str, Any]:
        if not isinstance(data, dict) or not data.get("body"):
            return _fail(422, "Need at least an article body")
        if data.get("type", "note") not in ("note", "phone", "email", "web"):
            return _fail(422, f"No lookup value found for 'type': \"{data.get('type')}\"")
        article = {
            "id": len(self.articles) + 1,
            "ticket_id": ticket_id,
            "subject": data.get("subject"),
            "body": data["body"],
            "content_type": data.get("content_type", "text/html"),
            "type": data.get("type", "note"),
            "internal": bool(data.get("internal", False)),
            "sender": "Agent",
        }
        return article

    def ticket_create(self, seen: Seen, _m: re.Match[str]) -> Answer:
        data = seen.json() or {}
        if not data.get("title"):
            return _fail(422, "Validation failed: Title can't be blank")
        group_id = _lookup(GROUPS, data.get("group"))
        if group_id is None:
            return _fail(422, f"No lookup value found for 'group': \"{data.get('group')}\"")
        if GROUPS[group_id] not in self.agent_groups:
            return _fail(403, "Not authorized")
        if "customer_id" in data:
            customer_id = data["customer_id"] if data["customer_id"] in CUSTOMERS else None
            if customer_id is None:
                return _fail(422, "Validation failed: Customer must exist")
        else:
            customer_id = _lookup(CUSTOMERS, data.get("customer"))
            if customer_id is None:
                return _fail(
                    422, f"No lookup value found for 'customer': \"{data.get('customer')}\""
                )
        state_id = _lookup(STATES, data.get("state", "new"))
        if state_id is None:
            return _fail(422, f"No lookup value found for 'state': \"{data.get('state')}\"")
        priority_id = _lookup(PRIORITIES, data.get("priority", "2 normal"))
        if priority_id is None:
            return _fail(422, f"No lookup value found for 'priority': \"{data.get('priority')}\"")
        ticket_id = len(self.tickets) + 1
        article: dict[str, Any] | None = None
        if "article" in data:
            checked = self._article(ticket_id, data["article"])
            if isinstance(checked, Answer):
                return checked
            article = checked
        self.tickets[ticket_id] = {
            "id": ticket_id,
            "number": f"{31000 + ticket_id}",
            "title": data["title"],
            "group_id": group_id,
            "state_id": state_id,
            "priority_id": priority_id,
            "customer_id": customer_id,
            "created_at": f"2024-05-01T02:30:{ticket_id:02d}.000Z",
        }
        # As the controller: tags in the same request, split on commas.
        self.tags[ticket_id] = [t.strip() for t in str(data.get("tags") or "").split(",") if t]
        if article is not None:
            self.articles.append(article)
        return Answer(201, self._ticket_json(self.tickets[ticket_id]))

    def ticket_search(self, seen: Seen, _m: re.Match[str]) -> Answer:
        args = {key: values[-1] for key, values in seen.query.items()}
        found = list(self.tickets.values())
        operator = args.get("condition[ticket.tags][operator]")
        if operator is not None:
            if operator != "contains all":
                return _fail(422, f"unsupported operator {operator}")
            wanted = [v.strip() for v in args.get("condition[ticket.tags][value]", "").split(",")]
            found = [t for t in found if all(w in self.tags.get(t["id"], []) for w in wanted)]
        if args.get("query"):  # the database fallback: a substring of the title
            found = [t for t in found if args["query"].lower() in t["title"].lower()]
        if args.get("sort_by") == "created_at":
            found.sort(key=lambda t: str(t["created_at"]), reverse=args.get("order_by") == "desc")
        found = found[: int(args.get("limit", "50"))]
        return Answer(
            200,
            {
                "tickets": [t["id"] for t in found],
                "tickets_count": len(found),
                "assets": {"Ticket": {str(t["id"]): self._ticket_json(t) for t in found}},
            },
        )

    def ticket_show(self, seen: Seen, m: re.Match[str]) -> Answer:
        ticket = self.tickets.get(int(m["id"]))
        if ticket is None:
            return self._missing(m["id"])
        expand = seen.query.get("expand", ["false"])[-1] == "true"
        return Answer(200, self._ticket_json(ticket, expand=expand))

    def ticket_update(self, seen: Seen, m: re.Match[str]) -> Answer:
        ticket = self.tickets.get(int(m["id"]))
        if ticket is None:
            return self._missing(m["id"])
        data = seen.json() or {}
        state_id = ticket["state_id"]
        if "state" in data:
            state_id = _lookup(STATES, data["state"])
            if state_id is None:
                return _fail(422, f"No lookup value found for 'state': \"{data['state']}\"")
        article: dict[str, Any] | None = None
        if data.get("article"):
            checked = self._article(ticket["id"], data["article"])
            if isinstance(checked, Answer):
                return checked
            article = checked
        ticket["state_id"] = state_id  # with_lock: the state and the article together
        if article is not None:
            self.articles.append(article)
        return Answer(200, self._ticket_json(ticket))

    def article_create(self, seen: Seen, _m: re.Match[str]) -> Answer:
        data = seen.json() or {}
        ticket_id = data.get("ticket_id")
        if ticket_id not in self.tickets:
            return self._missing(ticket_id)
        article = self._article(ticket_id, data)
        if isinstance(article, Answer):
            return article
        self.articles.append(article)
        return Answer(201, article)

    def articles_of(self, ticket_id: int) -> list[dict[str, Any]]:
        return [a for a in self.articles if a["ticket_id"] == ticket_id]


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeZammad]:
    # One server per module (stopping one waits out its 0.5 s poll), emptied for each test.
    running = FakeZammad()
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def desk(server: FakeZammad) -> FakeZammad:
    server.reset()
    return server


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "zammad.token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


class Made:
    def __init__(self, desk: FakeZammad, token_file: Path, tmp_path: Path) -> None:
        self.desk, self.token_file, self.tmp_path = desk, token_file, tmp_path
        self.debug: list[str] = []

    def table(self, **changes: Any) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "url": self.desk.url,
            "token_file": str(self.token_file),
            "group": "Security",
            "customer": "helpdesk@example.edu",
            "timeout": 0.5,
        }
        settings.update(changes)
        return {key: value for key, value in settings.items() if value is not None}

    def __call__(self, **changes: Any) -> ZammadBackend:
        backend = make_backend(
            "zammad",
            {"zammad": self.table(**changes)},
            self.tmp_path / "state",
            debug=self.debug.append,
        )
        assert isinstance(backend, ZammadBackend)
        return backend


@pytest.fixture
def made(desk: FakeZammad, token_file: Path, tmp_path: Path) -> Made:
    return Made(desk, token_file, tmp_path)


def assert_no_secret(desk: FakeZammad, made: Made, *texts: str) -> None:
    for seen in desk.requests:
        assert TOKEN not in seen.path and TOKEN not in str(seen.query)
        assert TOKEN.encode() not in seen.body
        others = {k: v for k, v in seen.headers.items() if k.lower() != "authorization"}
        assert not any(TOKEN in value for value in others.values())
    for line in made.debug:
        assert TOKEN not in line
    for text in texts:
        assert TOKEN not in text


# -- the round trip ------------------------------------------------------------------------


def test_open_find_comment_resolve(desk: FakeZammad, made: Made) -> None:
    backend = made()
    ref = backend.open(content(42))
    assert ref == TicketRef("zammad", "1", desk.url + "/#ticket/zoom/1")
    ticket = desk.tickets[1]
    assert ticket["title"] == title_line(content(42))
    assert (GROUPS[ticket["group_id"]], CUSTOMERS[ticket["customer_id"]]) == (
        "Security",
        "helpdesk@example.edu",
    )
    assert (STATES[ticket["state_id"]], PRIORITIES[ticket["priority_id"]]) == ("new", "2 normal")
    assert desk.tags[1] == ["zcomp-INC000042"]
    (first,) = desk.articles_of(1)
    assert first["body"] == render_text(content(42))
    assert first["subject"] == ticket["title"]
    assert (first["type"], first["internal"], first["content_type"]) == ("note", True, "text/plain")

    assert backend.find(42) == ref
    assert backend.find(43) is None
    search = [s for s in desk.requests if s.path == "/api/v1/tickets/search"][-1]
    assert "query" not in search.query  # a database search, not the lagging search index
    assert search.query["condition[ticket.tags][value]"] == ["zcomp-INC000043"]

    backend.comment(ref, "Customer reached by phone.")
    note = desk.articles_of(1)[1]
    assert (note["body"], note["type"], note["internal"]) == (
        "Customer reached by phone.",
        "note",
        True,
    )
    assert STATES[ticket["state_id"]] == "new"

    assert backend.resolve(ref, "Unlocked; new password set by the help desk.") is True
    assert STATES[ticket["state_id"]] == "closed"
    assert desk.articles_of(1)[2]["body"] == "Unlocked; new password set by the help desk."
    assert backend.resolve(ref, "again") is True  # already closed: nothing added
    assert len(desk.articles_of(1)) == 3

    assert all(s.header("Authorization") == f"Token token={TOKEN}" for s in desk.requests)
    assert_no_secret(desk, made)


def test_settings_reach_the_ticket(desk: FakeZammad, made: Made) -> None:
    backend = made(
        customer="9",
        state="open",
        priority="3 high",
        tag="phishing",
        resolved_state="pending close",
        url=desk.url + "/api/v1",
    )
    ref = backend.open(content(7))
    assert ref.url == desk.url + "/#ticket/zoom/1"
    ticket = desk.tickets[1]
    assert CUSTOMERS[ticket["customer_id"]] == "security@example.edu"
    assert (STATES[ticket["state_id"]], PRIORITIES[ticket["priority_id"]]) == ("open", "3 high")
    assert desk.tags[1] == ["zcomp-INC000007", "phishing"]
    create = next(s for s in desk.requests if s.method == "POST")
    assert create.json()["customer_id"] == 9
    backend.resolve(ref, "done")
    assert STATES[ticket["state_id"]] == "pending close"


def test_a_long_title_is_cut_to_what_zammad_stores(desk: FakeZammad, made: Made) -> None:
    made().open(content(1, title="x" * 400))
    assert len(desk.tickets[1]["title"]) == 250


# -- idempotency ---------------------------------------------------------------------------


def test_open_twice_gives_one_ticket(desk: FakeZammad, made: Made) -> None:
    backend = made()
    first = backend.open(content(42))
    assert backend.open(content(42, title="a different title")) == first
    assert len(desk.tickets) == 1
    assert backend.open(content(43)) != first and len(desk.tickets) == 2


def test_a_ticket_mentioning_the_key_without_the_tag_is_not_it(
    desk: FakeZammad, made: Made
) -> None:
    backend = made()
    backend.open(content(1))
    desk.tags[1] = ["zcomp-INC0000420"]  # another key, sharing a prefix
    desk.tickets[1]["title"] = "about zcomp-INC000042"
    assert backend.find(42) is None
    assert backend.open(content(42)).id == "2"


def test_a_create_applied_but_unheard_is_found_on_retry(desk: FakeZammad, made: Made) -> None:
    backend = made()
    desk.stall_next("POST", r"/api/v1/tickets\Z", 1.0)  # applied; reply after the 0.5 s timeout
    ref = backend.open(content(42))
    assert ref.id == "1" and len(desk.tickets) == 1
    assert len([s for s in desk.requests if s.method == "POST"]) == 1


def test_a_server_error_on_create_then_a_retry_creates_once(desk: FakeZammad, made: Made) -> None:
    backend = made()
    desk.fail_next(
        "POST",
        r"/api/v1/tickets\Z",
        500,
        body={"error": "Error ID AbC123: Please contact your administrator."},
    )
    with pytest.raises(TicketUnreachable) as caught:
        backend.open(content(42))
    assert caught.value.maybe_applied and "Error ID AbC123" in caught.value.message
    assert desk.tickets == {}
    ref = backend.open(content(42))
    assert ref.id == "1" and len(desk.tickets) == 1
    assert backend.open(content(42)) == ref and len(desk.tickets) == 1


def test_a_server_error_on_search_is_asked_again(desk: FakeZammad, made: Made) -> None:
    backend = made()
    waits: list[float] = []
    backend.http.sleep = waits.append
    desk.fail_next("GET", r"/api/v1/tickets/search", 503, body=b"Service Unavailable")
    assert backend.open(content(42)).id == "1"
    assert waits == [0.5] and len(desk.tickets) == 1


# -- errors --------------------------------------------------------------------------------


def test_a_wrong_token_is_one_line_naming_the_key(
    desk: FakeZammad, made: Made, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token", encoding="utf-8")
    wrong.chmod(0o600)
    with pytest.raises(TicketError) as caught:
        made(token_file=str(wrong)).open(content(42))
    message = caught.value.message
    assert "HTTP 401" in message and "Can't find User for Token" in message
    assert "[tickets.zammad] token" in message and "token_file" in message
    assert "\n" not in message and "not-the-token" not in message
    assert desk.tickets == {}


def test_no_group_access_is_one_line(desk: FakeZammad, made: Made) -> None:
    with pytest.raises(TicketError) as caught:
        made(group="Finance").open(content(42))
    message = caught.value.message
    assert "HTTP 403" in message and "Not authorized" in message
    assert "ticket.agent" in message and "'Finance'" in message
    assert_no_secret(desk, made, message)


def test_a_proxy_401_names_the_token(desk: FakeZammad, made: Made) -> None:
    desk.fail_next("GET", r"/api/v1/tickets/search", 401, body=b"<html>401</html>")
    with pytest.raises(TicketError, match=r"HTTP 401.*\[tickets.zammad\] token"):
        made().find(1)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"group": "Nope"}, "No lookup value found for 'group': \"Nope\""),
        ({"customer": "nobody@example.edu"}, "No lookup value found for 'customer'"),
        ({"customer": "77"}, "Customer must exist"),
        ({"state": "bogus"}, "No lookup value found for 'state'"),
        ({"priority": "9 weird"}, "No lookup value found for 'priority'"),
    ],
)
def test_an_unprocessable_setting_is_one_line(
    desk: FakeZammad, made: Made, changes: dict[str, str], expected: str
) -> None:
    with pytest.raises(TicketError) as caught:
        made(**changes).open(content(42))
    message = caught.value.message
    assert "HTTP 422" in message and expected in message
    assert "check [tickets.zammad] group, customer" in message and "\n" not in message
    assert desk.tickets == {}


def test_a_bad_resolved_state_is_reported(desk: FakeZammad, made: Made) -> None:
    backend = made(resolved_state="finished")
    ref = backend.open(content(42))
    with pytest.raises(TicketError, match=r"HTTP 422.*'state': \"finished\""):
        backend.resolve(ref, "done")
    assert STATES[desk.tickets[1]["state_id"]] == "new"
    assert len(desk.articles_of(1)) == 1  # the note is not added without the state


def test_comment_or_resolve_on_a_missing_ticket(desk: FakeZammad, made: Made) -> None:
    backend = made()
    with pytest.raises(TicketNotFound, match=r"HTTP 404.*Couldn't find Ticket"):
        backend.comment(TicketRef("zammad", "99"), "x")
    with pytest.raises(TicketNotFound):
        backend.resolve(TicketRef("zammad", "99"), "x")
    with pytest.raises(TicketError, match="not a zammad ticket"):
        backend.comment(TicketRef("znuny", "1"), "x")
    with pytest.raises(TicketError, match="not a zammad ticket"):
        backend.resolve(TicketRef("zammad", "1/../2"), "x")


def test_a_conflict_is_a_ticket_error(desk: FakeZammad, made: Made) -> None:
    backend = made()
    ref = backend.open(content(42))
    desk.fail_next("PUT", r"/api/v1/tickets/1", 409, body={"error": "edited meanwhile"})
    with pytest.raises(TicketConflict, match="conflict"):
        backend.resolve(ref, "x")


def test_rate_limit_is_waited_out(desk: FakeZammad, made: Made) -> None:
    backend = made()
    waits: list[float] = []
    backend.http.sleep = waits.append
    desk.fail_next("POST", r"/api/v1/tickets\Z", 429, headers={"Retry-After": "3"})
    assert backend.open(content(42)).id == "1"
    assert waits == [3.0] and len(desk.tickets) == 1


def test_a_search_timeout_is_unreachable_and_not_applied(desk: FakeZammad, made: Made) -> None:
    desk.stall_next("GET", r"/api/v1/tickets/search", 1.0)
    with pytest.raises(TicketUnreachable) as caught:
        made().find(42)
    assert not caught.value.maybe_applied


def test_a_comment_timeout_may_have_applied(desk: FakeZammad, made: Made) -> None:
    backend = made()
    ref = backend.open(content(42))
    desk.stall_next("POST", r"/api/v1/ticket_articles", 1.0)
    with pytest.raises(TicketUnreachable) as caught:
        backend.comment(ref, "x")
    assert caught.value.maybe_applied


def test_nothing_is_sent_for_text_that_looks_like_a_secret(desk: FakeZammad, made: Made) -> None:
    backend = made()
    leaking = content(1)
    leaking.found = ["the filter forwards mail; Password = hunter2"]
    with pytest.raises(TicketError, match="refused to write"):
        backend.open(leaking)
    assert desk.requests == []
    ref = backend.open(content(2))
    with pytest.raises(TicketError, match="refused to write"):
        backend.resolve(ref, "new password: Winter2024!")
    assert len(desk.articles_of(1)) == 1


def test_a_reply_echoing_the_token_is_scrubbed(desk: FakeZammad, made: Made) -> None:
    desk.fail_next("GET", r"/api/v1/tickets/search", 400, body=f"bad token {TOKEN}".encode())
    with pytest.raises(TicketError) as caught:
        made().find(1)
    assert TOKEN not in caught.value.message and "***" in caught.value.message


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["url", "group", "customer"])
def test_a_required_key_missing(made: Made, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"\[tickets.zammad\] {key}: is required"):
        made(**{key: None})


def test_the_token_is_required(made: Made) -> None:
    with pytest.raises(ConfigError, match=r"\[tickets.zammad\] token: is required"):
        made(token_file=None)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"url": "desk.example.edu"}, r"\[tickets.zammad\] url: expected a https or http URL"),
        ({"customer": "Help Desk"}, r"\[tickets.zammad\] customer: expected an email address"),
        ({"tag": "a,b"}, r"\[tickets.zammad\] tag: one tag, without commas"),
        ({"timeout": -1}, r"\[tickets.zammad\] timeout: expected seconds"),
        ({"verify": 1}, r"\[tickets.zammad\] verify: expected true or false"),
        ({"ca_file": "/nonexistent/ca.pem"}, r"\[tickets.zammad\] ca_file: .* is not a readable"),
        ({"group": 7}, r"\[tickets.zammad\] group: expected non-empty text"),
        ({"token_file": "/nonexistent/token"}, r"\[tickets.zammad\] token_file: cannot read"),
        ({"user": "admin"}, r"\[tickets.zammad\] unknown option 'user'"),
    ],
)
def test_a_bad_setting(made: Made, changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        made(**changes)


def test_an_inline_token_is_refused(made: Made) -> None:
    with pytest.raises(ConfigError) as caught:
        made(token=TOKEN, token_file=None)
    assert "[tickets.zammad] token: secrets are not written in the config" in caught.value.message
    assert TOKEN not in caught.value.message


def test_the_token_from_an_environment_variable(
    desk: FakeZammad, made: Made, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZCOMP_TEST_ZAMMAD_TOKEN", TOKEN)
    backend = made(token_file=None, token_env="ZCOMP_TEST_ZAMMAD_TOKEN")
    assert backend.open(content(42)).id == "1"
    assert_no_secret(desk, made)


def test_tls_settings_reach_the_client(made: Made, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not parsed until a request", encoding="utf-8")
    backend = made(url="https://desk.example.edu", verify=False, ca_file=str(ca))
    assert (backend.http.verify, backend.http.ca_file) == (False, str(ca))
    assert made(url="https://desk.example.edu").http.verify is True


@pytest.fixture
def https_desk() -> Iterator[tuple[str, trustme.CA]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    desk = FakeZammad()
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
    assert made(url=https_url, ca_file=str(bundle)).find(1) is None
    with pytest.raises(TicketUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        made(url=https_url).find(1)
    assert made(url=https_url, verify=False).find(1) is None


def test_weak_transport_is_warned_about(made: Made) -> None:
    warnings: list[str] = []

    def make(**changes: Any) -> None:
        table = made.table(**changes)
        make_backend("zammad", {"zammad": table}, made.tmp_path / "state", warn=warnings.append)

    make()  # http://127.0.0.1: a test desk, no warning
    assert warnings == []
    make(url="http://desk.example.edu")
    make(url="https://desk.example.edu", verify=False)
    assert warnings == [
        "[tickets.zammad] url is http://: the token would travel unencrypted",
        "[tickets.zammad] verify = false: the server's certificate is not checked",
    ]
