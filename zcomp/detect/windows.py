"""Sliding windows over log time; old entries expire as newer ones arrive, so memory is
bounded by the busiest window, not by the length of the log."""

from __future__ import annotations

from collections import deque
from itertools import islice

from zcomp.detect.model import Evidence


class SumWindow:
    """Sum of amounts within `span` seconds of the newest entry, with an edge trigger."""

    __slots__ = ("span", "items", "total", "armed", "peak")

    def __init__(self, span: float) -> None:
        self.span = span
        self.items: deque[tuple[float, int, Evidence]] = deque()
        self.total = 0
        self.armed = True
        self.peak = 0

    def add(self, ts: float, n: int, ev: Evidence) -> None:
        # Called for every send of every account: locals, not attributes, in the loop.
        items = self.items
        newest = items[-1][0] if items else ts
        if ts < newest:
            if ts < newest - self.span:
                return  # arrived too late to share a window with anything kept
            pos = len(items)
            floor = max(0, pos - 256)  # nearly sorted input: a few steps back, never O(n)
            while pos > floor and items[pos - 1][0] > ts:
                pos -= 1
            items.insert(pos, (ts, n, ev))
        else:
            items.append((ts, n, ev))
            newest = ts
        total = self.total + n
        limit = newest - self.span
        while items[0][0] < limit:
            total -= items.popleft()[1]
        self.total = total
        if total > self.peak:
            self.peak = total

    def crossed(self, threshold: int) -> bool:
        """True once each time the total goes above threshold (re-armed when back under)."""
        if self.total > threshold:
            if self.armed:
                self.armed = False
                return True
            return False
        self.armed = True
        return False

    def evidence(self, limit: int) -> list[Evidence]:
        return [ev for _, _, ev in islice(self.items, limit)]


class DistinctWindow:
    """Distinct keys (client addresses) seen within `span` seconds of the newest entry."""

    __slots__ = ("span", "items", "armed", "newest", "counts")

    def __init__(self, span: float) -> None:
        self.span = span
        self.items: deque[tuple[float, str, Evidence]] = deque()
        self.armed = True
        self.newest = float("-inf")
        self.counts: dict[str, int] = {}  # entries per key in the window: distinct = len

    def add(self, ts: float, key: str, ev: Evidence) -> int:
        items = self.items
        counts = self.counts
        items.append((ts, key, ev))
        counts[key] = counts.get(key, 0) + 1
        self.newest = max(self.newest, ts)
        limit = self.newest - self.span
        while items and items[0][0] < limit:
            old = items.popleft()[1]
            left = counts[old] - 1
            if left:
                counts[old] = left
            else:
                del counts[old]
        return len(counts)

    def firsts(self, limit: int) -> list[Evidence]:
        """The first line of each distinct key, oldest first."""
        seen: dict[str, Evidence] = {}
        for _, key, ev in self.items:
            seen.setdefault(key, ev)
            if len(seen) >= limit:
                break
        return list(seen.values())
