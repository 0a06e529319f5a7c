"""One report for every benchmark: each bench_*.py prints its own lines and hands its figures
here with `figure(...)`; `python -m tests.bench` repeats each benchmark, then writes one JSON
file (machine, Python, date, each figure's median and spread) and prints a short table.

A target is a comparison such as "< 1.5" or ">= 200"; it is checked against the median.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import os
import platform
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Figure:
    bench: str  # the module that measured it, e.g. "bench_scan"
    key: str  # stable name within the bench, e.g. "mailbox_mbs"
    label: str  # what a reader sees in the table
    value: float
    unit: str
    target: str | None = None  # e.g. ">= 200"


@dataclass
class Summary:
    bench: str
    key: str
    label: str
    unit: str
    target: str | None
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> float:
        """max - min over the repeats (0 with one repeat)."""
        return max(self.values) - min(self.values)

    @property
    def met(self) -> bool | None:
        if not self.target:
            return None
        op, _, bound = self.target.partition(" ")
        return _COMPARE[op](self.median, float(bound))


_current: list[Figure] = []
_bench = ["?"]


def figure(key: str, label: str, value: float, unit: str, target: str | None = None) -> None:
    """Record one figure of the benchmark now running (a no-op outside `python -m tests.bench`
    as far as the report goes: the list is simply never read)."""
    if target is not None:
        op, _, bound = target.partition(" ")
        if op not in _COMPARE:
            raise ValueError(f"bad target {target!r}")
        float(bound)
    _current.append(Figure(_bench[0], key, label, float(value), unit, target))


def start(bench: str) -> None:
    _bench[0] = bench
    _current.clear()


def taken() -> list[Figure]:
    out = list(_current)
    _current.clear()
    return out


def summarise(figures: list[Figure]) -> list[Summary]:
    by_key: dict[tuple[str, str], Summary] = {}
    for f in figures:
        s = by_key.get((f.bench, f.key))
        if s is None:
            s = by_key[(f.bench, f.key)] = Summary(f.bench, f.key, f.label, f.unit, f.target)
        s.values.append(f.value)
    return list(by_key.values())


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "system": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def commit() -> str | None:
    done = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


def document(
    summaries: list[Summary], repeats: dict[str, int], seconds: float
) -> dict[str, object]:
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit(),
        "python": platform.python_version(),
        "machine": machine(),
        "seconds": round(seconds, 1),
        "repeats": repeats,
        "figures": [
            {
                **{k: v for k, v in asdict(s).items() if k != "values"},
                "median": s.median,
                "min": min(s.values),
                "max": max(s.values),
                "spread": s.spread,
                "values": s.values,
                "met": s.met,
            }
            for s in summaries
        ],
    }


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(summaries: list[Summary]) -> str:
    rows = [("figure", "median", "spread", "unit", "n", "target")]
    for s in summaries:
        verdict = "" if s.met is None else ("met" if s.met else "MISSED")
        rows.append(
            (
                s.label,
                _number(s.median),
                "-" if len(s.values) < 2 else _number(s.spread),
                s.unit,
                str(len(s.values)),
                f"{s.target} {verdict}".strip() if s.target else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in (1, 2)]
        cells += [r[3].ljust(widths[3]), r[4].rjust(widths[4]), r[5]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def write(path: Path, doc: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
