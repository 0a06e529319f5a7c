"""Scanner.feed, line by line as `zcomp watch` will call it, gives what scan() gives, and its
state stays bounded."""

from __future__ import annotations

import re
from pathlib import Path

from tests.detect.helpers import AUDIT, MAILBOX, MTA, NGINX, sample_inputs, settings
from zcomp.detect import LogKind, Scanner, Suspect, scan
from zcomp.detect.clock import MONTHS, YearGuess, day_start, log4j_ts, syslog_ts

_MONTH = re.compile(rb"^[A-Z][a-z]{2} ")
_NGINX_TIME = re.compile(rb"\[(\d\d)/(\w{3})/(\d{4}):(\d\d):(\d\d):(\d\d) ")
KINDS = [LogKind.MAILBOX, LogKind.AUDIT, LogKind.MTA, LogKind.NGINX]


def _nginx_ts(line: bytes) -> float | None:
    m = _NGINX_TIME.search(line)
    if m is None:
        return None
    day, mon, year, hh, mm, ss = m.groups()
    return day_start(int(year), MONTHS[mon], int(day)) + int(hh) * 3600 + int(mm) * 60 + int(ss)


def _stamped(kind: LogKind, path: Path) -> list[tuple[float, int, int, bytes]]:
    """(time, kind order, line number, line); untimed lines take the previous line's time."""
    order = KINDS.index(kind)
    years = YearGuess(2024)
    out = []
    ts = float("-inf")
    for n, line in enumerate(path.read_bytes().splitlines(keepends=True), 1):
        if kind is LogKind.MTA:
            stamp = syslog_ts(line, years) if _MONTH.match(line) else None
            ts = stamp[0] if stamp else ts
        elif kind is LogKind.NGINX:
            ts = _nginx_ts(line) or ts
        else:
            ts = log4j_ts(line) or ts if line[:1].isdigit() else ts
        out.append((ts, order, n, line))
    return out


def _flat(suspects: list[Suspect]) -> list[object]:
    return [
        (s.account, s.score, [(g.rule, g.weight, g.reason, g.evidence) for g in s.signals])
        for s in suspects
    ]


def test_feeding_lines_in_time_order_equals_a_whole_scan() -> None:
    lines = sorted(
        _stamped(LogKind.MAILBOX, MAILBOX)
        + _stamped(LogKind.AUDIT, AUDIT)
        + _stamped(LogKind.MTA, MTA)
        + _stamped(LogKind.NGINX, NGINX),
        key=lambda t: (t[0], t[1], t[2]),
    )
    files = dict(zip(KINDS, map(str, (MAILBOX, AUDIT, MTA, NGINX)), strict=True))
    scanner = Scanner(settings(), year=2024)
    for _, order, n, line in lines:
        scanner.feed(KINDS[order], files[KINDS[order]], n, line)
    scanner.finish()
    fed = scanner.suspects()
    whole = scan(sample_inputs(), settings())
    assert _flat(fed) == _flat(whole.suspects)
    assert fed[0].account == "bob@example.com"


def test_suspects_can_be_asked_while_feeding() -> None:
    scanner = Scanner(settings(), year=2024)
    scores = []
    for n, line in enumerate(MAILBOX.read_bytes().splitlines(), 1):
        scanner.feed("mailbox", str(MAILBOX), n, line)
        if b"03:13:30,866" in line:  # login from a new address, then ModifyIdentity
            assert scanner.suspects() == []  # not enough alone
        if b"bob@example.com" in line and b"smtp - Sending" in line:
            now = scanner.suspects()
            assert [s.account for s in now] == ["bob@example.com"]
            scores.append(now[0].score)
    assert scores == sorted(scores) and scores[0] < scores[-1]
    assert scanner.suspects()[0].account == "bob@example.com"


def test_state_stays_bounded_over_a_long_feed() -> None:
    """A day of SMTP-AUTH first hops whose qmgr lines never come, and hour after hour of
    sends: pending hops, kept text and windows do not grow with the input."""
    from zcomp.detect.recent import KEEP

    scanner = Scanner(settings(), year=2024)
    lineno = 0
    sizes = []
    for minute in range(0, 24 * 60, 2):
        hh, mm = divmod(minute, 60)
        for i in range(20):
            lineno += 1
            line = (
                f"Mar 15 {hh:02d}:{mm:02d}:{i:02d} mail postfix/submission/smtpd[1]: "
                f"{minute:05X}{i:05X}: client=unknown[198.51.100.{i}], sasl_method=LOGIN, "
                f"sasl_username=user{i}@example.com"
            ).encode()
            scanner.feed("mta", "zimbra.log", lineno, line)
            send = (
                f"2024-03-15 {hh:02d}:{mm:02d}:{i:02d},000 INFO  [qtp1-1:https://m/service/soap/"
                f"SendMsgRequest] [name=user{i}@example.com;oip=198.51.100.{i};ua=x;] smtp - "
                f"Sending message to MTA at m: Message-ID=<{lineno}@m>, nrcpts=3, to=a@b.example"
            ).encode()
            scanner.feed("mailbox", "mailbox.log", lineno, send)
        sizes.append(scanner.state_size())
    assert max(sizes[len(sizes) // 2 :]) <= max(sizes[: len(sizes) // 2]) + 5
    assert scanner.state_size() < 2000
    assert scanner._mta.recent_bytes() <= KEEP + (1 << 20)  # noqa: SLF001 - size check only
    for account in scanner._accounts.values():  # noqa: SLF001
        assert len(account.minute.items) <= 1 and len(account.hour.items) <= 31
