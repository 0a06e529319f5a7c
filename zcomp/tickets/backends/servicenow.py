"""The `servicenow` backend: an incident through the Table API.

- open: POST /api/now/table/incident, the incident's idempotency key (zcomp-INC-7K3MQ9XA) in
  `correlation_id` (the field ServiceNow keeps for an external system's identifier, with
  `correlation_display` naming that system: "zcomp"), or in the field named by the
  `correlation_id` option.
- find: GET /api/now/table/incident?sysparm_query=correlation_id=<key>^ORDERBYsys_created_on
  &sysparm_limit=1 (a database query: a create whose reply was lost is found at once).
- comment: PATCH /api/now/table/incident/{sys_id} with `work_notes` (internal, agents only).
- resolve: the same PATCH with state (6, Resolved), close_code and close_notes, which most
  instances require to resolve; an incident already resolved, closed or canceled is left alone.
The ref's id is the incident number (INC0010001) people quote; its sys_id is looked up by it.

Authentication: basic (username, password), or OAuth client credentials: a token from
POST /oauth_token.do, kept until shortly before it expires and fetched again once when the
instance answers 401 (revoked, or expired early).
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

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
from zcomp.tickets.http import (
    Reply,
    TicketHttp,
    TicketNotFound,
    TicketUnreachable,
    refusal,
)
from zcomp.tickets.options import Options
from zcomp.tickets.registry import BackendContext
from zcomp.tickets.render import render_text, title_line
from zcomp.zimbra.model import Secret

NAME = "servicenow"
TABLE = "/api/now/table/incident"
OAUTH_ENDPOINT = "/oauth_token.do"
AUTHS = ("basic", "oauth")
SHORT_DESCRIPTION_MAX = 160  # the incident form's short_description length
FINISHED_STATES = frozenset({7, 8})  # Closed, Canceled (the default incident state model)
TOKEN_MARGIN_S = 60.0  # fetch a new token this long before the old one expires
_REFUSALS = (400, 401, 403, 404, 409)  # judged here, to say which setting to check
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")
_NUMBER = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_SYS_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class ServiceNowSettings:
    url: str
    auth: str  # "basic" | "oauth"
    key_field: str  # where the idempotency key goes: "correlation_id" unless set
    resolved_state: int
    close_code: str
    extra: dict[str, str] = field(default_factory=dict)  # assignment_group, urgency, ...


@dataclass(frozen=True)
class _Incident:
    sys_id: str
    number: str
    state: int | None


class OAuthToken:
    """A client-credentials access token, fetched when first needed and kept until it is
    about to expire (or the instance refuses it: `forget`)."""

    def __init__(
        self,
        http: TicketHttp,
        client_id: str,
        client_secret: Secret,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self._token: Secret | None = None
        self._expires_at = 0.0

    def header(self) -> dict[str, str]:
        if self._token is None or self.clock() >= self._expires_at:
            self._fetch()
        assert self._token is not None  # noqa: S101 - _fetch sets it or raises
        return {"Authorization": f"Bearer {self._token.reveal()}"}

    def forget(self) -> None:
        self._token = None

    def _fetch(self) -> None:
        form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret.reveal(),
            }
        ).encode("ascii")
        try:
            reply = self.http.request(
                "POST",
                OAUTH_ENDPOINT,
                data=form,
                content_type="application/x-www-form-urlencoded",
                ok=(200, 400, 401, 403),
            )
        except TicketUnreachable as exc:
            # No token was issued to us, so nothing was applied: the caller's request (a
            # create, maybe) was never sent.
            raise TicketUnreachable(str(exc), maybe_applied=False) from None
        where = f"{NAME}: POST {OAUTH_ENDPOINT}: HTTP {reply.status}"
        if reply.status != 200:
            raise TicketError(
                f"{where}: the OAuth client was refused ({_oauth_said(reply)}); "
                f"check [tickets.{NAME}] client_id and client_secret"
            )
        body = reply.json()
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise TicketError(f"{where}: the reply holds no access_token")
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else 1800.0
        self._token = Secret(token)
        self._expires_at = self.clock() + max(0.0, seconds - min(TOKEN_MARGIN_S, seconds / 10))


class ServiceNowBackend:
    name = NAME

    def __init__(
        self, settings: ServiceNowSettings, http: TicketHttp, oauth: OAuthToken | None = None
    ) -> None:
        self.settings = settings
        self.http = http
        self.oauth = oauth

    # -- the interface ---------------------------------------------------------------------

    def open(self, content: TicketContent) -> TicketRef:
        where = f"ticket {incident_key(content.incident_id)}"
        summary = _clip(title_line(content), SHORT_DESCRIPTION_MAX)
        body = render_text(content)
        refuse_secrets(summary, where)
        refuse_secrets(body, where)
        key = _query_value(idempotency_key(content.incident_id))
        return open_once(
            lambda: self.find(content.incident_id), lambda: self._create(key, summary, body)
        )

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
        key = _query_value(idempotency_key(incident_id))
        column = self.settings.key_field
        for row in self._query(f"{column}={key}^ORDERBYsys_created_on", extra=column):
            # "=" may ignore case on some databases: only the exact key is this incident's.
            if row.get(column) == key and (found := _incident(row)) is not None:
                return self._ref(found)
        return None

    def comment(self, ref: TicketRef, text: str) -> None:
        refuse_secrets(text, f"a comment on ticket {ref.id}")
        incident = self._incident(ref)
        self._call("PATCH", f"{TABLE}/{incident.sys_id}", json={"work_notes": text})

    def resolve(self, ref: TicketRef, text: str) -> bool:
        refuse_secrets(text, f"the resolution of ticket {ref.id}")
        incident = self._incident(ref)
        done = FINISHED_STATES | {self.settings.resolved_state}
        if incident.state in done:
            return True
        change = {
            "state": str(self.settings.resolved_state),
            "close_code": self.settings.close_code,
            "close_notes": text,
        }
        self._call("PATCH", f"{TABLE}/{incident.sys_id}", json=change)
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _create(self, key: str, summary: str, body: str) -> TicketRef:
        record: dict[str, str] = {
            **self.settings.extra,
            "short_description": summary,
            "description": body,
            self.settings.key_field: key,
        }
        if self.settings.key_field == "correlation_id":
            record["correlation_display"] = "zcomp"
        reply = self._call("POST", TABLE, json=record, params=_fields_param(), ok=(201,))
        result = reply.json()
        made = _incident(result.get("result") if isinstance(result, Mapping) else None)
        if made is None:
            raise TicketError(f"{NAME}: the create reply names no incident")
        return self._ref(made)

    def _incident(self, ref: TicketRef) -> _Incident:
        if ref.backend != NAME or not _NUMBER.fullmatch(ref.id):
            raise TicketError(f"ticket {ref.backend}:{ref.id} is not a ServiceNow incident")
        for row in self._query(f"number={ref.id}"):
            found = _incident(row)
            if found is not None and found.number == ref.id:
                return found
        raise TicketNotFound(f"{NAME}: incident {ref.id} not found")

    def _query(self, query: str, extra: str | None = None) -> list[Mapping[str, Any]]:
        params = {**_fields_param(extra), "sysparm_query": query, "sysparm_limit": "1"}
        listed = self._call("GET", TABLE, params=params).json()
        rows = listed.get("result") if isinstance(listed, Mapping) else None
        return [r for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []

    def _ref(self, incident: _Incident) -> TicketRef:
        return TicketRef(
            NAME, incident.number, f"{self.settings.url}/incident.do?sys_id={incident.sys_id}"
        )

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
        if reply.status == 401 and self.oauth is not None:
            # Revoked, or expired before its time: one fresh token, one more try. A refused
            # request was not applied, so this is safe for writes too.
            self.oauth.forget()
            reply = self.http.request(method, path, json=json, params=params, ok=ok + _REFUSALS)
        if reply.status in ok:
            return reply
        raise self._refusal(method, path, reply)

    def _refusal(self, method: str, path: str, reply: Reply) -> TicketError:
        where = f"{NAME}: {method} {path}: HTTP {reply.status}"
        said = _said(reply)
        if self.oauth is not None:
            refused = (
                f"a freshly issued OAuth token was refused ({said}); check the OAuth "
                f"application user of [tickets.{NAME}] client_id"
            )
        else:
            refused = (
                f"the credentials were refused ({said}); "
                f"check [tickets.{NAME}] username and password"
            )
        return refusal(
            where,
            reply.status,
            said,
            refused=refused,
            forbidden=f"not allowed ({said}); check the roles of the [tickets.{NAME}] account "
            "(itil writes incidents and work notes)",
        )


# -- making the backend --------------------------------------------------------------------


def make(options: Options, context: BackendContext) -> ServiceNowBackend:
    url = options.url("url")
    auth = options.choice("auth", AUTHS, default="basic")
    basic: tuple[str, Secret] | None = None
    client: tuple[str, Secret] | None = None
    if auth == "basic":
        oauth_keys = (
            "client_id",
            "client_secret_file",
            "client_secret_env",
            "client_secret_keyring",
        )
        _only_with(options, oauth_keys, "oauth")
        basic = (options.required_text("username"), _secret(options, "password"))
    else:
        _only_with(
            options, ("username", "password_file", "password_env", "password_keyring"), "basic"
        )
        client = (options.required_text("client_id"), _secret(options, "client_secret"))
    extra: dict[str, str] = {}
    for key in ("assignment_group", "caller_id", "category"):
        value = options.text(key)
        if value is not None:
            extra[key] = value
    for key in ("urgency", "impact"):
        level = options.integer(key, default=0, low=1, high=3)
        if level:
            extra[key] = str(level)
    key_field = options.required_text("correlation_id", default="correlation_id")
    if not _FIELD_NAME.fullmatch(key_field):
        raise _config_error(
            "correlation_id", f"expected a field name such as u_zcomp_key, got {key_field!r}"
        )
    resolved_state = options.integer("resolved_state", default=6, low=1, high=999)
    close_code = options.required_text("close_code", default="Solved (Permanently)")
    timeout = options.seconds("timeout", default=15.0)
    verify = options.boolean("verify", default=True)
    ca_file = options.ca_file()
    options.done()
    options.transport_warnings(url, verify=verify, what="credentials")
    settings = ServiceNowSettings(url, auth, key_field, resolved_state, close_code, extra)

    def connection(auth_header: Callable[[], dict[str, str]]) -> TicketHttp:
        return TicketHttp(
            backend=NAME,
            base_url=url,
            auth=auth_header,
            timeout_s=timeout,
            verify=verify,
            ca_file=ca_file,
            debug=context.debug,
        )

    if basic is not None:
        return ServiceNowBackend(settings, connection(_basic(*basic)))
    if client is None:  # pragma: no cover - one of the two is set above
        raise _config_error("auth", "no credentials")
    oauth = OAuthToken(connection(lambda: {}), *client)
    return ServiceNowBackend(settings, connection(oauth.header), oauth)


def _basic(username: str, password: Secret) -> Callable[[], dict[str, str]]:
    def header() -> dict[str, str]:
        pair = f"{username}:{password.reveal()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    return header


def _secret(options: Options, key: str) -> Secret:
    value = options.secret(key)
    if value is None:  # required=True already refused a missing one
        raise _config_error(key, "is required")
    return value


def _only_with(options: Options, keys: tuple[str, ...], auth: str) -> None:
    for key in keys:
        if key in options.table:
            raise _config_error(key, f'is only used with auth = "{auth}"')


def _config_error(key: str, problem: str) -> ConfigError:
    return ConfigError(f"[tickets.{NAME}] {key}: {problem}")


# -- small pure helpers ---------------------------------------------------------------------


def _fields_param(extra: str | None = None) -> dict[str, str]:
    fields = "sys_id,number,state" + (f",{extra}" if extra else "")
    return {"sysparm_fields": fields, "sysparm_exclude_reference_link": "true"}


def _query_value(value: str) -> str:
    """A value safe inside an encoded query, where ^ separates conditions."""
    if "^" in value or "\n" in value:
        raise TicketError(f"{NAME}: {value!r} cannot be searched for in an encoded query")
    return value


def _incident(row: Any) -> _Incident | None:
    if not isinstance(row, Mapping):
        return None
    sys_id, number, state = row.get("sys_id"), row.get("number"), row.get("state")
    if not isinstance(sys_id, str) or not _SYS_ID.fullmatch(sys_id):
        return None
    if not isinstance(number, str) or not _NUMBER.fullmatch(number):
        return None
    level = int(state) if isinstance(state, str) and state.lstrip("-").isdigit() else None
    return _Incident(sys_id, number, level)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _said(reply: Reply) -> str:
    """The Table API's {"error": {"message": ..., "detail": ...}, "status": "failure"}."""
    try:
        body = reply.json()
    except TicketError:
        body = None
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        parts = [str(error[k]) for k in ("message", "detail") if error.get(k)]
        text = ": ".join(parts)
    else:
        text = reply.body.decode("utf-8", "replace")
    return _clip(" ".join(text.split()), 300) or "no details"


def _oauth_said(reply: Reply) -> str:
    """The token endpoint's {"error": ..., "error_description": ...}."""
    try:
        body = reply.json()
    except TicketError:
        body = None
    if isinstance(body, Mapping):
        parts = [str(body[k]) for k in ("error_description", "error") if body.get(k)]
        if parts:
            return _clip(", ".join(parts), 200)
    return "no details"
