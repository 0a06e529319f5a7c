"""A child process's own peak memory, its worker processes included, sampled from /proc.

Not ru_maxrss: on Linux a child starts from its parent's high-water mark (fork copies it and
exec keeps it), so a benchmark run from a large process would report the parent's size.

The figure is the larger of the child's VmHWM (its own peak, exact) and the highest sum of
proportional set sizes (Pss, /proc/PID/smaps_rollup) over the child and its descendants seen
in one sample: `zcomp scan` forks workers, and memory they add is memory the machine needs.
Pss shares each page among the processes mapping it, so pages the workers share with the
parent after the fork are not counted twice.

The watcher must not slow what it measures. VmHWM is a counter (cheap, read every 20 ms);
smaps_rollup walks every page of a process, and read every 20 ms over a scan's three processes it
took 0.6-0.7 s of CPU in a 5 s run, a seventh of a core on a 2-core machine. The Pss sum is read
every 100 ms: a scan's memory is its workers' byte ranges in flight, flat for seconds at a time.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path


class PeakWatcher:
    def __init__(
        self, child: subprocess.Popen[bytes], every_s: float = 0.02, pss_every: int = 5
    ) -> None:
        self.child = child
        self.every_s = every_s
        self.pss_every = pss_every  # read the Pss sum every this many samples
        self.peak_kib = 0
        self.tree_processes = 1  # the most processes seen at once
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        pid = self.child.pid
        sample = 0
        # returncode, not poll(): the caller reaps the child with os.wait4, and a second
        # waiter could take its exit status away.
        while self.child.returncode is None and Path(f"/proc/{pid}").exists():
            self.peak_kib = max(self.peak_kib, _kib(pid, "status", "VmHWM:"))
            if sample % self.pss_every == 0:
                pids = _tree(pid)
                total = sum(_kib(p, "smaps_rollup", "Pss:") for p in pids)
                self.peak_kib = max(self.peak_kib, total)
                self.tree_processes = max(self.tree_processes, len(pids))
            sample += 1
            time.sleep(self.every_s)

    def wait(self) -> int:
        """The peak in KiB once the child has exited (call after waiting for it)."""
        self._thread.join()
        return self.peak_kib


def _tree(pid: int) -> list[int]:
    out = [pid]
    for parent in out:  # grows while it is walked: children of children
        try:
            text = Path(f"/proc/{parent}/task/{parent}/children").read_text()
        except OSError:
            continue
        out += [int(p) for p in text.split()]
    return out


def _kib(pid: int, name: str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/{name}", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass  # exited between two reads
    return 0
