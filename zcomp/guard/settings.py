"""What `zcomp guard serve` holds (light: the config reads it at start-up)."""

from __future__ import annotations

from dataclasses import dataclass

# The submitting clients the guard tells apart (zcomp.guard.clients).
CLIENTS = ("standard", "ajax", "modern", "smtp-auth", "other")
DEFAULT_LISTEN = "inet:127.0.0.1:10029"


@dataclass(frozen=True)
class GuardSettings:
    """The milter's rules. A count of 0 turns its rule off.

    A sender is the authenticated SMTP user ({auth_authen}) when there is one, else the
    envelope sender; allow-list entries are addresses or "@domain".
    """

    listen: str = DEFAULT_LISTEN
    # Hold a message with more envelope recipients than this from one of these clients.
    bulk_recipients: int = 50
    bulk_clients: tuple[str, ...] = ("standard",)
    # Hold once a sender's recipients within the window would go over this.
    rate_recipients: int = 500
    rate_window_s: float = 3600.0
    allow: tuple[str, ...] = ()
    # Client addresses of the mailbox servers: only their mail is taken as web-client mail
    # (an X-Mailer from anywhere else is the sender's claim). Empty: any client.
    mailbox_servers: tuple[str, ...] = ()
    # Contained accounts, read from Zimbra every contained_ttl_s; older than
    # contained_max_age_s (Zimbra slow or down) the list is not trusted: fail open.
    contained_ttl_s: float = 10.0
    contained_timeout_s: float = 5.0
    contained_max_age_s: float = 60.0
    hold_contained: bool = True
    alert_window_s: float = 3600.0  # one alert per sender per window
    auto_lockdown: bool = False  # off: admins verify before punitive action
    lockdown_after_holds: int = 3  # holds of one sender within alert_window_s
    max_senders: int = 100_000  # bound on the per-sender tables (memory stays constant)

    def __post_init__(self) -> None:
        unknown = set(self.bulk_clients) - set(CLIENTS)
        if unknown:
            raise ValueError(
                f"unknown client(s) {', '.join(sorted(unknown))}: expected {', '.join(CLIENTS)}"
            )
        positive = {
            "rate_window_s": self.rate_window_s,
            "contained_ttl_s": self.contained_ttl_s,
            "contained_timeout_s": self.contained_timeout_s,
            "alert_window_s": self.alert_window_s,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive")
        if self.contained_max_age_s < self.contained_ttl_s:
            raise ValueError("contained_max_age_s must not be below contained_ttl_s")
        if self.lockdown_after_holds < 1:
            raise ValueError("lockdown_after_holds must be at least 1")
        parse_listen(self.listen)


def parse_listen(spec: str) -> tuple[str, str, int]:
    """ "inet:HOST:PORT" (Postfix's own notation; also "inet:PORT") or "unix:/path" ->
    (family, host or path, port). ValueError with the reason otherwise."""
    kind, _, rest = spec.partition(":")
    if kind == "unix" and rest.startswith("/"):
        return "unix", rest, 0
    if kind in ("inet", "inet6") and rest:
        host, _, port = rest.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        if port.isdigit() and 0 <= int(port) < 65536:  # 0: any free port
            return "inet", host, int(port)
    raise ValueError(f"bad listen address {spec!r}: expected inet:HOST:PORT or unix:/path")
