"""A batch lockdown of 500 phished accounts through a proxy adding 50 ms to every request.

With W workers and R requests per account, no client can beat W / (R x latency) accounts per
second: each account's requests go one after another. The figure is how close zcomp comes to
that bound with 1, 4 and 16 workers (it must reach 0.8 at 16). Each run is the real CLI
(`python -m zcomp lockdown --from FILE --yes --json`) in its own process, against a fresh
sandbox.

Where the time goes: the CPU per account of the zcomp process, and of this process, which runs
the sandbox and the proxy (one Python process: at most one core, so 1000 / its CPU ms per
account is the most accounts a second it can serve to any client).
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bench.report import figure
from tests.reliability.harness import Zcomp, attack_accounts, write_list
from tests.reliability.proxy import LossyProxy
from zcomp.sandbox import Sandbox, SandboxOptions

ACCOUNTS = 500
LATENCY_S = 0.050
REPEATS = 1  # about 4 minutes a run
REQUESTS_PER_ACCOUNT = 3  # resolve, contain (+ snapshot), clean; the login is once per run


@dataclass(frozen=True)
class Batch:
    seconds: float
    results: dict[str, int]
    requests: int
    zcomp_cpu_ms: float  # per account: the zcomp process
    server_cpu_ms: float  # per account: this process, i.e. the sandbox and the proxy


def one_batch(sb: Sandbox, root: Path, workers: int) -> Batch:
    names = attack_accounts(sb, ACCOUNTS, prefix=f"w{workers}x")
    listing = write_list(root / f"w{workers}.txt", names)
    zc = Zcomp.host(root / f"w{workers}", sb.admin_url, workers=workers)
    with LossyProxy(sb.urls[0], latency_s=LATENCY_S) as proxy:
        own, children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        run = zc.via(proxy).run("--json", "lockdown", "--from", str(listing), "--yes")
        elapsed = time.perf_counter() - started
        own, children = _cpu(resource.RUSAGE_SELF) - own, _cpu(resource.RUSAGE_CHILDREN) - children
        requests = proxy.requests
    counts: dict[str, int] = {}
    for result in run.results().values():
        counts[result] = counts.get(result, 0) + 1
    per = 1000 / ACCOUNTS
    return Batch(elapsed, counts, requests, children * per, own * per)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    print(
        f"{ACCOUNTS} accounts, {LATENCY_S * 1000:.0f} ms per request, "
        f"{REQUESTS_PER_ACCOUNT} requests per account (+1 login per run)"
    )
    print(
        "workers  wall time  accounts/s  bound/s  ratio  requests  CPU ms/account: zcomp"
        "  sandbox+proxy  results"
    )
    for workers in (1, 4, 16):
        # A fresh sandbox each: the sandbox's mail queue (every account has mail queued) and
        # directory grow with every batch, and the later runs would pay for the earlier ones.
        with Sandbox(SandboxOptions(servers=1)) as sb, tempfile.TemporaryDirectory() as tmp:
            batch = one_batch(sb, Path(tmp), workers)
        rate = ACCOUNTS / batch.seconds
        bound = workers / (REQUESTS_PER_ACCOUNT * LATENCY_S)
        figure(f"rate_{workers}w", f"batch, {workers} workers", rate, "accounts/s")
        target = ">= 0.8" if workers == 16 else None
        label = f"batch, {workers} workers / bound"
        figure(f"ratio_{workers}w", label, rate / bound, "", target)
        if workers == 16:
            # The sandbox and the proxy run in this one Python process (one core at most): the
            # most accounts a second they can serve, whatever the client.
            figure("zcomp_cpu_16w", "batch, 16 workers: zcomp CPU", batch.zcomp_cpu_ms, "ms/acct")
            figure(
                "server_cpu_16w",
                "batch, 16 workers: sandbox+proxy CPU",
                batch.server_cpu_ms,
                "ms/acct",
            )
            figure(
                "server_ceiling",
                "batch: the sandbox+proxy process's ceiling (1 core)",
                1000 / batch.server_cpu_ms,
                "accounts/s",
            )
        print(
            f"{workers:>7}  {batch.seconds:8.1f} s  {rate:10.1f}  {bound:7.1f}  "
            f"{rate / bound:5.2f}  {batch.requests:>8}  {batch.zcomp_cpu_ms:21.1f}"
            f"  {batch.server_cpu_ms:13.1f}  {batch.results}"
        )


if __name__ == "__main__":
    main()
