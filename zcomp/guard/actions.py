"""What follows a hold, off the milter's event loop: the journal record, one alert per sender
per window through the ticket backend `zcomp watch` uses, and (when enabled) the lockdown
`zcomp watch --auto-lockdown` uses. One thread, a bounded queue: a slow help desk or
Zimbra never slows the milter; when the queue is full the hold is still made, only its
follow-up is dropped, with a log line."""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from zcomp.guard.rules import Message, Verdict
from zcomp.tickets import TicketContent
from zcomp.tickets.guard import withhold_secrets

if TYPE_CHECKING:
    from zcomp.core.services import Services
    from zcomp.journal import Journal
    from zcomp.tickets import TicketBackend

QUEUE_MAX = 10_000
Lockdown = Callable[[str, str], str]  # (account, reason) -> what happened


@dataclass(frozen=True)
class Hold:
    verdict: Verdict
    message: Message
    server: str  # the MTA's name ({j}, Postfix's myhostname)
    at: float  # epoch seconds


def alert_key(who: str, at: float) -> str:
    """Stable per (sender, first hold): the ticket backends make filing it idempotent."""
    moment = datetime.fromtimestamp(at, timezone.utc).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(who.lower().encode()).hexdigest()[:4].upper()
    return f"GUARD-{moment}-{digest}"


def alert_content(hold: Hold, *, auto_lockdown: bool, done: list[str]) -> TicketContent:
    v, m = hold.verdict, hold.message
    found = [
        f"held: {v.reason}",
        f"client: {v.client}" + (f" (X-Mailer: {m.x_mailer})" if m.x_mailer else ""),
        f"envelope sender: {m.sender or '<>'}"
        + (f", SMTP login: {m.auth_user}" if m.auth_user else ""),
        f"on hold on {hold.server or 'the MTA'} as queue id {m.queue_id or '(unknown)'}",
    ]
    steps = [
        f"Review the held mail: zcomp guard review --sender {v.who}",
        "If it is spam: zcomp lockdown " + v.who + ", then zcomp guard review --delete",
        "If it is legitimate: zcomp guard review --release, and add the sender to the "
        "[guard] allow list",
    ]
    if v.rule == "contained":
        steps = [
            f"{v.who} is contained: its mail stays on hold. Delete it with "
            f"zcomp guard review --delete --sender {v.who} (or release it after unlock).",
        ]
    if not done:
        done = ["held the message (Postfix hold queue)"]
        if not auto_lockdown and v.rule != "contained":
            done.append("nothing else: auto-lockdown is off")
    return TicketContent(
        incident_id=alert_key(v.who, hold.at),
        account=v.who,
        title=f"zcomp guard held mail from {v.who} ({v.rule})",
        found=[withhold_secrets(line) for line in found],
        done=[withhold_secrets(line) for line in done],
        next_steps=steps,
        evidence_sha256=None,
        created_at=datetime.fromtimestamp(hold.at, timezone.utc),
        extra={"reason": withhold_secrets(f"guard: {v.reason}"), "rule": v.rule},
    )


def lockdown_with(services: Services) -> Lockdown:
    """The core lockdown entry, as watch's auto-lockdown calls it (used from one thread)."""
    from zcomp.core.lockdown import LockdownOptions, lockdown_account

    def lock(account: str, reason: str) -> str:
        outcome = lockdown_account(services, account, LockdownOptions(reason=reason))
        error = f": {outcome.error.message}" if outcome.error else ""
        return f"{outcome.result}{error}"

    return lock


class Responder:
    def __init__(
        self,
        *,
        log: Callable[[str], None],
        journal: Journal | None = None,
        tickets: TicketBackend | None = None,
        lockdown: Lockdown | None = None,
        auto_lockdown: bool = False,
        operator: str = "zcomp guard",
    ) -> None:
        self._log = log
        self.journal = journal
        self.tickets = tickets
        self.lockdown = lockdown
        self.auto_lockdown = auto_lockdown
        self.operator = operator
        self._queue: queue.Queue[Hold | None] = queue.Queue(QUEUE_MAX)
        self._thread: threading.Thread | None = None
        self.done = 0  # holds fully handled (tests wait on it)
        self.alerts: list[str] = []  # keys filed
        self.lockdowns: list[str] = []  # "account: result"

    def start(self) -> Responder:
        self._thread = threading.Thread(target=self._run, name="guard-responder", daemon=True)
        self._thread.start()
        return self

    def submit(self, hold: Hold) -> None:
        try:
            self._queue.put_nowait(hold)
        except queue.Full:
            self._log(f"guard: too many holds waiting: no journal/alert for {hold.verdict.who}")

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            hold = self._queue.get()
            if hold is None:
                return
            try:
                self.handle(hold)
            except Exception as exc:  # noqa: BLE001 - never let one hold stop the rest
                self._log(f"guard: following up the hold of {hold.verdict.who} failed: {exc!r}")
            self.done += 1

    def handle(self, hold: Hold) -> None:
        v, m = hold.verdict, hold.message
        if self.journal is not None:
            try:
                self.journal.record_guard_event(
                    "hold",
                    server=hold.server,
                    queue_id=m.queue_id,
                    sender=v.who,
                    rule=v.rule,
                    reason=v.reason,
                    operator=self.operator,
                    detail={
                        "envelope_sender": m.sender,
                        "auth_user": m.auth_user,
                        "client": v.client,
                        "recipients": m.recipients,
                        "client_address": m.client_address,
                    },
                )
            except Exception as exc:  # noqa: BLE001 - the journal's trouble: say it, go on
                self._log(f"guard: cannot journal the hold of {m.queue_id}: {exc}")
        done: list[str] = []
        if v.lockdown and self.lockdown is not None:
            reason = f"guard auto-lockdown after repeated holds: {v.reason}"
            try:
                result = self.lockdown(v.who, reason)
            except Exception as exc:  # noqa: BLE001
                result = f"failed: {getattr(exc, 'message', None) or exc}"
            self.lockdowns.append(f"{v.who}: {result}")
            self._log(f"guard: auto-lockdown of {v.who}: {result}")
            done = ["held the message (Postfix hold queue)", f"auto-lockdown: {result}"]
        if v.alert and self.tickets is not None:
            content = alert_content(hold, auto_lockdown=self.auto_lockdown, done=done)
            try:
                ref = self.tickets.open(content)
            except Exception as exc:  # noqa: BLE001 - a desk that is down: log, the hold stays
                self._log(
                    f"guard: the alert for {v.who} was not filed: "
                    f"{getattr(exc, 'message', None) or exc}"
                )
                return
            self.alerts.append(str(content.incident_id))
            self._log(f"guard: alert {content.incident_id} filed for {v.who} ({ref.id})")
