"""Sandbox time: wall time plus an offset tests can advance (token expiry, account caches).

One Clock is shared by the whole sandbox world. Its millisecond stamps strictly increase: a
real Zimbra never writes two zimbraPasswordHistory entries ("millis:hash") in the same
millisecond (each SetPassword is an LDAP round trip), and LdapProvisioning.updateHistory sorts
the entries as strings, so equal stamps would order them by their random salt instead of by
age and drop the wrong one. The sandbox answers in microseconds, hence the explicit guarantee.
"""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._last_ms = 0  # the latest stamp handed out by now_ms()
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, in sandbox time; never behind a stamp already given."""
        with self._lock:
            return max(time.time() + self._offset, self._last_ms / 1000)

    def now_ms(self) -> int:
        """Milliseconds since the epoch; every call returns a larger value than the last."""
        with self._lock:
            wall_ms = int((time.time() + self._offset) * 1000)
            self._last_ms = max(wall_ms, self._last_ms + 1)
            return self._last_ms

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
            # Stamps may run ahead of wall time after a burst; they move forward by as much.
            self._last_ms += int(seconds * 1000)


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
