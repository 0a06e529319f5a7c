"""The accounts zcomp has contained, read from Zimbra in the background for the milter.

Contained means what lockdown leaves behind (zcomp.core.contain, zcomp.core.notes): status
locked (or maintenance, which an admin may have chosen instead) and zcomp's "[zcomp] locked"
line in zimbraNotes. One SearchDirectory (paged) every ttl reads them all with their aliases,
so the milter's lookup is a set membership test and never waits for Zimbra. When the last
good read is older than max_age (Zimbra slow or down) the lookup answers None: the caller
fails open and says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from zcomp.core.notes import lock_marker_of
from zcomp.output import visible, write_stderr
from zcomp.zimbra.model import Account
from zcomp.zimbra.operations import SearchDirectory

CONTAINED_STATUSES = ("locked", "maintenance")
QUERY = (
    "(&(|(zimbraAccountStatus=locked)(zimbraAccountStatus=maintenance))"
    "(zimbraNotes=*[zcomp] locked*))"
)
ATTRS = ("zimbraAccountStatus", "zimbraNotes", "zimbraMailAlias")
PAGE = 500


def contained_names(accounts: Iterable[Account]) -> set[str]:
    """Names and aliases of the accounts that really are contained (the query is re-checked:
    a substring match in the notes is not zcomp's marker line)."""
    out: set[str] = set()
    for account in accounts:
        if account.get("zimbraAccountStatus") not in CONTAINED_STATUSES:
            continue
        if lock_marker_of(account.get("zimbraNotes") or "") is None:
            continue
        out.add(account.name.lower())
        out.update(a.lower() for a in account.values("zimbraMailAlias"))
    return out


def fetch_contained(call: Callable[[SearchDirectory], object]) -> set[str]:
    """Every contained account's addresses, page by page. Raises what the client raises."""
    from zcomp.zimbra.model import SearchPage

    names: set[str] = set()
    offset = 0
    while True:
        page = call(SearchDirectory(query=QUERY, attrs=ATTRS, limit=PAGE, offset=offset))
        if not isinstance(page, SearchPage):
            raise TypeError(f"SearchDirectory gave {type(page).__name__}")
        names |= contained_names(page.accounts)
        if not page.more or not page.accounts:
            return names
        offset += len(page.accounts)


def _say(line: str) -> None:
    write_stderr(visible(line) + "\n")  # a Zimbra error may quote the attacker's text


class ContainedList:
    """A snapshot refreshed by a daemon thread; `lookup` never blocks on Zimbra."""

    def __init__(
        self,
        fetch: Callable[[], set[str]],
        *,
        ttl_s: float,
        max_age_s: float,
        log: Callable[[str], None] = _say,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.ttl_s = ttl_s
        self.max_age_s = max_age_s
        self._log = log
        self._clock = clock
        self._names: frozenset[str] = frozenset()
        self._at: float | None = None
        self._error = ""
        self._stop = threading.Event()
        self.loaded = threading.Event()  # set after the first good read
        self.refreshes = 0  # good reads (tests wait on it)
        self._thread: threading.Thread | None = None

    def start(self) -> ContainedList:
        self._thread = threading.Thread(target=self._run, name="guard-contained", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.ttl_s + 30)

    def refresh(self) -> bool:
        """One read; True when it worked. A failure keeps the last snapshot (until max_age)."""
        try:
            names = self._fetch()
        except Exception as exc:  # noqa: BLE001 - any trouble reading Zimbra: fail open, say why
            error = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
            if error != self._error:
                self._log(f"guard: cannot read the contained accounts from Zimbra: {error}")
            self._error = error
            return False
        if self._error:
            self._log("guard: contained accounts read from Zimbra again")
        self._names, self._at, self._error = frozenset(names), self._clock(), ""
        self.refreshes += 1
        self.loaded.set()
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.ttl_s)

    def lookup(self, addresses: Iterable[str]) -> bool | None:
        at = self._at
        if at is None or self._clock() - at > self.max_age_s:
            return None
        names = self._names
        return any(a.lower() in names for a in addresses)

    @property
    def error(self) -> str:
        return self._error

    @property
    def size(self) -> int:
        return len(self._names)
