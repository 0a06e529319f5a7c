"""nginx.access.log: the Standard (HTML) web client's logins and sends (§4).

The proxy logs no user name (cookie auth), so its lines become WebAction events carrying only
the client address; the Scanner joins them to the account that logged in from that address
(audit.log / mailbox.log `oip`). Only two request shapes matter, and needles find them:
- `POST /` answered 302: a login through the Standard client's form (login.jsp redirects to
  /h/search?mesg=welcome); the AJAX client's login answers 200.
- `POST /h/search?action=compose`: a send (or a draft save) from the Standard client, the
  client the spammers' automation uses (§0 item 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from zcomp.detect.clock import MONTHS, day_start
from zcomp.detect.events import Event, WebAction
from zcomp.detect.lines import hit_lines
from zcomp.detect.model import Evidence
from zcomp.detect.sources import Block

NEEDLES = (b'" 302 ', b"/h/search?action=compose ")

LOGIN = "login"
SEND = "send"

# Peer "addr:port" (IPv6 unbracketed: split at the last colon), then "[15/Mar/2024:03:14:52
# +0100]", two spaces, and the request with an absolute URL (zm-nginx-conf log_format upstream).
_LINE = re.compile(
    rb"(\S+):\d+ - \S+ \[(\d\d)/(\w{3})/(\d{4}):(\d\d):(\d\d):(\d\d) [^\]]*\]\s+"
    rb'"(\w+) \w+://[^/\s"]*(/\S*) [^"]*" (\d{3}) '
)


def action(method: bytes, path: bytes, status: bytes) -> str | None:
    if method != b"POST":
        return None
    if status == b"302" and (path == b"/" or path.startswith(b"/?")):
        return LOGIN
    if path.startswith(b"/h/search?action=compose") and status == b"200":
        return SEND
    return None


def parse(raw: bytes, file: str, lineno: int) -> WebAction | None:
    m = _LINE.match(raw)
    if m is None:
        return None
    peer, day, mon, year, hh, mm, ss, method, path, status = m.groups()
    what = action(method, path, status)
    month = MONTHS.get(mon)
    if what is None or month is None:
        return None
    # The wall-clock part, zone dropped: every log's times are kept on its own clock (clock.py).
    ts = day_start(int(year), month, int(day)) + int(hh) * 3600 + int(mm) * 60 + int(ss)
    return WebAction(
        ts=ts,
        ip=peer.decode("ascii", "replace"),
        action=what,
        evidence=Evidence.of(file, lineno, raw),
    )


def nginx_events(block: Block) -> Iterator[Event]:
    for index, raw in hit_lines(block, NEEDLES):
        event = parse(raw, block.file, block.first_line + index)
        if event is not None:
            yield event
