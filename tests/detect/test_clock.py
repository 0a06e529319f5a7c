"""Yearless syslog dates and RFC 3339 stamps (zimbra-logs.md §3, §8 item 8)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from tests.detect.helpers import AUDIT, MAILBOX, MTA, settings
from zcomp.detect import ScanInputs, scan
from zcomp.detect.clock import YearGuess, day_start, syslog_ts


def test_year_from_explicit_year_rolls_over_in_january() -> None:
    years = YearGuess(2023)
    dec = syslog_ts(b"Dec 31 23:59:59 mail postfix/qmgr[1]: x", years)
    jan = syslog_ts(b"Jan  1 00:00:01 mail postfix/qmgr[1]: x", years)
    assert dec is not None and jan is not None
    assert dec[0] == day_start(2023, 12, 31) + 86399
    assert jan[0] == day_start(2024, 1, 1) + 1
    assert jan[1] == 16  # where the host name starts


def test_year_from_mtime_puts_later_months_in_the_year_before(tmp_path: Path) -> None:
    path = tmp_path / "zimbra.log.1"
    path.write_text("x\n")
    jan_2025 = time.mktime((2025, 1, 2, 12, 0, 0, 0, 0, -1))
    os.utime(path, (jan_2025, jan_2025))
    years = YearGuess.for_file(str(path), None)
    dec = syslog_ts(b"Dec 31 23:00:00 mail x[1]: y", years)
    jan = syslog_ts(b"Jan  2 01:00:00 mail x[1]: y", years)
    assert dec is not None and jan is not None
    assert dec[0] == day_start(2024, 12, 31) + 23 * 3600
    assert jan[0] == day_start(2025, 1, 2) + 3600


def test_zimbra_log_year_follows_mailbox_log(tmp_path: Path) -> None:
    copy = tmp_path / "zimbra.log"
    copy.write_bytes(MTA.read_bytes())  # mtime: now, not 2024
    result = scan(ScanInputs(mailbox=(MAILBOX,), audit=(AUDIT,), mta=(copy,)), settings())
    assert "smtp_auth" in result.suspects[0].rules()  # joined in time with the 2024 logs


def test_rfc3339_timestamps(tmp_path: Path) -> None:
    months = {"Mar": "03"}

    def iso(m: re.Match[str]) -> str:
        return f"2024-{months[m[1]]}-{int(m[2]):02d}T{m[3]}.123456+01:00"

    text = re.sub(r"^(Mar) ([ \d]\d) (\d\d:\d\d:\d\d)", iso, MTA.read_text(), flags=re.M)
    assert "2024-03-15T03:38:55.123456+01:00 mail" in text
    rfc = tmp_path / "zimbra.log"
    rfc.write_text(text)
    result = scan(ScanInputs(mailbox=(MAILBOX,), audit=(AUDIT,), mta=(rfc,)), settings())
    bob = result.suspects[0]
    assert bob.account == "bob@example.com" and "smtp_auth" in bob.rules()
    stamp = syslog_ts(b"2025-11-27T16:26:19.504798+03:00 mail postfix/smtpd[1]: x", YearGuess(1))
    assert stamp is not None
    assert abs(stamp[0] - (day_start(2025, 11, 27) + 16 * 3600 + 26 * 60 + 19.504798)) < 1e-6
