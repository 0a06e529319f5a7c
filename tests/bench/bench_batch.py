"""A batch lockdown of 500 phished accounts through a proxy adding 50 ms to every request.

With W workers and R requests per account, no client can beat W / (R x latency) accounts per
second: each account's requests go one after another. The figure is how close zcomp comes to
that bound with 1, 4 and 16 workers (it must reach 0.8 at 16). Each run is the real CLI
(`python -m zcomp lockdown --from FILE --yes --json`) in its own process.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.bench.report import figure
from tests.reliability.harness import Zcomp, attack_accounts, write_list
from tests.reliability.proxy import LossyProxy
from zcomp.sandbox import Sandbox, SandboxOptions

ACCOUNTS = 500
LATENCY_S = 0.050
REPEATS = 1  # about 4 minutes a run
REQUESTS_PER_ACCOUNT = 3  # resolve, contain (+ snapshot), clean; the login is once per run


def one_batch(sb: Sandbox, root: Path, workers: int) -> tuple[float, dict[str, int], int]:
    names = attack_accounts(sb, ACCOUNTS, prefix=f"w{workers}x")
    listing = write_list(root / f"w{workers}.txt", names)
    zc = Zcomp.host(root / f"w{workers}", sb.admin_url, workers=workers)
    with LossyProxy(sb.urls[0], latency_s=LATENCY_S) as proxy:
        started = time.perf_counter()
        run = zc.via(proxy).run("--json", "lockdown", "--from", str(listing), "--yes")
        elapsed = time.perf_counter() - started
        requests = proxy.requests
    counts: dict[str, int] = {}
    for result in run.results().values():
        counts[result] = counts.get(result, 0) + 1
    return elapsed, counts, requests


def main() -> None:
    print(
        f"{ACCOUNTS} accounts, {LATENCY_S * 1000:.0f} ms per request, "
        f"{REQUESTS_PER_ACCOUNT} requests per account (+1 login per run)"
    )
    print("workers  wall time  accounts/s  bound/s  ratio  requests  results")
    with Sandbox(SandboxOptions(servers=1)) as sb, tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 4, 16):
            elapsed, counts, requests = one_batch(sb, Path(tmp), workers)
            rate = ACCOUNTS / elapsed
            bound = workers / (REQUESTS_PER_ACCOUNT * LATENCY_S)
            figure(f"rate_{workers}w", f"batch, {workers} workers", rate, "accounts/s")
            target = ">= 0.8" if workers == 16 else None
            label = f"batch, {workers} workers / bound"
            figure(f"ratio_{workers}w", label, rate / bound, "", target)
            print(
                f"{workers:>7}  {elapsed:8.1f} s  {rate:10.1f}  {bound:7.1f}  "
                f"{rate / bound:5.2f}  {requests:>8}  {counts}"
            )


if __name__ == "__main__":
    main()
