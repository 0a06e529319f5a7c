"""Run every tests/bench/bench_*.py (or those named), each REPEATS times (a module may lower it
with its own REPEATS), and write one JSON report plus a short table.

    python -m tests.bench [bench_scan ...] [--repeats N] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
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
    for name in names:
        if args.names and name not in args.names:
            continue
        module = importlib.import_module(f"tests.bench.{name}")
        first_line = (module.__doc__ or name).strip().splitlines()[0]
        times = min(args.repeats, getattr(module, "REPEATS", args.repeats))
        repeats[name] = times
        for n in range(times):
            print(f"== {name} ({n + 1}/{times}): {first_line}", flush=True)
            report.start(name)
            module.main()
            figures += report.taken()
    summaries = report.summarise(figures)
    report.write(args.out, report.document(summaries, repeats, time.perf_counter() - started))
    print()
    print(report.table(summaries))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
