"""A request to stop, shared by the signal handlers, the batch runner and the playbooks.

A playbook wraps every stretch of Zimbra writes in `stop.changing()`. A stop requested while
no account is changing may end the run at once (nothing is half-done); one requested while an
account is changing lets that account reach its safe point first. A second request is urgent:
playbooks then stop at the next step boundary (`checkpoint`), journaling where they stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Set the first time any account of this process enters a changing section: an interruption
# before that changed nothing in Zimbra, and the message can say so.
_changed = threading.Event()


def anything_changed() -> bool:
    return _changed.is_set()


def forget_changes() -> None:
    """At the start of a command (tests run many in one process)."""
    _changed.clear()


class Stopped(Exception):
    """Raised by `checkpoint` inside a playbook when an urgent stop was requested."""

    def __init__(self, why: str, step: str) -> None:
        super().__init__(f"stopped ({why}) before {step}")
        self.why = why
        self.step = step


class StopRequest:
    def __init__(self) -> None:
        # Re-entrant: a signal handler runs in the main thread, which may hold it already.
        self._lock = threading.RLock()
        self._requests = 0
        self._changing = 0
        self._entered = 0
        self.why = ""

    def request(self, why: str) -> int:
        """Ask to stop; returns how many times a stop was asked for (1 first, 2 urgent ...)."""
        with self._lock:
            self._requests += 1
            if not self.why:
                self.why = why
            return self._requests

    @property
    def requested(self) -> bool:
        return self._requests > 0

    @property
    def urgent(self) -> bool:
        return self._requests > 1

    @property
    def changing(self) -> int:
        """How many accounts are inside a `changing()` section now."""
        return self._changing

    @property
    def entered(self) -> int:
        """How many `changing()` sections were entered so far: unchanged across one account's
        work, that account changed nothing."""
        return self._entered

    @contextmanager
    def changing_section(self) -> Iterator[None]:
        """Around the writes of one account. Entering it after a stop was requested raises
        Stopped: an account not yet changed is left as it is."""
        with self._lock:
            if self._requests:
                raise Stopped(self.why or "stop requested", "the first change")
            self._changing += 1
            self._entered += 1
            _changed.set()
        try:
            yield
        finally:
            with self._lock:
                self._changing -= 1

    def checkpoint(self, step: str) -> None:
        """A step boundary inside a changing section: stop here only when urgent."""
        if self.urgent:
            raise Stopped(self.why or "stop requested", step)
