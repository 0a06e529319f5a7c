"""The log4j line grammar shared by mailbox.log and audit.log (§1.1, §1.2):
`%d %-5p [%t] [%z] %c{1} - %m`. Split with bytes.find rather than the §1.1 regex, and read
only the context keys a rule needs: send lines can be many KB long and a scan parses
hundreds of thousands of them."""

from __future__ import annotations

import re

REQUEST = re.compile(rb"/service/(?:admin/)?soap/(\w+)")  # do not depend on the scheme (§1.1)


class Record:
    """One parsed line: raw bytes plus the offsets of its parts."""

    __slots__ = ("raw", "thread_start", "thread_end", "ctx_start", "ctx_end", "msg")

    def __init__(self, raw: bytes, t0: int, t1: int, c1: int, msg: int) -> None:
        self.raw = raw
        self.thread_start, self.thread_end = t0, t1
        self.ctx_start, self.ctx_end = t1 + 3, c1
        self.msg = msg  # offset of the message

    @property
    def cat(self) -> bytes:
        return self.raw[self.ctx_end + 2 : self.msg - 3]

    @property
    def thread(self) -> bytes:
        return self.raw[self.thread_start : self.thread_end]

    @property
    def request(self) -> str:
        m = REQUEST.search(self.raw, self.thread_start, self.thread_end)
        return m.group(1).decode() if m else ""

    def get(self, key: bytes) -> str:
        """The context value of key (b"name", b"oip", ...), "" when absent (§1.2: k=v;
        pairs, ';' inside a value written ';;')."""
        raw, lo, hi = self.raw, self.ctx_start, self.ctx_end
        probe = key + b"="
        if raw.startswith(probe, lo):
            i = lo + len(probe)
        else:
            i = raw.find(b";" + probe, lo, hi)
            if i < 0:
                return ""
            i += len(probe) + 1
        j = raw.find(b";", i, hi)
        while 0 <= j < hi - 1 and raw[j + 1] == 59:  # ";;" is an escaped ';'
            j = raw.find(b";", j + 2, hi)
        value = raw[i : j if j >= 0 else hi].decode("utf-8", "replace")
        return value.replace(";;", ";") if ";;" in value else value

    def client_ip(self) -> str | None:
        """The LAST element of oip (nginx appends with $proxy_add_x_forwarded_for; earlier
        elements are client-supplied, §1.2), else ip."""
        oip = self.get(b"oip")
        if oip:
            return oip.rsplit(",", 1)[-1].strip() or None
        return self.get(b"ip") or None

    def message(self) -> str:
        return self.raw[self.msg :].decode("utf-8", "replace")


def record(raw: bytes) -> Record | None:
    """The parts of a line that starts with a log4j timestamp; None if it does not parse."""
    t0 = raw.find(b" [", 23)
    if t0 < 0:
        return None
    t1 = raw.find(b"] [", t0)
    if t1 < 0:
        return None
    c1 = raw.find(b"] ", t1 + 3)
    if c1 < 0:
        return None
    dash = raw.find(b" - ", c1 + 2)
    if dash < 0:
        return None
    return Record(raw, t0 + 2, t1, c1, dash + 3)
