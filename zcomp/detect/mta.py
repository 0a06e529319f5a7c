"""zimbra.log (postfix): SMTP-AUTH submissions, pre-8.8.7 recipient counts, remote refusals.

One outbound message is three queue IDs on Zimbra 8.7+ (smtpd -> amavis -> dkimmilter ->
amavis -> amavisd/smtpd -> Internet); counting every hop triples the volume (§0 item 5).
Only first hops carry `sasl_username=` (§3.3 step 3), so that needle finds exactly the
SMTP-AUTH submissions; their qmgr `nrcpt=` line follows within a few lines and is found with
a bounded bytes.find for "<QID>: from=<" instead of parsing every qmgr line. Webmail first
hops are not parsed at all: mailbox.log already counts those sends (8.8.7+), and for older
mailbox.logs the Message-ID is looked up in the recent text on demand (legacy_count).
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass

from zcomp.detect.clock import YearGuess, syslog_ts
from zcomp.detect.events import Event, RemoteReject, Send, Tick
from zcomp.detect.lines import hits
from zcomp.detect.model import Evidence
from zcomp.detect.netaddr import is_public
from zcomp.detect.recent import Chunk, Recent
from zcomp.detect.sources import Block

NEEDLES = (b", sasl_username=", b"status=deferred", b"status=bounced")
# Without mailbox.log every first hop is needed: webmail sends are then attributed to their
# envelope sender when they come from a mailbox server (§3.3 step 4, low confidence).
NEEDLES_ALL = (b": client=", b"status=deferred", b"status=bounced")
_LMTP = b"]:7025, "  # `relay=<mailbox server>[ip]:7025` of local deliveries names our servers
LOOKAHEAD = 65536  # bytes after a client line within which its qmgr line must appear
LOOKBACK = 262144  # bytes before a final-hop result searched first for its sender
MAX_PENDING = 10_000
MAX_FILES = 4  # files whose recent text is kept (several hosts' zimbra.log followed at once)

_HEAD = re.compile(rb"(\S+) ([^\s\[:]+)(?:\[\d+\])?: ")
_CLIENT = re.compile(
    rb"([0-9A-Za-z]+): client=([^\[]*)\[([^\]]+)\](?::\d+)?"
    rb"(?:, sasl_method=([^,]+), sasl_username=([^,\s]+))?"
)
_QID_MSGID = re.compile(rb"([0-9A-Za-z]+): message-id=")
_NRCPT = re.compile(rb"from=<([^>]*)>, size=\d+, nrcpt=(\d+)")
_DELIV = re.compile(rb"([0-9A-Za-z]+): to=<[^>]*>.*?, relay=([^,\s]+).*? status=(\w+) \((.*)\)")
# Remote replies that mean "your server sends spam" (§3 table, §7 cheap extra signals).
_REPUTATION = re.compile(
    rb"unusual rate|unsolicited|spam|block ?list|black ?list|blocked|reputation|too many",
    re.I,
)


@dataclass(slots=True)
class _Hop:
    ts: float
    qid: bytes
    user: str | None  # sasl_username as typed; None: a webmail hop (sender from qmgr)
    ip: str
    client: Evidence
    deadline: int  # parser byte count after which its qmgr line is no longer looked for


class MtaParser:
    """State: SMTP-AUTH first hops whose qmgr line is still ahead, and Recent text per file."""

    def __init__(self, web_hops: bool = False, servers: frozenset[str] = frozenset()) -> None:
        self._pending: dict[bytes, _Hop] = {}
        self._order: deque[tuple[int, bytes]] = deque()
        self._bytes = 0
        self._recent: OrderedDict[str, Recent] = OrderedDict()
        self.web_hops = web_hops
        self._servers = {ip.encode() for ip in servers}

    def pending(self) -> int:
        return len(self._pending) + len(self._order)

    def recent_bytes(self) -> int:
        return sum(len(c.data) for r in self._recent.values() for c in r.chunks)

    def events(self, block: Block, years: YearGuess) -> Iterator[Event]:
        data = block.data
        base = self._bytes
        self._bytes += len(data)
        if self.web_hops:
            self._learn_server(data)
        found, block.lines = hits(data, NEEDLES_ALL if self.web_hops else NEEDLES)
        recent = self._recent.get(block.file)
        if recent is None:
            recent = self._recent[block.file] = Recent()
            while len(self._recent) > MAX_FILES:  # a rotated set is read file after file
                self._recent.popitem(last=False)
        self._recent.move_to_end(block.file)
        recent.add(block.first_line, data, block.lines)
        if self._pending:
            yield from self._carried(block, base)
        else:
            self._order.clear()
        for index, start, end in found:
            line = data[start:end]
            if b", sasl_username=" in line:
                event = self._client(line, block, index, end, years, base)
            elif b": client=" in line:
                if not self._from_server(line):
                    continue
                event = self._client(line, block, index, end, years, base)
            else:
                event = self._delivery(line, block, index, start, years)
            if event is not None:
                yield event
        last = data.rfind(b"\n", 0, len(data) - 1) + 1
        stamp = syslog_ts(data[last:], years)
        if stamp is not None:
            yield Tick(stamp[0])

    def _carried(self, block: Block, base: int) -> Iterator[Event]:
        """Hops from earlier blocks whose qmgr line may be in this one."""
        data = block.data
        order = self._order
        while order and order[0][0] <= base:  # LOOKAHEAD bytes passed: give up on them
            self._pending.pop(order.popleft()[1], None)
        if len(data) <= 4 * LOOKAHEAD:  # a fed line or a few: look the qmgr lines up by QID
            p = data.find(b": from=<")
            while p >= 0:
                qid = data[data.rfind(b" ", 0, p) + 1 : p]
                hop = self._pending.pop(qid, None)
                if hop is not None:
                    event = self._finish(hop, block, p - len(qid), 0, block.first_line)
                    if event is not None:
                        yield event
                p = data.find(b": from=<", p + 8)
            return
        for qid, hop in list(self._pending.items()):
            p = data.find(qid + b": from=<", 0, max(0, hop.deadline - base))
            if p >= 0:
                del self._pending[qid]
                event = self._finish(hop, block, p, 0, block.first_line)
                if event is not None:
                    yield event

    def _learn_server(self, data: bytes) -> None:
        p = data.find(_LMTP)
        if p >= 0:
            ip = data[data.rfind(b"[", 0, p) + 1 : p]
            if 0 < len(ip) < 40:
                self._servers.add(ip)

    def _from_server(self, line: bytes) -> bool:
        """A non-SASL first hop from one of our mailbox servers (not amavis re-injection,
        not inbound mail from the Internet)."""
        if b"/amavisd/" in line or b"/dkimmilter/" in line:
            return False
        i = line.find(b"[", line.find(b": client="))
        ip = line[i + 1 : line.find(b"]", i)]
        return ip in self._servers or not is_public(ip.decode("ascii", "replace"))

    def _client(
        self, line: bytes, block: Block, index: int, end: int, years: YearGuess, base: int
    ) -> Event | None:
        stamp = syslog_ts(line, years)
        head = _HEAD.match(line, stamp[1]) if stamp else None
        if stamp is None or head is None or not head.group(2).endswith(b"smtpd"):
            return None
        m = _CLIENT.match(line, head.end())
        if m is None:
            return None
        ev = Evidence.of(block.file, block.first_line + index, line)
        user = m.group(5).decode("utf-8", "replace").lower() if m.group(5) else None
        lo = end + 1
        hop = _Hop(
            stamp[0],
            m.group(1),
            user,
            m.group(3).decode("ascii", "replace"),
            ev,
            base + lo + LOOKAHEAD,
        )
        data = block.data
        p = data.find(hop.qid + b": from=<", lo, lo + LOOKAHEAD)
        if p >= 0:
            return self._finish(hop, block, p, lo, block.first_line + index + 1)
        if lo + LOOKAHEAD > len(data) and len(self._pending) < MAX_PENDING:
            self._pending[hop.qid] = hop  # its qmgr line may be in the next block
            self._order.append((hop.deadline, hop.qid))
        return None

    def _finish(self, hop: _Hop, block: Block, p: int, lo: int, lo_line: int) -> Event | None:
        """The hop's qmgr line is at block.data[p]; lo_line is the line number at lo."""
        data = block.data
        m = _NRCPT.match(data, p + len(hop.qid) + 2)
        if m is None:
            return None
        start = data.rfind(b"\n", 0, p) + 1
        end = data.find(b"\n", p)
        lineno = lo_line + data.count(b"\n", lo, start)
        ev = Evidence.of(block.file, lineno, data[start : end if end >= 0 else len(data)])
        if hop.user is not None:
            return Send(
                hop.ts,
                hop.user,
                int(m.group(2)),
                "smtp",
                False,
                hop.ip,
                "",
                None,
                False,
                (),
                (hop.client, ev),
            )
        sender = m.group(1).decode("utf-8", "replace").lower()
        if not sender:
            return None  # a bounce (null sender), not a user's send
        return Send(
            hop.ts,
            sender,
            int(m.group(2)),
            "mta",
            False,
            None,
            "",
            None,
            False,
            (),
            (hop.client, ev),
        )

    def _delivery(
        self, line: bytes, block: Block, index: int, start: int, years: YearGuess
    ) -> Event | None:
        stamp = syslog_ts(line, years)
        head = _HEAD.match(line, stamp[1]) if stamp else None
        m = _DELIV.match(line, head.end()) if head else None
        if stamp is None or m is None or m.group(3) not in (b"deferred", b"bounced"):
            return None
        relay = m.group(2)
        if relay.startswith((b"127.", b"localhost", b"[127.")) or relay == b"none":
            return None  # an internal hop (amavis, dkimmilter), not a remote MX
        if not _REPUTATION.search(m.group(4)):
            return None
        key = m.group(1) + b": from=<"
        data: bytes | bytearray = block.data
        p = data.rfind(key, max(0, start - LOOKBACK), start)
        if p < 0:
            found = self._recent[block.file].rfind(key)
            data, p = (found[0].data, found[1]) if found else (data, -1)
        sender = _NRCPT.match(data, p + len(key) - 6) if p >= 0 else None
        if sender is None or not sender.group(1):
            return None
        return RemoteReject(
            stamp[0],
            sender.group(1).decode("utf-8", "replace").lower(),
            Evidence.of(block.file, block.first_line + index, line),
        )

    def legacy_count(self, msgid: str) -> tuple[int, tuple[Evidence, ...]] | None:
        """Postfix's nrcpt for a Message-ID seen recently (the first hop: oldest first)."""
        needle = b": message-id=" + msgid.encode("utf-8", "replace")
        for file, recent in self._recent.items():
            found = recent.find(needle)
            if found is None:
                continue
            chunk, pos = found
            line = chunk.line(pos)
            m = _QID_MSGID.search(line)
            if m is None:
                continue
            qmgr = _after(recent, chunk, pos, m.group(1) + b": from=<")
            if qmgr is None:
                continue
            qchunk, qpos = qmgr
            qline = qchunk.line(qpos)
            n = _NRCPT.search(qline)
            if n is None:
                continue
            return int(n.group(2)), (
                Evidence.of(file, chunk.lineno(pos), line),
                Evidence.of(file, qchunk.lineno(qpos), qline),
            )
        return None


def _after(recent: Recent, chunk: Chunk, pos: int, needle: bytes) -> tuple[Chunk, int] | None:
    started = False
    for c in recent.chunks:
        if c is chunk:
            started = True
            p = c.data.find(needle, pos, pos + LOOKAHEAD)
        elif started:
            p = c.data.find(needle, 0, LOOKAHEAD)
        else:
            continue
        if p >= 0:
            return c, p
    return None
