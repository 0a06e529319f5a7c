"""The `jira` backend: a Jira issue or a Jira Service Management request, Cloud or Data Center.

Everything goes through the v2 REST API, on both flavours: v2 takes plain-text (wiki markup)
bodies, where Cloud's v3 would need Atlassian Document Format.

- open: POST /rest/api/2/issue (mode "issue") or POST /rest/servicedeskapi/request (mode
  "servicedesk"), the incident's idempotency key (zcomp-INC-7K3MQ9XA) in the labels, or in a
  text custom field (`label = "customfield_10050"`).
- find: a JQL search on that key. Data Center: GET /rest/api/2/search. Cloud removed that
  endpoint (410 Gone since 2025): GET /rest/api/2/search/jql, whose results are eventually
  consistent. A create whose reply was lost may not be found at once; `open` then fails as
  unreachable, the ticket stays pending and the next retry looks again before creating.
- comment: POST /rest/api/2/issue/{key}/comment, or an internal (non-public) comment on the
  request, POST /rest/servicedeskapi/request/{key}/comment.
- resolve: the closing note as a comment, then the transition named `resolve_transition` (or
  the one leading to a "done" status), found with GET .../transitions, POSTed by id.

Bodies are wrapped in {noformat}: render_text's Markdown headings ("# ", "## ") would otherwise
become numbered lists in wiki markup, and text taken from the phished account (a filter rule's
name) could carry markup such as links into the help desk's view.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

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

NAME = "jira"
FLAVOURS = ("cloud", "datacenter")
MODES = ("issue", "servicedesk")
SUMMARY_MAX = 255  # Jira refuses a longer summary
SEARCH_MAX = 10  # more than one match is already a duplicate; the oldest wins
_REFUSALS = (400, 401, 403, 404, 409)  # judged here, to say which setting to check
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]*-[1-9][0-9]*")
_CUSTOM_FIELD = re.compile(r"customfield_([1-9][0-9]*)")
_NOFORMAT = re.compile(r"\{(noformat)", re.IGNORECASE)


@dataclass(frozen=True)
class JiraSettings:
    url: str
    flavour: str  # "cloud": email + API token (Basic); "datacenter": personal access token
    mode: str  # "issue" | "servicedesk"
    project: str | None  # issue mode: where issues go; servicedesk mode: narrows `find`
    issue_type: str
    service_desk_id: str | None
    request_type_id: str | None
    label: str  # "labels", or "customfield_NNNNN" (a text field) holding the key
    resolve_transition: str | None


@dataclass(frozen=True)
class _Transition:
    id: str
    name: str
    done: bool  # leads to a status in the "done" category


class JiraBackend:
    name = NAME

    def __init__(self, settings: JiraSettings, http: TicketHttp) -> None:
        self.settings = settings
        self.http = http

    # -- the interface ---------------------------------------------------------------------

    def open(self, content: TicketContent) -> TicketRef:
        where = f"ticket {incident_key(content.incident_id)}"
        summary = _clip(title_line(content), SUMMARY_MAX)
        body = render_text(content)
        refuse_secrets(summary, where)
        refuse_secrets(body, where)
        key = idempotency_key(content.incident_id)
        return open_once(
            lambda: self.find(content.incident_id),
            lambda: self._create(key, summary, _noformat(body)),
        )

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
        key = idempotency_key(incident_id)
        # Cloud's old /search answers 410 Gone; Data Center has no /search/jql.
        path = (
            "/rest/api/2/search/jql" if self.settings.flavour == "cloud" else "/rest/api/2/search"
        )
        params = {
            "jql": self._jql(key),
            "fields": f"summary,status,{self.settings.label}",
            "maxResults": SEARCH_MAX,
        }
        found = self._call("GET", path, params=params).json()
        issues = found.get("issues") if isinstance(found, Mapping) else None
        for issue in issues if isinstance(issues, list) else []:
            # JQL `~` on a text field matches words; only the exact key is this incident's.
            if isinstance(issue, Mapping) and self._carries(issue, key):
                issue_key = issue.get("key")
                if isinstance(issue_key, str) and _ISSUE_KEY.fullmatch(issue_key):
                    return self._ref(issue_key)
        return None

    def comment(self, ref: TicketRef, text: str) -> None:
        issue_key = self._issue_key(ref)
        refuse_secrets(text, f"a comment on ticket {ref.id}")
        if self.settings.mode == "servicedesk":
            # Internal: the closing details are for the agents, not mailed to the customer.
            self._call(
                "POST",
                f"/rest/servicedeskapi/request/{issue_key}/comment",
                json={"body": _noformat(text), "public": False},
                ok=(201,),
            )
        else:
            self._call(
                "POST",
                f"/rest/api/2/issue/{issue_key}/comment",
                json={"body": _noformat(text)},
                ok=(201,),
            )

    def resolve(self, ref: TicketRef, text: str) -> bool:
        """Comment, then transition; an issue already in a "done" status is left as it is."""
        issue_key = self._issue_key(ref)
        refuse_secrets(text, f"the resolution of ticket {ref.id}")
        if self._is_done(issue_key):
            return True
        transition = self._resolving_transition(issue_key)
        self.comment(ref, text)
        path = f"/rest/api/2/issue/{issue_key}/transitions"
        payload = {"transition": {"id": transition.id}}
        try:
            self._call("POST", path, json=payload, ok=(204,))
        except TicketConflict:
            # Cloud answers 409 while another transition of the issue runs, and asks for a
            # retry; the refused transition was not applied.
            self._call("POST", path, json=payload, ok=(204,))
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _create(self, key: str, summary: str, description: str) -> TicketRef:
        s = self.settings
        marker: str | list[str] = [key] if s.label == "labels" else key
        if s.mode == "servicedesk":
            request = {
                "serviceDeskId": s.service_desk_id,
                "requestTypeId": s.request_type_id,
                "requestFieldValues": {
                    "summary": summary,
                    "description": description,
                    s.label: marker,
                },
            }
            made = self._call("POST", "/rest/servicedeskapi/request", json=request, ok=(201,))
            issue_key = _text_field(made.json(), "issueKey")
        else:
            fields = {
                "project": {"key": s.project},
                "issuetype": {"name": s.issue_type},
                "summary": summary,
                "description": description,
                s.label: marker,
            }
            made = self._call("POST", "/rest/api/2/issue", json={"fields": fields}, ok=(201,))
            issue_key = _text_field(made.json(), "key")
        if issue_key is None or not _ISSUE_KEY.fullmatch(issue_key):
            raise TicketError(f"{NAME}: the create reply names no issue key")
        return self._ref(issue_key)

    def _jql(self, key: str) -> str:
        field = self.settings.label
        custom = _CUSTOM_FIELD.fullmatch(field)
        clause = (
            f"cf[{custom.group(1)}] ~ {_jql_text(key)}" if custom else f"labels = {_jql_text(key)}"
        )
        if self.settings.project:
            clause = f"project = {_jql_text(self.settings.project)} AND {clause}"
        return f"{clause} ORDER BY created ASC"

    def _carries(self, issue: Mapping[str, Any], key: str) -> bool:
        fields = issue.get("fields")
        value = fields.get(self.settings.label) if isinstance(fields, Mapping) else None
        if isinstance(value, list):
            return key in value
        return isinstance(value, str) and value == key

    def _is_done(self, issue_key: str) -> bool:
        reply = self._call("GET", f"/rest/api/2/issue/{issue_key}", params={"fields": "status"})
        issue = reply.json()
        status: object = _dig(issue, "fields", "status", "statusCategory", "key")
        return status == "done"

    def _resolving_transition(self, issue_key: str) -> _Transition:
        reply = self._call("GET", f"/rest/api/2/issue/{issue_key}/transitions")
        listed = reply.json()
        raw = listed.get("transitions") if isinstance(listed, Mapping) else None
        transitions = [t for t in map(_transition, raw if isinstance(raw, list) else []) if t]
        wanted = self.settings.resolve_transition
        if wanted is not None:
            chosen = [t for t in transitions if t.name.casefold() == wanted.casefold()]
        else:
            chosen = [t for t in transitions if t.done]
        if chosen:
            return chosen[0]
        names = ", ".join(repr(t.name) for t in transitions) or "none"
        if wanted is not None:
            raise TicketError(
                f"{NAME}: {issue_key} has no transition {wanted!r} "
                f"(available: {names}); check [tickets.jira] resolve_transition"
            )
        raise TicketError(
            f"{NAME}: no transition of {issue_key} leads to a done status (available: {names}); "
            "set [tickets.jira] resolve_transition"
        )

    def _ref(self, issue_key: str) -> TicketRef:
        return TicketRef(NAME, issue_key, f"{self.settings.url}/browse/{issue_key}")

    def _issue_key(self, ref: TicketRef) -> str:
        if ref.backend != NAME or not _ISSUE_KEY.fullmatch(ref.id):
            raise TicketError(f"ticket {ref.backend}:{ref.id} is not a Jira issue")
        return ref.id

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Reply:
        reply = self.http.request(method, path, json=json, params=params, ok=ok + _REFUSALS)
        if reply.status in ok:
            return reply
        raise self._refusal(method, path, reply)

    def _refusal(self, method: str, path: str, reply: Reply) -> TicketError:
        where = f"{NAME}: {method} {path}: HTTP {reply.status}"
        said = _said(reply)
        if self.settings.flavour == "cloud":
            check = "[tickets.jira] email and token (an API token of that Atlassian account)"
        else:
            check = "[tickets.jira] token (a personal access token)"
        return refusal(
            where,
            reply.status,
            said,
            refused=f"the credentials were refused; check {check}",
            forbidden=f"not allowed ({said}); check the permissions of the account behind "
            "[tickets.jira] token",
        )


# -- making the backend --------------------------------------------------------------------


def make(options: Options, context: BackendContext) -> JiraBackend:
    url = options.url("url")
    host = (urlsplit(url).hostname or "").lower()
    cloud_host = host.endswith(".atlassian.net")
    flavour = options.choice("flavour", FLAVOURS, default="cloud" if cloud_host else "datacenter")
    email = options.text("email")
    if flavour == "cloud" and email is None:
        raise _config_error(
            "email", 'is required with flavour = "cloud" (the API token\'s account)'
        )
    if flavour == "datacenter" and email is not None:
        raise _config_error(
            "email",
            'is not used with flavour = "datacenter" (the token is a personal access token)',
        )
    token = options.secret("token")
    if token is None:  # required=True already refused a missing one
        raise _config_error("token", "is required")
    mode = options.choice("mode", MODES, default="issue")
    project = options.text("project")
    issue_type = options.required_text("issue_type", default="Task")
    service_desk_id = _identifier(options, "service_desk_id")
    request_type_id = _identifier(options, "request_type_id")
    if mode == "issue":
        if project is None:
            raise _config_error("project", 'is required with mode = "issue" (a project key)')
        for key in ("service_desk_id", "request_type_id"):
            if key in options.table:
                raise _config_error(key, 'is only used with mode = "servicedesk"')
    else:
        for key, value in (
            ("service_desk_id", service_desk_id),
            ("request_type_id", request_type_id),
        ):
            if value is None:
                raise _config_error(key, 'is required with mode = "servicedesk"')
        if "issue_type" in options.table:
            raise _config_error("issue_type", 'is only used with mode = "issue"')
    label = options.required_text("label", default="labels")
    if label != "labels" and not _CUSTOM_FIELD.fullmatch(label):
        raise _config_error(
            "label",
            f'expected "labels" or a custom field id such as "customfield_10050", got {label!r}',
        )
    resolve_transition = options.text("resolve_transition")
    timeout = options.seconds("timeout", default=15.0)
    verify = options.boolean("verify", default=True)
    ca_file = options.ca_file()
    options.done()
    options.transport_warnings(url, verify=verify, what="the token")
    settings = JiraSettings(
        url=url,
        flavour=flavour,
        mode=mode,
        project=project,
        issue_type=issue_type,
        service_desk_id=service_desk_id,
        request_type_id=request_type_id,
        label=label,
        resolve_transition=resolve_transition,
    )
    http = TicketHttp(
        backend=NAME,
        base_url=url,
        auth=_auth(flavour, email, token),
        timeout_s=timeout,
        verify=verify,
        ca_file=ca_file,
        debug=context.debug,
    )
    return JiraBackend(settings, http)


def _auth(flavour: str, email: str | None, token: Secret) -> Callable[[], dict[str, str]]:
    if flavour == "cloud":

        def basic() -> dict[str, str]:
            pair = f"{email}:{token.reveal()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

        return basic
    return lambda: {"Authorization": f"Bearer {token.reveal()}"}


def _identifier(options: Options, key: str) -> str | None:
    """A numeric id, written as a number or as text (Jira sends them as strings)."""
    if isinstance(options.table.get(key), int):
        return str(options.integer(key, default=0, low=1, high=2**53))
    value = options.text(key)
    if value is not None and not value.isdigit():
        raise _config_error(key, f"expected a numeric id, got {value!r}")
    return value


def _config_error(key: str, problem: str) -> ConfigError:
    return ConfigError(f"[tickets.{NAME}] {key}: {problem}")


# -- small pure helpers ---------------------------------------------------------------------


def _noformat(text: str) -> str:
    # A "{noformat" inside the text would close the block early: break it up.
    return "{noformat}\n" + _NOFORMAT.sub(r"{ \1", text) + "\n{noformat}"


def _jql_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _text_field(value: Any, key: str) -> str | None:
    found = value.get(key) if isinstance(value, Mapping) else None
    return found if isinstance(found, str) else None


def _transition(raw: Any) -> _Transition | None:
    if not isinstance(raw, Mapping):
        return None
    ident, name = raw.get("id"), raw.get("name")
    if not isinstance(ident, str) or not isinstance(name, str):
        return None
    return _Transition(ident, name, _dig(raw, "to", "statusCategory", "key") == "done")


def _said(reply: Reply) -> str:
    """Jira's {"errorMessages": [...], "errors": {field: text}}, or JSM's {"errorMessage"}."""
    try:
        body = reply.json()
    except TicketError:
        body = None
    parts: list[str] = []
    if isinstance(body, Mapping):
        messages = body.get("errorMessages")
        if isinstance(messages, list):
            parts += [str(m) for m in messages]
        errors = body.get("errors")
        if isinstance(errors, Mapping):
            parts += [f"{field}: {text}" for field, text in errors.items()]
        if isinstance(body.get("errorMessage"), str):
            parts.append(body["errorMessage"])
    text = "; ".join(parts) if parts else reply.body.decode("utf-8", "replace")
    return _clip(" ".join(text.split()), 300) or "no details"
