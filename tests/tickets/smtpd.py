"""A real SMTP intake on 127.0.0.1 for the email backend's tests (aiosmtpd), with TLS
(STARTTLS or implicit), AUTH LOGIN/PLAIN required, and a "desk" behind it that files one ticket
per new Message-ID and threads replies by In-Reply-To/References, as mail-fed help desks do.

Failure injection, as FakeDesk does for HTTP:
- `refuse_rcpt(address)`: RCPT TO that address gets 550 (nothing accepted);
- `fail_data_next(code)`: the end of DATA is refused with that code (not accepted);
- `stall_data_next(seconds)`: the message IS accepted, the 250 comes only after `seconds`;
- `drop_data_next()`: the message IS accepted, the connection is closed without a reply.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Awaitable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

MECHANISMS = ("LOGIN", "PLAIN")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes  # as it arrived (after dot-unstuffing)
    message: EmailMessage
    login: str | None  # who authenticated, if anyone
    tls: bool

    def header(self, name: str) -> str | None:
        value = self.message[name]
        return None if value is None else str(value)

    def body(self) -> str:
        return cast(str, self.message.get_content())


@dataclass
class _Trouble:
    kind: str  # "fail", "stall" or "drop"
    reply: str = ""
    seconds: float = 0.0


@dataclass
class Ticket:
    opened_by: Received
    replies: list[Received] = field(default_factory=list)


class _Desk:
    """The aiosmtpd handler: accepts, records and files the mail; misbehaves on request."""

    def __init__(self, owner: MailDesk) -> None:
        self.owner = owner

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.owner.lock:
            refused = address.lower() in self.owner.refused
        if refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self.owner.lock:
            trouble = self.owner.trouble.pop(0) if self.owner.trouble else None
        kind = trouble.kind if trouble is not None else ""
        if trouble is not None and kind == "fail":
            return trouble.reply
        transport = server.transport
        implicit = transport is not None and transport.get_extra_info("sslcontext") is not None
        self.owner.accept(session, envelope, tls=implicit or session.ssl is not None)
        if trouble is not None and kind == "stall":
            await asyncio.sleep(trouble.seconds)  # accepted; the client has given up by now
        if kind == "drop" and server.transport is not None:
            server.transport.close()  # accepted; the reply never leaves
        return "250 2.0.0 Ok: queued"


class _Controller(Controller):
    """aiosmtpd's Controller on a free port (port 0), with AUTH allowed under implicit TLS."""

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        async def create() -> asyncio.AbstractServer:
            server = await self.loop.create_server(
                self._factory_invoker, host=self.hostname, port=0, ssl=self.ssl_context
            )
            self.port = server.sockets[0].getsockname()[1]
            return server

        return create()

    def factory(self) -> SMTP:
        smtp = SMTP(self.handler, **self.SMTP_kwargs)
        if self.ssl_context is not None:
            # aiosmtpd counts only STARTTLS as TLS; here the whole connection is TLS (port 465).
            smtp._auth_require_tls = False
        return smtp


class MailDesk:
    """Start with `with MailDesk(...) as desk:`; `desk.port`, `desk.received`, `desk.tickets`."""

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        users: dict[str, str] | None = None,
        mechanisms: tuple[str, ...] = MECHANISMS,
    ) -> None:
        self.lock = threading.Lock()
        self.users = dict(users or {})
        self.received: list[Received] = []
        self.tickets: dict[str, Ticket] = {}  # Message-ID of the opening mail -> ticket
        self.refused: set[str] = set()
        self.trouble: list[_Trouble] = []
        self.logins: list[tuple[str, str]] = []  # (mechanism, user) of each successful AUTH
        kwargs: dict[str, Any] = {
            "server_hostname": "desk.test",
            "auth_required": bool(self.users),
            "auth_require_tls": True,
            "auth_exclude_mechanism": [m for m in MECHANISMS if m not in mechanisms],
            "authenticator": self._authenticate,
        }
        if tls is not None and not implicit_tls:
            kwargs.update(tls_context=tls, require_starttls=True)
        self.controller = _Controller(
            _Desk(self), hostname="127.0.0.1", ssl_context=tls if implicit_tls else None, **kwargs
        )

    # -- configuration --------------------------------------------------------------------

    def refuse_rcpt(self, address: str) -> None:
        with self.lock:
            self.refused.add(address.lower())

    def fail_data_next(self, code: int = 554, text: str = "5.7.1 Message rejected") -> None:
        with self.lock:
            self.trouble.append(_Trouble("fail", reply=f"{code} {text}"))

    def stall_data_next(self, seconds: float) -> None:
        with self.lock:
            self.trouble.append(_Trouble("stall", seconds=seconds))

    def drop_data_next(self) -> None:
        with self.lock:
            self.trouble.append(_Trouble("drop"))

    # -- serving --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> MailDesk:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> MailDesk:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = data.login.decode("utf-8", "replace")
        ok = self.users.get(user) == data.password.decode("utf-8", "replace")
        if ok:
            with self.lock:
                self.logins.append((mechanism, user))
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    def accept(self, session: Session, envelope: Envelope, *, tls: bool) -> None:
        raw = envelope.original_content or b""
        # Stored with local line ends, as a mail delivery agent would.
        message = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        auth = session.auth_data
        received = Received(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            raw=raw,
            message=message,
            login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
            tls=tls,
        )
        with self.lock:
            self.received.append(received)
            self._file(received)

    def _file(self, mail: Received) -> None:
        """A desk's intake: a known Message-ID is a duplicate (dropped); a reply to a ticket's
        mail is added to it; anything else opens a ticket."""
        message_id = mail.header("Message-ID") or ""
        seen = {t.opened_by.header("Message-ID") for t in self.tickets.values()}
        seen |= {r.header("Message-ID") for t in self.tickets.values() for r in t.replies}
        if message_id in seen:
            return
        parent = mail.header("In-Reply-To")
        if parent in self.tickets:
            self.tickets[parent].replies.append(mail)
            return
        self.tickets[message_id] = Ticket(mail)
