"""The jira backend against a fake Jira speaking the documented v2 REST API (Cloud: basic auth
with an API token, /rest/api/2/search/jql; Data Center: a Bearer personal access token,
/rest/api/2/search) and the Service Management request API."""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tickets.fakedesk import Answer, FakeDesk, Seen
from tests.tickets.workers import content
from zcomp.exitcodes import ConfigError
from zcomp.tickets import TicketError, TicketRef, make_backend, render_text
from zcomp.tickets.backends.jira import JiraBackend
from zcomp.tickets.content import idempotency_key
from zcomp.tickets.http import TicketConflict, TicketNotFound, TicketUnreachable
from zcomp.tickets.render import title_line

EMAIL = "zcomp-bot@example.edu"
API_TOKEN = "ATATT3xFfGF0-cloud-api-token-7f3a"
PAT = "NDk1ODQ2-datacenter-pat-2c9e"
NOT_AUTHENTICATED = {
    "errorMessages": ["You are not authenticated. Authentication required to perform this."],
    "errors": {},
}
NO_ISSUE = {
    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
    "errors": {},
}
TRANSITIONS: list[dict[str, Any]] = [
    {
        "id": "11",
        "name": "Start Progress",
        "to": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}},
    },
    {"id": "31", "name": "Done", "to": {"name": "Done", "statusCategory": {"key": "done"}}},
]
_JQL = re.compile(
    r'(?:project = "(?P<project>[^"]+)" AND )?'
    r'(?:labels = "(?P<label>[^"]+)"|cf\[(?P<cf>\d+)\] ~ "(?P<text>[^"]+)") ORDER BY created ASC'
)


class JiraDesk(FakeDesk):
    """Jira Cloud or Data Center: issues, Service Management requests, search, comments,
    transitions. On Cloud the search index lags: keys in `hidden` are not found yet."""

    def __init__(self, flavour: str) -> None:
        super().__init__()
        self.flavour = flavour
        self.issues: dict[str, dict[str, Any]] = {}
        self.hidden: set[str] = set()
        self.projects = {"OPS": "10000", "HELP": "10001"}
        self.desks = {"4": ("HELP", {"12"})}  # serviceDeskId: project, requestTypeIds
        self.transitions: list[dict[str, Any]] = TRANSITIONS
        self.route("POST", r"/rest/api/2/issue", self.create_issue)
        self.route("POST", r"/rest/servicedeskapi/request", self.create_request)
        self.route("GET", r"/rest/api/2/search", self.search_v2)
        self.route("GET", r"/rest/api/2/search/jql", self.search_jql)
        self.route("GET", r"/rest/api/2/issue/([A-Z]+-\d+)", self.get_issue)
        self.route("POST", r"/rest/api/2/issue/([A-Z]+-\d+)/comment", self.add_comment)
        self.route("POST", r"/rest/servicedeskapi/request/([A-Z]+-\d+)/comment", self.add_comment)
        self.route("GET", r"/rest/api/2/issue/([A-Z]+-\d+)/transitions", self.list_transitions)
        self.route("POST", r"/rest/api/2/issue/([A-Z]+-\d+)/transitions", self.do_transition)

    def authorised(self, seen: Seen) -> bool:
        if self.flavour == "cloud":
            pair = base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
            return seen.header("Authorization") == f"Basic {pair}"
        return seen.header("Authorization") == f"Bearer {PAT}"

    def unauthorised(self, seen: Seen) -> Answer:
        return Answer(401, NOT_AUTHENTICATED)

    # -- creating ------------------------------------------------------------------------

    def _store(self, project: str, fields: dict[str, Any], servicedesk: bool) -> dict[str, Any]:
        number = sum(1 for i in self.issues.values() if i["project"] == project) + 1
        ident = str(10000 + len(self.issues) + 1)
        key = f"{project}-{number}"
        issue = {
            "id": ident,
            "key": key,
            "project": project,
            "servicedesk": servicedesk,
            "fields": {**fields, "status": {"name": "To Do", "statusCategory": {"key": "new"}}},
            "comments": [],
            "transitions": [],
        }
        self.issues[key] = issue
        if self.flavour == "cloud" and self.hidden == {"*"}:
            self.hidden = {key}  # this one is created but not yet in the search index
        return issue

    def _field_errors(self, fields: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        elif len(fields["summary"]) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        for label in fields.get("labels", []):
            if " " in label:
                errors["labels"] = f"The label '{label}' contains spaces which is invalid."
        for name in fields:
            if name not in {"summary", "description", "labels", "customfield_10050"}:
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen."
        return errors

    def create_issue(self, seen: Seen, _m: re.Match[str]) -> Answer:
        fields = dict(seen.json()["fields"])
        project = fields.pop("project", {}).get("key")
        issue_type = fields.pop("issuetype", {}).get("name")
        errors = self._field_errors(fields)
        if project not in self.projects:
            errors["project"] = "valid project is required"
        if issue_type not in ("Task", "Bug"):
            errors["issuetype"] = "valid issue type is required"
        if errors:
            return Answer(400, {"errorMessages": [], "errors": errors})
        issue = self._store(project, fields, servicedesk=False)
        return Answer(
            201,
            {"id": issue["id"], "key": issue["key"], "self": f"/rest/api/2/issue/{issue['id']}"},
        )

    def create_request(self, seen: Seen, _m: re.Match[str]) -> Answer:
        body = seen.json()
        desk = self.desks.get(body.get("serviceDeskId"))
        if desk is None or body.get("requestTypeId") not in desk[1]:
            return Answer(
                400,
                {
                    "errorMessage": "The request type you are trying to use does not exist.",
                    "i18nErrorMessage": {"i18nKey": "sd.request.type.not.found", "parameters": []},
                },
            )
        fields = dict(body["requestFieldValues"])
        errors = self._field_errors(fields)
        if errors:
            return Answer(400, {"errorMessage": "; ".join(errors.values())})
        issue = self._store(desk[0], fields, servicedesk=True)
        return Answer(
            201,
            {
                "issueId": issue["id"],
                "issueKey": issue["key"],
                "requestTypeId": body["requestTypeId"],
                "serviceDeskId": body["serviceDeskId"],
                "currentStatus": {"status": "Waiting for support"},
                "_links": {"web": f"/servicedesk/customer/portal/4/{issue['key']}"},
            },
        )

    # -- finding -------------------------------------------------------------------------

    def _matches(self, seen: Seen) -> list[dict[str, Any]] | Answer:
        jql = seen.query.get("jql", [""])[0]
        parsed = _JQL.fullmatch(jql)
        if parsed is None:
            return Answer(400, {"errorMessages": [f"Error in the JQL Query: {jql}"], "errors": {}})
        wanted = seen.query.get("fields", ["*navigable"])[0].split(",")
        found = []
        for issue in self.issues.values():
            if parsed["project"] and issue["project"] != parsed["project"]:
                continue
            if issue["key"] in self.hidden:
                continue
            if parsed["label"] and parsed["label"] not in issue["fields"].get("labels", []):
                continue
            if parsed["cf"]:
                # `~` matches words, not the exact value
                value = str(issue["fields"].get(f"customfield_{parsed['cf']}", ""))
                words = set(re.findall(r"\w+", value.lower()))
                if not set(re.findall(r"\w+", parsed["text"].lower())) <= words:
                    continue
            fields = {k: v for k, v in issue["fields"].items() if k in wanted}
            found.append({"id": issue["id"], "key": issue["key"], "fields": fields})
        return found[: int(seen.query.get("maxResults", ["50"])[0])]

    def search_v2(self, seen: Seen, _m: re.Match[str]) -> Answer:
        if self.flavour == "cloud":
            message = (
                "The requested API has been removed. Please migrate to /rest/api/3/search/jql."
            )
            return Answer(410, {"errorMessages": [message], "errors": {}})
        found = self._matches(seen)
        if isinstance(found, Answer):
            return found
        return Answer(200, {"startAt": 0, "maxResults": 10, "total": len(found), "issues": found})

    def search_jql(self, seen: Seen, _m: re.Match[str]) -> Answer:
        if self.flavour != "cloud":
            return Answer(404, {"errorMessages": ["null for uri: /rest/api/2/search/jql"]})
        found = self._matches(seen)
        if isinstance(found, Answer):
            return found
        return Answer(200, {"issues": found, "isLast": True})

    # -- updating ------------------------------------------------------------------------

    def get_issue(self, seen: Seen, m: re.Match[str]) -> Answer:
        issue = self.issues.get(m.group(1))
        if issue is None:
            return Answer(404, NO_ISSUE)
        return Answer(200, {"id": issue["id"], "key": issue["key"], "fields": issue["fields"]})

    def add_comment(self, seen: Seen, m: re.Match[str]) -> Answer:
        issue = self.issues.get(m.group(1))
        if issue is None:
            if "servicedeskapi" in seen.path:
                return Answer(404, {"errorMessage": "The request could not be found."})
            return Answer(404, NO_ISSUE)
        body = seen.json()
        issue["comments"].append(body)
        return Answer(201, {"id": str(len(issue["comments"])), **body})

    def list_transitions(self, seen: Seen, m: re.Match[str]) -> Answer:
        issue = self.issues.get(m.group(1))
        if issue is None:
            return Answer(404, NO_ISSUE)
        current = issue["fields"]["status"]["name"]
        usable = [t for t in self.transitions if t["to"]["name"] != current]
        return Answer(200, {"expand": "transitions", "transitions": usable})

    def do_transition(self, seen: Seen, m: re.Match[str]) -> Answer:
        issue = self.issues.get(m.group(1))
        if issue is None:
            return Answer(404, NO_ISSUE)
        wanted = seen.json()["transition"]["id"]
        chosen = [t for t in self.transitions if t["id"] == wanted]
        if not chosen:
            message = f"Transition id '{wanted}' is not valid for this issue."
            return Answer(400, {"errorMessages": [message], "errors": {}})
        issue["fields"]["status"] = {
            "name": chosen[0]["to"]["name"],
            "statusCategory": chosen[0]["to"]["statusCategory"],
        }
        issue["transitions"].append(wanted)
        return Answer(204)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(params=["cloud", "datacenter"])
def desk(request: pytest.FixtureRequest) -> Iterator[JiraDesk]:
    running = JiraDesk(request.param)
    with running:
        yield running


def _secret_file(tmp_path: Path, value: str) -> str:
    path = tmp_path / f"jira-token-{abs(hash(value))}"
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


def _options(desk: JiraDesk, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    cloud = desk.flavour == "cloud"
    table: dict[str, Any] = {
        "url": desk.url,
        "flavour": desk.flavour,
        "token_file": _secret_file(tmp_path, API_TOKEN if cloud else PAT),
        "project": "OPS",
        "timeout": 2,
    }
    if cloud:
        table["email"] = EMAIL
    table.update(extra)
    return {key: value for key, value in table.items() if value is not None}


def _jira(
    desk: JiraDesk, tmp_path: Path, debug: list[str] | None = None, **extra: Any
) -> JiraBackend:
    made = make_backend(
        "jira",
        {"jira": _options(desk, tmp_path, **extra)},
        tmp_path,
        debug=None if debug is None else debug.append,
    )
    assert isinstance(made, JiraBackend)
    made.http.sleep = lambda _s: None  # read retries and Retry-After: recorded, not waited
    return made


def _servicedesk(desk: JiraDesk, tmp_path: Path, **extra: Any) -> JiraBackend:
    table = {"service_desk_id": 4, "request_type_id": "12", **extra}
    return _jira(desk, tmp_path, mode="servicedesk", project=None, **table)


def _posts(desk: JiraDesk, path: str) -> list[Seen]:
    return [r for r in desk.requests if r.method == "POST" and r.path == path]


def _wrapped(text: str) -> str:
    return "{noformat}\n" + text + "\n{noformat}"


# -- the round trip ------------------------------------------------------------------------


def test_issue_round_trip(desk: JiraDesk, tmp_path: Path) -> None:
    jira = _jira(desk, tmp_path)
    ref = jira.open(content(42))
    assert ref == TicketRef("jira", "OPS-1", f"{desk.url}/browse/OPS-1")
    issue = desk.issues["OPS-1"]
    assert issue["fields"]["summary"] == title_line(content(42))
    assert issue["fields"]["description"] == _wrapped(render_text(content(42)))
    assert issue["fields"]["labels"] == [idempotency_key(42)]
    created = _posts(desk, "/rest/api/2/issue")[0].json()["fields"]
    assert created["project"] == {"key": "OPS"} and created["issuetype"] == {"name": "Task"}

    assert jira.find(42) == ref
    assert jira.find(43) is None
    search = "/rest/api/2/search/jql" if desk.flavour == "cloud" else "/rest/api/2/search"
    searches = [r for r in desk.requests if r.method == "GET" and "search" in r.path]
    assert {r.path for r in searches} == {search}
    assert searches[0].query["jql"] == [
        'project = "OPS" AND labels = "zcomp-INC000042" ORDER BY created ASC'
    ]

    jira.comment(ref, "Customer reached by phone.")
    assert issue["comments"] == [{"body": _wrapped("Customer reached by phone.")}]
    assert jira.resolve(ref, "Unlocked; new password set by the help desk.") is True
    assert issue["fields"]["status"]["statusCategory"]["key"] == "done"
    assert issue["transitions"] == ["31"]  # the transition into a "done" status
    assert issue["comments"][-1] == {
        "body": _wrapped("Unlocked; new password set by the help desk.")
    }
    assert jira.resolve(ref, "again") is True  # already done: nothing more
    assert issue["transitions"] == ["31"] and len(issue["comments"]) == 2


def test_auth_headers_per_flavour(desk: JiraDesk, tmp_path: Path) -> None:
    _jira(desk, tmp_path).open(content(1))
    header = desk.requests[0].header("Authorization") or ""
    if desk.flavour == "cloud":
        assert header == "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
    else:
        assert header == f"Bearer {PAT}"
    assert all(r.header("Authorization") == header for r in desk.requests)


def test_servicedesk_round_trip(desk: JiraDesk, tmp_path: Path) -> None:
    jira = _servicedesk(desk, tmp_path)
    ref = jira.open(content(42))
    assert ref == TicketRef("jira", "HELP-1", f"{desk.url}/browse/HELP-1")
    sent = _posts(desk, "/rest/servicedeskapi/request")[0].json()
    assert sent["serviceDeskId"] == "4" and sent["requestTypeId"] == "12"
    assert sent["requestFieldValues"] == {
        "summary": title_line(content(42)),
        "description": _wrapped(render_text(content(42))),
        "labels": ["zcomp-INC000042"],
    }
    assert jira.find(42) == ref
    searches = [r for r in desk.requests if r.method == "GET" and "search" in r.path]
    assert searches[0].query["jql"] == ['labels = "zcomp-INC000042" ORDER BY created ASC']
    jira.comment(ref, "Customer reached by phone.")
    issue = desk.issues["HELP-1"]
    assert issue["comments"] == [{"body": _wrapped("Customer reached by phone."), "public": False}]
    assert _posts(desk, "/rest/servicedeskapi/request/HELP-1/comment")  # the request API
    assert jira.resolve(ref, "Unlocked.") is True
    assert issue["comments"][-1] == {"body": _wrapped("Unlocked."), "public": False}
    assert issue["transitions"] == ["31"]


def test_a_named_resolve_transition(desk: JiraDesk, tmp_path: Path) -> None:
    desk.transitions = [
        *TRANSITIONS,
        {
            "id": "41",
            "name": "Resolve this issue",
            "to": {"name": "Resolved", "statusCategory": {"key": "done"}},
        },
    ]
    jira = _jira(desk, tmp_path, resolve_transition="resolve THIS issue")
    ref = jira.open(content(1))
    assert jira.resolve(ref, "Unlocked.") is True
    assert desk.issues["OPS-1"]["transitions"] == ["41"]

    missing = _jira(desk, tmp_path, resolve_transition="Close")
    other = missing.open(content(2))
    with pytest.raises(TicketError) as caught:
        missing.resolve(other, "Unlocked.")
    assert "has no transition 'Close'" in caught.value.message
    assert "'Start Progress', 'Done', 'Resolve this issue'" in caught.value.message
    assert "resolve_transition" in caught.value.message
    assert desk.issues["OPS-2"]["comments"] == []  # nothing said before the failure


def test_no_done_transition_says_what_to_set(desk: JiraDesk, tmp_path: Path) -> None:
    desk.transitions = TRANSITIONS[:1]
    jira = _jira(desk, tmp_path)
    with pytest.raises(TicketError, match=r"no transition of OPS-1 leads to a done status"):
        jira.resolve(jira.open(content(1)), "x")


def test_label_in_a_custom_field(desk: JiraDesk, tmp_path: Path) -> None:
    jira = _jira(desk, tmp_path, label="customfield_10050")
    ref = jira.open(content(42))
    assert desk.issues["OPS-1"]["fields"]["customfield_10050"] == "zcomp-INC000042"
    assert "labels" not in desk.issues["OPS-1"]["fields"]
    assert jira.find(42) == ref
    query = [r for r in desk.requests if "search" in r.path][0].query
    assert query["jql"] == [
        'project = "OPS" AND cf[10050] ~ "zcomp-INC000042" ORDER BY created ASC'
    ]
    # `~` matches words: an issue whose field merely contains them is not this incident's
    desk.issues["OPS-1"]["fields"]["customfield_10050"] = "zcomp-INC000042 (superseded)"
    assert jira.find(42) is None


def test_markup_from_the_account_stays_inert(desk: JiraDesk, tmp_path: Path) -> None:
    sneaky = content(7)
    sneaky.found = ["rule '{noformat}[click|https://evil.example]' forwards mail"]
    _jira(desk, tmp_path).open(sneaky)
    description = desk.issues["OPS-1"]["fields"]["description"]
    assert description.count("{noformat}") == 2  # only the wrapper's own pair
    assert "{ noformat}[click|https://evil.example]" in description


# -- idempotency ---------------------------------------------------------------------------


def test_open_twice_files_one_issue(desk: JiraDesk, tmp_path: Path) -> None:
    jira = _jira(desk, tmp_path)
    first = jira.open(content(42))
    assert jira.open(content(42, title="another title")) == first
    assert list(desk.issues) == ["OPS-1"]
    assert len(_posts(desk, "/rest/api/2/issue")) == 1


@pytest.mark.parametrize("mode", ["issue", "servicedesk"])
def test_a_create_that_landed_unheard_is_found(desk: JiraDesk, tmp_path: Path, mode: str) -> None:
    jira = (
        _jira(desk, tmp_path, timeout=0.5)
        if mode == "issue"
        else _servicedesk(desk, tmp_path, timeout=0.5)
    )
    path = "/rest/api/2/issue" if mode == "issue" else "/rest/servicedeskapi/request"
    desk.stall_next("POST", f"^{path}$", 1.5)
    ref = jira.open(content(42))
    assert list(desk.issues) == [ref.id]  # created once, found by its label
    assert len(_posts(desk, path)) == 1


def test_cloud_search_lag_leaves_the_ticket_pending_then_finds_it(tmp_path: Path) -> None:
    desk = JiraDesk("cloud")
    with desk:
        jira = _jira(desk, tmp_path, timeout=0.5)
        desk.hidden = {"*"}  # the next issue created is not searchable yet
        desk.stall_next("POST", r"^/rest/api/2/issue$", 1.5)
        with pytest.raises(TicketUnreachable) as caught:
            jira.open(content(42))
        assert caught.value.maybe_applied
        desk.hidden = set()  # indexed now: the retry finds it instead of filing another
        assert jira.open(content(42)).id == "OPS-1"
        assert list(desk.issues) == ["OPS-1"]


def test_5xx_on_create_then_the_retry_creates_once(desk: JiraDesk, tmp_path: Path) -> None:
    jira = _jira(desk, tmp_path)
    desk.fail_next("POST", r"^/rest/api/2/issue$", 503, body=b"<html>Service Unavailable</html>")
    with pytest.raises(TicketUnreachable) as caught:
        jira.open(content(42))
    assert caught.value.maybe_applied and "HTTP 503" in caught.value.message
    assert desk.issues == {}
    assert jira.open(content(42)).id == "OPS-1"
    assert jira.open(content(42)).id == "OPS-1"
    assert list(desk.issues) == ["OPS-1"]


# -- errors --------------------------------------------------------------------------------


def test_refused_credentials_name_what_to_check(desk: JiraDesk, tmp_path: Path) -> None:
    wrong = "not-the-token-4242"
    jira = _jira(desk, tmp_path, token_file=_secret_file(tmp_path, wrong))
    with pytest.raises(TicketError) as caught:
        jira.open(content(1))
    message = caught.value.message
    assert "HTTP 401" in message and "\n" not in message and wrong not in message
    if desk.flavour == "cloud":
        assert "check [tickets.jira] email and token" in message
    else:
        assert "check [tickets.jira] token (a personal access token)" in message


def test_forbidden_says_what_jira_said(desk: JiraDesk, tmp_path: Path) -> None:
    said = "You do not have permission to create issues in this project."
    desk.fail_next(
        "POST", r"^/rest/api/2/issue$", 403, body={"errorMessages": [said], "errors": {}}
    )
    with pytest.raises(TicketError) as caught:
        _jira(desk, tmp_path).open(content(1))
    assert said in caught.value.message and "HTTP 403" in caught.value.message
    assert "permissions of the account behind [tickets.jira] token" in caught.value.message


def test_a_bad_request_names_the_field(desk: JiraDesk, tmp_path: Path) -> None:
    with pytest.raises(TicketError) as caught:
        _jira(desk, tmp_path, project="NOPE").open(content(1))
    assert "HTTP 400: project: valid project is required" in caught.value.message
    with pytest.raises(TicketError) as caught:
        _servicedesk(desk, tmp_path, request_type_id="99").open(content(1))
    assert "The request type you are trying to use does not exist." in caught.value.message


def test_404_on_comment(desk: JiraDesk, tmp_path: Path) -> None:
    jira = _jira(desk, tmp_path)
    with pytest.raises(TicketNotFound, match="Issue does not exist"):
        jira.comment(TicketRef("jira", "OPS-999"), "x")
    with pytest.raises(TicketNotFound, match="could not be found"):
        _servicedesk(desk, tmp_path).comment(TicketRef("jira", "HELP-9"), "x")
    with pytest.raises(TicketError, match="is not a Jira issue"):
        jira.comment(TicketRef("zendesk", "12"), "x")
    with pytest.raises(TicketError, match="is not a Jira issue"):
        jira.comment(TicketRef("jira", "../../rest/api/2/myself"), "x")


def test_409_on_a_transition_is_tried_once_more(desk: JiraDesk, tmp_path: Path) -> None:
    jira = _jira(desk, tmp_path)
    ref = jira.open(content(1))
    busy = {"errorMessages": ["The issue is being transitioned by another request."]}
    desk.fail_next("POST", r"/transitions$", 409, body=busy)
    assert jira.resolve(ref, "Unlocked.") is True
    assert desk.issues["OPS-1"]["transitions"] == ["31"]

    other = jira.open(content(2))
    desk.fail_next("POST", r"/transitions$", 409, body=busy, times=2)
    with pytest.raises(TicketConflict, match="being transitioned"):
        jira.resolve(other, "Unlocked.")


def test_429_is_waited_out(desk: JiraDesk, tmp_path: Path) -> None:
    jira = _jira(desk, tmp_path)
    slept: list[float] = []
    jira.http.sleep = slept.append
    desk.fail_next("POST", r"^/rest/api/2/issue$", 429, headers={"Retry-After": "7"})
    assert jira.open(content(1)).id == "OPS-1"
    assert slept == [7.0]
    assert len(desk.issues) == 1


def test_a_read_that_times_out_or_fails(desk: JiraDesk, tmp_path: Path) -> None:
    jira = _jira(desk, tmp_path, timeout=0.5)
    desk.stall_next("GET", "search", 1.5)
    with pytest.raises(TicketUnreachable) as caught:
        jira.find(1)
    assert not caught.value.maybe_applied and "no answer from 127.0.0.1" in caught.value.message
    slept: list[float] = []
    jira.http.sleep = slept.append
    desk.fail_next("GET", "search", 502)
    assert jira.find(1) is None  # a read is asked again after a 5xx
    assert slept == [0.5]


def test_secrets_never_leave(desk: JiraDesk, tmp_path: Path) -> None:
    lines: list[str] = []
    jira = _jira(desk, tmp_path, debug=lines)
    ref = jira.open(content(1))
    jira.comment(ref, "ok")
    jira.resolve(ref, "done")
    messages = []
    desk.fail_next("POST", r"/comment$", 403, body={"errorMessages": ["nope"]})
    for target in (ref, TicketRef("jira", "X-9")):
        with pytest.raises(TicketError) as caught:
            jira.comment(target, "x")
        messages.append(caught.value.message)
    secret = API_TOKEN if desk.flavour == "cloud" else PAT
    authorization = desk.requests[0].header("Authorization") or ""
    assert lines and all("HTTP" in line or "no answer" in line for line in lines)
    for text in [*lines, *messages]:
        assert secret not in text and authorization not in text
    assert all(secret.encode() not in r.body for r in desk.requests)


def test_text_with_a_password_is_refused_before_sending(desk: JiraDesk, tmp_path: Path) -> None:
    jira = _jira(desk, tmp_path)
    leaking = content(1)
    leaking.done = ["reset it, new password: Winter2024!"]
    with pytest.raises(TicketError, match="refused to write ticket INC000001"):
        jira.open(leaking)
    assert desk.requests == []
    with pytest.raises(TicketError, match="refused to write a comment"):
        jira.comment(TicketRef("jira", "OPS-1"), "password = hunter2")
    assert desk.requests == []


# -- configuration -------------------------------------------------------------------------


def _config_error(tmp_path: Path, table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        make_backend("jira", {"jira": table}, tmp_path)
    return caught.value.message


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    token = _secret_file(tmp_path, API_TOKEN)
    cloud = {"url": "https://example.atlassian.net", "email": EMAIL, "token_file": token}
    assert _config_error(tmp_path, {}) == "[tickets.jira] url: is required"
    assert _config_error(tmp_path, {**cloud, "url": "ftp://x"}).startswith("[tickets.jira] url:")
    no_email = {k: v for k, v in cloud.items() if k != "email"}
    assert _config_error(tmp_path, {**no_email, "project": "OPS"}).startswith(
        '[tickets.jira] email: is required with flavour = "cloud"'
    )
    dc = {"url": "https://jira.example.edu", "token_file": token, "project": "OPS"}
    assert _config_error(tmp_path, {**dc, "email": EMAIL}).startswith(
        '[tickets.jira] email: is not used with flavour = "datacenter"'
    )
    assert _config_error(tmp_path, {**cloud, "project": "OPS", "token_file": None}).startswith(
        "[tickets.jira] token: is required"
    )
    assert _config_error(tmp_path, {**cloud, "project": "OPS", "flavour": "server"}).startswith(
        "[tickets.jira] flavour: expected one of cloud, datacenter"
    )
    assert _config_error(tmp_path, cloud) == (
        '[tickets.jira] project: is required with mode = "issue" (a project key)'
    )
    assert _config_error(tmp_path, {**cloud, "mode": "servicedesk"}).startswith(
        '[tickets.jira] service_desk_id: is required with mode = "servicedesk"'
    )
    desk = {**cloud, "mode": "servicedesk", "service_desk_id": "4"}
    assert _config_error(tmp_path, desk).startswith("[tickets.jira] request_type_id: is required")
    assert _config_error(tmp_path, {**desk, "request_type_id": "twelve"}).startswith(
        "[tickets.jira] request_type_id: expected a numeric id"
    )
    assert _config_error(tmp_path, {**cloud, "project": "OPS", "service_desk_id": 4}).startswith(
        '[tickets.jira] service_desk_id: is only used with mode = "servicedesk"'
    )
    assert _config_error(tmp_path, {**cloud, "project": "OPS", "label": "Labels"}).startswith(
        '[tickets.jira] label: expected "labels" or a custom field id'
    )
    assert _config_error(tmp_path, {**cloud, "project": "OPS", "timeout": 0}).startswith(
        "[tickets.jira] timeout:"
    )
    assert _config_error(
        tmp_path, {**cloud, "project": "OPS", "ca_file": "/nonexistent/ca.pem"}
    ) == ("[tickets.jira] ca_file: /nonexistent/ca.pem is not a readable file")
    assert _config_error(tmp_path, {**cloud, "project": "OPS", "apitoken": "x"}).startswith(
        "[tickets.jira] unknown option 'apitoken' (did you mean 'token'?)"
    )


def test_an_inline_token_is_refused(tmp_path: Path) -> None:
    table = {"url": "https://x.atlassian.net", "email": EMAIL, "token": API_TOKEN, "project": "O"}
    message = _config_error(tmp_path, table)
    assert message.startswith("[tickets.jira] token: secrets are not written in the config")
    assert API_TOKEN not in message


def test_the_token_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = JiraDesk("datacenter")
    with desk:
        from_file = _jira(desk, tmp_path)
        assert from_file.open(content(1)).id == "OPS-1"
        monkeypatch.setenv("ZCOMP_TEST_JIRA_PAT", PAT)
        from_env = _jira(desk, tmp_path, token_file=None, token_env="ZCOMP_TEST_JIRA_PAT")
        assert from_env.find(1) is not None
        assert {r.header("Authorization") for r in desk.requests} == {f"Bearer {PAT}"}
    monkeypatch.delenv("ZCOMP_TEST_JIRA_PAT")
    table = {"url": "https://jira.example.edu", "token_env": "ZCOMP_TEST_JIRA_PAT", "project": "O"}
    assert _config_error(tmp_path, table) == (
        "[tickets.jira] token_env: $ZCOMP_TEST_JIRA_PAT is not set"
    )


def test_flavour_defaults_from_the_host_and_tls_settings_reach_the_client(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    token = _secret_file(tmp_path, API_TOKEN)
    cloud = make_backend(
        "jira",
        {
            "jira": {
                "url": "https://example.atlassian.net/",
                "email": EMAIL,
                "token_file": token,
                "project": "OPS",
                "ca_file": str(ca),
            }
        },
        tmp_path,
    )
    assert isinstance(cloud, JiraBackend)
    assert (
        cloud.settings.flavour == "cloud" and cloud.settings.url == "https://example.atlassian.net"
    )
    assert cloud.http.verify is True and cloud.http.ca_file == str(ca)
    dc = make_backend(
        "jira",
        {
            "jira": {
                "url": "https://jira.example.edu",
                "token_file": token,
                "project": "OPS",
                "verify": False,
            }
        },
        tmp_path,
    )
    assert isinstance(dc, JiraBackend)
    assert dc.settings.flavour == "datacenter" and dc.http.verify is False


def test_cleartext_http_to_another_host_is_warned_about(tmp_path: Path) -> None:
    warnings: list[str] = []
    table = {
        "url": "http://jira.example.edu",
        "token_file": _secret_file(tmp_path, PAT),
        "project": "O",
    }
    make_backend("jira", {"jira": table}, tmp_path, warn=warnings.append)
    assert warnings == ["[tickets.jira] url is http://: the token would travel unencrypted"]


def test_an_incident_known_by_a_text_key(desk: JiraDesk, tmp_path: Path) -> None:
    # `zcomp ticket test` files under a key given as text; the backend only passes it on.
    probe = dataclasses.replace(content(1), incident_id="ZCOMPTEST-20240501023000-AB12")
    jira = _jira(desk, tmp_path)
    ref = jira.open(probe)
    assert desk.issues[ref.id]["fields"]["labels"] == ["zcomp-ZCOMPTEST-20240501023000-AB12"]
    assert jira.find("ZCOMPTEST-20240501023000-AB12") == ref
    assert jira.find(1) is None


def test_verify_false_is_warned_about(tmp_path: Path) -> None:
    warnings: list[str] = []
    table = {
        "url": "https://jira.example.edu",
        "token_file": _secret_file(tmp_path, PAT),
        "project": "O",
        "verify": False,
    }
    make_backend("jira", {"jira": table}, tmp_path, warn=warnings.append)
    assert warnings == ["[tickets.jira] verify = false: the server's certificate is not checked"]
