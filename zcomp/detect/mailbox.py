"""mailbox.log: sends, failed sends, settings changes and failed logins (§1.3-§1.5).

Only lines holding one of NEEDLES are parsed; everything else (the bulk of a mailbox.log:
every SOAP request's `elapsed=` line, mailop, imap chatter) is skipped inside bytes.find.
Needles end in rare bytes on purpose: find's skip loop is then fastest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from zcomp.detect.audit import login
from zcomp.detect.clock import log4j_ts
from zcomp.detect.events import Change, Event, FailedSend, Login, Send
from zcomp.detect.lines import hit_lines
from zcomp.detect.log4j import Record, record
from zcomp.detect.model import Evidence
from zcomp.detect.netaddr import is_public
from zcomp.detect.sources import Block

# Requests that change what the account does with mail or how it presents itself: an attacker
# sets a reply-to/From identity, forwarding, redirect/discard filters, a spam signature (§1.3, §7).
CHANGES = frozenset(
    {
        "ModifyPrefsRequest",
        "ModifyFilterRulesRequest",
        "ModifyOutgoingFilterRulesRequest",
        "ModifyIdentityRequest",
        "CreateIdentityRequest",
        "CreateSignatureRequest",
        "ModifySignatureRequest",
    }
)
NEEDLES = (
    b"smtp - Sending message",
    b"smtp - Failed to send",
    # `soap - [(batch) ]<Request> elapsed=` for the CHANGES (one needle per suffix; the
    # longer the needle, the faster find skips: ModifyPrefs also skips every GetPrefs line)
    b"ModifyPrefsRequest elapsed",
    b"FilterRulesRequest elapsed",
    b"IdentityRequest elapsed",
    b"SignatureRequest elapsed",
    # SoapEngine/imap/pop failures and audit-style error lines (§1.5)
    b"authentication failed for [",
    # web logins: `soap - (batch) AuthRequest elapsed=` (JSP login page, §2 table); the
    # security logger's cmd=Auth lines go to audit.log, not here
    b" AuthRequest elapsed",
)

_SEND = re.compile(rb"Sending message(?: to MTA at \S+)?: Message-ID=(<[^>]*>|[^,\s]+)")
_NRCPTS = re.compile(rb", nrcpts=(\d+)")
_SOAP = re.compile(rb"(?:\(batch\) )?(\w+) elapsed=\d")  # not "proxy=": logged again at home
_TYPED = re.compile(rb"authentication failed for \[([^\]]*)\]")


def _send(rec: Record, ts: float, ev: Evidence, want_rcpts: bool) -> Send | None:
    raw, msg = rec.raw, rec.msg
    m = _SEND.match(raw, msg)
    if m is None:
        return None
    cut = raw.find(b", to=", m.end())
    head = cut if cut >= 0 else len(raw)
    # Server-generated mail (reason=: read receipts, notifications) and LMTP-thread sends
    # (Sieve redirect) are not something the user submitted (§1.3).
    if raw.find(b", reason=", max(head, len(raw) - 400)) >= 0 or rec.thread.startswith(b"Lmtp"):
        return None
    account = rec.get(b"name").lower()
    if not account:
        return None
    n = _NRCPTS.search(raw, m.end(), head)
    ip = rec.client_ip()
    rcpts: tuple[str, ...] = ()
    if want_rcpts and cut >= 0:
        text = raw[cut:].decode("utf-8", "replace")
        rcpts = tuple(r.strip().lower() for r in text.split(", to=")[1:])
    return Send(
        ts=ts,
        account=account,
        n=int(n.group(1)) if n else None,
        source="web",
        html=ip is not None and is_public(ip) and rec.get(b"ua").startswith("zclient/"),
        ip=ip,
        request=rec.request,
        msgid=m.group(1).decode("utf-8", "replace"),
        reply=raw.find(b", replyType=r", m.end(), head) >= 0,
        rcpts=rcpts,
        evidence=(ev,),
    )


def _failed_login(rec: Record, ts: float, ev: Evidence) -> Login | None:
    m = _TYPED.search(rec.raw, rec.msg)
    if m is None:
        return None
    account = (rec.get(b"name") or m.group(1).decode("utf-8", "replace")).lower()
    thread = rec.thread
    protocol = (
        "imap" if thread.startswith(b"Imap") else "pop3" if thread.startswith(b"Pop") else "soap"
    )
    return Login(ts, account, False, rec.client_ip(), protocol, False, ev)


def parse(raw: bytes, file: str, lineno: int, want_rcpts: bool) -> Event | None:
    ts = log4j_ts(raw)
    if ts is None:
        return None  # a continuation line (stack trace, §1.1)
    rec = record(raw)
    if rec is None:
        return None
    cat = rec.cat
    if cat == b"soap":  # most hits; the Get* requests of the needles are dropped first
        m = _SOAP.match(raw, rec.msg)
        request = m.group(1).decode() if m else ""
        if request != "AuthRequest" and request not in CHANGES:
            return None
        account = rec.get(b"name").lower()
        if not account:
            return None
        ev = Evidence.of(file, lineno, raw)
        if request == "AuthRequest":  # a failed login logs `handler exception` instead (§1.5)
            return Login(ts, account, True, rec.client_ip(), "soap", False, ev)
        return Change(ts, account, request, rec.client_ip(), ev)
    ev = Evidence.of(file, lineno, raw)
    if cat == b"smtp":
        if raw.startswith(b"Failed to send message", rec.msg):
            account = rec.get(b"name").lower()
            return FailedSend(ts, account, ev) if account else None
        return _send(rec, ts, ev, want_rcpts)
    if cat == b"security":
        return login(rec, ts, ev)
    if raw.find(b"authentication failed for [", rec.msg) >= 0:
        return _failed_login(rec, ts, ev)
    return None


def mailbox_events(block: Block, want_rcpts: bool) -> Iterator[Event]:
    first = block.first_line
    for index, raw in hit_lines(block, NEEDLES):
        event = parse(raw, block.file, first + index, want_rcpts)
        if event is not None:
            yield event
