"""Which account is behind a client address, for nginx lines that name none (§4).

An address belongs to the account that last logged in, sent or changed a setting from it,
for as long as a web session lives. A proxy line that arrives before that login (nginx logs
whole seconds, audit.log milliseconds, so the same moment sorts nginx first) waits a little.
Both tables are capped: a day of logs from a large site keeps memory flat.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from zcomp.detect.events import WebAction
from zcomp.detect.netaddr import is_public

# How long an address stays with the account that used it: a working day of webmail. Longer
# than Zimbra's idle timeout on purpose, since nginx keeps logging for the same session.
SESSION_TTL = 12 * 3600.0
# How long an unclaimed proxy line waits for the login that explains it.
WAIT_TTL = 120.0
MAX_ADDRESSES = 65_536
MAX_WAITING = 10_000


class WebJoin:
    def __init__(self) -> None:
        self._owners: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._waiting: dict[str, list[WebAction]] = {}
        self._order: deque[tuple[float, str]] = deque()  # (time, address) of waiting lines

    def __len__(self) -> int:
        return len(self._owners) + len(self._order)

    def owner(self, ip: str | None, account: str, ts: float) -> list[WebAction]:
        """`account` used `ip` at `ts`; returns the waiting proxy lines it now explains."""
        if ip is None or not is_public(ip):
            return []
        self._owners[ip] = (account, ts)
        self._owners.move_to_end(ip)
        if len(self._owners) > MAX_ADDRESSES:
            self._owners.popitem(last=False)
        return self._waiting.pop(ip, [])

    def action(self, e: WebAction) -> str | None:
        """The account behind a proxy line, or None while it waits (or is from no account)."""
        if not is_public(e.ip):
            return None
        found = self._owners.get(e.ip)
        if found is not None and -WAIT_TTL <= e.ts - found[1] <= SESSION_TTL:
            return found[0]
        if len(self._order) < MAX_WAITING:
            self._waiting.setdefault(e.ip, []).append(e)
            self._order.append((e.ts, e.ip))
        return None

    def expire(self, now: float) -> None:
        order = self._order
        while order and order[0][0] < now - WAIT_TTL:
            ts, ip = order.popleft()
            waiting = self._waiting.get(ip)
            if waiting:
                kept = [w for w in waiting if w.ts >= now - WAIT_TTL]
                if kept:
                    self._waiting[ip] = kept
                else:
                    del self._waiting[ip]
