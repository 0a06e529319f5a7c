"""The `email` backend: the ticket is a mail to the help desk's intake address, sent by SMTP.

Identity: the opening mail's Message-ID is derived from idempotency_key(incident) and the domain
of `from`, e.g. <zcomp-INC-7K3MQ9XA@example.edu>; it is the TicketRef.id. Comments and the
resolution are replies to it (In-Reply-To and References), each with its own Message-ID, so the
desk threads them onto the ticket.

SMTP cannot be asked what the desk holds, so `find` answers from a local record (localrecord).
A mail counts as sent only when the server answered 250 to the end of DATA:
- a failure before the message was handed over, or a refusal of it, is certain: the record says
  "failed" and the next attempt simply sends;
- a reply lost after the message was handed over (connection dropped, timed out) is not: the
  server may have taken it. `open` then fails as unreachable with maybe_applied (the ticket stays
  pending) and the retry sends the mail again with the SAME Message-ID and Date, which a desk
  that deduplicates by Message-ID drops; a desk that does not may show it twice (said in a
  warning). Never sending again would lose the ticket whenever the first mail was not taken.
Comments and the resolution work the same way: their Message-IDs are deterministic too.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

from zcomp.exitcodes import ConfigError
from zcomp.tickets.backend import open_once
from zcomp.tickets.backends.localrecord import (
    SENT,
    SentRecord,
    SentRecords,
    safe_name,
    send_first,
)
from zcomp.tickets.content import (
    IncidentRef,
    TicketContent,
    TicketRef,
    idempotency_key,
    incident_key,
)
from zcomp.tickets.errors import TicketError
from zcomp.tickets.guard import refuse_secrets
from zcomp.tickets.http import TicketUnreachable, excerpt
from zcomp.tickets.options import Options
from zcomp.tickets.registry import BackendContext
from zcomp.tickets.render import one_line, render_text, title_line
from zcomp.zimbra.model import Secret

NAME = "email"
SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
DEFAULT_TIMEOUT_S = 30.0
# 7bit: a body that is not plain ASCII goes quoted-printable or base64, so no server needs
# 8BITMIME; CRLF line ends as SMTP wants them.
MAIL_POLICY = policy.SMTP.clone(cte_type="7bit")
_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)")
_MESSAGE_ID = re.compile(r"<([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+)>")
_DOT_LINE = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class EmailSettings:
    host: str
    port: int
    security: str
    username: str | None
    password: Secret | None
    sender: str  # the From header as configured
    sender_address: str  # MAIL FROM
    domain: str  # the right side of every Message-ID
    to: tuple[str, ...]
    cc: tuple[str, ...]
    recipients: tuple[str, ...]  # RCPT TO: the addresses of `to` and `cc`
    timeout_s: float = DEFAULT_TIMEOUT_S
    ca_file: str | None = None
    verify: bool = True
    subject_prefix: str | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def make(options: Options, context: BackendContext) -> EmailBackend:
    settings = read_settings(options)
    if not settings.verify and settings.security != "none":
        context.warn(
            f"[tickets.{NAME}] verify = false: the TLS certificate of {settings.host} "
            "is not checked"
        )
    records = SentRecords(Path(context.state_dir) / "tickets" / NAME)
    return EmailBackend(settings, records, debug=context.debug, warn=context.warn)


def read_settings(options: Options) -> EmailSettings:
    host = options.required_text("host")
    if any(c.isspace() for c in host) or "/" in host:
        raise _config("host", f"expected a host name or address, got {host!r}")
    security = options.choice("security", SECURITY, default="starttls")
    port = options.integer("port", default=DEFAULT_PORTS[security], low=1, high=65535)
    if security == "none" and host.lower() not in LOOPBACK:
        raise _config(
            "security",
            '"none" sends the mail (and any password) in clear text: it is only allowed with '
            "host = 127.0.0.1 or localhost (a relay on this machine); use starttls or tls",
        )
    username = options.text("username")
    password = options.secret("password", required=username is not None)
    if password is not None and username is None:
        raise _config("username", "is required when a password is given")
    sender = options.required_text("from")
    sender_address = _address("from", sender)
    to = tuple(options.strings("to"))
    if not to:
        raise _config("to", "is required: the help desk's intake address(es), as a list")
    cc = tuple(options.strings("cc"))
    recipients = tuple(
        [_address("to", value) for value in to] + [_address("cc", value) for value in cc]
    )
    timeout_s = options.seconds("timeout", default=DEFAULT_TIMEOUT_S)
    ca_file = options.text("ca_file")
    if ca_file is not None:
        path = Path(ca_file).expanduser()
        if not path.is_file():
            raise _config("ca_file", f"{path} is not a readable file")
        ca_file = str(path)
    verify = options.boolean("verify", default=True)
    subject_prefix = options.text("subject_prefix")
    options.done()
    return EmailSettings(
        host=host,
        port=port,
        security=security,
        username=username,
        password=password,
        sender=sender,
        sender_address=sender_address,
        domain=sender_address.rsplit("@", 1)[1].lower(),
        to=to,
        cc=cc,
        recipients=recipients,
        timeout_s=timeout_s,
        ca_file=ca_file,
        verify=verify,
        subject_prefix=subject_prefix,
    )


def _config(key: str, problem: str) -> ConfigError:
    return ConfigError(f"[tickets.{NAME}] {key}: {problem}")


def _address(key: str, value: str) -> str:
    """The addr-spec of `Name <user@host>` or `user@host`; plain ASCII (no SMTPUTF8 needed)."""
    if "\n" in value or "\r" in value:
        raise _config(key, "an address may not contain a line break")
    _name, address = parseaddr(value)
    if not address.isascii() or not _ADDRESS.fullmatch(address):
        raise _config(key, f"expected a mail address such as helpdesk@example.edu, got {value!r}")
    return address


class EmailBackend:
    name = NAME

    def __init__(
        self,
        settings: EmailSettings,
        records: SentRecords,
        *,
        debug: Callable[[str], None] | None = None,
        warn: Callable[[str], None] = lambda _text: None,
    ) -> None:
        self.settings = settings
        self.records = records
        self.debug = debug
        self.warn = warn

    # -- the interface ---------------------------------------------------------------------

    def open(self, content: TicketContent) -> TicketRef:
        subject = self._subject(title_line(content))
        body = render_text(content)
        where = f"ticket {incident_key(content.incident_id)}"
        refuse_secrets(subject, f"the subject of {where}")
        refuse_secrets(body, where)
        return open_once(
            lambda: self.find(content.incident_id), lambda: self._open(content, subject, body)
        )

    def find(self, incident_id: IncidentRef) -> TicketRef | None:
        record = self.records.load(idempotency_key(incident_id))
        if record is None or record.state != SENT:
            return None  # never sent, or not confirmed: `open` sends it (again)
        return self._ref(record)

    def comment(self, ref: TicketRef, text: str) -> None:
        refuse_secrets(text, f"a comment on ticket {ref.id}")
        left = self._left(ref)
        with self.records.locked(left):
            record = self._record(ref, left)
            number = record.comments + 1
            # The same comment retried after a lost reply gets the same Message-ID (deduplicated);
            # the next comment, or another text, a new one.
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
            message_id = f"<{left}.comment-{number}-{digest}@{self.settings.domain}>"
            mail = self._mail(record, "comment", f"Re: {record.title}", text, message_id)
            self._deliver(mail, message_id)
            record.comments = number
            self.records.save(record)

    def resolve(self, ref: TicketRef, text: str) -> bool:
        """Send the resolution once; resolving a resolved ticket sends nothing."""
        refuse_secrets(text, f"the resolution of ticket {ref.id}")
        left = self._left(ref)
        with self.records.locked(left):
            record = self._record(ref, left)
            if record.resolved:
                return True
            message_id = f"<{left}.resolved@{self.settings.domain}>"
            subject = f"Re: {record.title} [resolved]"
            mail = self._mail(record, "resolve", subject, text, message_id)
            self._deliver(mail, message_id)
            record.resolved = True
            self.records.save(record)
        return True

    # -- opening ---------------------------------------------------------------------------

    def _open(self, content: TicketContent, subject: str, body: str) -> TicketRef:
        key = idempotency_key(content.incident_id)

        def new() -> SentRecord:
            return SentRecord(
                key=key,
                ref_id=f"<{safe_name(key)}@{self.settings.domain}>",
                incident=incident_key(content.incident_id),
                account=content.account,
                title=subject,
                started=format_datetime(datetime.now(timezone.utc)),
            )

        def send(record: SentRecord) -> None:
            mail = self._message(
                subject=record.title,
                body=body,
                message_id=record.ref_id,
                date=record.started,  # the same Date on a resend: the same mail
                key=key,
                event="open",
            )
            self._deliver(mail, record.ref_id)

        def resending(record: SentRecord) -> None:
            self.warn(
                f"{NAME}: the last attempt to send ticket {record.ref_id} got no reply and "
                "may have reached the desk; sending it again with the same Message-ID "
                "(a desk that deduplicates by Message-ID shows it once)"
            )

        return self._ref(send_first(self.records, key, new, send, resending=resending))

    # -- helpers ---------------------------------------------------------------------------

    def _subject(self, title: str) -> str:
        prefix = self.settings.subject_prefix
        return f"{one_line(prefix)} {title}" if prefix else title

    def _ref(self, record: SentRecord) -> TicketRef:
        return TicketRef(backend=NAME, id=record.ref_id, url=None)

    def _left(self, ref: TicketRef) -> str:
        match = _MESSAGE_ID.fullmatch(ref.id)
        if ref.backend != NAME or match is None:
            raise TicketError(f"ticket {ref.backend}:{ref.id} is not an email-backend ticket")
        return match.group(1)

    def _record(self, ref: TicketRef, left: str) -> SentRecord:
        record = self.records.load(left)
        if record is None or record.ref_id != ref.id:
            raise TicketError(
                f"ticket {ref.id} not found: no record of it under {self.records.directory} "
                "(it was not sent from this state directory)"
            )
        if record.state != SENT:
            raise TicketError(f"ticket {ref.id} was never confirmed sent: open it again first")
        return record

    def _mail(
        self, record: SentRecord, event: str, subject: str, text: str, message_id: str
    ) -> EmailMessage:
        return self._message(
            subject=subject,
            body=text,
            message_id=message_id,
            date=format_datetime(datetime.now(timezone.utc)),
            key=record.key,
            event=event,
            reply_to=record.ref_id,
        )

    def _message(
        self,
        *,
        subject: str,
        body: str,
        message_id: str,
        date: str,
        key: str,
        event: str,
        reply_to: str | None = None,
    ) -> EmailMessage:
        s = self.settings
        mail = EmailMessage(policy=MAIL_POLICY)
        mail["From"] = s.sender
        mail["To"] = ", ".join(s.to)
        if s.cc:
            mail["Cc"] = ", ".join(s.cc)
        mail["Subject"] = one_line(subject)
        mail["Date"] = date
        mail["Message-ID"] = message_id
        if reply_to is not None:
            # Every follow-up answers the opening mail: that is the ticket the desk made.
            mail["In-Reply-To"] = reply_to
            mail["References"] = reply_to
        # RFC 3834: a machine wrote this; desks then send no auto-reply (no mail loops).
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Zcomp-Incident"] = key
        mail["X-Zcomp-Event"] = event
        mail.set_content(body, charset="utf-8")
        return mail

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.settings.ca_file)
        if not self.settings.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _log(self, text: str) -> None:
        if self.debug is not None:
            self.debug(f"{NAME}: {text}")

    # -- SMTP ------------------------------------------------------------------------------

    def _deliver(self, mail: EmailMessage, message_id: str) -> None:
        """Send one mail. TicketUnreachable(maybe_applied=True) only when the message was handed
        over and its reply lost; every other failure is certain (not accepted)."""
        s = self.settings
        data = _dot_stuffed(mail.as_bytes())
        step = "connect"
        handed_over = False
        client: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=self._tls())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            self._log(f"{s.where}: connected" + (" (TLS)" if s.security == "tls" else ""))
            step = "EHLO"
            _expect(step, *client.ehlo(), s)
            if s.security == "starttls":
                step = "STARTTLS"
                if not client.has_extn("starttls"):
                    raise TicketError(
                        f"{NAME}: {s.where} does not offer STARTTLS: check [tickets.{NAME}] "
                        'security (use "tls" for a server that speaks TLS from the start, '
                        "port 465)"
                    )
                _expect(step, *client.starttls(context=self._tls()), s)
                step = "EHLO"
                _expect(step, *client.ehlo(), s)
                self._log(f"{s.where}: STARTTLS done")
            if s.username is not None and s.password is not None:
                step = "AUTH"
                self._login(client, s.username, s.password)
            step = "MAIL FROM"
            _expect(step, *client.mail(s.sender_address), s)
            for recipient in s.recipients:
                step = f"RCPT TO <{recipient}>"
                _expect(step, *client.rcpt(recipient), s, ok=(250, 251))
            step = "DATA"
            _expect(step, *client.docmd("DATA"), s, ok=(354,))
            step = "end of DATA"
            client.send(data)
            handed_over = True  # from here the server may have the mail whatever happens
            _expect(step, *client.getreply(), s)
            self._log(f"{s.where}: accepted {message_id}")
        except TicketError:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise TicketError(
                f"{NAME}: the TLS certificate of {s.where} is not trusted "
                f"({exc.verify_message}): set [tickets.{NAME}] ca_file to the CA that signed it"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise TicketError(
                f"{NAME}: {s.where} does not offer AUTH on this connection: check "
                f"[tickets.{NAME}] security and username"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = _reason(exc)
            self._log(f"{s.where}: {step}: no answer ({reason})")
            if handed_over:
                raise TicketUnreachable(
                    f"{NAME}: no reply from {s.where} after the message {message_id} was sent "
                    f"({reason}); the desk may have it: a retry sends it with the same Message-ID",
                    maybe_applied=True,
                ) from None
            raise TicketUnreachable(
                f"{NAME}: no answer from {s.where} at {step} ({reason}); nothing was sent",
                maybe_applied=False,
            ) from None
        finally:
            if client is not None:
                _close(client)

    def _login(self, client: smtplib.SMTP, username: str, password: Secret) -> None:
        s = self.settings
        try:
            client.login(username, password.reveal())
        except smtplib.SMTPAuthenticationError as exc:
            # The server's own words are left out: some echo what they were sent.
            raise TicketError(
                f"{NAME}: {s.where} refused the login of {username!r} (SMTP {exc.smtp_code}): "
                f"check [tickets.{NAME}] username and the password "
                "(password_file, password_env or password_keyring)"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise
        except smtplib.SMTPException as exc:
            if isinstance(exc, smtplib.SMTPServerDisconnected):
                raise
            raise TicketError(
                f"{NAME}: cannot log in to {s.where}: it offers no AUTH mechanism zcomp speaks "
                "(PLAIN, LOGIN, CRAM-MD5)"
            ) from None
        self._log(f"{s.where}: logged in as {username!r}")


def _expect(
    step: str, code: int, reply: bytes, s: EmailSettings, *, ok: tuple[int, ...] = (220, 250)
) -> None:
    """A refusal is certain (nothing accepted): 4xx is temporary (unreachable, not applied),
    5xx is final (TicketError)."""
    if code in ok:
        return
    said = excerpt(reply)
    if code == -1:
        raise smtplib.SMTPServerDisconnected(said or "no reply")
    if 400 <= code < 500:
        raise TicketUnreachable(
            f"{NAME}: {s.where} refused {step} for now ({code} {said}); nothing was sent",
            maybe_applied=False,
        )
    raise TicketError(f"{NAME}: {s.where} refused {step} ({code} {said}); nothing was sent")


def _dot_stuffed(data: bytes) -> bytes:
    """The message as DATA carries it: a line starting with '.' doubled, then CRLF.CRLF."""
    data = _DOT_LINE.sub(b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {excerpt(exc.smtp_error)}"
    text = str(exc) or type(exc).__name__
    return one_line(text)[:200]


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()
