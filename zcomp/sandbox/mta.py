"""One Postfix queue set per server: SendMsg fills it; GetMailQueue/MailQueueAction act on it.

Like Zimbra's RemoteMailQueue, searches run against the last *scan* of a queue (a snapshot
taken by zmqstat), not the live queue: a queue is scanned when first asked about and when
GetMailQueue says scan="1"; later arrivals stay invisible until the next scan.

A scan shares the message objects instead of copying them all (a queue of hundreds was copied
on every GetMailQueue): act() changes messages in place, so before it changes one, each scan
index holding that object gets the copy the scan would have taken (_detach).
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

QUEUES = ("incoming", "active", "deferred", "hold", "corrupt")
_QID_ALPHABET = "0123456789ABCDEF"


@dataclass
class QueuedMessage:
    id: str
    sender: str
    recipients: list[str]
    arrival: float  # epoch seconds
    size: int
    message_id: str
    header_from: str = ""
    subject: str = ""
    reason: str = ""
    origin_ip: str = "127.0.0.1"
    origin_host: str = ""
    queue: str = "deferred"
    extra: dict[str, str] = field(default_factory=dict)
    # What handlers_queue derived from this message, with the values it was derived from (it
    # checks them on use): not part of the message, so not compared, shown or copied.
    derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)


class Mta:
    def __init__(self, server_name: str, index: int) -> None:
        self.server_name = server_name
        self._lock = threading.Lock()
        self._messages: dict[str, QueuedMessage] = {}
        self._index: dict[str, dict[str, QueuedMessage]] = {}  # queue -> last scan, by id
        self._scan_time_ms: dict[str, int] = {}
        # Queue ids look like Postfix's short form; each server gets its own prefix.
        self._counter = itertools.count(0x1A0B00 + index * 0x100000)

    def new_id(self) -> str:
        n = next(self._counter)
        return f"{n:X}{n * 2654435761 % 0xFFFF:04X}"[:11]

    def enqueue(self, msg: QueuedMessage) -> QueuedMessage:
        with self._lock:
            self._messages[msg.id] = msg
        return msg

    def messages(self, queue: str | None = None) -> list[QueuedMessage]:
        with self._lock:
            msgs = list(self._messages.values())
        return [m for m in msgs if queue is None or m.queue == queue]

    def get(self, qid: str) -> QueuedMessage | None:
        with self._lock:
            return self._messages.get(qid)

    def act(self, op: str, ids: list[str], queue: str) -> int:
        """Postfix's postsuper -h/-H/-d/-r on messages of `queue`; returns how many changed."""
        changed = 0
        with self._lock:
            for qid in ids:
                m = self._messages.get(qid)
                if m is None or (queue and m.queue != queue):
                    continue
                if op == "hold":
                    self._detach(m)
                    m.queue = "hold"
                elif op == "release":
                    if m.queue != "hold":
                        continue
                    self._detach(m)
                    m.queue = "deferred"
                elif op == "delete":
                    del self._messages[qid]
                elif op == "requeue":
                    self._detach(m)
                    m.queue = "deferred" if m.queue != "hold" else "hold"
                changed += 1
        return changed

    def _detach(self, m: QueuedMessage) -> None:
        """m is about to change in place: each scan index sharing it keeps a copy as it is."""
        for index in self._index.values():
            if index.get(m.id) is m:
                index[m.id] = dataclasses.replace(m)

    def scan(self, queue: str, now_ms: int) -> None:
        """zmqstat: replace the queue's index with what is in it now (shared until act())."""
        with self._lock:
            self._index[queue] = {m.id: m for m in self._messages.values() if m.queue == queue}
            self._scan_time_ms[queue] = now_ms

    def scanned(self, queue: str) -> bool:
        with self._lock:
            return queue in self._index

    def indexed(self, queue: str) -> tuple[list[QueuedMessage], int]:
        """The messages of the queue's last scan (minus those acted on) and the scan time."""
        with self._lock:
            return list(self._index.get(queue, {}).values()), self._scan_time_ms.get(queue, 0)

    def unindex(self, queue: str, ids: list[str]) -> None:
        """RemoteMailQueue.action deletes the acted-on ids from the scan index."""
        with self._lock:
            index = self._index.get(queue, {})
            for qid in ids:
                index.pop(qid, None)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(QUEUES, 0)
        for m in self.messages():
            out[m.queue] += 1
        return out
