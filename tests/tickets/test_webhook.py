"""The webhook backend against real HTTP endpoints on 127.0.0.1 (FakeDesk): a receiver of our
own that checks the Bearer token and the HMAC signature and deduplicates by Idempotency-Key,
and Slack, Teams and Mattermost endpoints answering as their documentation says, fed the body
examples of docs/tickets/webhook.md."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import ssl
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.tickets.fakedesk import Answer, FakeDesk, Seen, running
from tests.tickets.workers import content
from zcomp.exitcodes import ConfigError
from zcomp.tickets import TicketError, TicketRef, make_backend, render_text
from zcomp.tickets.backends.webhook import WebhookBackend
from zcomp.tickets.http import TicketNotFound, TicketUnreachable
from zcomp.tickets.render import title_line

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

TOKEN = "tok-9f8e7d6c5b4a3210"
HMAC_KEY = "hmac-key-0123456789abcdef"
KEY = "zcomp-INC000042"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "tickets" / "webhook.md"


class Receiver(FakeDesk):
    """A receiver as docs/tickets/webhook.md describes one: Bearer token, signature over
    "<timestamp>.<body>" (refused when stale), one event per Idempotency-Key, a ticket per
    X-Zcomp-Incident holding its events in order."""

    def __init__(self) -> None:
        super().__init__()
        self.deliveries: dict[str, Seen] = {}
        self.tickets: dict[str, list[Any]] = {}
        self.route("POST", r"/hooks/zcomp", self.receive)

    def authorised(self, seen: Seen) -> bool:
        if seen.header("Authorization") != f"Bearer {TOKEN}":
            return False
        timestamp, signature = seen.header("X-Zcomp-Timestamp"), seen.header("X-Zcomp-Signature")
        if timestamp is None or signature is None or abs(time.time() - int(timestamp)) > 300:
            return False
        signed = timestamp.encode() + b"." + seen.body
        mac = hmac.new(HMAC_KEY.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest("sha256=" + mac, signature)

    def receive(self, seen: Seen, _match: re.Match[str]) -> Answer:
        delivery = seen.header("Idempotency-Key") or ""
        if delivery in self.deliveries:
            return Answer(200, {"ok": True, "duplicate": True})
        self.deliveries[delivery] = seen
        self.tickets.setdefault(seen.header("X-Zcomp-Incident") or "", []).append(seen.json())
        return Answer(202, {"ok": True})

    def posts(self) -> list[Seen]:
        return [seen for seen in self.requests if seen.method == "POST"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    running.start()
    try:
        yield running
    finally:
        running.stop()


def secret_file(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


class Made:
    def __init__(self, tmp_path: Path, table: dict[str, Any]) -> None:
        self.debug: list[str] = []
        self.warnings: list[str] = []
        self.state = tmp_path / "state"
        backend = make_backend(
            "webhook",
            {"webhook": {k: v for k, v in table.items() if v is not None}},
            self.state,
            debug=self.debug.append,
            warn=self.warnings.append,
        )
        assert isinstance(backend, WebhookBackend)
        self.slept: list[float] = []
        backend.sleep = self.slept.append
        self.backend = backend

    @property
    def record(self) -> Path:
        return self.state / "tickets" / "webhook" / f"{KEY}.json"


def table_for(receiver: Receiver, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "url": receiver.url + "/hooks/zcomp",
        "token_file": secret_file(tmp_path, "token", TOKEN),
        "hmac_secret_file": secret_file(tmp_path, "hmac", HMAC_KEY),
        "timeout": 5,
    }
    table.update(extra)
    return table


@pytest.fixture
def made(receiver: Receiver, tmp_path: Path) -> Made:
    return Made(tmp_path, table_for(receiver, tmp_path))


def assert_no_secret(made: Made, desk: FakeDesk, *texts: str, secrets: tuple[str, ...]) -> None:
    for seen in desk.requests:
        for secret in secrets:
            assert secret.encode() not in seen.body
    for text in (*texts, *made.debug, *made.warnings):
        for secret in secrets:
            assert secret not in text


# -- the round trip ----------------------------------------------------------------------------


def test_open_find_comment_resolve(made: Made, receiver: Receiver) -> None:
    backend = made.backend
    ref = backend.open(content(42))
    assert ref == TicketRef("webhook", KEY, None)
    assert backend.find(42) == ref
    assert backend.find(43) is None
    backend.comment(ref, "Customer reached by phone.")
    assert backend.resolve(ref, "Unlocked; new password set by the help desk.") is True
    assert backend.resolve(ref, "again") is True  # resolved once: nothing more is posted

    opening, comment, resolution = receiver.tickets[KEY]
    assert list(receiver.tickets) == [KEY]
    assert opening == {
        "event": "open",
        "incident": "INC000042",
        "account": "alice@example.edu",
        "title": title_line(content(42)),
        "text": render_text(content(42)),
        "time": opening["time"],
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", opening["time"])
    assert comment["event"] == "comment" and comment["text"] == "Customer reached by phone."
    assert comment["title"] == title_line(content(42))
    assert resolution["event"] == "resolve"
    assert resolution["text"].startswith("Unlocked")
    posts = receiver.posts()
    assert len(posts) == 3
    deliveries = [seen.header("Idempotency-Key") for seen in posts]
    assert deliveries[0] == KEY and deliveries[2] == f"{KEY}.resolve"
    assert str(deliveries[1]).startswith(f"{KEY}.comment-1-")
    for seen in posts:
        assert seen.header("Content-Type") == "application/json"
        assert seen.header("X-Zcomp-Incident") == KEY
        assert seen.header("User-Agent") == "zcomp-webhook"
    assert [seen.header("X-Zcomp-Event") for seen in posts] == ["open", "comment", "resolve"]
    assert_no_secret(made, receiver, secrets=(TOKEN, HMAC_KEY))
    assert '"state": "sent"' in made.record.read_text()


def test_open_twice_posts_once(made: Made, receiver: Receiver) -> None:
    first = made.backend.open(content(42))
    assert made.backend.open(content(42, title="another title")) == first
    assert len(receiver.posts()) == 1


def test_signature_covers_timestamp_and_exact_body(made: Made, receiver: Receiver) -> None:
    made.backend.clock = lambda: 1764480000.7
    receiver.fail_next("POST", "/hooks/zcomp", 418)  # keep the request; answer anything
    with pytest.raises(TicketError):
        made.backend.open(content(42))
    (seen,) = receiver.posts()
    assert seen.header("X-Zcomp-Timestamp") == "1764480000"
    expected = hmac.new(HMAC_KEY.encode(), b"1764480000." + seen.body, hashlib.sha256)
    assert seen.header("X-Zcomp-Signature") == "sha256=" + expected.hexdigest()


def test_without_hmac_no_signature_headers(receiver: Receiver, tmp_path: Path) -> None:
    made = Made(tmp_path, table_for(receiver, tmp_path, hmac_secret_file=None))
    receiver.authorised = lambda seen: seen.header("Authorization") == f"Bearer {TOKEN}"  # type: ignore[method-assign]
    made.backend.open(content(42))
    (seen,) = receiver.posts()
    assert seen.header("X-Zcomp-Signature") is None and seen.header("X-Zcomp-Timestamp") is None


# -- the body template -------------------------------------------------------------------------


def test_toml_table_template_is_json_escaped(receiver: Receiver, tmp_path: Path) -> None:
    body = {
        "summary": 'Incident {incident} "{event}" for {account}',
        "blocks": [{"kind": "heading", "value": "{title}"}, {"kind": "count", "value": 3}],
        "flags": {"urgent": True, "ratio": 0.5},
        "literal": "{{incident}} stays, {not a placeholder",
    }
    made = Made(tmp_path, table_for(receiver, tmp_path, body=body))
    tricky = content(42, title='Quote " back\\slash {account} and\nnewline')
    made.backend.open(tricky)
    (seen,) = receiver.posts()
    sent = seen.json()
    assert sent == {
        "summary": 'Incident INC000042 "open" for alice@example.edu',
        "blocks": [
            {"kind": "heading", "value": title_line(tricky)},
            {"kind": "count", "value": 3},
        ],
        "flags": {"urgent": True, "ratio": 0.5},
        "literal": "{incident} stays, {not a placeholder",
    }
    assert "{account}" in title_line(tricky)  # a value is never substituted again


def test_json_text_template_with_escapes(receiver: Receiver, tmp_path: Path) -> None:
    body = '{"text": "{title|slack}", "html": "{account|html}", "raw": "{account}", "n": null}'
    made = Made(tmp_path, table_for(receiver, tmp_path, body=body))
    odd = content(42, title="<!channel> & <https://evil.example|click>")
    odd.account = "a<b>&c@example.edu"
    made.backend.open(odd)
    sent = receiver.posts()[0].json()
    assert sent["text"].endswith("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;")
    assert sent["html"] == "a&lt;b&gt;&amp;c@example.edu"
    assert sent["raw"] == "a<b>&c@example.edu"
    assert sent["n"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"text": {title}}', r"body: is not valid JSON .*placeholders go inside JSON strings"),
        ('{"text": "{titel}"}', r"body: unknown placeholder \{titel\} in body.text"),
        ({"a": ["{x|slack}"]}, r"body: unknown placeholder \{x\|slack\} in body.a\[0\]"),
        ({"a": "{text|shout}"}, r"body: unknown escape \{text\|shout\} in body.a"),
        ('"just text"', r"body: expected a JSON object or array"),
        (42, r"body: expected a table, or a JSON text"),
        (
            {"when": __import__("datetime").date(2024, 5, 1)},
            r"body: body.when is a date, which JSON cannot carry",
        ),
    ],
)
def test_bad_templates_are_refused_at_start(tmp_path: Path, body: Any, message: str) -> None:
    table = {"url": "https://automation.example.edu/hooks/zcomp", "body": body}
    with pytest.raises(ConfigError, match=r"\[tickets.webhook\] " + message):
        make_backend("webhook", {"webhook": table}, tmp_path)


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_name_the_setting(made: Made, receiver: Receiver, status: int) -> None:
    receiver.fail_next("POST", "/hooks/zcomp", status, body={"error": "bad credentials"})
    with pytest.raises(TicketError) as caught:
        made.backend.open(content(42))
    message = caught.value.message
    assert f"HTTP {status}: refused" in message
    assert "check [tickets.webhook] token and hmac_secret" in message
    assert "\n" not in message
    assert made.backend.find(42) is None
    assert '"state": "failed"' in made.record.read_text()
    assert_no_secret(made, receiver, message, secrets=(TOKEN, HMAC_KEY))


def test_a_wrong_token_is_refused_by_the_receiver(receiver: Receiver, tmp_path: Path) -> None:
    table = table_for(receiver, tmp_path, token_file=secret_file(tmp_path, "bad", "wrong"))
    made = Made(tmp_path, table)
    with pytest.raises(TicketError, match="HTTP 401: refused .*check .*token"):
        made.backend.open(content(42))
    assert receiver.tickets == {}


def test_404_on_comment(made: Made, receiver: Receiver) -> None:
    ref = made.backend.open(content(42))
    receiver.fail_next("POST", "/hooks/zcomp", 404, body=b"no_service")
    with pytest.raises(TicketNotFound, match=r"HTTP 404: no such endpoint \(no_service\)"):
        made.backend.comment(ref, "x")
    made.backend.comment(ref, "x")  # the same comment, now heard
    assert [event["event"] for event in receiver.tickets[KEY]] == ["open", "comment"]


def test_409_is_a_conflict(made: Made, receiver: Receiver) -> None:
    receiver.fail_next("POST", "/hooks/zcomp", 409, body={"error": "duplicate"})
    with pytest.raises(TicketError, match=r"HTTP 409: conflict"):
        made.backend.open(content(42))


def test_400_names_the_body(made: Made, receiver: Receiver) -> None:
    receiver.fail_next("POST", "/hooks/zcomp", 400, body=b"invalid_payload")
    with pytest.raises(TicketError, match=r"the body was refused \(invalid_payload\).*body"):
        made.backend.open(content(42))


def test_429_is_waited_out(made: Made, receiver: Receiver) -> None:
    receiver.fail_next("POST", "/hooks/zcomp", 429, headers={"Retry-After": "2"})
    made.backend.open(content(42))
    assert made.slept == [2.0]
    assert len(receiver.posts()) == 2 and len(receiver.tickets[KEY]) == 1


def test_429_for_too_long_gives_up(made: Made, receiver: Receiver) -> None:
    receiver.fail_next("POST", "/hooks/zcomp", 429, headers={"Retry-After": "20"}, times=5)
    with pytest.raises(TicketError, match="rate limited for more than 30 s"):
        made.backend.open(content(42))
    assert made.slept == [20.0]


def test_5xx_on_open_then_retry_files_one(made: Made, receiver: Receiver) -> None:
    receiver.fail_next("POST", "/hooks/zcomp", 503, body={"error": "busy"})
    with pytest.raises(TicketUnreachable) as caught:
        made.backend.open(content(42))
    assert caught.value.maybe_applied and "HTTP 503" in caught.value.message
    assert made.backend.find(42) is None
    ref = made.backend.open(content(42))
    assert made.backend.find(42) == ref
    assert len(receiver.tickets[KEY]) == 1


def test_reply_lost_after_the_post_landed(receiver: Receiver, tmp_path: Path) -> None:
    made = Made(tmp_path, table_for(receiver, tmp_path, timeout=0.5))
    receiver.stall_next("POST", "/hooks/zcomp", 1.5)  # applied; the answer comes too late
    with pytest.raises(TicketUnreachable) as caught:
        made.backend.open(content(42))
    assert caught.value.maybe_applied
    assert made.backend.find(42) is None  # unconfirmed: the ticket stays pending
    assert len(receiver.tickets[KEY]) == 1  # ...though it did land

    ref = made.backend.open(content(42))  # zcomp ticket retry
    assert made.backend.find(42) == ref
    posts = receiver.posts()
    assert [seen.header("Idempotency-Key") for seen in posts] == [KEY, KEY]
    assert len(receiver.tickets[KEY]) == 1  # deduplicated: exactly one
    assert any("same Idempotency-Key" in text for text in made.warnings)
    made.backend.open(content(42))
    assert len(receiver.posts()) == 2


def test_nothing_listening(tmp_path: Path) -> None:
    with Receiver() as gone:
        url = gone.url
    made = Made(tmp_path, {"url": url + "/hooks/zcomp", "timeout": 2})
    with pytest.raises(TicketUnreachable, match="no answer from 127.0.0.1"):
        made.backend.open(content(42))


def test_secrets_in_the_text_are_refused(made: Made, receiver: Receiver) -> None:
    leaking = content(42)
    leaking.found = ["new password: Winter2024!"]
    with pytest.raises(TicketError, match="refused to write"):
        made.backend.open(leaking)
    ref = made.backend.open(content(42))
    with pytest.raises(TicketError, match="refused to write"):
        made.backend.comment(ref, "Password = hunter2")
    assert len(receiver.posts()) == 1


def test_comment_on_an_unknown_or_foreign_ticket(made: Made, receiver: Receiver) -> None:
    with pytest.raises(TicketError, match="not found: no record"):
        made.backend.comment(TicketRef("webhook", "zcomp-INC000009"), "x")
    with pytest.raises(TicketError, match="not a webhook-backend ticket"):
        made.backend.resolve(TicketRef("webhook", "../../etc/passwd"), "x")
    with pytest.raises(TicketError, match="not a webhook-backend ticket"):
        made.backend.comment(TicketRef("email", KEY), "x")
    assert receiver.posts() == []


# -- a URL that is itself the secret -----------------------------------------------------------

HOOK_KEY = "xkq7ip3n1bfd8ruw5z9ae4mhcy"  # a Mattermost-style hook key: the credential


class Mattermost(FakeDesk):
    """POST /hooks/<key> as Mattermost documents it: JSON with `text` -> 200 "ok" (text/plain);
    no text -> 400 with Mattermost's JSON error; an unknown key -> 400 "invalid webhook"."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[Any] = []
        self.route("POST", r"/hooks/(?P<key>[a-z0-9]+)", self.hook)

    def hook(self, seen: Seen, match: re.Match[str]) -> Answer:
        if match.group("key") != HOOK_KEY:
            return Answer(400, {"id": "web.incoming_webhook.invalid.app_error"})
        payload = seen.json()
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("attachments")):
            return Answer(
                400,
                {
                    "id": "web.incoming_webhook.text.app_error",
                    "message": "No text specified",
                    "status_code": 400,
                },
            )
        self.posts.append(payload)
        return Answer(200, b"ok", {"Content-Type": "text/plain"})


def test_secret_url_never_shown(tmp_path: Path) -> None:
    chat = Mattermost()
    with running(chat):
        base = chat.url
        url = f"{base}/hooks/{HOOK_KEY}"
        inline = {"url": url}
        with pytest.raises(ConfigError, match=r"url: this URL carries a secret .*url_file"):
            make_backend("webhook", {"webhook": inline}, tmp_path)
        made = Made(tmp_path, {"url_file": secret_file(tmp_path, "url", url)})
        made.backend.open(content(42))
        chat.fail_next("POST", "/hooks/", 500, body={"error": "boom"})
        ref = made.backend.find(42)
        assert ref is not None
        with pytest.raises(TicketUnreachable) as caught:
            made.backend.comment(ref, "hello")
    message = caught.value.message
    assert f"{base}/…" in message and "HTTP 500" in message
    assert_no_secret(made, chat, message, secrets=(HOOK_KEY,))
    assert any("/…" in line for line in made.debug)


def test_secret_url_in_query_never_shown(tmp_path: Path) -> None:
    sig = "Zx81ub0Qp2sIgNaTuRe"
    with Receiver() as gone:
        url = f"{gone.url}/workflows/abc/triggers/manual/paths/invoke?sp=x&sig={sig}"
    with pytest.raises(ConfigError, match=r"a sig= parameter"):
        make_backend("webhook", {"webhook": {"url": url}}, tmp_path)
    table = {"url_file": secret_file(tmp_path, "url", url), "timeout": 2}
    built = Made(tmp_path, table)
    with pytest.raises(TicketUnreachable) as caught:
        built.backend.open(content(42))
    assert sig not in caught.value.message and "/workflows" not in caught.value.message
    assert all(sig not in line and "/workflows" not in line for line in built.debug)


# -- the documented bodies, on endpoints that answer as each vendor documents --------------------


class Slack(FakeDesk):
    """POST /services/T…/B…/… : valid JSON with `text` (or blocks/attachments) -> 200 "ok"
    (text/plain); otherwise 400 "invalid_payload" or "no_text"; another path -> 404 no_service."""

    PATH = "/services/T0000AAAA/B0000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX"

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[Any] = []
        self.route("POST", re.escape(self.PATH), self.hook)

    def hook(self, seen: Seen, _match: re.Match[str]) -> Answer:
        plain = {"Content-Type": "text/plain"}
        try:
            payload = json.loads(seen.body)
        except ValueError:
            return Answer(400, b"invalid_payload", plain)
        if not isinstance(payload, dict):
            return Answer(400, b"invalid_payload", plain)
        if not any(payload.get(k) for k in ("text", "blocks", "attachments")):
            return Answer(400, b"no_text", plain)
        self.posts.append(payload)
        return Answer(200, b"ok", plain)


class TeamsWorkflow(FakeDesk):
    """A Workflows "When a Teams webhook request is received" URL (sig= in the query): a
    message whose attachments are Adaptive Cards -> 202 Accepted; a MessageCard is refused
    (Workflows take Adaptive Cards only)."""

    PATH = "/workflows/0a1b2c/triggers/manual/paths/invoke"

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[Any] = []
        self.route("POST", re.escape(self.PATH), self.hook)

    def authorised(self, seen: Seen) -> bool:
        return seen.query.get("sig") == ["s1gnature"]

    def hook(self, seen: Seen, _match: re.Match[str]) -> Answer:
        payload = seen.json()
        attachments = payload.get("attachments") if isinstance(payload, dict) else None
        cards = [
            a["content"]
            for a in attachments or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]
        if payload.get("type") != "message" or not cards:
            return Answer(400, {"error": {"code": "InvalidRequestContent"}})
        if any(card.get("type") != "AdaptiveCard" or not card.get("body") for card in cards):
            return Answer(400, {"error": {"code": "InvalidRequestContent"}})
        self.posts.append(payload)
        return Answer(202, b"")


class TeamsConnector(FakeDesk):
    """A legacy Office 365 incoming webhook: a MessageCard with text -> 200 "1"."""

    PATH = "/webhookb2/0a1b2c@d3e4/IncomingWebhook/f5a6/b7c8"

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[Any] = []
        self.route("POST", re.escape(self.PATH), self.hook)

    def hook(self, seen: Seen, _match: re.Match[str]) -> Answer:
        payload = seen.json()
        if payload.get("@type") != "MessageCard" or not payload.get("text"):
            return Answer(400, b"Summary or Text is required.", {"Content-Type": "text/plain"})
        self.posts.append(payload)
        return Answer(200, b"1", {"Content-Type": "text/plain"})


def documented_examples() -> dict[str, dict[str, Any]]:
    """Each ```toml block of docs/tickets/webhook.md whose first line names a target."""
    blocks = re.findall(r"```toml\n(.*?)```\n", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    found: dict[str, dict[str, Any]] = {}
    for block in blocks:
        first = block.splitlines()[0]
        if first.startswith("# "):
            found[first[2:]] = tomllib.loads(block)["tickets"]["webhook"]
    return found


def test_docs_have_the_examples() -> None:
    examples = documented_examples()
    assert sorted(examples) == [
        "Mattermost",
        "Microsoft Teams (MessageCard)",
        "Microsoft Teams (Workflows)",
        "Slack",
    ]
    minimal = tomllib.loads(re.findall(r"```toml\n(.*?)```\n", DOCS.read_text(), re.DOTALL)[0])
    assert minimal["tickets"]["backend"] == "webhook"


@pytest.mark.parametrize(
    ("name", "desk_class", "path"),
    [
        ("Slack", Slack, Slack.PATH),
        ("Mattermost", Mattermost, f"/hooks/{HOOK_KEY}"),
        ("Microsoft Teams (Workflows)", TeamsWorkflow, TeamsWorkflow.PATH + "?sig=s1gnature"),
        ("Microsoft Teams (MessageCard)", TeamsConnector, TeamsConnector.PATH),
    ],
)
def test_documented_bodies_work(
    tmp_path: Path,
    name: str,
    desk_class: type[Slack | Mattermost | TeamsWorkflow | TeamsConnector],
    path: str,
) -> None:
    example = dict(documented_examples()[name])
    chat = desk_class()
    with running(chat):
        example["url_file"] = secret_file(tmp_path, "url", chat.url + path)
        made = Made(tmp_path, example)
        odd = content(42, title='<!channel> & "quotes"')
        ref = made.backend.open(odd)
        made.backend.comment(ref, "Customer reached by phone.")
        made.backend.resolve(ref, "Unlocked.")
    opening, comment, resolution = chat.posts
    flat = json.dumps(opening)
    assert "INC000042" in flat and "alice@example.edu" in flat
    assert "(open)" in flat and "(comment)" in json.dumps(comment)
    assert "(resolve)" in json.dumps(resolution)
    if name == "Slack":
        assert "<!channel>" not in opening["text"] and "&lt;!channel&gt;" in opening["text"]
        assert opening["text"].startswith("*zcomp INC000042:")
    if name == "Mattermost":
        assert render_text(odd) in opening["text"]
    if name == "Microsoft Teams (Workflows)":
        card = opening["attachments"][0]["content"]
        assert opening["attachments"][0]["contentUrl"] is None
        assert card["body"][1]["text"] == render_text(odd)


# -- TLS ---------------------------------------------------------------------------------------


class TlsReceiver(Receiver):
    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        self.context = context

    def start(self) -> TlsReceiver:
        super().start()
        server = self._server
        assert server is not None
        server.socket = self.context.wrap_socket(server.socket, server_side=True)
        return self

    @property
    def url(self) -> str:
        return super().url.replace("http://", "https://")


def test_https_with_ca_file_and_verify(tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    secure = TlsReceiver(context)
    with running(secure):
        table = table_for(secure, tmp_path)
        untrusted = Made(tmp_path / "a", table)
        with pytest.raises(TicketError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusted.backend.open(content(42))
        Made(tmp_path / "b", {**table, "ca_file": str(ca_file)}).backend.open(content(42))
        lax = Made(tmp_path / "c", {**table, "verify": False})
        assert any("verify = false" in text for text in lax.warnings)
        lax.backend.open(content(43))
    assert sorted(secure.tickets) == [KEY, "zcomp-INC000043"]


# -- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"url": None}, r"url: is required \(or url_file"),
        ({"url": "ftp://example.edu/x"}, r"url: expected an https or http URL"),
        ({"url": "https://example.edu:99999/x"}, r"url: expected an https or http URL"),
        ({"url": "https://u:p@example.edu/x"}, r"url: a URL may not hold a user name"),
        ({"url": "https://hooks.slack.com/services/T1/B2/C3"}, r"url: .*a Slack webhook URL"),
        ({"url_file": "/nonexistent"}, r"url_file: give url or one of url_file"),
        ({"method": "GET"}, r"method: expected one of POST, PUT, PATCH"),
        ({"headers": {"Authorization": "Bearer abc"}}, r"headers: Authorization looks like a"),
        ({"headers": {"X-Api-Key": "abc"}}, r'headers: X-Api-Key .*token_header = "X-Api-Key"'),
        ({"headers": {"X-Team": "Bearer abc"}}, r"headers: X-Team looks like a credential"),
        ({"headers": {"X Team": "noc"}}, r"headers: 'X Team' is not a valid header name"),
        ({"headers": {"X-Zcomp-Event": "x"}}, r"headers: X-Zcomp-Event is set by zcomp"),
        ({"headers": {"X-Team": "a\nb"}}, r"headers: the value of X-Team contains a line break"),
        ({"headers": {"X-Team": 3}}, r"headers: expected a table of texts"),
        ({"token": TOKEN}, r"token: secrets are not written in the config"),
        ({"hmac_secret": HMAC_KEY}, r"hmac_secret: secrets are not written in the config"),
        ({"token_header": "X-Api-Key"}, r"token_header: needs a token"),
        ({"token_env": "ZCOMP_NOT_SET_ANYWHERE"}, r"token_env: \$ZCOMP_NOT_SET_ANYWHERE is not"),
        ({"timeout": 0}, r"timeout: expected seconds"),
        ({"verify": "yes"}, r"verify: expected true or false"),
        ({"ca_file": "/nonexistent.pem"}, r"ca_file: .* is not a readable file"),
        ({"bodyy": {}}, r"unknown option 'bodyy'"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    table = {"url": "https://automation.example.edu/hooks/zcomp", **change}
    table = {k: v for k, v in table.items() if v is not None}
    with pytest.raises(ConfigError, match=r"\[tickets.webhook\] " + message) as caught:
        make_backend("webhook", {"webhook": table}, tmp_path)
    assert TOKEN not in caught.value.message and HMAC_KEY not in caught.value.message


def test_token_from_env_in_a_named_header(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZCOMP_HOOK_TOKEN", TOKEN)
    receiver.authorised = lambda seen: seen.header("X-Api-Key") == TOKEN  # type: ignore[method-assign]
    table = {
        "url": receiver.url + "/hooks/zcomp",
        "token_env": "ZCOMP_HOOK_TOKEN",
        "token_header": "X-Api-Key",
        "headers": {"X-Team": "noc", "Content-Type": "application/json; charset=utf-8"},
        "method": "PUT",
    }
    receiver.route("PUT", r"/hooks/zcomp", receiver.receive)
    made = Made(tmp_path, table)
    made.backend.open(content(42))
    (seen,) = receiver.requests
    assert seen.method == "PUT"
    assert seen.header("Authorization") is None
    assert seen.header("X-Team") == "noc"
    assert seen.header("Content-Type") == "application/json; charset=utf-8"
    assert TOKEN.encode() not in seen.body


def test_plain_http_elsewhere_is_warned_about(tmp_path: Path) -> None:
    warnings: list[str] = []
    make_backend(
        "webhook",
        {"webhook": {"url": "http://automation.example.edu/x"}},
        tmp_path,
        warn=warnings.append,
    )
    assert any("plain http to automation.example.edu" in text for text in warnings)
