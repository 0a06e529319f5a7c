"""Baseline capture rate on the sandbox: `python -m tests.bench.bench_baseline`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.bench.report import figure
from tests.lifecycle.envs import close_services, make_services
from zcomp.core.baseline import capture_all
from zcomp.sandbox import Sandbox, SandboxOptions

SIZES = (2000, 10000)


def main() -> None:
    for size in SIZES:
        with Sandbox(SandboxOptions(seed="demo")) as sb, tempfile.TemporaryDirectory() as tmp:
            sb.add_accounts(size)
            env = make_services(sb, Path(tmp))
            try:
                report = capture_all(env)
            finally:
                close_services(env)
        figure(f"rate_{size}", f"baseline capture, {size} accounts", report.rate, "accounts/s")
        print(
            f"baseline capture --all: {report.captured} accounts, {report.pages} pages, "
            f"{report.round_trips} round trips, {report.seconds:.2f}s, "
            f"{report.rate:.0f} accounts/s"
        )


if __name__ == "__main__":
    main()
