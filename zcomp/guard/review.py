"""`zcomp guard review`: what is on hold on every MTA, why, and releasing or deleting it.

Over SOAP, from any admin host: GetAllServers(service=mta), then one BatchRequest with a
GetMailQueue(hold, scan=1) per MTA; release/delete are MailQueueAction by id, each journaled.

Why a message is on hold: Zimbra does not say. GetMailQueue's items carry only what zmqstat
printed (zm-core-utils src/libexec/zmqstat), and zmqstat reads a `reason=` only from the
defer log, for the deferred queue; RemoteMailQueue (zm-mailbox store/src/java/com/zimbra/cs/
rmgmt/RemoteMailQueue.java) indexes what it is given. Postfix does not keep a milter's
quarantine reason at all: it logs "milter-hold: ... milter triggers HOLD action" (Postfix
3.7, tests/integration/test_postfix_guard.py) and drops the text. So the reason shown is Zimbra's
when it reports one, else the guard's own record of the hold (the journal, when this host
shares the guard's state directory), else none; the guard also writes it into the held
message as an X-Zcomp-Guard header, which `postcat -q ID` on the MTA shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import QueueSummary
from zcomp.zimbra.operations import GetAllServers, GetMailQueue, MailQueueAction

if TYPE_CHECKING:
    from zcomp.journal import Journal
    from zcomp.zimbra.api import ZimbraAPI

QUEUE = "hold"
PAGE = 1000  # messages listed per MTA
Op = Literal["release", "delete"]


@dataclass
class HeldMessage:
    server: str
    id: str
    sender: str
    recipients: list[str]
    arrival_ms: str | None = None
    size: str | None = None
    reason: str = ""
    reason_from: str = ""  # "zimbra" | "guard journal" | "" (not known)
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "id": self.id,
            "sender": self.sender,
            "recipients": len(self.recipients),
            "arrival_ms": self.arrival_ms,
            "size": self.size,
            "reason": self.reason or None,
            "reason_from": self.reason_from or None,
            "rule": self.rule or None,
        }


@dataclass
class Listing:
    messages: list[HeldMessage] = field(default_factory=list)
    mtas: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)  # "server: total N, listed M"


@dataclass
class Acted:
    message: HeldMessage
    op: Op
    error: str | None = None


def list_held(
    client: ZimbraAPI,
    journal: Journal | None,
    *,
    senders: Iterable[str] = (),
    ids: Iterable[str] = (),
    server: str | None = None,
) -> Listing:
    """Held messages on every MTA (or one), optionally only these senders or queue ids."""
    out = Listing()
    mtas = [s.name for s in client.call(GetAllServers(service="mta"))]
    if server is not None:
        if server not in mtas:
            out.errors.append(f"{server} is not an MTA server (GetAllServers service=mta)")
            return out
        mtas = [server]
    out.mtas = mtas
    if not mtas:
        return out
    wanted_senders = tuple(sorted({s.strip().lower() for s in senders if s.strip()}))
    requests = [
        GetMailQueue(server=mta, queue=QUEUE, senders=wanted_senders, limit=PAGE) for mta in mtas
    ]
    wanted_ids = {i.strip() for i in ids if i.strip()}
    for mta, got in zip(mtas, client.batch(requests), strict=True):
        if isinstance(got, ZimbraFault):
            out.errors.append(f"{mta}: {got.code}: {got.reason}")
            continue
        if not isinstance(got, QueueSummary):
            out.errors.append(f"{mta}: the hold queue was not read")
            continue
        if got.more:
            out.truncated.append(f"{mta}: {got.total} on hold, {len(got.messages)} listed")
        for m in got.messages:
            if wanted_ids and m.id not in wanted_ids:
                continue
            reason = m.attrs.get("reason", "")
            out.messages.append(
                HeldMessage(
                    server=mta,
                    id=m.id,
                    sender=m.sender,
                    recipients=list(m.recipients),
                    arrival_ms=m.received,
                    size=m.attrs.get("size"),
                    reason=reason,
                    reason_from="zimbra" if reason else "",
                )
            )
    if journal is not None:
        _reasons_from_journal(journal, out.messages)
    return out


def _reasons_from_journal(journal: Journal, messages: list[HeldMessage]) -> None:
    known = journal.guard_holds(m.id for m in messages)
    for m in messages:
        event = known.get(m.id)
        if event is None:
            continue
        if event.server and event.server != m.server and not _same_host(event.server, m.server):
            continue  # the same queue id on another MTA: not this message
        m.rule = event.rule
        if not m.reason:
            m.reason, m.reason_from = event.reason, "guard journal"


def _same_host(a: str, b: str) -> bool:
    return a.split(".")[0].lower() == b.split(".")[0].lower()


def act(
    client: ZimbraAPI,
    journal: Journal | None,
    op: Op,
    messages: list[HeldMessage],
    *,
    operator: str,
) -> list[Acted]:
    """Release or delete these held messages: one MailQueueAction per MTA, in one batch."""
    by_server: dict[str, list[HeldMessage]] = {}
    for m in messages:
        by_server.setdefault(m.server, []).append(m)
    servers = list(by_server)
    requests = [
        MailQueueAction(server=s, queue=QUEUE, op=op, ids=tuple(m.id for m in by_server[s]))
        for s in servers
    ]
    results: list[Acted] = []
    replies = client.batch(requests) if requests else []
    for server, got in zip(servers, replies, strict=True):
        error = f"{got.code}: {got.reason}" if isinstance(got, ZimbraFault) else None
        for m in by_server[server]:
            results.append(Acted(m, op, error))
            if journal is not None:
                journal.record_guard_event(
                    op if error is None else f"{op}-failed",
                    server=server,
                    queue_id=m.id,
                    sender=m.sender,
                    rule=m.rule,
                    reason=m.reason,
                    operator=operator,
                    detail={"recipients": len(m.recipients), "error": error},
                )
    return results
