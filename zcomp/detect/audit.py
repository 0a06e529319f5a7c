"""audit.log `security - cmd=Auth` lines (§2); the same lines can appear in mailbox.log."""

from __future__ import annotations

import re
from collections.abc import Iterator

from zcomp.detect.clock import log4j_ts
from zcomp.detect.events import Event, Login
from zcomp.detect.lines import hit_lines
from zcomp.detect.log4j import Record, record
from zcomp.detect.model import Evidence
from zcomp.detect.sources import Block

NEEDLES = (b"security - cmd=Auth;",)
ATTRS = re.compile(r"(\w+)=((?:[^;]|;;)*);")  # same escaping as the context block


def login(rec: Record, ts: float, ev: Evidence) -> Login | None:
    attrs = {k: v.replace(";;", ";") for k, v in ATTRS.findall(rec.message())}
    if attrs.get("cmd") != "Auth":
        return None
    account = (attrs.get("account") or rec.get(b"name")).lower()
    if not account:
        return None
    error = attrs.get("error", "")
    protocol = "smtp" if rec.get(b"oproto") == "smtp" else attrs.get("protocol", "")
    return Login(
        ts=ts,
        account=account,
        ok=not error,
        ip=rec.client_ip(),
        protocol=protocol,
        lockout="lockout due to" in error,
        evidence=ev,
    )


def parse(raw: bytes, file: str, lineno: int) -> Event | None:
    ts = log4j_ts(raw)
    rec = record(raw) if ts is not None else None
    if rec is None or ts is None or rec.cat != b"security":
        return None
    return login(rec, ts, Evidence.of(file, lineno, raw))


def audit_events(block: Block) -> Iterator[Event]:
    for index, raw in hit_lines(block, NEEDLES):
        event = parse(raw, block.file, block.first_line + index)
        if event is not None:
            yield event
