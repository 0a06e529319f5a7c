"""Detection thresholds and weights; defaults come from docs/zimbra-logs.md section 6."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# Base weight of one occurrence of each rule; a rule's weight per account is capped at three
# occurrences so that one very noisy rule cannot drown the others.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "big_send": 2.0,
        "rate_minute": 3.0,
        "rate_hour": 3.0,
        "new_ip_change": 3.0,
        "login_ips": 3.0,
        "failed_logins": 2.0,
        "lockout": 1.0,
        "smtp_auth": 1.5,
        "phish_reply": 5.0,
        "night_burst": 2.0,
        "refused_send": 1.0,
        "remote_reject": 1.0,
        "html_sends": 1.5,
        "login_countries": 3.0,
        "foreign_login": 1.5,
    }
)


@dataclass(frozen=True)
class DetectSettings:
    # A message with more envelope recipients than this is a "big send" (hied-admins 2009, §6).
    big_send: int = 50
    # Multiplier for a big send from the Standard (HTML) client: ua=zclient/* with a public oip
    # on a mailbox request (§0 item 2, §1.4); spam from phished accounts mostly comes that way.
    html_client_weight: float = 2.0
    # Sends from the Standard (HTML) client (nginx.access.log, joined to the account by its
    # client address) within the window that make a signal; 0 turns it off. Some people do use
    # that client, so alone it stays under min_score (§4).
    html_sends: int = 3
    html_window_minutes: int = 10
    # Recipients per sender in a sliding minute / hour (cbpolicyd wiki 100/60 s; Fresno 500/h).
    per_minute: int = 100
    per_hour: int = 500
    # Flag settings changes (filters, identity, forwarding/prefs, signature) made after a login
    # from an address new for that account (§7: attackers set their own reply-to/forwarding) ...
    new_ip_changes: bool = True
    # ... when the change comes within this many minutes of that login.
    new_ip_minutes: int = 60
    # Successful logins from this many distinct addresses within the login window (§6: ≥ 5 IPs).
    login_ips: int = 5
    login_window_minutes: int = 60
    # Offline country lookup of client addresses: a MaxMind DB file (GeoLite2-Country.mmdb,
    # dbip-country-lite.mmdb); "" turns the two country rules off (§7.1 item 4).
    geoip_db: str = ""
    # Successful logins from this many distinct countries within the login window (§7: "≥ 5
    # distinct client IPs or countries per user"); a phished account is used from abroad while
    # its owner still logs in from home.
    login_countries: int = 3
    # Where your users are (ISO codes, "DE"): a login from elsewhere is a signal, twice as heavy
    # in the night window (§7: night-time logins from foreign IPs). Empty: the rule is off.
    home_countries: frozenset[str] = frozenset()
    # Failed logins within the login window that make a brute-force signal (lockout default 10/h;
    # a lower bar because one attacker spreads over IMAP, SOAP and SMTP-AUTH, §2).
    failed_logins: int = 5
    # Night window in local log time ("HH:MM"; may wrap midnight) and the recipients sent inside
    # it within one hour that make a night-time burst (§7: night-time webmail abuse).
    night_start: str = "00:00"
    night_end: str = "05:00"
    night_rcpts: int = 20
    # Accounts never reported: bulk senders, list owners, the help desk.
    allow: frozenset[str] = frozenset()
    # Addresses of your own servers and admin hosts: never counted as a public client address.
    servers: frozenset[str] = frozenset()
    # Lowest score reported; 3 keeps a lone big send or a lone new-address login quiet.
    min_score: float = 3.0
    # Known phishing reply-to addresses (lower-case); "@domain" entries match a whole domain.
    phish_list: frozenset[str] = frozenset()
    # Base weight per rule (see DEFAULT_WEIGHTS); missing rules fall back to the defaults.
    weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_WEIGHTS, hash=False)

    def __post_init__(self) -> None:
        # Addresses compare in lower case, as the parsers write them.
        for name in ("allow", "phish_list", "servers"):
            value = getattr(self, name)
            object.__setattr__(self, name, frozenset(x.strip().lower() for x in value))
        homes = frozenset(x.strip().upper() for x in self.home_countries)
        object.__setattr__(self, "home_countries", homes)
        self.night_minutes()  # a bad "HH:MM" fails here, not in the middle of a scan

    def weight(self, rule: str) -> float:
        return self.weights.get(rule, DEFAULT_WEIGHTS.get(rule, 1.0))

    def night_minutes(self) -> tuple[int, int]:
        """(start, end) in minutes after midnight; start > end means the window wraps midnight."""
        return _minutes(self.night_start), _minutes(self.night_end)


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"not a time of day: {hhmm!r}")
    return value
