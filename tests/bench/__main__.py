"""Run every tests/bench/bench_*.py module's main() in turn and print its figures."""

import importlib
import pkgutil
import sys

import tests.bench as bench_pkg


def run() -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench_pkg.__path__) if m.name.startswith("bench_")
    )
    wanted = set(sys.argv[1:])
    for name in names:
        if wanted and name not in wanted:
            continue
        print(f"== {name}", flush=True)
        importlib.import_module(f"tests.bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(run())
