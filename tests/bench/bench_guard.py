"""Messages per second through the guard milter and its peak memory after 100,000 messages.

The guard runs in its own process (as `zcomp guard serve` does, contained list in memory);
this process is the MTA: the milter protocol over TCP, messages of 10 recipients with the
headers a Zimbra web client writes, 10 messages per connection, 5,000 distinct senders (so
the rate tables fill and are pruned), a few Standard-client bulk sends that get held. Peak
memory is the guard process's VmHWM from /proc.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.bench.report import figure
from tests.guard.milter import AJAX_MAILER, STANDARD_MAILER, MilterClient

MESSAGES = 100_000
PER_CONNECTION = 10
SENDERS = 5_000

SERVER = """
import sys, threading
from zcomp.guard.contained import ContainedList
from zcomp.guard.rules import Rules
from zcomp.guard.server import Guard, GuardThread
from zcomp.guard.settings import GuardSettings
contained = ContainedList(lambda: {"bob@sandbox.test"}, ttl_s=10, max_age_s=1e9)
contained.refresh()
rules = Rules(GuardSettings(listen="inet:127.0.0.1:0"), contained.lookup)
guard = Guard(rules, log=lambda _l: None)
thread = GuardThread(guard, "inet:127.0.0.1:0").start()
print(thread.port, flush=True)
sys.stdin.read()  # until the benchmark closes it
print(guard.stats.messages, guard.stats.held, flush=True)
"""


def _vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])  # kB
    return 0


def main() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    port = int(child.stdout.readline())
    start_kb = _vm(child.pid, "VmRSS")
    rcpts = [f"user{i}@example.net" for i in range(10)]
    began = time.perf_counter()
    sent = 0
    while sent < MESSAGES:
        with MilterClient(("127.0.0.1", port)) as client:
            client.connect("10.0.0.5")
            for _ in range(PER_CONNECTION):
                sender = f"sender{sent % SENDERS}@sandbox.test"
                mailer = STANDARD_MAILER if sent % 1000 else AJAX_MAILER
                many = rcpts * 6 if sent % 997 == 0 else rcpts  # now and then a bulk send
                client.message(
                    sender,
                    many,
                    headers={"X-Mailer": mailer, "X-Originating-IP": "[203.0.113.7]"},
                    queue_id=f"{sent:X}",
                )
                sent += 1
    elapsed = time.perf_counter() - began
    peak_kb = _vm(child.pid, "VmHWM")
    child.stdin.close()
    messages, held = child.stdout.read().split()
    child.wait(30)
    child.stdout.close()
    print(
        f"guard: {sent} messages of 10 recipients in {elapsed:.1f} s = "
        f"{sent / elapsed:,.0f} messages/s ({sent / elapsed * 60:,.0f}/min); "
        f"guard saw {messages}, held {held}"
    )
    figure("messages_per_s", "guard milter, 10 recipients each", sent / elapsed, "msg/s")
    figure("peak_mib", f"guard milter peak memory after {sent:,} messages", peak_kb / 1024, "MiB")
    print(
        f"guard: VmHWM {peak_kb / 1024:.1f} MiB after {sent} messages (VmRSS at start "
        f"{start_kb / 1024:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
