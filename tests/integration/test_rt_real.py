"""The `rt` backend against a real Request Tracker 5 (Debian's request-tracker5, SQLite).

Run by `make test-integration`, which starts RT with tests/integration/rt/start.sh and passes
its address and credentials in ZCOMP_RT_* variables; `make test` does not collect this
directory (pyproject: norecursedirs). Without those variables every test FAILS: this suite
never skips, a missing RT is an error to see.

Each check reads the ticket back over REST2 itself (not through the backend) so that what RT
stored is compared with what zcomp meant: subject, body (render_text), comments, status.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.proxy import AFTER, BEFORE, Exchange, LossyProxy, Verdict
from tests.tickets.workers import content
from zcomp.tickets import TicketError, TicketRef, idempotency_key, make_backend, render_text
from zcomp.tickets.backends.rt import RtBackend
from zcomp.tickets.http import TicketNotFound, TicketUnreachable
from zcomp.tickets.render import title_line

# Read at import: the autouse isolation fixture removes ZCOMP_* variables before each test.
NAMES = (
    "ZCOMP_RT_URL",
    "ZCOMP_RT_QUEUE",
    "ZCOMP_RT_USER",
    "ZCOMP_RT_PASSWORD_FILE",
    "ZCOMP_RT_TOKEN_FILE",
    "ZCOMP_RT_NOBODY_USER",
    "ZCOMP_RT_NOBODY_PASSWORD_FILE",
    "ZCOMP_RT_CUSTOM_FIELD",
    "ZCOMP_RT_OUTBOX",
)
ENV = {name: os.environ.get(name, "") for name in NAMES}
MISSING = [name for name, value in ENV.items() if not value]


@pytest.fixture(autouse=True)
def real_rt() -> None:
    if MISSING:
        pytest.fail(
            f"no real RT: {', '.join(MISSING)} not set (run `make test-integration`, which "
            "starts one with tests/integration/rt/start.sh)",
            pytrace=False,
        )


def incident() -> int:
    """A fresh incident per test: the suite may run twice against one RT."""
    return 1_000 + secrets.randbelow(900_000)


def backend(tmp_path: Path, url: str | None = None, **table: Any) -> RtBackend:
    options = {"url": url or ENV["ZCOMP_RT_URL"], "queue": ENV["ZCOMP_RT_QUEUE"], **table}
    made = make_backend("rt", {"rt": options}, tmp_path / "state")
    assert isinstance(made, RtBackend)
    return made


def with_token(tmp_path: Path, url: str | None = None, **table: Any) -> RtBackend:
    return backend(tmp_path, url, token_file=ENV["ZCOMP_RT_TOKEN_FILE"], **table)


def rest(path: str, **params: str) -> Any:
    """GET from REST2 as root (basic auth), outside the backend."""
    password = Path(ENV["ZCOMP_RT_PASSWORD_FILE"]).read_text().strip()
    basic = base64.b64encode(f"{ENV['ZCOMP_RT_USER']}:{password}".encode()).decode()
    url = f"{ENV['ZCOMP_RT_URL']}/REST/2.0{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(
        url, headers={"Authorization": f"Basic {basic}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def ticket(ref: TicketRef) -> dict[str, Any]:
    data: dict[str, Any] = rest(f"/ticket/{ref.id}")
    return data


def history(ref: TicketRef) -> list[str]:
    items = rest(f"/ticket/{ref.id}/history", fields="Type", per_page="100")["items"]
    return [item["Type"] for item in items]


def texts(ref: TicketRef) -> list[str]:
    """The text of every message on the ticket, oldest first: the create's, then comments'."""
    items = rest(f"/ticket/{ref.id}/attachments", fields="Content,ContentType", per_page="100")
    return [item["Content"] for item in items["items"] if item["ContentType"] == "text/plain"]


def tickets_for(incident_id: int) -> list[str]:
    query = f"Subject LIKE '{idempotency_key(incident_id)}'"
    return [item["id"] for item in rest("/tickets", query=query)["items"]]


def test_round_trip(tmp_path: Path) -> None:
    rt = with_token(tmp_path)
    number = incident()
    ref = rt.open(content(number))
    assert ref.url == f"{ENV['ZCOMP_RT_URL']}/Ticket/Display.html?id={ref.id}"
    assert rt.open(content(number, title="a different title")) == ref
    assert rt.find(number) == ref
    assert rt.find(number + 1) is None

    stored = ticket(ref)
    key = idempotency_key(number)
    assert stored["Subject"] == f"{title_line(content(number))} [{key}]"
    assert stored["Status"] == "new"
    assert stored["Requestor"] == []
    queue = rest(f"/queue/{stored['Queue']['id']}")
    assert queue["Name"] == ENV["ZCOMP_RT_QUEUE"]
    assert texts(ref) == [render_text(content(number))]

    rt.comment(ref, "Customer reached by phone.\nSecond line.")
    assert rt.resolve(ref, "Unlocked; new password set by the help desk.") is True
    assert rt.resolve(ref, "a second resolve adds nothing") is True
    assert ticket(ref)["Status"] == "resolved"
    assert texts(ref) == [
        render_text(content(number)),
        "Customer reached by phone.\nSecond line.",
        "Unlocked; new password set by the help desk.",
    ]
    assert history(ref) == ["Create", "Comment", "Comment", "Status"]
    assert tickets_for(number) == [ref.id]


def test_no_mail_to_the_contained_account(tmp_path: Path) -> None:
    """No Requestor by default: RT's autoreply must not tell the mailbox (maybe still read
    by the attacker) that it was caught."""
    rt = with_token(tmp_path)
    ref = rt.open(content(incident()))
    rt.resolve(ref, "done")
    outbox = Path(ENV["ZCOMP_RT_OUTBOX"])
    sent = outbox.read_text() if outbox.exists() else ""
    assert "alice@example.edu" not in sent


def test_basic_auth_and_custom_field(tmp_path: Path) -> None:
    field = ENV["ZCOMP_RT_CUSTOM_FIELD"]
    rt = backend(
        tmp_path,
        username=ENV["ZCOMP_RT_USER"],
        password_file=ENV["ZCOMP_RT_PASSWORD_FILE"],
        custom_field=field,
    )
    number = incident()
    ref = rt.open(content(number))
    assert rt.open(content(number)) == ref
    assert rt.find(number) == ref
    stored = ticket(ref)
    assert stored["Subject"] == title_line(content(number))
    values = {cf["name"]: cf["values"] for cf in stored["CustomFields"]}
    assert values[field] == [idempotency_key(number)]
    rt.comment(ref, "noted")
    assert rt.resolve(ref, "closed") is True
    assert ticket(ref)["Status"] == "resolved"


def test_custom_field_not_on_the_queue(tmp_path: Path) -> None:
    rt = with_token(tmp_path, custom_field="no such field")
    number = incident()
    with pytest.raises(TicketError, match="'no such field' does not apply to queue"):
        rt.open(content(number))
    assert tickets_for(number) == []


def test_text_incident_key(tmp_path: Path) -> None:
    """A key given as text, with TicketSQL's quote and backslash and LIKE's wildcards."""
    rt = with_token(tmp_path)
    base = f"ZCOMPTEST-{secrets.token_hex(4)}-"
    odd, wild = base + "it's_50%\\x", base + "it'sQ50%\\x"
    other = rt.open(replace(content(1), incident_id=wild))
    # RT's LIKE takes "_" as any one character: the search hits the other incident's ticket...
    query = "Subject LIKE '[zcomp-" + odd.replace("\\", "\\\\").replace("'", "\\'") + "]'"
    assert [item["id"] for item in rest("/tickets", query=query)["items"]] == [other.id]
    assert rt.find(odd) is None  # ...and the exact check drops it
    ref = rt.open(replace(content(1), incident_id=odd))
    assert ref != other
    assert ticket(ref)["Subject"].endswith(f"[zcomp-{odd}]")
    assert (rt.find(odd), rt.find(wild)) == (ref, other)
    assert rt.open(replace(content(1), incident_id=odd)) == ref


def test_long_title_keeps_the_key(tmp_path: Path) -> None:
    """RT cuts a Subject to 200 bytes without a word; the key must survive it."""
    rt = with_token(tmp_path)
    number = incident()
    ref = rt.open(content(number, title="é" * 300))
    subject = ticket(ref)["Subject"]
    assert subject.endswith(f"... [{idempotency_key(number)}]")
    assert rt.open(content(number, title="é" * 300)) == ref
    assert tickets_for(number) == [ref.id]


def test_create_applied_but_reply_lost(tmp_path: Path) -> None:
    """The create lands in RT, its reply never reaches zcomp: open looks again and finds it."""
    number = incident()
    lost: list[Exchange] = []

    def lose_create_reply(exchange: Exchange, phase: str) -> Verdict | None:
        if phase == AFTER and exchange.path.endswith("/REST/2.0/ticket") and not lost:
            lost.append(exchange)
            return Verdict.DROP
        return None

    with LossyProxy(ENV["ZCOMP_RT_URL"]) as proxy:
        proxy.hooks.append(lose_create_reply)
        rt = with_token(tmp_path, proxy.base_url)
        ref = rt.open(content(number))
    assert lost and lost[0].status == 201
    assert tickets_for(number) == [ref.id]


def test_create_refused_unheard_then_retried(tmp_path: Path) -> None:
    """No answer and nothing created: the error says it may have landed; a retry files one."""
    number = incident()

    def drop_first_create(exchange: Exchange, phase: str) -> Verdict | None:
        if phase == BEFORE and exchange.path.endswith("/REST/2.0/ticket"):
            proxy.hooks.clear()
            return Verdict.DROP
        return None

    with LossyProxy(ENV["ZCOMP_RT_URL"]) as proxy:
        proxy.hooks.append(drop_first_create)
        rt = with_token(tmp_path, proxy.base_url)
        with pytest.raises(TicketUnreachable) as caught:
            rt.open(content(number))
        assert caught.value.maybe_applied
        ref = rt.open(content(number))
    assert tickets_for(number) == [ref.id]


def test_refusals(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-token"
    wrong.write_text("1-1-" + "0" * 32)
    with pytest.raises(TicketError, match="HTTP 401.*check the token or password"):
        backend(tmp_path, token_file=str(wrong)).find(1)

    nobody = backend(
        tmp_path,
        username=ENV["ZCOMP_RT_NOBODY_USER"],
        password_file=ENV["ZCOMP_RT_NOBODY_PASSWORD_FILE"],
    )
    with pytest.raises(TicketError, match="HTTP 403: not allowed.*No permission to create"):
        nobody.open(content(incident()))

    rt = with_token(tmp_path)
    with pytest.raises(TicketNotFound, match="not found"):
        rt.comment(TicketRef("rt", "999999"), "x")

    ref = rt.open(content(incident()))
    odd = with_token(tmp_path, resolved_status="done")
    with pytest.raises(TicketError, match="still 'new', not 'done'.*isn't a valid status"):
        odd.resolve(ref, "closing")
