"""What `zcomp watch` looks for (light: the config reads it at start-up)."""

from __future__ import annotations

from dataclasses import dataclass

QUEUES = ("deferred", "active", "incoming", "hold")


@dataclass(frozen=True)
class WatchSettings:
    """What `zcomp watch` looks for. A threshold of 0 turns its measure off.

    Counts are per sender over every MTA and the queues read (hold included, unless zcomp held
    the mail when it contained the account), from Zimbra's queue summaries (the whole queue,
    not only the `page_size` messages listed).
    """

    poll_interval_s: float = 60.0
    queues: tuple[str, ...] = QUEUES
    # Per-sender thresholds (each reaching its threshold scores 1.0).
    queued_messages: int = 50  # messages queued from the sender
    recipient_domains: int = 20  # distinct recipient domains of those messages
    deferred_messages: int = 25  # of them deferred: remote MTAs refusing or greylisting
    bounces: int = 20  # bounces (null sender) queued to the account: its spam coming back
    alert_score: float = 1.0  # one alert per account per episode from here
    lockdown_score: float = 3.0  # auto-lockdown from here (when enabled)
    auto_lockdown: bool = False  # off: admins verify before punitive action
    quiet_period_s: float = 3600.0  # under the alert score this long (watched) ends an episode
    # Senders never alerted nor locked: addresses or "@domain" (bulk senders, list owners, the
    # help desk). Matched against the queued sender and the account's primary name.
    allow: tuple[str, ...] = ()
    local_only: bool = True  # only senders of the organisation's domains are scored
    page_size: int = 1000  # messages listed per queue per MTA per poll
    scan_wait_s: int | None = None  # GetMailQueue wait=; None: Zimbra's default (3 s)
    directory_refresh_s: float = 3600.0  # MTAs and domains read again this often
    keep_ended_s: float = 7 * 86400.0  # ended episodes kept as history this long
    max_episodes: int = 10_000  # bound on the state file
    follow_poll_s: float = 0.5  # log files looked at this often between queue polls

    def __post_init__(self) -> None:
        if self.poll_interval_s <= 0 or self.follow_poll_s <= 0:
            raise ValueError("watch intervals must be positive")
        if self.lockdown_score < self.alert_score:
            raise ValueError("the auto-lockdown score must not be below the alert score")
        unknown = set(self.queues) - {*QUEUES, "corrupt"}
        if unknown:
            raise ValueError(f"unknown mail queue(s): {', '.join(sorted(unknown))}")
