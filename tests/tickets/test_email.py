"""The email backend against a real SMTP server on 127.0.0.1 (aiosmtpd, tests/tickets/smtpd.py):
STARTTLS or implicit TLS with a certificate made here (trustme, on `cryptography`), AUTH
LOGIN/PLAIN required, a desk behind it that files one ticket per Message-ID and threads replies."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.tickets.smtpd import MailDesk
from tests.tickets.workers import content
from zcomp.exitcodes import ConfigError
from zcomp.tickets import TicketError, TicketRef, make_backend, render_text
from zcomp.tickets.backends.email import EmailBackend
from zcomp.tickets.http import TicketUnreachable
from zcomp.tickets.render import title_line

USER = "zcomp-bot"
PASSWORD = "S3cret-smtp-Pa55"  # never to be seen in a mail, an error or a debug line
OPENING_ID = "<zcomp-INC000042@example.edu>"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "desk-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "smtp-password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def desk(server_tls: ssl.SSLContext) -> Iterator[MailDesk]:
    with MailDesk(tls=server_tls, users={USER: PASSWORD}) as running:
        yield running


class Made:
    """A backend made through the registry, with what it said on the debug and warn channels."""

    def __init__(self, tmp_path: Path, table: dict[str, Any]) -> None:
        self.debug: list[str] = []
        self.warnings: list[str] = []
        self.state = tmp_path / "state"
        backend = make_backend(
            "email",
            {"email": table},
            self.state,
            debug=self.debug.append,
            warn=self.warnings.append,
        )
        assert isinstance(backend, EmailBackend)
        self.backend = backend

    @property
    def record(self) -> Path:
        return self.state / "tickets" / "email" / "zcomp-INC000042.json"


def settings(port: int, ca: Path, secret: Path, **extra: Any) -> dict[str, Any]:
    """The table for the desk on `port`; an `extra` value None removes that key."""
    table: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "username": USER,
        "password_file": str(secret),
        "from": "zcomp <zcomp@example.edu>",
        "to": ["helpdesk@example.edu"],
        "ca_file": str(ca),
        "timeout": 5,
    }
    table.update(extra)
    return {k: v for k, v in table.items() if v is not None}


@pytest.fixture
def made(desk: MailDesk, ca_file: Path, password_file: Path, tmp_path: Path) -> Made:
    return Made(tmp_path, settings(desk.port, ca_file, password_file))


def assert_no_password(desk: MailDesk, *texts: str) -> None:
    for mail in desk.received:
        assert PASSWORD.encode() not in mail.raw
    for text in texts:
        assert PASSWORD not in text


# -- the round trip ----------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_open_find_comment_resolve_over_starttls(
    server_tls: ssl.SSLContext,
    ca_file: Path,
    password_file: Path,
    tmp_path: Path,
    mechanism: str,
) -> None:
    with MailDesk(tls=server_tls, users={USER: PASSWORD}, mechanisms=(mechanism,)) as desk:
        made = Made(tmp_path, settings(desk.port, ca_file, password_file))
        backend = made.backend
        ref = backend.open(content(42))
        assert ref == TicketRef("email", OPENING_ID, None)
        assert backend.find(42) == ref
        assert backend.find(43) is None
        backend.comment(ref, "Customer reached by phone.")
        assert backend.resolve(ref, "Unlocked; new password set by the help desk.") is True
        assert backend.resolve(ref, "again") is True  # resolved once: nothing more is sent

    assert desk.logins == [(mechanism, USER)] * 3
    opening, comment, resolution = desk.received
    for mail in desk.received:
        assert mail.tls and mail.login == USER
        assert mail.mail_from == "zcomp@example.edu"
        assert mail.rcpt_tos == ["helpdesk@example.edu"]
        assert mail.header("From") == "zcomp <zcomp@example.edu>"
        assert mail.header("Auto-Submitted") == "auto-generated"
        assert mail.header("X-Zcomp-Incident") == "zcomp-INC000042"
    assert opening.header("Message-ID") == OPENING_ID
    assert opening.header("Subject") == title_line(content(42))
    assert opening.body().rstrip("\n") == render_text(content(42)).rstrip("\n")
    assert opening.header("In-Reply-To") is None
    for reply in (comment, resolution):
        assert reply.header("In-Reply-To") == OPENING_ID
        assert reply.header("References") == OPENING_ID
        assert reply.header("Message-ID") not in (None, OPENING_ID)
        assert reply.header("Subject") is not None
        assert str(reply.header("Subject")).startswith("Re: " + title_line(content(42)))
    assert str(comment.header("Message-ID")).startswith("<zcomp-INC000042.comment-1-")
    assert resolution.header("Message-ID") == "<zcomp-INC000042.resolved@example.edu>"
    assert comment.body().strip() == "Customer reached by phone."
    assert resolution.header("X-Zcomp-Event") == "resolve"
    assert "[resolved]" in str(resolution.header("Subject"))
    # The desk filed one ticket and threaded both replies onto it.
    assert list(desk.tickets) == [OPENING_ID]
    assert desk.tickets[OPENING_ID].replies == [comment, resolution]
    assert_no_password(desk, *made.debug, *made.warnings)
    assert any("logged in as 'zcomp-bot'" in line for line in made.debug)


def test_implicit_tls(
    server_tls: ssl.SSLContext, ca_file: Path, password_file: Path, tmp_path: Path
) -> None:
    with MailDesk(tls=server_tls, implicit_tls=True, users={USER: PASSWORD}) as desk:
        made = Made(tmp_path, settings(desk.port, ca_file, password_file, security="tls"))
        ref = made.backend.open(content(42))
        made.backend.comment(ref, "still locked")
    assert [mail.tls for mail in desk.received] == [True, True]
    assert [mail.login for mail in desk.received] == [USER, USER]
    assert desk.received[1].header("In-Reply-To") == OPENING_ID


def test_open_twice_sends_one_mail(made: Made, desk: MailDesk) -> None:
    first = made.backend.open(content(42))
    again = made.backend.open(content(42, title="a different title"))
    assert again == first
    assert len(desk.received) == 1
    assert stat.S_IMODE(made.record.stat().st_mode) == 0o600
    assert stat.S_IMODE(made.record.parent.stat().st_mode) == 0o700
    assert '"state": "sent"' in made.record.read_text()


def test_workers_racing_send_one_mail(made: Made, desk: MailDesk) -> None:
    barrier = threading.Barrier(4)
    refs: list[TicketRef] = []

    def worker() -> None:
        barrier.wait()
        refs.append(made.backend.open(content(42)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refs == [TicketRef("email", OPENING_ID, None)] * 4
    assert len(desk.received) == 1


def test_cc_and_subject_prefix(
    desk: MailDesk, ca_file: Path, password_file: Path, tmp_path: Path
) -> None:
    table = settings(
        desk.port,
        ca_file,
        password_file,
        cc=["Security Team <security@example.edu>"],
        subject_prefix="[phish]",
    )
    Made(tmp_path, table).backend.open(content(42))
    (mail,) = desk.received
    assert mail.rcpt_tos == ["helpdesk@example.edu", "security@example.edu"]
    assert mail.header("Cc") == "Security Team <security@example.edu>"
    assert mail.header("Subject") == "[phish] " + title_line(content(42))


# -- a reply lost, a refusal -------------------------------------------------------------------


@pytest.mark.parametrize("lose", ["stall", "drop"])
def test_lost_reply_after_data_resends_with_the_same_message_id(
    desk: MailDesk, ca_file: Path, password_file: Path, tmp_path: Path, lose: str
) -> None:
    made = Made(tmp_path, settings(desk.port, ca_file, password_file, timeout=0.5))
    if lose == "stall":
        desk.stall_data_next(2.0)  # accepted, but the 250 comes after the client's timeout
    else:
        desk.drop_data_next()  # accepted, connection closed without a reply
    with pytest.raises(TicketUnreachable) as caught:
        made.backend.open(content(42))
    assert caught.value.maybe_applied
    assert "may have it" in caught.value.message and OPENING_ID in caught.value.message
    assert made.backend.find(42) is None  # not confirmed: the ticket stays pending
    assert '"state": "sending"' in made.record.read_text()

    ref = made.backend.open(content(42))  # zcomp ticket retry
    assert ref.id == OPENING_ID
    assert made.backend.find(42) == ref
    assert [mail.header("Message-ID") for mail in desk.received] == [OPENING_ID, OPENING_ID]
    assert desk.received[0].header("Date") == desk.received[1].header("Date")
    assert list(desk.tickets) == [OPENING_ID]  # deduplicated by Message-ID: one ticket
    assert any("same Message-ID" in text for text in made.warnings)
    made.backend.open(content(42))
    assert len(desk.received) == 2


def test_refused_data_is_certain_and_retried_quietly(made: Made, desk: MailDesk) -> None:
    desk.fail_data_next(554, "5.7.1 Message rejected as spam")
    with pytest.raises(TicketError, match=r"refused end of DATA \(554 5.7.1 Message rejected"):
        made.backend.open(content(42))
    assert desk.received == []
    assert '"state": "failed"' in made.record.read_text()
    made.backend.open(content(42))
    assert len(desk.received) == 1
    assert made.warnings == []


def test_recipient_refused_is_a_ticket_error(made: Made, desk: MailDesk) -> None:
    desk.refuse_rcpt("helpdesk@example.edu")
    with pytest.raises(TicketError) as caught:
        made.backend.open(content(42))
    assert not isinstance(caught.value, TicketUnreachable)
    message = caught.value.message
    assert "RCPT TO <helpdesk@example.edu>" in message and "550" in message
    assert "\n" not in message
    assert desk.received == [] and made.backend.find(42) is None


def test_temporary_refusal_is_unreachable_not_applied(made: Made, desk: MailDesk) -> None:
    desk.fail_data_next(451, "4.3.0 Try again later")
    with pytest.raises(TicketUnreachable) as caught:
        made.backend.open(content(42))
    assert not caught.value.maybe_applied
    assert "451" in caught.value.message


def test_wrong_password_is_one_clear_line(desk: MailDesk, ca_file: Path, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password")
    wrong.chmod(0o600)
    made = Made(tmp_path, settings(desk.port, ca_file, wrong))
    with pytest.raises(TicketError) as caught:
        made.backend.open(content(42))
    message = caught.value.message
    assert "\n" not in message
    assert "refused the login of 'zcomp-bot' (SMTP 535)" in message
    assert "password_file" in message
    assert "not-the-password" not in message
    assert desk.received == [] and desk.logins == []
    assert_no_password(desk, message, *made.debug)
    assert all("not-the-password" not in line for line in made.debug)


def test_nothing_listening_is_unreachable(
    ca_file: Path, password_file: Path, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    made = Made(tmp_path, settings(port, ca_file, password_file))
    with pytest.raises(TicketUnreachable) as caught:
        made.backend.open(content(42))
    assert not caught.value.maybe_applied
    assert "nothing was sent" in caught.value.message


# -- TLS ---------------------------------------------------------------------------------------


def test_untrusted_certificate_names_ca_file(
    desk: MailDesk, password_file: Path, tmp_path: Path
) -> None:
    table = settings(desk.port, tmp_path, password_file, ca_file=None)
    made = Made(tmp_path, table)
    with pytest.raises(TicketError, match=r"not trusted .*set \[tickets.email\] ca_file"):
        made.backend.open(content(42))
    assert desk.received == []


def test_verify_false_skips_the_check_with_a_warning(
    desk: MailDesk, password_file: Path, tmp_path: Path
) -> None:
    made = Made(tmp_path, settings(desk.port, tmp_path, password_file, ca_file=None, verify=False))
    assert any("verify = false" in text for text in made.warnings)
    made.backend.open(content(42))
    assert len(desk.received) == 1


def test_starttls_not_offered(ca_file: Path, tmp_path: Path) -> None:
    with MailDesk() as plain:
        table = settings(plain.port, ca_file, tmp_path, username=None, password_file=None)
        made = Made(tmp_path, table)
        with pytest.raises(TicketError, match='does not offer STARTTLS.*use "tls"'):
            made.backend.open(content(42))
        assert plain.received == []


def test_security_none_only_to_this_machine(ca_file: Path, tmp_path: Path) -> None:
    with MailDesk() as relay:
        table = settings(
            relay.port, ca_file, tmp_path, username=None, password_file=None, security="none"
        )
        Made(tmp_path, table).backend.open(content(42))
        assert len(relay.received) == 1 and not relay.received[0].tls
    with pytest.raises(ConfigError, match=r"\[tickets.email\] security: .*only allowed with"):
        make_backend("email", {"email": {**table, "host": "mail.example.edu"}}, tmp_path)


# -- what is refused ---------------------------------------------------------------------------


def test_secrets_in_the_text_are_refused_before_sending(made: Made, desk: MailDesk) -> None:
    leaking = content(42)
    leaking.done = ["reset it, new password: Winter2024!"]
    with pytest.raises(TicketError, match="refused to write"):
        made.backend.open(leaking)
    ref = made.backend.open(content(42))
    with pytest.raises(TicketError, match="refused to write"):
        made.backend.comment(ref, "password = hunter2")
    with pytest.raises(TicketError, match="refused to write"):
        made.backend.resolve(ref, "Password: hunter2")
    assert len(desk.received) == 1
    assert all(b"Winter2024" not in m.raw and b"hunter2" not in m.raw for m in desk.received)


def test_comment_on_an_unknown_or_foreign_ticket(made: Made, desk: MailDesk) -> None:
    with pytest.raises(TicketError, match="not found: no record of it"):
        made.backend.comment(TicketRef("email", "<zcomp-INC000009@example.edu>"), "x")
    with pytest.raises(TicketError, match="not an email-backend ticket"):
        made.backend.resolve(TicketRef("rt", "1234"), "x")
    with pytest.raises(TicketError, match="not an email-backend ticket"):
        made.backend.comment(TicketRef("email", "<../../etc/passwd@x>"), "x")
    assert desk.received == []


def test_a_second_comment_gets_its_own_message_id(made: Made, desk: MailDesk) -> None:
    ref = made.backend.open(content(42))
    made.backend.comment(ref, "same words")
    made.backend.comment(ref, "same words")
    ids = [mail.header("Message-ID") for mail in desk.received[1:]]
    assert len(set(ids)) == 2
    assert len(desk.tickets[OPENING_ID].replies) == 2


# -- configuration -----------------------------------------------------------------------------


def base(tmp_path: Path) -> dict[str, Any]:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    secret.chmod(0o600)
    return {
        "host": "smtp.example.edu",
        "username": USER,
        "password_file": str(secret),
        "from": "zcomp@example.edu",
        "to": ["helpdesk@example.edu"],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"host": None}, r"\[tickets.email\] host: is required"),
        ({"host": "smtp example"}, r"\[tickets.email\] host: expected a host name"),
        ({"from": None}, r"\[tickets.email\] from: is required"),
        ({"from": "zcomp"}, r"\[tickets.email\] from: expected a mail address"),
        ({"to": None}, r"\[tickets.email\] to: is required"),
        ({"to": "helpdesk@example.edu"}, r"\[tickets.email\] to: expected a list"),
        ({"to": ["help desk"]}, r"\[tickets.email\] to: expected a mail address"),
        ({"cc": ["nobody"]}, r"\[tickets.email\] cc: expected a mail address"),
        ({"port": 0}, r"\[tickets.email\] port: expected a whole number from 1 to 65535"),
        ({"security": "ssl"}, r"\[tickets.email\] security: expected one of starttls, tls"),
        ({"timeout": -1}, r"\[tickets.email\] timeout: expected seconds"),
        ({"verify": "no"}, r"\[tickets.email\] verify: expected true or false"),
        ({"ca_file": "/nonexistent/ca.pem"}, r"\[tickets.email\] ca_file: .* not a readable"),
        ({"password": PASSWORD}, r"\[tickets.email\] password: secrets are not written"),
        ({"password_file": None}, r"\[tickets.email\] password: is required"),
        ({"username": None}, r"\[tickets.email\] username: is required when a password"),
        ({"password_file": "/nonexistent"}, r"\[tickets.email\] password_file: cannot read"),
        ({"pasword_file": "x"}, r"\[tickets.email\] unknown option 'pasword_file'"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    table = {**base(tmp_path), **change}
    table = {k: v for k, v in table.items() if v is not None}
    with pytest.raises(ConfigError, match=message) as caught:
        make_backend("email", {"email": table}, tmp_path)
    assert PASSWORD not in caught.value.message


def test_defaults_and_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZCOMP_SMTP_PASSWORD", PASSWORD)
    table = {**base(tmp_path), "password_file": None, "password_env": "ZCOMP_SMTP_PASSWORD"}
    made = make_backend(
        "email", {"email": {k: v for k, v in table.items() if v is not None}}, tmp_path
    )
    assert isinstance(made, EmailBackend)
    s = made.settings
    assert (s.port, s.security, s.verify, s.timeout_s) == (587, "starttls", True, 30.0)
    assert s.password is not None and s.password.reveal() == PASSWORD
    assert PASSWORD not in repr(s)
    assert s.domain == "example.edu"
    tls = make_backend("email", {"email": {**base(tmp_path), "security": "tls"}}, tmp_path)
    assert isinstance(tls, EmailBackend) and tls.settings.port == 465
    anonymous = {**base(tmp_path), "username": None, "password_file": None}
    relay = make_backend(
        "email", {"email": {k: v for k, v in anonymous.items() if v is not None}}, tmp_path
    )
    assert isinstance(relay, EmailBackend) and relay.settings.username is None
