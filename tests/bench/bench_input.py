"""A 100,000-line --from file: read and validated before the first request (under 5 s).

The real CLI (`python -m zcomp lockdown --dry-run --from FILE --yes`) runs through a proxy; the
figure is the time from starting the process to the first request reaching the proxy, so it
includes the interpreter's start-up, the imports, reading, cleaning and de-duplicating every
line. The process is then stopped: what follows is the dry run itself (see bench_dryrun).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.bench.report import figure
from tests.reliability.harness import ADMIN, ADMIN_PASSWORD
from tests.reliability.proxy import LossyProxy
from zcomp.sandbox import Sandbox, SandboxOptions

LINES = 100_000


def _plain(i: int) -> str:
    return f"user{i:06d}@sandbox.test"


FORMATS: dict[str, tuple[bytes, Callable[[int], str], str]] = {
    "one address per line": (b"", _plain, "\n"),
    "spreadsheet CSV (BOM, CRLF, Email Address,Name)": (
        "\ufeffEmail Address,Name\r\n".encode(),
        lambda i: f'"User {i}, Jr" <{_plain(i)}>,User {i}',
        "\r\n",
    ),
    "GAM export (primaryEmail,name.fullName)": (
        b"primaryEmail,name.fullName\n",
        lambda i: f"{_plain(i)},User {i}",
        "\n",
    ),
}


def _write(path: Path, head: bytes, line: Callable[[int], str], end: str) -> None:
    with path.open("wb") as out:
        out.write(head)
        out.write("".join(line(i) + end for i in range(LINES)).encode())


def time_to_first_request(url: str, listing: Path, state: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZCOMP_")}
    env.update(ZCOMP_PASSWORD=ADMIN_PASSWORD, ZCOMP_STATE_DIR=str(state), ZCOMP_TOKEN_CACHE="off")
    with LossyProxy(url) as proxy:
        argv = [sys.executable, "-m", "zcomp", "--url", proxy.admin_url, "--admin", ADMIN]
        argv += ["lockdown", "--dry-run", "--from", str(listing), "--yes", "--json"]
        started = time.monotonic()
        child = subprocess.Popen(  # noqa: S603 - our own CLI
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            while not proxy.exchanges and child.poll() is None:
                time.sleep(0.005)
            if not proxy.exchanges:
                raise RuntimeError(f"no request: {child.stderr.read() if child.stderr else ''!r}")
            return proxy.exchanges[0].at - started
        finally:
            child.kill()
            child.communicate()


def main() -> None:
    print(f"{LINES:,} lines per file; time from process start to the first request")
    with Sandbox(SandboxOptions(servers=1)) as sb, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for label, (head, line, end) in FORMATS.items():
            listing = root / "list.csv"
            _write(listing, head, line, end)
            size = listing.stat().st_size / 1e6
            seconds = time_to_first_request(sb.admin_url, listing, root / "state")
            print(f"  {label:<52} {size:5.1f} MB  {seconds:5.2f} s")
            key = re.sub(r"\W+", "_", label.lower()).strip("_")
            figure(key, f"--from {LINES:,} lines, {label}", seconds, "s", "< 5")


if __name__ == "__main__":
    main()
