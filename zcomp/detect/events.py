"""What the parsers extract from interesting lines; the rules only ever see these."""

from __future__ import annotations

from dataclasses import dataclass

from zcomp.detect.model import Evidence


@dataclass(slots=True)
class Send:
    """One message submitted by an account (webmail smtp line, or an SMTP-AUTH first hop)."""

    ts: float
    account: str
    n: int | None  # envelope recipients; None until a pre-8.8.7 send is joined to postfix
    source: str  # "web" (mailbox.log) or "smtp" (SMTP-AUTH first hop in zimbra.log)
    html: bool  # the Standard (HTML) client with a public client address (§1.4)
    ip: str | None
    request: str  # SOAP request of the thread, e.g. SendMsgRequest ("" when unknown)
    msgid: str | None
    reply: bool  # replyType=r
    rcpts: tuple[str, ...]  # as logged (may be cut short; nrcpts is the count, §1.3)
    evidence: tuple[Evidence, ...]


@dataclass(slots=True)
class FailedSend:
    """`WARN ... smtp - Failed to send message`: the MTA refused the attempt (§1.3)."""

    ts: float
    account: str
    evidence: Evidence


@dataclass(slots=True)
class Login:
    """A password check: cmd=Auth in audit.log, or a failure line in mailbox.log (§1.5, §2)."""

    ts: float
    account: str
    ok: bool
    ip: str | None
    protocol: str  # soap, imap, pop3, smtp (oproto=smtp), ...
    lockout: bool  # "account lockout due to too many failed logins"
    evidence: Evidence


@dataclass(slots=True)
class Change:
    """A settings request (filters, identity, prefs, signature) that succeeded (§1.3)."""

    ts: float
    account: str
    request: str
    ip: str | None
    evidence: Evidence


@dataclass(slots=True)
class Tick:
    """End of a zimbra.log block: keeps scan()'s time merge from letting the MTA stream run
    far ahead of mailbox.log (the pre-8.8.7 join looks for recent postfix lines)."""

    ts: float


@dataclass(slots=True)
class RemoteReject:
    """A remote MX deferring or bouncing outbound mail for reputation reasons (§3 table)."""

    ts: float
    sender: str
    evidence: Evidence


@dataclass(slots=True)
class WebAction:
    """A Standard (HTML) client login or send in nginx.access.log: no account, only the
    client address, which the Scanner joins to the account logged in from it (§4)."""

    ts: float
    ip: str
    action: str  # nginx.LOGIN or nginx.SEND
    evidence: Evidence


Event = Send | FailedSend | Login | Change | RemoteReject | Tick | WebAction
