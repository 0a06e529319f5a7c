"""What `zcomp watch` remembers between polls and across restarts: one alert episode per account.

Kept in <state_dir>/watch-state.json (0600, replaced atomically with securefile.write_private),
not in the journal: it is a few KiB of short-lived bookkeeping with one writer (the watch that
holds <state_dir>/watch.lock), it must never mix with the incidents `zcomp lockdown` records,
and it may be deleted at any time (the worst outcome is one repeated alert).

An episode starts when an account first crosses the alert threshold and ends once it has stayed
under it for the quiet period, as observed by a running watch: time the watch was not running
never counts as quiet. Ended episodes are kept for a while (history for the CLI), then pruned.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zcomp.exitcodes import ZcompError
from zcomp.securefile import O_NOFOLLOW, make_private_dirs, write_private

try:  # advisory locking keeps a second watch off the same state (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STATE_FILE = "watch-state.json"
LOCK_FILE = "watch.lock"
VERSION = 1

# Where an episode's alert stands.
PENDING = "pending"  # decided, recorded, not filed yet (filed on the next poll if this one fails)
FILED = "filed"
LOCKED = "locked"  # auto-lockdown contained it: lockdown's own ticket is the notice


class WatchBusy(ZcompError):
    """Another `zcomp watch` uses this state directory: two would both alert."""


class WatchStateError(ZcompError):
    """The state file cannot be read: refused rather than forgotten (that repeats alerts)."""


@dataclass
class Episode:
    account: str  # the account's primary name, lower case
    key: str  # the alert's incident key, e.g. WATCH-20240501T120000-3F2A
    started: float  # epoch seconds
    last_over: float
    peak: float = 0.0
    under_since: float | None = None  # first observed poll under the threshold, while active
    ended: float | None = None
    ended_how: str = ""
    alert: str = PENDING
    ticket: dict[str, str | None] | None = None  # TicketRef fields once filed
    content: dict[str, Any] | None = None  # the alert as decided, for a retry to file unchanged
    lock_tried: bool = False  # auto-lockdown is tried once per episode
    error: str | None = None  # the last filing error

    @property
    def active(self) -> bool:
        return self.ended is None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Episode:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def episode_key(account: str, started: float) -> str:
    """Stable for (account, start): a retry after a crash files under the same key, which every
    ticket backend makes idempotent; safe as a file name, header value and tag."""
    moment = datetime.fromtimestamp(started, timezone.utc).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(account.lower().encode()).hexdigest()[:4].upper()
    return f"WATCH-{moment}-{digest}"


@dataclass
class WatchState:
    path: Path
    episodes: dict[str, Episode] = field(default_factory=dict)
    saved_at: float | None = None

    # -- file ------------------------------------------------------------------------------

    @classmethod
    def load(cls, state_dir: Path, now: float) -> WatchState:
        """The saved state (none yet: empty). Quiet time is paused over the gap since the last
        save: the watch was not looking then."""
        path = Path(state_dir) / STATE_FILE
        state = cls(path)
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise ValueError(f"not a zcomp watch state of version {VERSION}")
            state.saved_at = float(data.get("saved_at") or now)
            episodes = [Episode.from_dict(item) for item in data.get("episodes", [])]
        except FileNotFoundError:
            return state
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise WatchStateError(
                f"cannot read {path} ({exc}); move it away to start afresh (alerts of episodes "
                "still running are then raised once more)"
            ) from None
        gap = max(0.0, now - state.saved_at)
        for ep in episodes:
            if ep.active and ep.under_since is not None:
                ep.under_since = min(now, ep.under_since + gap)
            state.episodes[ep.account] = ep
        return state

    def save(self, now: float) -> None:
        self.saved_at = now
        data = {
            "version": VERSION,
            "saved_at": now,
            "episodes": [asdict(ep) for ep in self.episodes.values()],
        }
        make_private_dirs(self.path.parent)
        write_private(self.path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))

    # -- episodes --------------------------------------------------------------------------

    def active(self, account: str) -> Episode | None:
        ep = self.episodes.get(account.lower())
        return ep if ep is not None and ep.active else None

    def start(self, account: str, now: float, score: float) -> Episode:
        name = account.lower()
        ep = Episode(
            account=name, key=episode_key(name, now), started=now, last_over=now, peak=score
        )
        self.episodes[name] = ep  # replaces an ended one: history keeps the latest
        return ep

    def end(self, account: str, now: float, how: str) -> Episode | None:
        ep = self.active(account)
        if ep is not None:
            ep.ended, ep.ended_how, ep.under_since = now, how, None
        return ep

    def prune(self, now: float, *, keep_ended_s: float, max_entries: int) -> int:
        """Drop ended episodes older than keep_ended_s, then the oldest beyond max_entries
        (ended ones first): the file stays small however long the watch runs."""
        before = len(self.episodes)
        for name, ep in list(self.episodes.items()):
            if ep.ended is not None and now - ep.ended > keep_ended_s:
                del self.episodes[name]
        if len(self.episodes) > max_entries:
            order = sorted(self.episodes.values(), key=lambda e: (e.active, e.ended or e.last_over))
            for ep in order[: len(self.episodes) - max_entries]:
                del self.episodes[ep.account]
        return before - len(self.episodes)


class StateLock:
    """<state_dir>/watch.lock held with flock for the watch's lifetime (released on exit, even
    by kill -9: the kernel drops the lock with the process)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        make_private_dirs(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | O_NOFOLLOW, 0o600)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise WatchBusy(
                    f"another zcomp watch is running on {self.path.parent} ({self.path} is "
                    "locked): two would raise every alert twice"
                ) from None
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
