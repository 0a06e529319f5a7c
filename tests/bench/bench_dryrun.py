"""A 100,000-account `lockdown --dry-run` against the sandbox: the peak memory of zcomp.

Results are streamed (each account's plan printed and dropped), so the peak must stay under
200 MiB whatever the number of accounts. The real CLI runs in its own process with 16 workers,
its stdout (100,000 JSON plans) to /dev/null. 10,000 accounts first, for the trend.

The peak is the child's own high-water mark (VmHWM in /proc/PID/status, which only grows),
read every 20 ms until it exits. Not wait4's ru_maxrss: Linux keeps in it the resident set of
the process image the child had between fork and exec, that is a copy of this benchmark with
its in-process sandbox of 100,000 accounts (some 300 MiB), which is not zcomp's memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.peak import PeakWatcher
from tests.bench.report import figure
from tests.reliability.harness import ADMIN, ADMIN_PASSWORD, write_list
from zcomp.sandbox import Sandbox, SandboxOptions

SIZES = (10_000, 100_000)
WORKERS = 16


def dry_run(url: str, listing: Path, state: Path) -> tuple[float, float, int]:
    """Wall seconds, peak MiB, exit status."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZCOMP_")}
    env.update(ZCOMP_PASSWORD=ADMIN_PASSWORD, ZCOMP_STATE_DIR=str(state), ZCOMP_TOKEN_CACHE="off")
    argv = [sys.executable, "-m", "zcomp", "--url", url, "--admin", ADMIN, "--json"]
    argv += ["lockdown", "--dry-run", "--from", str(listing), "--yes", "--workers", str(WORKERS)]
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own CLI
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    watcher = PeakWatcher(child)
    child.wait()
    return time.perf_counter() - started, watcher.wait() / 1024, child.returncode


REPEATS = 1  # about 25 minutes a run


def main() -> None:
    print(f"lockdown --dry-run --workers {WORKERS}, stdout to /dev/null")
    print("accounts   wall time  accounts/s  peak mem  exit")
    with (
        Sandbox(SandboxOptions(servers=1, seed="none")) as sb,
        tempfile.TemporaryDirectory() as tmp,
    ):
        names: list[str] = []
        for size in SIZES:
            names += sb.add_accounts(size - len(names), prefix=f"d{size}x")
            listing = write_list(Path(tmp) / f"{size}.txt", names)
            state = Path(tmp) / f"state{size}"
            state.mkdir()
            seconds, peak, code = dry_run(sb.admin_url, listing, state)
            target = "< 200" if size >= 100_000 else None
            figure(f"peak_{size}", f"dry run of {size:,} accounts: peak", peak, "MiB", target)
            figure(f"rate_{size}", f"dry run of {size:,} accounts", size / seconds, "accounts/s")
            print(
                f"{size:>8}  {seconds:8.1f} s  {size / seconds:10.0f}  {peak:6.1f} MiB  {code:>4}"
            )


if __name__ == "__main__":
    main()
