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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from zcomp.core.change import Applied, Change
from zcomp.core.executor import Executor
from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import QueueSummary
from zcomp.zimbra.operations import GetAllServers, GetMailQueue, MailQueueAction

if TYPE_CHECKING:
    from zcomp.core.services import Services
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
    services: Services,
    op: Op,
    messages: list[HeldMessage],
) -> list[Acted]:
    """Release or delete these held messages: one MailQueueAction per MTA, in one batch,
    through the change executor: each message journaled as planned before anything is sent,
    the hold queue read back after (a message still listed is not done; a lost reply is read
    back before anything is sent again), and each message's verdict journaled."""
    by_server: dict[str, list[HeldMessage]] = {}
    for m in messages:
        by_server.setdefault(m.server, []).append(m)
    changes = [_change(server, op, group) for server, group in by_server.items()]
    executor = _ReviewExecutor(services, op, list(by_server.values()))
    done = executor.apply(changes) if changes else None
    results: list[Acted] = []
    for applied, group in zip(done.applied if done else [], by_server.values(), strict=True):
        error = None if applied.ok else (applied.problem or str(applied.status))
        results += [Acted(m, op, error) for m in group]
    return results


def _change(server: str, op: Op, group: list[HeldMessage]) -> Change:
    ids = tuple(m.id for m in group)
    senders = sorted({m.sender or "<>" for m in group})
    what = f"{len(ids)} held message(s) from {', '.join(senders[:3])} on {server}"

    # A bounce has the null sender, which no `from` match finds: then the whole queue is read.
    readback_senders = () if any(not m.sender for m in group) else tuple(m.sender for m in group)

    def gone(got: object) -> str | None:
        if not isinstance(got, QueueSummary):
            return "the hold queue could not be read back"
        left = sorted(set(ids) & {m.id for m in got.messages})
        if left:
            return f"still on hold: {', '.join(left[:5])}" + (" ..." if len(left) > 5 else "")
        if got.total > len(got.messages):
            # Not in the page read, but the page is not all of it: unknown is not done.
            return f"could not verify: {got.total} held from these senders, {PAGE} read"
        return None

    return Change(
        request=MailQueueAction(server=server, queue=QUEUE, op=op, ids=ids),
        step="review",
        kind=f"guard-{op}",
        target=server,
        before={"queue": QUEUE, "ids": list(ids)},
        after={"op": op, "ids": list(ids)},
        plan=f"{op} {what}",
        done=f"{op}d {what}",
        read=GetMailQueue(server=server, queue=QUEUE, senders=readback_senders, limit=PAGE),
        check=gone,
        blocks_rest=False,  # one MTA's trouble never keeps the others from acting
    )


class _ReviewExecutor(Executor):
    """The change executor journaling into the guard's events instead of an incident: every
    message as `<op>-planned` before `apply` sends anything, then `<op>` or `<op>-failed`."""

    def __init__(self, services: Services, op: Op, groups: list[list[HeldMessage]]) -> None:
        super().__init__(services)
        self.op = op
        self.groups = groups

    def _plan(self, changes: Sequence[Change]) -> None:
        for group in self.groups:
            for m in group:
                self._record(f"{self.op}-planned", m, None)

    def _journal(self, applied: list[Applied]) -> None:
        for item, group in zip(applied, self.groups, strict=True):
            error = None if item.ok else (item.problem or str(item.status))
            for m in group:
                self._record(self.op if item.ok else f"{self.op}-failed", m, error)

    def _record(self, kind: str, m: HeldMessage, error: str | None) -> None:
        self.services.journal.record_guard_event(
            kind,
            server=m.server,
            queue_id=m.id,
            sender=m.sender,
            rule=m.rule,
            reason=m.reason,
            operator=self.services.operator,
            detail={"recipients": len(m.recipients), "error": error},
        )
