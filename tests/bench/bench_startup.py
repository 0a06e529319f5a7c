"""Startup cost: `zcomp --help` wall time against `python -c "import click"`.

Target: ratio < 1.5 (the root group imports neither zeep, requests, keyring nor rich).
Run: .venv/bin/python -m tests.bench bench_startup
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.report import figure

REPO = Path(__file__).resolve().parents[2]
RUNS = 25


def wall_ms(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    return (time.perf_counter() - start) * 1000


def median_ms(args: list[str], env: dict[str, str], runs: int = RUNS) -> float:
    wall_ms(args, env)  # warm the page cache and .pyc files
    return statistics.median(wall_ms(args, env) for _ in range(runs))


def main() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    python = sys.executable
    baseline = median_ms([python, "-c", "import click"], env)
    help_ms = median_ms([python, "-m", "zcomp", "--help"], env)
    version_ms = median_ms([python, "-m", "zcomp", "--version"], env)
    print(f"python -c 'import click'  median {baseline:7.1f} ms  (n={RUNS})")
    print(f"zcomp --help              median {help_ms:7.1f} ms  ratio {help_ms / baseline:.2f}x")
    print(
        f"zcomp --version           median {version_ms:7.1f} ms  ratio {version_ms / baseline:.2f}x"
    )
    figure("click_ms", "python -c 'import click'", baseline, "ms")
    figure("help_ms", "zcomp --help", help_ms, "ms")
    figure("help_ratio", "zcomp --help / import click", help_ms / baseline, "x", "< 1.5")
    print(f"target ratio < 1.5x: {'met' if help_ms / baseline < 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
