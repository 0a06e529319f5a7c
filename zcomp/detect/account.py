"""Per-account state and the rules that turn events into signals (§6, §7)."""

from __future__ import annotations

from collections import deque

from zcomp.detect.events import Change, FailedSend, Login, RemoteReject, Send, WebAction
from zcomp.detect.geoip import Countries
from zcomp.detect.hits import Hit
from zcomp.detect.model import EVIDENCE_LINES, Evidence
from zcomp.detect.netaddr import is_public
from zcomp.detect.settings import DetectSettings
from zcomp.detect.windows import DistinctWindow, SumWindow

# Meeting invitations to 80 people are the classic false positive of a recipient count (§1.3).
CALENDAR = frozenset(
    {
        "CreateAppointmentRequest",
        "ModifyAppointmentRequest",
        "CancelAppointmentRequest",
        "CreateAppointmentExceptionRequest",
        "ForwardAppointmentRequest",
        "ForwardAppointmentInviteRequest",
        "SendInviteReplyRequest",
        "CounterAppointmentRequest",
        "CreateTaskRequest",
        "ModifyTaskRequest",
    }
)
MAX_IPS = 256  # client addresses remembered per account (oldest forgotten first)


class Account:
    """Everything kept about one account; each part is bounded by a window or a cap."""

    def __init__(
        self,
        name: str,
        s: DetectSettings,
        night: tuple[int, int],
        countries: Countries | None = None,
    ) -> None:
        self.name = name
        self.s = s
        self.countries = countries  # None: no geoip_db, no country rules
        self.hits: dict[str, Hit] = {}
        self.minute = SumWindow(60)
        self.hour = SumWindow(3600)
        self.night = SumWindow(3600)
        self.html_sends: SumWindow | None = None  # only with an nginx.access.log
        login_span = s.login_window_minutes * 60
        self.logins = DistinctWindow(login_span)
        self.login_countries: DistinctWindow | None = None  # made at the first located login
        self.foreign: set[str] = set()  # countries already reported by foreign_login
        self.failures = SumWindow(login_span)
        # address -> (first seen, whether the account had been seen from another address then)
        self.ips: dict[str, tuple[float, bool]] = {}
        self.new_logins: deque[tuple[float, str, Evidence, bool]] = deque(maxlen=8)
        self.smtp_flagged: set[str] = set()
        self.changed_from: set[str] = set()
        self.big_html = 0
        self.big_max = 0
        self.night_start, self.night_end = night

    # ---- helpers ------------------------------------------------------------------------------

    def _hit(self, rule: str, weight: float, evidence: list[Evidence], reason: str) -> None:
        hit = self.hits.get(rule)
        if hit is None:
            hit = self.hits[rule] = Hit(rule)
        hit.add(weight, evidence, reason)

    def _window_rule(
        self, window: SumWindow, limit: int, rule: str, reason: str, conf: float = 1.0
    ) -> None:
        """Fire when the window total goes above limit; while it stays above, only update
        the count in the reason (reason has one {} for the peak)."""
        if window.crossed(limit):
            self._hit(
                rule,
                self.s.weight(rule) * conf,
                window.evidence(EVIDENCE_LINES),
                reason.format(window.peak),
            )
        elif window.total > limit and rule in self.hits:
            self.hits[rule].refresh(window.evidence(EVIDENCE_LINES), reason.format(window.peak))

    def _public(self, ip: str | None) -> bool:
        return ip is not None and ip not in self.s.servers and is_public(ip)

    def _seen(self, ip: str | None, ts: float) -> tuple[float, bool] | None:
        """Remember a client address; returns its (first seen, had history) entry."""
        if ip is None or not self._public(ip):
            return None
        entry = self.ips.get(ip)
        if entry is None:
            if len(self.ips) >= MAX_IPS:
                self.ips.pop(next(iter(self.ips)))
            entry = self.ips[ip] = (ts, bool(self.ips))
        return entry

    def _is_night(self, ts: float) -> bool:
        minute = int(ts % 86400) // 60
        start, end = self.night_start, self.night_end
        return start <= minute < end if start <= end else minute >= start or minute < end

    # ---- rules --------------------------------------------------------------------------------

    def send(self, e: Send) -> None:
        s = self.s
        n = e.n if e.n is not None else 1
        ev = e.evidence[0]
        # A webmail send seen only in zimbra.log is attributed by its envelope sender, and
        # its nrcpt is after distribution-list expansion: half the confidence (§3.3).
        conf = 0.5 if e.source == "mta" else 1.0
        if e.n is not None and e.n > s.big_send and e.request not in CALENDAR:
            html = e.html and self._public(e.ip)
            self.big_html += html
            self.big_max = max(self.big_max, e.n)
            count = self.hits["big_send"].count + 1 if "big_send" in self.hits else 1
            via = f", {self.big_html} from the Standard (HTML) client" if self.big_html else ""
            self._hit(
                "big_send",
                s.weight("big_send") * (s.html_client_weight if html else 1.0) * conf,
                list(e.evidence),
                f"{count} message(s) to more than {s.big_send} recipients"
                f" (largest {self.big_max}){via}",
            )
        if s.phish_list and e.rcpts:
            bad = [r for r in e.rcpts if _listed(r, s.phish_list)]
            if bad:
                kind = "replied" if e.reply else "sent"
                self._hit(
                    "phish_reply",
                    s.weight("phish_reply"),
                    [ev],
                    f"{kind} to phish-list address {', '.join(sorted(set(bad))[:3])}",
                )
        for window, limit, rule, span in (
            (self.minute, s.per_minute, "rate_minute", "minute"),
            (self.hour, s.per_hour, "rate_hour", "hour"),
        ):
            window.add(e.ts, n, ev)
            if window.total > limit or not window.armed:
                self._window_rule(
                    window, limit, rule, f"{{}} recipients within one {span} (limit {limit})", conf
                )
        if self._is_night(e.ts):
            self.night.add(e.ts, n, ev)
            if self.night.total >= s.night_rcpts or not self.night.armed:
                self._window_rule(
                    self.night,
                    s.night_rcpts - 1,
                    "night_burst",
                    f"{{}} recipients within an hour between {s.night_start} and {s.night_end}",
                    conf,
                )
        if e.source == "smtp":
            self._smtp_auth(e)
        else:
            self._seen(e.ip, e.ts)

    def _smtp_auth(self, e: Send) -> None:
        """SMTP-AUTH submission from an address that is new while the account had others:
        the other big abuse path, invisible in mailbox.log (§0 item 4)."""
        known = e.ip in self.ips if e.ip else True
        entry = self._seen(e.ip, e.ts)
        if entry is None:
            return
        first, had_history = entry
        window = self.s.new_ip_minutes * 60
        if not had_history or (known and e.ts - first > window) or e.ip in self.smtp_flagged:
            return
        if len(self.smtp_flagged) < MAX_IPS:
            self.smtp_flagged.add(str(e.ip))
        self._hit(
            "smtp_auth",
            self.s.weight("smtp_auth"),
            list(e.evidence),
            f"SMTP-AUTH submission from {e.ip}, an address new for this account",
        )

    def login(self, e: Login) -> None:
        s = self.s
        if e.lockout:
            self._hit(
                "lockout",
                s.weight("lockout"),
                [e.evidence],
                "account locked out after too many failed logins",
            )
            return
        if not e.ok:
            # Fires once per account: password guessing goes on all day on an Internet-facing
            # server; a burst says "targeted", not "compromised" (§2 zmauditswatch).
            self.failures.add(e.ts, 1, e.evidence)
            if self.failures.total >= s.failed_logins:
                reason = f"{self.failures.peak} failed logins within {s.login_window_minutes} min"
                hit = self.hits.get("failed_logins")
                if hit is None:
                    self._hit(
                        "failed_logins",
                        s.weight("failed_logins"),
                        self.failures.evidence(EVIDENCE_LINES),
                        reason,
                    )
                else:
                    hit.refresh((), reason)
            return
        if e.ip is None or not self._public(e.ip):
            return
        if e.ip not in self.ips:
            _, had_history = self._seen(e.ip, e.ts) or (e.ts, False)
            self.new_logins.append((e.ts, e.ip, e.evidence, had_history))
        if self.countries is not None:
            self._located_login(self.countries, e, e.ip)
        distinct = self.logins.add(e.ts, e.ip, e.evidence)
        if distinct >= s.login_ips:
            if self.logins.armed:
                self.logins.armed = False
                self._hit(
                    "login_ips",
                    s.weight("login_ips"),
                    self.logins.firsts(EVIDENCE_LINES),
                    f"logins from {distinct} addresses within {s.login_window_minutes} min",
                )
        else:
            self.logins.armed = True

    def _located_login(self, countries: Countries, e: Login, ip: str) -> None:
        """The two country rules, for a successful login from a public address."""
        country = countries.country(ip)
        if country is None:
            return
        s = self.s
        homes = s.home_countries
        if homes and country not in homes and country not in self.foreign:
            if len(self.foreign) < MAX_IPS:
                self.foreign.add(country)
            night = self._is_night(e.ts)
            self._hit(
                "foreign_login",
                s.weight("foreign_login") * (2.0 if night else 1.0),
                [e.evidence],
                f"login from {country} ({ip}){' at night' if night else ''},"
                f" outside {', '.join(sorted(homes))}",
            )
        window = self.login_countries
        if window is None:
            window = self.login_countries = DistinctWindow(s.login_window_minutes * 60)
        distinct = window.add(e.ts, country, e.evidence)
        if distinct >= s.login_countries:
            if window.armed:
                window.armed = False
                self._hit(
                    "login_countries",
                    s.weight("login_countries"),
                    window.firsts(EVIDENCE_LINES),
                    f"logins from {distinct} countries within {s.login_window_minutes} min"
                    f" ({', '.join(sorted(window.counts))})",
                )
        else:
            window.armed = True

    def change(self, e: Change) -> None:
        s = self.s
        if s.new_ip_changes:
            window = s.new_ip_minutes * 60
            public = self._public(e.ip)
            for ts, ip, ev, had_history in reversed(self.new_logins):
                if 0 <= e.ts - ts <= window and (not public or ip == e.ip):
                    if ip in self.changed_from:
                        break  # one signal per new address, however many settings changed
                    if len(self.changed_from) < MAX_IPS:
                        self.changed_from.add(ip)
                    # Without earlier history the address is only "first seen in these
                    # logs": half the weight (every account's first login looks like that).
                    why = "" if had_history else " (the first address seen for it in these logs)"
                    self._hit(
                        "new_ip_change",
                        s.weight("new_ip_change") * (1.0 if had_history else 0.5),
                        [ev, e.evidence],
                        f"{e.request.removesuffix('Request')} after a login from new address"
                        f" {ip}{why}",
                    )
                    break
        self._seen(e.ip, e.ts)

    def web_action(self, e: WebAction) -> None:
        """A Standard (HTML) client send seen by the proxy (§4); logins only attribute."""
        limit = self.s.html_sends
        if e.action != "send" or not limit or not self._public(e.ip):
            return
        window = self.html_sends
        if window is None:
            window = self.html_sends = SumWindow(self.s.html_window_minutes * 60)
        window.add(e.ts, 1, e.evidence)
        if window.total >= limit or not window.armed:
            self._window_rule(
                window,
                limit - 1,
                "html_sends",
                f"{{}} sends from the Standard (HTML) client at {e.ip}"
                f" within {self.s.html_window_minutes} min",
            )

    def failed_send(self, e: FailedSend) -> None:
        hit = self.hits.get("refused_send")
        count = hit.count + 1 if hit else 1
        self._hit(
            "refused_send",
            self.s.weight("refused_send"),
            [e.evidence],
            f"{count} send(s) refused by the MTA (rate limit or policy)",
        )

    def remote_reject(self, e: RemoteReject) -> None:
        hit = self.hits.get("remote_reject")
        count = hit.count + 1 if hit else 1
        self._hit(
            "remote_reject",
            self.s.weight("remote_reject"),
            [e.evidence],
            f"{count} remote refusal(s) citing spam or sending rate",
        )


def _listed(address: str, phish: frozenset[str]) -> bool:
    return address in phish or "@" + address.rpartition("@")[2] in phish
