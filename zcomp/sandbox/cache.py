"""Per-server account cache: entries live 15 minutes (ldap_cache_account_maxage)."""

from __future__ import annotations

import threading

from zcomp.sandbox.clock import Clock
from zcomp.sandbox.directory import AccountEntry, Directory

MAX_AGE_SECONDS = 15 * 60


class AccountCache:
    def __init__(self, directory: Directory, clock: Clock) -> None:
        self._dir = directory
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, AccountEntry]] = {}

    def get(self, account_id: str) -> AccountEntry | None:
        """The cached entry, loading it from the directory when absent or older than 15 minutes."""
        now = self._clock.now()
        with self._lock:
            hit = self._entries.get(account_id)
            if hit is not None and now - hit[0] < MAX_AGE_SECONDS:
                return hit[1]
        return self.refresh(account_id)

    def refresh(self, account_id: str) -> AccountEntry | None:
        """Reload one entry (writes through this server, or a flush)."""
        with self._dir.lock:
            entry = self._dir.accounts.get(account_id)
            snap = entry.snapshot() if entry is not None else None
        with self._lock:
            if snap is None:
                self._entries.pop(account_id, None)
            else:
                self._entries[account_id] = (self._clock.now(), snap)
        return snap

    def flush(self, account_ids: list[str] | None = None) -> None:
        with self._lock:
            if account_ids is None:
                self._entries.clear()
            else:
                for acct_id in account_ids:
                    self._entries.pop(acct_id, None)
