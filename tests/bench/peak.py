"""A child process's own peak memory: VmHWM from /proc, sampled while it runs.

Not ru_maxrss: on Linux a child starts from its parent's high-water mark (fork copies it and
exec keeps it), so a benchmark run from a large process would report the parent's size.
"""

from __future__ import annotations

import subprocess
import threading
import time


class PeakWatcher:
    def __init__(self, child: subprocess.Popen[bytes], every_s: float = 0.02) -> None:
        self.child = child
        self.every_s = every_s
        self.peak_kib = 0
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while self.child.poll() is None:
            try:
                with open(f"/proc/{self.child.pid}/status", encoding="ascii") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            except (OSError, ValueError):
                pass  # exited between poll() and open()
            time.sleep(self.every_s)

    def wait(self) -> int:
        """The peak in KiB once the child has exited (call after waiting for it)."""
        self._thread.join()
        return self.peak_kib
