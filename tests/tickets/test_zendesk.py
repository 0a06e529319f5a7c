"""The zendesk backend against a fake Zendesk speaking the documented Ticketing API (tickets,
external_id lookups, search, Idempotency-Key on create, "{email}/token:{api_token}" basic auth,
{"error": ..., "description": ..., "details": ...} refusals), over http and https."""

from __future__ import annotations

import base64
import dataclasses
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.tickets.fakedesk import Answer, FakeDesk, Seen
from tests.tickets.workers import content
from zcomp.exitcodes import ConfigError
from zcomp.tickets import TicketError, TicketRef, make_backend, render_text
from zcomp.tickets.backends.zendesk import ZendeskBackend
from zcomp.tickets.http import TicketConflict, TicketNotFound, TicketUnreachable
from zcomp.tickets.render import title_line

EMAIL = "zcomp-bot@example.edu"
API_TOKEN = "zd-api-token-6Wq1rX9pLk2"
AGENT_ID = 901
GROUP_ID = 360001
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
_SEARCH = re.compile(r'type:ticket tags:"([^"]+)"')


def _invalid(field: str, description: str) -> dict[str, Any]:
    return {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {field: [{"description": description, "error": "InvalidValue"}]},
    }


class ZendeskDesk(FakeDesk):
    """Zendesk Support: tickets with comments, external ids, tags and a search index that
    lags behind (`unindexed`), and the Idempotency-Key store of ticket creates."""

    def __init__(self) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.users = {EMAIL: AGENT_ID, "alice@example.edu": 555}
        self.keys: dict[str, tuple[Any, int]] = {}  # Idempotency-Key: (payload, ticket id)
        self.unindexed = False  # tickets created now are not searchable yet
        self.route("POST", r"/api/v2/tickets\.json", self.create)
        self.route("GET", r"/api/v2/tickets\.json", self.list_tickets)
        self.route("GET", r"/api/v2/search\.json", self.search)
        self.route("GET", r"/api/v2/tickets/(\d+)\.json", self.show)
        self.route("PUT", r"/api/v2/tickets/(\d+)\.json", self.update)

    def authorised(self, seen: Seen) -> bool:
        pair = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
        return seen.header("Authorization") == f"Basic {pair}"

    def unauthorised(self, seen: Seen) -> Answer:
        return Answer(401, {"error": "Couldn't authenticate you"})

    def _view(self, ticket: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in ticket.items() if k not in ("comments", "indexed")}

    def create(self, seen: Seen, _m: re.Match[str]) -> Answer:
        payload = seen.json()
        key = seen.header("Idempotency-Key")
        if key is not None and key in self.keys:
            earlier, ticket_id = self.keys[key]
            if earlier != payload:
                return Answer(
                    400,
                    {
                        "error": "IdempotentRequestError",
                        "description": "Request parameters don't match the given idempotency key",
                    },
                )
            view = {"ticket": self._view(self.tickets[ticket_id])}
            return Answer(201, view, {"x-idempotency-lookup": "hit"})
        ticket = payload["ticket"]
        body = ticket.get("comment", {}).get("body")
        if not body:
            return Answer(422, _invalid("description", "Description: cannot be blank"))
        if "group_id" in ticket and ticket["group_id"] != GROUP_ID:
            return Answer(422, _invalid("group", "Group: is invalid"))
        requester = ticket.get("requester_id") or AGENT_ID
        if "requester" in ticket:
            email = ticket["requester"]["email"]
            requester = self.users.setdefault(email, 1000 + len(self.users))
        ticket_id = len(self.tickets) + 1
        stored = {
            "id": ticket_id,
            "url": f"{self.url}/api/v2/tickets/{ticket_id}.json",
            "subject": ticket.get("subject"),
            "raw_subject": ticket.get("subject"),
            "description": body,
            "status": "new",
            "external_id": ticket.get("external_id"),
            "tags": sorted({t.lower() for t in ticket.get("tags", [])}),
            "group_id": ticket.get("group_id"),
            "requester_id": requester,
            "submitter_id": AGENT_ID,
            "assignee_id": None,
            "comments": [ticket["comment"]],
            "indexed": not self.unindexed,
        }
        self.tickets[ticket_id] = stored
        if key is not None:
            self.keys[key] = (payload, ticket_id)
        headers = {"Location": stored["url"], "x-idempotency-lookup": "miss"}
        return Answer(201, {"ticket": self._view(stored)}, headers)

    def list_tickets(self, seen: Seen, _m: re.Match[str]) -> Answer:
        wanted = seen.query.get("external_id", [None])[0]
        found = [
            self._view(t)
            for t in self.tickets.values()
            if wanted is None or t["external_id"] == wanted
        ]
        return Answer(
            200, {"tickets": found, "next_page": None, "previous_page": None, "count": len(found)}
        )

    def search(self, seen: Seen, _m: re.Match[str]) -> Answer:
        parsed = _SEARCH.fullmatch(seen.query.get("query", [""])[0])
        if parsed is None:
            return Answer(400, {"error": "unsupported query in this fake"})
        tag = parsed.group(1).lower()
        found = [
            {**self._view(t), "result_type": "ticket"}
            for t in self.tickets.values()
            if t["indexed"] and tag in t["tags"]
        ]
        return Answer(
            200,
            {
                "results": found,
                "facets": None,
                "next_page": None,
                "previous_page": None,
                "count": len(found),
            },
        )

    def show(self, seen: Seen, m: re.Match[str]) -> Answer:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return Answer(404, NOT_FOUND)
        return Answer(200, {"ticket": self._view(ticket)})

    def update(self, seen: Seen, m: re.Match[str]) -> Answer:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return Answer(404, NOT_FOUND)
        if ticket["status"] == "closed":
            return Answer(422, _invalid("status", "Status: closed prevents ticket update"))
        change = dict(seen.json()["ticket"])
        if "assignee_email" in change:
            ticket["assignee_id"] = self.users[change.pop("assignee_email")]
        if change.get("status") == "solved" and ticket["assignee_id"] is None:
            return Answer(422, _invalid("assignee", "Assignee: is required when solving"))
        if "comment" in change:
            ticket["comments"].append(change.pop("comment"))
        ticket.update(change)
        return Answer(200, {"ticket": self._view(ticket), "audit": {"id": 1}})


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def desk() -> Iterator[ZendeskDesk]:
    running = ZendeskDesk()
    with running:
        yield running


def _secret_file(tmp_path: Path, value: str, name: str = "zendesk-token") -> str:
    path = tmp_path / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


def _zendesk(
    desk: ZendeskDesk,
    tmp_path: Path,
    debug: list[str] | None = None,
    url: str | None = None,
    **extra: Any,
) -> ZendeskBackend:
    table: dict[str, Any] = {
        "url": url or desk.url,
        "email": EMAIL,
        "token_file": _secret_file(tmp_path, API_TOKEN),
        "timeout": 2,
        **extra,
    }
    table = {k: v for k, v in table.items() if v is not None}
    made = make_backend(
        "zendesk", {"zendesk": table}, tmp_path, debug=None if debug is None else debug.append
    )
    assert isinstance(made, ZendeskBackend)
    made.http.sleep = lambda _s: None
    return made


def _creates(desk: ZendeskDesk) -> list[Seen]:
    return [r for r in desk.requests if r.method == "POST"]


def _puts(desk: ZendeskDesk) -> list[Seen]:
    return [r for r in desk.requests if r.method == "PUT"]


# -- the round trip ------------------------------------------------------------------------


def test_round_trip(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(desk, tmp_path)
    ref = zendesk.open(content(42))
    assert ref == TicketRef("zendesk", "1", f"{desk.url}/agent/tickets/1")
    ticket = desk.tickets[1]
    assert ticket["subject"] == title_line(content(42))
    assert ticket["comments"] == [{"body": render_text(content(42)), "public": False}]
    assert ticket["external_id"] == "zcomp-INC000042"
    assert ticket["tags"] == ["zcomp", "zcomp-inc000042"]
    assert _creates(desk)[0].header("Idempotency-Key") == "zcomp-INC000042"
    assert _creates(desk)[0].path == "/api/v2/tickets.json"

    assert zendesk.find(42) == ref
    assert zendesk.find(43) is None
    lookups = [r for r in desk.requests if r.method == "GET" and r.path == "/api/v2/tickets.json"]
    assert lookups[0].query == {"external_id": ["zcomp-INC000042"]}

    zendesk.comment(ref, "Customer reached by phone.")
    assert ticket["comments"][-1] == {"body": "Customer reached by phone.", "public": False}
    assert zendesk.resolve(ref, "Unlocked; new password set by the help desk.") is True
    assert ticket["status"] == "solved"
    assert ticket["assignee_id"] == AGENT_ID  # Zendesk solves only assigned tickets
    assert ticket["comments"][-1] == {
        "body": "Unlocked; new password set by the help desk.",
        "public": False,
    }
    puts = len(_puts(desk))
    assert zendesk.resolve(ref, "again") is True  # already solved: left alone
    assert len(_puts(desk)) == puts


def test_group_requester_and_tags(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(
        desk, tmp_path, group_id=GROUP_ID, requester="alice@example.edu", tags=["phishing"]
    )
    ref = zendesk.open(content(7))
    ticket = desk.tickets[int(ref.id)]
    assert (ticket["group_id"], ticket["requester_id"]) == (GROUP_ID, 555)
    assert ticket["tags"] == ["phishing", "zcomp-inc000007"]
    sent = _creates(desk)[0].json()["ticket"]
    assert sent["requester"] == {"email": "alice@example.edu"}
    by_id = _zendesk(desk, tmp_path, requester=555, tags=[])
    by_id.open(content(8))
    assert _creates(desk)[-1].json()["ticket"]["requester_id"] == 555
    assert desk.tickets[2]["tags"] == ["zcomp-inc000008"]


def test_an_assigned_ticket_keeps_its_assignee(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(desk, tmp_path)
    ref = zendesk.open(content(1))
    desk.tickets[1]["assignee_id"] = 555
    assert zendesk.resolve(ref, "Unlocked.") is True
    assert desk.tickets[1]["assignee_id"] == 555
    assert "assignee_email" not in _puts(desk)[-1].json()["ticket"]


# -- idempotency ---------------------------------------------------------------------------


def test_open_twice_files_one_ticket(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(desk, tmp_path)
    first = zendesk.open(content(42))
    assert zendesk.open(content(42, title="another title")) == first
    assert list(desk.tickets) == [1] and len(_creates(desk)) == 1


def test_a_create_that_landed_unheard_is_found(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(desk, tmp_path, timeout=0.5)
    desk.stall_next("POST", r"^/api/v2/tickets\.json$", 1.5)
    assert zendesk.open(content(42)).id == "1"
    assert list(desk.tickets) == [1] and len(_creates(desk)) == 1


def test_by_tag_a_lagging_index_is_covered_by_the_idempotency_key(
    desk: ZendeskDesk, tmp_path: Path
) -> None:
    zendesk = _zendesk(desk, tmp_path, timeout=0.5, external_id=False)
    desk.unindexed = True
    desk.stall_next("POST", r"^/api/v2/tickets\.json$", 1.5)
    with pytest.raises(TicketUnreachable):
        zendesk.open(content(42))  # created, unheard, and not searchable yet
    assert zendesk.open(content(42)).id == "1"  # the repeat is answered with the first ticket
    assert list(desk.tickets) == [1] and "external_id" not in _creates(desk)[0].json()["ticket"]
    searches = [r for r in desk.requests if r.path == "/api/v2/search.json"]
    assert searches[0].query == {"query": ['type:ticket tags:"zcomp-inc000042"']}
    desk.tickets[1]["indexed"] = True
    assert zendesk.find(42) == TicketRef("zendesk", "1", f"{desk.url}/agent/tickets/1")
    # A different ticket under the same key is refused by Zendesk, in one line.
    with pytest.raises(TicketError) as caught:
        desk.tickets[1]["indexed"] = False
        zendesk.open(content(42, title="another title"))
    assert "HTTP 400: IdempotentRequestError; Request parameters don't match" in (
        caught.value.message
    )


def test_5xx_on_create_then_the_retry_creates_once(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(desk, tmp_path)
    desk.fail_next("POST", r"^/api/v2/tickets\.json$", 503, headers={"Retry-After": "5"})
    with pytest.raises(TicketUnreachable) as caught:
        zendesk.open(content(42))
    assert caught.value.maybe_applied and desk.tickets == {}
    assert zendesk.open(content(42)).id == "1"
    assert zendesk.open(content(42)).id == "1" and list(desk.tickets) == [1]


# -- errors --------------------------------------------------------------------------------


def test_refused_credentials_name_what_to_check(desk: ZendeskDesk, tmp_path: Path) -> None:
    wrong = _secret_file(tmp_path, "not-the-api-token", name="wrong")
    with pytest.raises(TicketError) as caught:
        _zendesk(desk, tmp_path, token_file=wrong).open(content(1))
    assert caught.value.message == (
        "zendesk: GET /api/v2/tickets.json: HTTP 401: the credentials were refused (Couldn't "
        "authenticate you); check [tickets.zendesk] email and token (an API token, with token "
        "access enabled in the Admin Center)"
    )


def test_forbidden_says_what_zendesk_said(desk: ZendeskDesk, tmp_path: Path) -> None:
    said = "You do not have access to this page. Please contact the account owner."
    desk.fail_next("POST", r"tickets\.json$", 403, body={"error": "Forbidden", "description": said})
    with pytest.raises(TicketError) as caught:
        _zendesk(desk, tmp_path).open(content(1))
    assert f"HTTP 403: not allowed (Forbidden; {said})" in caught.value.message
    assert "check the role of [tickets.zendesk] email" in caught.value.message


def test_validation_errors_are_one_line(desk: ZendeskDesk, tmp_path: Path) -> None:
    with pytest.raises(TicketError) as caught:
        _zendesk(desk, tmp_path, group_id=77).open(content(1))
    assert caught.value.message.endswith(
        "HTTP 422: RecordInvalid; Record validation errors; group: Group: is invalid"
    )
    zendesk = _zendesk(desk, tmp_path)
    ref = zendesk.open(content(2))
    desk.tickets[int(ref.id)]["status"] = "closed"
    with pytest.raises(TicketError, match="closed prevents ticket update"):
        zendesk.comment(ref, "too late")


def test_404_on_comment(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(desk, tmp_path)
    with pytest.raises(TicketNotFound, match=r"HTTP 404: not found \(RecordNotFound; Not found\)"):
        zendesk.comment(TicketRef("zendesk", "999"), "x")
    with pytest.raises(TicketNotFound):
        zendesk.resolve(TicketRef("zendesk", "999"), "x")
    with pytest.raises(TicketError, match="is not a Zendesk ticket"):
        zendesk.comment(TicketRef("zendesk", "1/../../users/me"), "x")


def test_409_on_an_update_is_tried_once_more(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(desk, tmp_path)
    ref = zendesk.open(content(1))
    busy = {"error": "Conflict", "description": "The ticket was updated by another request"}
    desk.fail_next("PUT", r"/tickets/1\.json$", 409, body=busy)
    zendesk.comment(ref, "once")
    assert [c["body"] for c in desk.tickets[1]["comments"]][1:] == ["once"]
    desk.fail_next("PUT", r"/tickets/1\.json$", 409, body=busy, times=2)
    with pytest.raises(TicketConflict, match="updated by another request"):
        zendesk.comment(ref, "twice")


def test_429_is_waited_out(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(desk, tmp_path)
    slept: list[float] = []
    zendesk.http.sleep = slept.append
    desk.fail_next("POST", r"tickets\.json$", 429, headers={"Retry-After": "11"})
    assert zendesk.open(content(1)).id == "1"
    assert slept == [11.0] and len(desk.tickets) == 1


def test_a_read_that_times_out(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(desk, tmp_path, timeout=0.5)
    desk.stall_next("GET", r"tickets\.json$", 1.5)
    with pytest.raises(TicketUnreachable) as caught:
        zendesk.find(1)
    assert not caught.value.maybe_applied and "no answer" in caught.value.message


def test_secrets_never_leave(desk: ZendeskDesk, tmp_path: Path) -> None:
    lines: list[str] = []
    zendesk = _zendesk(desk, tmp_path, debug=lines)
    ref = zendesk.open(content(1))
    zendesk.comment(ref, "ok")
    zendesk.resolve(ref, "done")
    desk.fail_next("PUT", r"tickets/", 403, body={"error": "Forbidden"})
    with pytest.raises(TicketError) as caught:
        zendesk.comment(ref, "x")
    authorization = desk.requests[0].header("Authorization") or ""
    assert lines and authorization
    for text in [*lines, caught.value.message]:
        assert API_TOKEN not in text and authorization not in text
    assert all(API_TOKEN.encode() not in r.body for r in desk.requests)


def test_text_with_a_password_is_refused_before_sending(desk: ZendeskDesk, tmp_path: Path) -> None:
    zendesk = _zendesk(desk, tmp_path)
    leaking = content(1)
    leaking.found = ["a note saying Password: Summer2024"]
    with pytest.raises(TicketError, match="refused to write ticket INC000001"):
        zendesk.open(leaking)
    with pytest.raises(TicketError, match="refused to write a comment"):
        zendesk.comment(TicketRef("zendesk", "1"), "password=abc")
    assert desk.requests == []


# -- TLS -----------------------------------------------------------------------------------


@contextmanager
def _https_desk(ca: trustme.CA) -> Iterator[ZendeskDesk]:
    desk = ZendeskDesk()
    with desk:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        server = desk._server  # FakeDesk serves plain HTTP: wrap its listening socket
        assert server is not None
        server.socket = context.wrap_socket(server.socket, server_side=True)
        yield desk


def test_tls_verify_and_ca_file(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "zendesk-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with _https_desk(ca) as desk:
        url = desk.url.replace("http://", "https://")
        trusted = _zendesk(desk, tmp_path, url=url, ca_file=str(bundle))
        assert trusted.open(content(1)).url == f"{url}/agent/tickets/1"
        unknown = _zendesk(desk, tmp_path, url=url)  # the system's CAs do not know this one
        with pytest.raises(TicketUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
            unknown.find(1)
        unverified = _zendesk(desk, tmp_path, url=url, verify=False)
        assert unverified.find(1) is not None
    assert len(desk.tickets) == 1


# -- configuration -------------------------------------------------------------------------


def _config_error(tmp_path: Path, table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        make_backend("zendesk", {"zendesk": table}, tmp_path)
    return caught.value.message


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    good = {
        "url": "https://example.zendesk.com",
        "email": EMAIL,
        "token_file": _secret_file(tmp_path, API_TOKEN),
    }
    assert _config_error(tmp_path, {}) == "[tickets.zendesk] url: is required"
    assert (
        _config_error(tmp_path, {**good, "email": None}) == "[tickets.zendesk] email: is required"
    )
    assert _config_error(tmp_path, {**good, "token_file": None}).startswith(
        "[tickets.zendesk] token: is required"
    )
    assert _config_error(tmp_path, {**good, "token_file": str(tmp_path / "none")}).startswith(
        "[tickets.zendesk] token_file: cannot read"
    )
    assert _config_error(tmp_path, {**good, "group_id": "support"}).startswith(
        "[tickets.zendesk] group_id: expected a whole number"
    )
    assert _config_error(tmp_path, {**good, "requester": "alice"}) == (
        "[tickets.zendesk] requester: expected an email address or a user id, got 'alice'"
    )
    assert _config_error(tmp_path, {**good, "tags": ["two words"]}) == (
        "[tickets.zendesk] tags: a tag cannot hold spaces or commas, got 'two words'"
    )
    assert _config_error(tmp_path, {**good, "tags": "zcomp"}).startswith(
        "[tickets.zendesk] tags: expected a list"
    )
    assert _config_error(tmp_path, {**good, "external_id": "yes"}).startswith(
        "[tickets.zendesk] external_id: expected true or false"
    )
    assert _config_error(tmp_path, {**good, "verify": "no"}).startswith(
        "[tickets.zendesk] verify: expected true or false"
    )
    assert _config_error(tmp_path, {**good, "subdomain": "example"}).startswith(
        "[tickets.zendesk] unknown option 'subdomain'"
    )


def test_an_inline_token_is_refused(tmp_path: Path) -> None:
    table = {"url": "https://example.zendesk.com", "email": EMAIL, "token": API_TOKEN}
    message = _config_error(tmp_path, table)
    assert message.startswith("[tickets.zendesk] token: secrets are not written in the config")
    assert API_TOKEN not in message


def test_the_token_from_the_environment(
    desk: ZendeskDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZCOMP_TEST_ZENDESK_TOKEN", API_TOKEN)
    zendesk = _zendesk(desk, tmp_path, token_file=None, token_env="ZCOMP_TEST_ZENDESK_TOKEN")
    assert zendesk.open(content(1)).id == "1"


def test_an_incident_known_by_a_text_key(desk: ZendeskDesk, tmp_path: Path) -> None:
    # `zcomp ticket test` files under a key given as text; the backend only passes it on.
    probe = dataclasses.replace(content(1), incident_id="ZCOMPTEST-20240501023000-AB12")
    zendesk = _zendesk(desk, tmp_path)
    ref = zendesk.open(probe)
    assert desk.tickets[1]["external_id"] == "zcomp-ZCOMPTEST-20240501023000-AB12"
    assert "zcomp-zcomptest-20240501023000-ab12" in desk.tickets[1]["tags"]
    assert zendesk.find("ZCOMPTEST-20240501023000-AB12") == ref
