"""Run every tests/bench/bench_*.py (or those named), each REPEATS times (a module may lower it
with its own REPEATS), and write one JSON report plus a short table.

Each run is its own process: one benchmark's memory (the dry run's sandbox holds 100,000
accounts) must not become the next one's (a child forked from a large process inherits its
peak RSS), and a benchmark that fails (a missed target exits non-zero) must not stop the
others. The figures a failed run recorded are kept; the exit status is 1 when any failed.

    python -m tests.bench [bench_scan ...] [--repeats N] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tests.bench as bench_pkg
from tests.bench import report

DEFAULT_OUT = report.REPO / "build" / "bench.json"


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("names", nargs="*", help="bench modules to run (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench_pkg.__path__) if m.name.startswith("bench_")
    )
    unknown = set(args.names) - set(names)
    if unknown:
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))} (have: {', '.join(names)})")
    started = time.perf_counter()
    figures: list[report.Figure] = []
    repeats: dict[str, int] = {}
    failed: list[str] = []
    for name in names:
        if args.names and name not in args.names:
            continue
        module = importlib.import_module(f"tests.bench.{name}")
        first_line = (module.__doc__ or name).strip().splitlines()[0]
        times = min(args.repeats, getattr(module, "REPEATS", args.repeats))
        repeats[name] = times
        for n in range(times):
            print(f"== {name} ({n + 1}/{times}): {first_line}", flush=True)
            got, code = _run_one(name)
            figures += got
            if code != 0:
                failed.append(f"{name} run {n + 1} exited {code}")
    summaries = report.summarise(figures)
    doc = report.document(summaries, repeats, time.perf_counter() - started)
    doc["failed"] = failed
    report.write(args.out, doc)
    print()
    print(report.table(summaries))
    print(f"\nwrote {args.out}")
    for line in failed:
        print(f"FAILED: {line}")
    return 1 if failed else 0


def _run_one(name: str) -> tuple[list[report.Figure], int]:
    """One run of one benchmark in a fresh process: its figures and its exit status."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        code = subprocess.run(  # noqa: S603 - our own benchmark
            [sys.executable, "-m", "tests.bench.one", name, out.name], check=False
        ).returncode
        text = Path(out.name).read_text()
    rows = json.loads(text) if text.strip() else []
    return [report.Figure(**row) for row in rows], code


if __name__ == "__main__":
    sys.exit(run())
