"""Per-account aggregation of rule firings into one Signal per rule."""

from __future__ import annotations

from collections.abc import Iterable

from zcomp.detect.model import EVIDENCE_LINES, Evidence, Signal

# A rule's weight counts its three heaviest firings: repeats matter, but one rule firing a
# thousand times must not bury the other rules of the same account.
TOP_FIRINGS = 3


class Hit:
    __slots__ = ("rule", "count", "top", "evidence", "reason")

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.count = 0
        self.top: list[float] = []
        self.evidence: list[Evidence] = []
        self.reason = ""

    def add(self, weight: float, evidence: Iterable[Evidence], reason: str) -> None:
        self.count += 1
        self.top = sorted([*self.top, weight], reverse=True)[:TOP_FIRINGS]
        for ev in evidence:
            if len(self.evidence) >= EVIDENCE_LINES:
                break
            if ev not in self.evidence:
                self.evidence.append(ev)
        self.reason = reason

    def refresh(self, evidence: Iterable[Evidence], reason: str) -> None:
        """A window rule still above its limit: a larger count, no extra weight."""
        for ev in evidence:
            if len(self.evidence) >= EVIDENCE_LINES:
                break
            if ev not in self.evidence:
                self.evidence.append(ev)
        self.reason = reason

    @property
    def weight(self) -> float:
        return round(sum(self.top), 3)

    def signal(self) -> Signal:
        return Signal(self.rule, self.weight, self.reason, tuple(self.evidence))
