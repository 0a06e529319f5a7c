"""Sandbox time: wall time plus an offset tests can advance (token expiry, account caches)."""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, in sandbox time."""
        with self._lock:
            return time.time() + self._offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


def gentime(epoch: float) -> str:
    """LDAP generalized time as Zimbra writes it (yyyyMMddHHmmss.SSSZ)."""
    t = time.gmtime(epoch)
    return time.strftime("%Y%m%d%H%M%S", t) + f".{int(epoch * 1000) % 1000:03d}Z"


def parse_gentime(value: str) -> float | None:
    """Epoch seconds of an LDAP generalized time (yyyyMMddHHmmss[.SSS]Z), or None."""
    import calendar

    head, _, rest = value.partition(".")
    head = head.rstrip("Z")
    try:
        t = time.strptime(head[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    millis = rest.rstrip("Z")
    frac = int(millis) / 10 ** len(millis) if millis.isdigit() else 0.0
    return calendar.timegm(t) + frac
