"""Long-running commands (watch, guard serve) stop on Ctrl-C, SIGTERM or SIGHUP by setting an
Event they check between two steps: whatever is under way (a lockdown, a message) finishes
first and is never left half-done."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def stop_between_steps(stop: threading.Event) -> Iterator[None]:
    def handle(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT:
            # What is said next ("watch ended") starts on a row of its own, not after "^C".
            from zcomp.output import end_echoed_row

            end_echoed_row()
        stop.set()

    names = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, handle) for s in names}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
