"""Sandbox speed: requests per second over keep-alive connections (target >= 500/s), start-up
of a 2-server sandbox (target < 0.5 s), stop with an idle keep-alive client (target < 2 s) and
bulk account creation (2000 accounts, target < 2 s). Figures only: the tests assert no times.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tests.bench.report import figure
from tests.sandbox.rawsoap import ADMIN, MAIL, RawSoap
from zcomp.sandbox import Sandbox, SandboxOptions

DURATION_S = 1.5


def _run(sb: Sandbox, token: str, body: str, threads: int) -> float:
    counts = [0] * threads
    stop = time.perf_counter() + DURATION_S

    def worker(i: int) -> None:
        c = RawSoap(sb.admin_url)
        c.token = token
        try:
            while time.perf_counter() < stop:
                r = c.xml(body)
                assert r.status == 200
                counts[i] += 1
        finally:
            c.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start)


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _lifecycle() -> None:
    sb = Sandbox(SandboxOptions(servers=2))
    started = _seconds(sb.start)
    print(f"sandbox start, 2 servers:      {started:7.3f} s", flush=True)
    figure("start_s", "sandbox start, 2 servers", started, "s", "< 0.5")
    added = _seconds(lambda: sb.add_accounts(2000))
    print(f"sandbox add_accounts(2000):    {added:7.3f} s")
    figure("add_2000_s", "sandbox add_accounts(2000)", added, "s", "< 2")
    client = RawSoap(sb.admin_url)
    client.admin_login()  # keeps its connection open through stop()
    stopped = _seconds(sb.stop)
    print(f"sandbox stop, idle keep-alive: {stopped:7.3f} s", flush=True)
    figure("stop_s", "sandbox stop with an idle keep-alive client", stopped, "s", "< 2")
    client.close()


def main() -> None:
    _lifecycle()
    with Sandbox(SandboxOptions(seed="demo")) as sb:
        admin = RawSoap(sb.admin_url)
        token = admin.admin_login()
        admin.close()
        requests = {
            "NoOp": f'<NoOpRequest xmlns="{MAIL}"/>',
            "GetAccount": f'<GetAccountRequest xmlns="{ADMIN}" attrs="zimbraAccountStatus">'
            '<account by="name">alice@sandbox.test</account></GetAccountRequest>',
        }
        for name, body in requests.items():
            for threads in (1, 4):
                rate = _run(sb, token, body, threads)
                print(f"sandbox {name:<10} threads={threads}: {rate:7.0f} req/s", flush=True)
                figure(
                    f"{name.lower()}_{threads}t",
                    f"sandbox {name}, {threads} client thread(s)",
                    rate,
                    "req/s",
                    ">= 500",
                )


if __name__ == "__main__":
    main()
