"""One run of one benchmark, as `python -m tests.bench` starts it: its figures go to a JSON
file, written even when the benchmark fails (a missed target exits non-zero).

    python -m tests.bench.one bench_scan OUT.json
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from pathlib import Path

from tests.bench import report


def main(name: str, out: Path) -> None:
    module = importlib.import_module(f"tests.bench.{name}")
    report.start(name)
    try:
        module.main()
    finally:
        rows = [dataclasses.asdict(f) for f in report.taken()]
        out.write_text(json.dumps(rows))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
