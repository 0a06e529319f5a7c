"""The servicenow backend against a fake instance speaking the documented Table API (incident
records, encoded queries, {"error": {"message", "detail"}, "status": "failure"}) with basic
auth or OAuth client-credentials tokens from /oauth_token.do."""

from __future__ import annotations

import base64
import dataclasses
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.tickets.fakedesk import Answer, FakeDesk, Seen
from tests.tickets.workers import content
from zcomp.exitcodes import ConfigError
from zcomp.tickets import TicketError, TicketRef, make_backend, render_text
from zcomp.tickets.backends.servicenow import ServiceNowBackend
from zcomp.tickets.http import TicketNotFound, TicketUnreachable
from zcomp.tickets.render import title_line

USER = "svc_zcomp"
PASSWORD = "Sn0w-basic-secret-91"
CLIENT_ID = "5e1f7d6c2b3a4f5e8d9c0b1a2f3e4d5c"
CLIENT_SECRET = "oauth-client-secret-6b2d"
NOT_AUTHENTICATED = {
    "error": {
        "message": "User Not Authenticated",
        "detail": "Required to provide Auth information",
    },
    "status": "failure",
}
NO_RECORD = {
    "error": {
        "message": "No Record found",
        "detail": "Record doesn't exist or ACL restricts the record retrieval",
    },
    "status": "failure",
}
TABLE = "/api/now/table/incident"


class ServiceNowDesk(FakeDesk):
    """An instance with the incident table; basic auth, or Bearer tokens it issued itself."""

    def __init__(self, auth: str = "basic") -> None:
        super().__init__()
        self.auth = auth
        self.incidents: dict[str, dict[str, Any]] = {}
        self.work_notes: dict[str, list[str]] = {}
        self.valid_tokens: set[str] = set()
        self.issued = 0
        self.route("POST", r"/oauth_token\.do", self.token)
        self.route("POST", TABLE, self.insert)
        self.route("GET", TABLE, self.query)
        self.route("PATCH", TABLE + r"/([0-9a-f]{32})", self.update)

    def authorised(self, seen: Seen) -> bool:
        if seen.path == "/oauth_token.do":
            return True  # the client's credentials are in the form
        header = seen.header("Authorization") or ""
        if self.auth == "oauth":
            return header.startswith("Bearer ") and header[7:] in self.valid_tokens
        return header == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def unauthorised(self, seen: Seen) -> Answer:
        return Answer(401, NOT_AUTHENTICATED)

    def token(self, seen: Seen, _m: re.Match[str]) -> Answer:
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        assert seen.header("Content-Type") == "application/x-www-form-urlencoded"
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
        ):
            return Answer(401, {"error_description": "access_denied", "error": "server_error"})
        self.issued += 1
        token = f"sn-access-{self.issued}-{uuid.uuid4().hex}"
        self.valid_tokens.add(token)
        return Answer(
            200,
            {
                "access_token": token,
                "scope": "useraccount",
                "token_type": "Bearer",
                "expires_in": 1799,
            },
        )

    @staticmethod
    def _shown(record: dict[str, Any], seen: Seen) -> dict[str, Any]:
        fields = seen.query.get("sysparm_fields", [""])[0]
        return {k: record.get(k, "") for k in fields.split(",")} if fields else dict(record)

    def insert(self, seen: Seen, _m: re.Match[str]) -> Answer:
        body = seen.json()
        sys_id = uuid.uuid4().hex
        number = f"INC{10001 + len(self.incidents):07d}"
        record = {
            **{k: str(v) for k, v in body.items() if k != "work_notes"},
            "sys_id": sys_id,
            "number": number,
            "state": "1",
            "sys_created_on": f"2024-05-01 02:30:{len(self.incidents):02d}",
        }
        self.incidents[sys_id] = record
        self.work_notes[sys_id] = []
        location = f"{TABLE}/{sys_id}"
        return Answer(201, {"result": self._shown(record, seen)}, {"Location": location})

    def query(self, seen: Seen, _m: re.Match[str]) -> Answer:
        conditions = seen.query.get("sysparm_query", [""])[0].split("^")
        order = None
        rows = list(self.incidents.values())
        for condition in conditions:
            if condition.startswith("ORDERBY"):
                order = condition[len("ORDERBY") :]
            elif "=" in condition:
                field, value = condition.split("=", 1)
                rows = [r for r in rows if str(r.get(field, "")).lower() == value.lower()]
            elif condition:
                return Answer(
                    400,
                    {
                        "error": {"message": "Invalid query", "detail": condition},
                        "status": "failure",
                    },
                )
        if order:
            rows.sort(key=lambda r: r.get(order, ""))
        limit = int(seen.query.get("sysparm_limit", ["10000"])[0])
        return Answer(200, {"result": [self._shown(r, seen) for r in rows[:limit]]})

    def update(self, seen: Seen, m: re.Match[str]) -> Answer:
        record = self.incidents.get(m.group(1))
        if record is None:
            return Answer(404, NO_RECORD)
        change = seen.json()
        if change.get("state") == "6" and not (
            change.get("close_code") and change.get("close_notes")
        ):
            detail = "Data Policy Exception: The following fields are mandatory: Resolution code"
            return Answer(
                403,
                {"error": {"message": "Operation Failed", "detail": detail}, "status": "failure"},
            )
        if "work_notes" in change:
            self.work_notes[record["sys_id"]].append(change.pop("work_notes"))
        record.update({k: str(v) for k, v in change.items()})
        return Answer(200, {"result": self._shown(record, seen)})


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def desk() -> Iterator[ServiceNowDesk]:
    running = ServiceNowDesk()
    with running:
        yield running


@pytest.fixture
def oauth_desk() -> Iterator[ServiceNowDesk]:
    running = ServiceNowDesk("oauth")
    with running:
        yield running


def _secret_file(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


def _snow(
    desk: ServiceNowDesk, tmp_path: Path, debug: list[str] | None = None, **extra: Any
) -> ServiceNowBackend:
    table: dict[str, Any] = {"url": desk.url, "timeout": 2}
    if desk.auth == "oauth":
        table["auth"] = "oauth"
        table["client_id"] = CLIENT_ID
        table["client_secret_file"] = _secret_file(tmp_path, "client-secret", CLIENT_SECRET)
    else:
        table["username"] = USER
        table["password_file"] = _secret_file(tmp_path, "password", PASSWORD)
    table.update(extra)
    table = {k: v for k, v in table.items() if v is not None}
    made = make_backend(
        "servicenow", {"servicenow": table}, tmp_path, debug=None if debug is None else debug.append
    )
    assert isinstance(made, ServiceNowBackend)
    made.http.sleep = lambda _s: None
    return made


def _only(desk: ServiceNowDesk) -> dict[str, Any]:
    assert len(desk.incidents) == 1
    return next(iter(desk.incidents.values()))


def _calls(desk: ServiceNowDesk, method: str) -> list[Seen]:
    return [r for r in desk.requests if r.method == method and r.path.startswith(TABLE)]


# -- the round trip ------------------------------------------------------------------------


def test_round_trip(desk: ServiceNowDesk, tmp_path: Path) -> None:
    snow = _snow(desk, tmp_path)
    ref = snow.open(content(42))
    record = _only(desk)
    assert ref == TicketRef(
        "servicenow", "INC0010001", f"{desk.url}/incident.do?sys_id={record['sys_id']}"
    )
    assert record["short_description"] == title_line(content(42))
    assert record["description"] == render_text(content(42))
    assert record["correlation_id"] == "zcomp-INC000042"
    assert record["correlation_display"] == "zcomp"

    assert snow.find(42) == ref
    assert snow.find(43) is None
    search = _calls(desk, "GET")[0].query
    assert search["sysparm_query"] == ["correlation_id=zcomp-INC000042^ORDERBYsys_created_on"]
    assert search["sysparm_limit"] == ["1"]

    snow.comment(ref, "Customer reached by phone.")
    assert desk.work_notes[record["sys_id"]] == ["Customer reached by phone."]
    assert snow.resolve(ref, "Unlocked; new password set by the help desk.") is True
    assert record["state"] == "6"
    assert record["close_code"] == "Solved (Permanently)"
    assert record["close_notes"] == "Unlocked; new password set by the help desk."
    patches = len(_calls(desk, "PATCH"))
    assert snow.resolve(ref, "again") is True  # already resolved: left alone
    assert len(_calls(desk, "PATCH")) == patches and record["close_notes"] != "again"


def test_incident_fields_and_a_custom_key_field(desk: ServiceNowDesk, tmp_path: Path) -> None:
    snow = _snow(
        desk,
        tmp_path,
        assignment_group="287ebd7da9fe198100f92cc8d1d2154e",
        caller_id="6816f79cc0a8016401c5a33be04be441",
        category="network",
        urgency=2,
        impact=1,
        correlation_id="u_zcomp_key",
        resolved_state=7,
        close_code="Solution provided",
    )
    ref = snow.open(content(5))
    record = _only(desk)
    assert record["assignment_group"] == "287ebd7da9fe198100f92cc8d1d2154e"
    assert record["caller_id"] == "6816f79cc0a8016401c5a33be04be441"
    assert record["category"] == "network"
    assert (record["urgency"], record["impact"]) == ("2", "1")
    assert record["u_zcomp_key"] == "zcomp-INC000005"
    assert "correlation_id" not in record and "correlation_display" not in record
    assert snow.find(5) == ref
    assert snow.resolve(ref, "Unlocked.") is True
    assert (record["state"], record["close_code"]) == ("7", "Solution provided")


# -- OAuth ---------------------------------------------------------------------------------


def test_oauth_token_is_fetched_cached_and_refreshed(
    oauth_desk: ServiceNowDesk, tmp_path: Path
) -> None:
    snow = _snow(oauth_desk, tmp_path)
    ref = snow.open(content(1))
    snow.comment(ref, "first note")
    assert oauth_desk.issued == 1  # one token for every request so far
    form = parse_qs(oauth_desk.requests[0].body.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    (bearer,) = {r.header("Authorization") or "" for r in _calls(oauth_desk, "GET")}
    assert bearer.startswith("Bearer sn-access-1-")

    oauth_desk.valid_tokens.clear()  # revoked (or expired before its time)
    mark = len(oauth_desk.requests)
    snow.comment(ref, "second note")
    assert oauth_desk.issued == 2
    after = oauth_desk.requests[mark:]
    assert [(r.method, r.path) for r in after] == [
        ("GET", TABLE),  # refused: 401
        ("POST", "/oauth_token.do"),
        ("GET", TABLE),  # asked again with the new token
        ("PATCH", f"{TABLE}/{_only(oauth_desk)['sys_id']}"),
    ]
    assert after[0].header("Authorization") != after[2].header("Authorization")
    notes = oauth_desk.work_notes[_only(oauth_desk)["sys_id"]]
    assert notes == ["first note", "second note"]

    now = [0.0]
    assert snow.oauth is not None
    snow.oauth.clock = lambda: now[0]
    snow.oauth.forget()
    snow.find(1)  # a token fetched at t=0 lives 1799 s: it is renewed a minute early
    assert oauth_desk.issued == 3
    now[0] = 1700.0
    snow.find(1)
    assert oauth_desk.issued == 3
    now[0] = 1740.0
    mark = len(oauth_desk.requests)
    snow.find(1)
    assert oauth_desk.issued == 4
    assert [r.path for r in oauth_desk.requests[mark:]] == ["/oauth_token.do", TABLE]  # no 401


def test_a_refused_oauth_client_names_its_settings(
    oauth_desk: ServiceNowDesk, tmp_path: Path
) -> None:
    wrong = _secret_file(tmp_path, "wrong-secret", "not-the-client-secret")
    snow = _snow(oauth_desk, tmp_path, client_secret_file=wrong)
    with pytest.raises(TicketError) as caught:
        snow.open(content(1))
    message = caught.value.message
    assert message == (
        "servicenow: POST /oauth_token.do: HTTP 401: the OAuth client was refused "
        "(access_denied, server_error); check [tickets.servicenow] client_id and client_secret"
    )
    assert oauth_desk.incidents == {}


def test_a_token_refused_even_when_fresh(oauth_desk: ServiceNowDesk, tmp_path: Path) -> None:
    snow = _snow(oauth_desk, tmp_path)
    oauth_desk.fail_next("GET", TABLE, 401, body=NOT_AUTHENTICATED, times=2)
    with pytest.raises(TicketError) as caught:
        snow.find(1)
    assert (
        "a freshly issued OAuth token was refused (User Not Authenticated" in caught.value.message
    )
    assert oauth_desk.issued == 2


def test_no_token_endpoint_answer_means_nothing_was_applied(
    oauth_desk: ServiceNowDesk, tmp_path: Path
) -> None:
    snow = _snow(oauth_desk, tmp_path, timeout=0.5)
    oauth_desk.stall_next("POST", r"^/oauth_token\.do$", 1.5)
    with pytest.raises(TicketUnreachable) as caught:
        snow.open(content(1))
    assert not caught.value.maybe_applied
    assert oauth_desk.incidents == {}


# -- idempotency ---------------------------------------------------------------------------


def test_open_twice_files_one_incident(desk: ServiceNowDesk, tmp_path: Path) -> None:
    snow = _snow(desk, tmp_path)
    first = snow.open(content(42))
    assert snow.open(content(42, title="another title")) == first
    assert len(desk.incidents) == 1 and len(_calls(desk, "POST")) == 1


def test_a_create_that_landed_unheard_is_found(desk: ServiceNowDesk, tmp_path: Path) -> None:
    snow = _snow(desk, tmp_path, timeout=0.5)
    desk.stall_next("POST", f"^{TABLE}$", 1.5)
    ref = snow.open(content(42))
    assert ref.id == _only(desk)["number"]
    assert len(_calls(desk, "POST")) == 1


def test_5xx_on_create_then_the_retry_creates_once(desk: ServiceNowDesk, tmp_path: Path) -> None:
    snow = _snow(desk, tmp_path)
    desk.fail_next("POST", f"^{TABLE}$", 500, body={"error": {"message": "Internal"}})
    with pytest.raises(TicketUnreachable) as caught:
        snow.open(content(42))
    assert caught.value.maybe_applied and desk.incidents == {}
    first = snow.open(content(42))
    assert snow.open(content(42)) == first and len(desk.incidents) == 1


# -- errors --------------------------------------------------------------------------------


def test_refused_credentials_name_what_to_check(desk: ServiceNowDesk, tmp_path: Path) -> None:
    wrong = _secret_file(tmp_path, "wrong-password", "not-the-password")
    with pytest.raises(TicketError) as caught:
        _snow(desk, tmp_path, password_file=wrong).open(content(1))
    assert caught.value.message == (
        f"servicenow: GET {TABLE}: HTTP 401: the credentials were refused (User Not "
        "Authenticated: Required to provide Auth information); check [tickets.servicenow] "
        "username and password"
    )


def test_forbidden_and_data_policy_refusals(desk: ServiceNowDesk, tmp_path: Path) -> None:
    snow = _snow(desk, tmp_path)
    acl = {
        "error": {"message": "User Not Authorized", "detail": "Failed API level ACL Validation"},
        "status": "failure",
    }
    desk.fail_next("POST", f"^{TABLE}$", 403, body=acl)
    with pytest.raises(TicketError) as caught:
        snow.open(content(1))
    assert "HTTP 403: not allowed (User Not Authorized: Failed API level ACL Validation)" in (
        caught.value.message
    )
    assert "check the roles of the [tickets.servicenow] account" in caught.value.message
    ref = snow.open(content(1))
    policy = {
        "error": {
            "message": "Operation Failed",
            "detail": "Data Policy Exception: Resolution code",
        },
        "status": "failure",
    }
    desk.fail_next("PATCH", TABLE, 403, body=policy)
    with pytest.raises(TicketError, match="Operation Failed: Data Policy Exception"):
        snow.resolve(ref, "Unlocked.")


def test_404_on_comment(desk: ServiceNowDesk, tmp_path: Path) -> None:
    snow = _snow(desk, tmp_path)
    with pytest.raises(TicketNotFound, match="incident INC0099999 not found"):
        snow.comment(TicketRef("servicenow", "INC0099999"), "x")
    ref = snow.open(content(1))
    desk.fail_next("PATCH", TABLE, 404, body=NO_RECORD)
    with pytest.raises(TicketNotFound, match="No Record found"):
        snow.comment(ref, "x")
    with pytest.raises(TicketError, match="is not a ServiceNow incident"):
        snow.comment(TicketRef("servicenow", "INC1^ORDERBYnumber"), "x")


def test_429_is_waited_out(desk: ServiceNowDesk, tmp_path: Path) -> None:
    snow = _snow(desk, tmp_path)
    slept: list[float] = []
    snow.http.sleep = slept.append
    desk.fail_next("POST", f"^{TABLE}$", 429, headers={"Retry-After": "3"})
    assert snow.open(content(1)).id == "INC0010001"
    assert slept == [3.0] and len(desk.incidents) == 1


def test_a_read_that_times_out(desk: ServiceNowDesk, tmp_path: Path) -> None:
    snow = _snow(desk, tmp_path, timeout=0.5)
    desk.stall_next("GET", TABLE, 1.5)
    with pytest.raises(TicketUnreachable) as caught:
        snow.find(1)
    assert not caught.value.maybe_applied and "no answer" in caught.value.message


def test_secrets_never_leave(oauth_desk: ServiceNowDesk, tmp_path: Path) -> None:
    lines: list[str] = []
    snow = _snow(oauth_desk, tmp_path, debug=lines)
    ref = snow.open(content(1))
    snow.comment(ref, "ok")
    oauth_desk.valid_tokens.clear()
    snow.resolve(ref, "done")
    oauth_desk.fail_next("PATCH", TABLE, 403, body={"error": {"message": "nope"}})
    with pytest.raises(TicketError) as caught:
        snow.comment(ref, "x")
    tokens = [
        (r.header("Authorization") or "")[7:]
        for r in oauth_desk.requests
        if (r.header("Authorization") or "").startswith("Bearer ")
    ]
    assert len(set(tokens)) == 2 and lines
    for text in [*lines, caught.value.message]:
        assert CLIENT_SECRET not in text and not any(t in text for t in tokens)
    # the client secret goes to the token endpoint, as the protocol wants, and nowhere else
    for seen in oauth_desk.requests:
        if seen.path != "/oauth_token.do":
            assert CLIENT_SECRET.encode() not in seen.body


def test_text_with_a_password_is_refused_before_sending(
    desk: ServiceNowDesk, tmp_path: Path
) -> None:
    snow = _snow(desk, tmp_path)
    leaking = content(1)
    leaking.next_steps = ["tell the user: password=Winter2024!"]
    with pytest.raises(TicketError, match="refused to write ticket INC000001"):
        snow.open(leaking)
    with pytest.raises(TicketError, match="refused to write the resolution"):
        snow.resolve(TicketRef("servicenow", "INC0010001"), "new password: x1")
    assert desk.requests == []


# -- configuration -------------------------------------------------------------------------


def _config_error(tmp_path: Path, table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        make_backend("servicenow", {"servicenow": table}, tmp_path)
    return caught.value.message


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    password = _secret_file(tmp_path, "password", PASSWORD)
    basic = {"url": "https://example.service-now.com", "username": USER, "password_file": password}
    assert _config_error(tmp_path, {}) == "[tickets.servicenow] url: is required"
    assert _config_error(tmp_path, {**basic, "auth": "kerberos"}).startswith(
        "[tickets.servicenow] auth: expected one of basic, oauth"
    )
    assert _config_error(tmp_path, {**basic, "username": None}) == (
        "[tickets.servicenow] username: is required"
    )
    assert _config_error(tmp_path, {**basic, "password_file": None}).startswith(
        "[tickets.servicenow] password: is required"
    )
    assert _config_error(tmp_path, {**basic, "client_id": CLIENT_ID}) == (
        '[tickets.servicenow] client_id: is only used with auth = "oauth"'
    )
    oauth = {"url": basic["url"], "auth": "oauth", "client_id": CLIENT_ID}
    assert _config_error(tmp_path, oauth).startswith(
        "[tickets.servicenow] client_secret: is required"
    )
    assert _config_error(tmp_path, {**oauth, "password_file": password}) == (
        '[tickets.servicenow] password_file: is only used with auth = "basic"'
    )
    assert _config_error(tmp_path, {**basic, "urgency": 4}).startswith(
        "[tickets.servicenow] urgency: expected a whole number from 1 to 3"
    )
    assert _config_error(tmp_path, {**basic, "correlation_id": "u_key^x"}).startswith(
        "[tickets.servicenow] correlation_id: expected a field name"
    )
    assert _config_error(tmp_path, {**basic, "resolved_state": "Resolved"}).startswith(
        "[tickets.servicenow] resolved_state: expected a whole number"
    )
    assert _config_error(tmp_path, {**basic, "close_code": ""}).startswith(
        "[tickets.servicenow] close_code: expected non-empty text"
    )
    assert _config_error(tmp_path, {**basic, "ca_file": str(tmp_path / "none.pem")}).startswith(
        "[tickets.servicenow] ca_file:"
    )
    assert _config_error(tmp_path, {**basic, "table": "problem"}).startswith(
        "[tickets.servicenow] unknown option 'table'"
    )


def test_inline_secrets_are_refused(tmp_path: Path) -> None:
    url = "https://example.service-now.com"
    message = _config_error(tmp_path, {"url": url, "username": USER, "password": PASSWORD})
    assert message.startswith("[tickets.servicenow] password: secrets are not written")
    assert PASSWORD not in message
    inline = {"url": url, "auth": "oauth", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    message = _config_error(tmp_path, inline)
    assert message.startswith("[tickets.servicenow] client_secret: secrets are not written")
    assert CLIENT_SECRET not in message


def test_the_password_from_the_environment(
    desk: ServiceNowDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZCOMP_TEST_SNOW_PASSWORD", PASSWORD)
    snow = _snow(desk, tmp_path, password_file=None, password_env="ZCOMP_TEST_SNOW_PASSWORD")
    assert snow.open(content(1)).id == "INC0010001"


def test_tls_settings_reach_the_client(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    table = {
        "url": "https://example.service-now.com",
        "auth": "oauth",
        "client_id": CLIENT_ID,
        "client_secret_file": _secret_file(tmp_path, "cs", CLIENT_SECRET),
        "ca_file": str(ca),
        "verify": False,
    }
    snow = make_backend("servicenow", {"servicenow": table}, tmp_path)
    assert isinstance(snow, ServiceNowBackend) and snow.oauth is not None
    for http in (snow.http, snow.oauth.http):  # the token endpoint too
        assert (http.verify, http.ca_file) == (False, str(ca))


def test_an_incident_known_by_a_text_key(desk: ServiceNowDesk, tmp_path: Path) -> None:
    # `zcomp ticket test` files under a key given as text; the backend only passes it on.
    probe = dataclasses.replace(content(1), incident_id="ZCOMPTEST-20240501023000-AB12")
    snow = _snow(desk, tmp_path)
    ref = snow.open(probe)
    assert _only(desk)["correlation_id"] == "zcomp-ZCOMPTEST-20240501023000-AB12"
    assert snow.find("ZCOMPTEST-20240501023000-AB12") == ref
    with pytest.raises(TicketError, match="cannot be searched for in an encoded query"):
        snow.find("X^ORDERBYnumber")  # never a second condition smuggled into the query
