"""Wall time of `zcomp demo` in a fresh process (the issue asks for under 10 seconds)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from tests.bench.report import figure


def main() -> None:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "zcomp", "demo"], capture_output=True, check=False
        )
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            print(done.stderr.decode()[-2000:])
            raise SystemExit(f"zcomp demo exited {done.returncode}")
    figure("seconds", "zcomp demo", statistics.median(times), "s", "< 10")
    print(f"zcomp demo: median {statistics.median(times):.2f} s, max {max(times):.2f} s (5 runs)")


if __name__ == "__main__":
    main()
