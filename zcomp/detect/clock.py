"""Log timestamps -> seconds on the log's own wall clock.

Times are kept as written (local time, no zone: §1.1, §3): a value is the number of seconds
since 1970-01-01 00:00 *on the log's clock*, so `value % 86400` is the local time of day the
night-window rule needs. RFC 3339 stamps (modern rsyslog, §3) keep their wall-clock part too.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import time

_NAMES = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"
MONTHS = {m.encode(): i + 1 for i, m in enumerate(_NAMES.split())}
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


@functools.lru_cache(maxsize=4096)
def day_start(year: int, month: int, day: int) -> float:
    return float((dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL) * 86400)


_MINUTES: dict[bytes, float] = {}


def log4j_ts(line: bytes) -> float | None:
    """'2024-03-15 03:14:52,103 ...' (mailbox.log, audit.log); the minute is cached."""
    minute = _MINUTES.get(line[:16])
    try:
        if minute is None:
            if len(_MINUTES) > 100_000:
                _MINUTES.clear()
            minute = _MINUTES[line[:16]] = (
                day_start(int(line[0:4]), int(line[5:7]), int(line[8:10]))
                + int(line[11:13]) * 3600
                + int(line[14:16]) * 60
            )
        return minute + int(line[17:19]) + int(line[20:23]) / 1000
    except ValueError:
        return None


class YearGuess:
    """The year of syslog lines, which carry none (§3, §8 item 8).

    From a file's mtime: a line dated in a later month than the mtime was written the year
    before (a file cannot hold lines newer than its last write), which also handles Dec->Jan.
    From an explicit year: it is the first line's year, and a December->January step adds one.
    """

    def __init__(self, year: int, mtime_month: int | None = None) -> None:
        self.year = year
        self.ref = mtime_month
        self.last = 0

    @staticmethod
    def for_file(path: str, year: int | None, ref: tuple[int, int] | None = None) -> YearGuess:
        """ref: (year, month) of the newest mailbox.log/audit.log line, a better clock than
        an mtime that a copy may have changed."""
        if year is not None:
            return YearGuess(year)
        if ref is not None:
            return YearGuess(*ref)
        try:
            t = time.localtime(os.stat(path).st_mtime)
        except OSError:
            t = time.localtime()
        return YearGuess(t.tm_year, t.tm_mon)

    def of(self, month: int) -> int:
        if self.ref is not None:
            return self.year - 1 if month > self.ref else self.year
        if self.last == 12 and month == 1:
            self.year += 1
        self.last = month
        return self.year


def syslog_ts(line: bytes, years: YearGuess) -> tuple[float, int] | None:
    """(seconds, offset of the host field) for 'Mar 15 03:14:52 host ...' or RFC 3339."""
    try:
        if line[:1].isdigit():  # 2025-11-27T16:26:19.504798+03:00 host ...
            space = line.index(b" ")
            base = log4j_ts(line[:19] + b",000")
            if base is None:
                return None
            frac = line[19:space]
            if frac[:1] == b".":
                end = 1
                while end < len(frac) and frac[end : end + 1].isdigit():
                    end += 1
                base += float(b"0" + frac[:end])
            return base, space + 1
        month = MONTHS.get(line[:3])
        if month is None:
            return None
        return (
            day_start(years.of(month), month, int(line[4:6]))
            + int(line[7:9]) * 3600
            + int(line[10:12]) * 60
            + int(line[13:15]),
            16,
        )
    except ValueError:
        return None


def from_datetime(value: dt.datetime) -> float:
    """A since/until bound on the same scale: naive = log wall clock; aware = this machine's
    local wall clock (the logs are written in the server's local time)."""
    if value.tzinfo is not None:
        value = value.astimezone().replace(tzinfo=None)
    return day_start(value.year, value.month, value.day) + (
        value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    )
