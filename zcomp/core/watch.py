"""`zcomp watch`: the mail queues of every MTA, polled over SOAP, scored per sending account.

Per poll, in round trips: (0) GetAllServers(mta) + GetAllDomains at the first poll and every
`directory_refresh_s`; (1) one BatchRequest with GetMailQueue (scan=1) per MTA per queue;
(2) only when some sender crosses the alert threshold: one BatchRequest of GetAccount for those
senders (their primary name, aliases and status). Then, per account over the threshold, at most
one alert per episode (zcomp.core.watch_state) through the configured ticket backend, and with
auto-lockdown, `lockdown_account` above the stricter threshold (tried once per episode).

Scores are multiples of a threshold: 1.0 means one measure (queued messages, recipient domains,
deferred messages, bounces queued to the account) reached its threshold; the score is the
largest of them. A log scanner (LineSink) scores on the same scale and the larger score wins.

Nothing here prints: each poll returns a PollReport for the CLI.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from zcomp.core.addresses import Organisation, domain_of
from zcomp.core.follow import Follower
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.outcome import Result
from zcomp.core.replies import must
from zcomp.core.services import Services
from zcomp.core.ticketing import content_from_dict, content_to_dict, site_template
from zcomp.core.watch_settings import WatchSettings
from zcomp.core.watch_state import FILED, LOCKED, PENDING, Episode, StateLock, WatchState
from zcomp.exitcodes import CredentialError, ZcompError
from zcomp.tickets import TicketContent, TicketRef
from zcomp.tickets.guard import withhold_secrets
from zcomp.zimbra.errors import ZimbraAuthError, ZimbraFault
from zcomp.zimbra.model import Account, QueueSummary
from zcomp.zimbra.operations import GetAccount, GetAllDomains, GetAllServers, GetMailQueue

ACCOUNT_ATTRS = ("zimbraAccountStatus", "zimbraMailAlias")
CONTAINED_STATUSES = ("locked", "closed")  # such an account sends nothing new
# Envelope senders of bounces (Postfix shows the null sender as "" or MAILER-DAEMON).
BOUNCE_SENDERS = frozenset({"", "<>", "mailer-daemon", "double-bounce"})
SAMPLES = 5  # queued message ids kept per sender as evidence
TOP_DOMAINS = 8  # recipient domains named in an alert
DOMAIN_CAP = 2000  # distinct recipient domains tallied per sender: memory stays bounded


class LineSink(Protocol):
    """A log scanner fed by the followed files; its suspects are scored like queue senders
    (1.0 = worth an alert). zcomp.detect's Scanner fits."""

    def feed(self, kind: str, file: str, lineno: int, line: bytes) -> None: ...

    def suspects(self) -> list[tuple[str, float, str]]: ...


# ---------------------------------------------------------------- what a poll reports


@dataclass
class Activity:
    """One sender as the queues (and the log scanner) showed it in one poll."""

    address: str
    queued: int = 0
    deferred: int = 0
    on_hold: int = 0  # on hold, not held by zcomp (counted in queued too)
    bounces: int = 0
    domains: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # "server queue id"
    mtas: set[str] = field(default_factory=set)
    log_score: float = 0.0
    log_reasons: list[str] = field(default_factory=list)
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    aliases: set[str] = field(default_factory=set)  # other addresses merged into this one

    def merge(self, other: Activity) -> None:
        self.queued += other.queued
        self.deferred += other.deferred
        self.on_hold += other.on_hold
        self.bounces += other.bounces
        self.domains.update(other.domains)
        self.samples = (self.samples + other.samples)[:SAMPLES]
        self.mtas |= other.mtas
        self.log_score = max(self.log_score, other.log_score)
        self.log_reasons += other.log_reasons
        self.aliases |= {other.address, *other.aliases} - {self.address}


@dataclass
class Skip:
    account: str
    why: str


@dataclass
class AlertRaised:
    account: str
    key: str  # the episode's incident key (WATCH-...)
    score: float
    ticket: TicketRef | None = None
    error: str | None = None  # not filed: retried at the next poll
    retry: bool = False  # the pending alert of an earlier poll


@dataclass
class LockdownDone:
    account: str
    result: str  # zcomp.core.outcome.Result value
    incident: str | None = None
    error: str | None = None


@dataclass
class PollReport:
    started: datetime
    duration_s: float = 0.0
    mtas: list[str] = field(default_factory=list)
    queues_read: int = 0
    messages_seen: int = 0
    truncated: list[str] = field(default_factory=list)  # "server queue: total N, listed M"
    scanning: list[str] = field(default_factory=list)  # MTA scans not finished in time
    suspects: list[Activity] = field(default_factory=list)  # at or over the alert score
    alerts: list[AlertRaised] = field(default_factory=list)
    lockdowns: list[LockdownDone] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    episodes_ended: list[str] = field(default_factory=list)
    active_episodes: int = 0
    log_lines: int = 0  # lines fed to the log scanner since the last report
    errors: list[str] = field(default_factory=list)  # Zimbra, the ticket desk, the state file
    warnings: list[str] = field(default_factory=list)  # the followed logs and their scanner

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------- the watcher


class Watcher:
    """Polls, scores, alerts. One per state directory (WatchBusy otherwise); single-threaded.

    `logs` are (kind, path) pairs followed from their end; their lines go to `sink`.
    `clock` gives epoch seconds (tests move it). Close it (or use `with`) to release the lock.
    """

    def __init__(
        self,
        services: Services,
        settings: WatchSettings,
        *,
        state_dir: Path | None = None,
        sink: LineSink | None = None,
        logs: Sequence[tuple[str, str | Path]] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.services = services
        self.settings = settings
        self.sink = sink
        self.state_dir = Path(state_dir or services.settings.state_dir)
        self._clock = clock
        self._lock = StateLock(self.state_dir)
        self._lock.acquire()
        try:
            self.state = WatchState.load(self.state_dir, clock())
        except BaseException:
            self._lock.release()
            raise
        self._kinds = {str(path): kind for kind, path in logs}
        self.follower = (
            Follower([p for _, p in logs], poll_s=settings.follow_poll_s) if logs else None
        )
        self._mtas: list[str] = []
        self._org = Organisation()
        self._directory_at: float | None = None
        self._log_lines = 0
        self._log_problems: dict[str, str] = {}
        self._sink_failures = 0
        self._sink_error = ""

    def close(self) -> None:
        if self.follower is not None:
            self.follower.close()
        self._lock.release()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the loop --------------------------------------------------------------------------

    def run(self, stop: threading.Event, on_report: Callable[[PollReport], None]) -> None:
        """Poll every poll_interval_s until `stop` is set (or the environment's stop request),
        following the logs in between. A refused admin login ends it (ZimbraAuthError):
        retrying every minute would lock the admin account out."""
        next_poll = time.monotonic()
        while not self._stopping(stop):
            if time.monotonic() >= next_poll:
                on_report(self.poll())
                next_poll = time.monotonic() + self.settings.poll_interval_s
                continue
            self.follow_logs(stop, until=next_poll)

    def _stopping(self, stop: threading.Event) -> bool:
        return stop.is_set() or self.services.stop.requested

    def _wait(self, stop: threading.Event, seconds: float) -> None:
        """Sleep until `stop` is set, in slices of a second at most: a stop asked through the
        environment's StopRequest (which sets no Event) is seen within one."""
        end = time.monotonic() + seconds
        while not self._stopping(stop):
            left = end - time.monotonic()
            if left <= 0:
                return
            stop.wait(min(left, 1.0))

    def follow_logs(self, stop: threading.Event, *, until: float) -> None:
        """Feed the sink every complete new log line until time.monotonic() reaches `until`."""
        if self.follower is None or self.sink is None:
            self._wait(stop, until - time.monotonic())
            return
        while not self._stopping(stop) and time.monotonic() < until:
            fed = 0
            # A pass is bounded (Follower.max_pass_bytes) and never cut short: a generator
            # left half-way would lose the rest of the chunk it read.
            for file, lineno, line in self.follower.poll():
                fed += 1
                try:
                    self.sink.feed(self._kinds.get(file, file), file, lineno, line)
                except Exception as exc:  # noqa: BLE001 - a scanner bug must not end the watch
                    self._sink_failures += 1
                    self._sink_error = f"the log scanner failed on {file}:{lineno}: {exc!r}"
            self._log_lines += fed
            if not fed:
                self._wait(stop, min(self.settings.follow_poll_s, until - time.monotonic()))

    # -- one poll --------------------------------------------------------------------------

    def poll(self) -> PollReport:
        now = self._clock()
        began = time.monotonic()
        report = PollReport(started=datetime.fromtimestamp(now, timezone.utc))
        summaries: list[QueueSummary] = []
        try:
            self._refresh_directory(now)
            summaries = self._read_queues(report)
        except (ZimbraAuthError, CredentialError):
            raise
        except ZcompError as exc:
            report.errors.append(f"reading the mail queues failed: {exc.message}")
        over: set[str] = set()
        try:
            activity = self._aggregate(summaries)
            self._add_suspects(activity, report)
            over = self._handle(activity, report, now)
        except (ZimbraAuthError, CredentialError):
            raise
        except ZcompError as exc:
            report.errors.append(f"checking the suspects failed: {exc.message}")
        # Only a poll that saw everything may count as quiet (a log file's trouble aside).
        complete = not report.errors
        report.mtas = list(self._mtas)
        self._log_report(report)
        self._retry_pending(over, report)
        self._quiet(over, report, now, complete=complete)
        self.state.prune(
            now, keep_ended_s=self.settings.keep_ended_s, max_entries=self.settings.max_episodes
        )
        report.active_episodes = sum(1 for ep in self.state.episodes.values() if ep.active)
        self._save(now, report)
        report.duration_s = time.monotonic() - began
        return report

    def _refresh_directory(self, now: float) -> None:
        due = self._directory_at is None or now - self._directory_at >= (
            self.settings.directory_refresh_s
        )
        if not due and self._mtas:
            return
        servers, domains = (
            must(r)
            for r in self.services.client.batch([GetAllServers(service="mta"), GetAllDomains()])
        )
        self._mtas = [server.name for server in servers]
        self._org = Organisation.of(
            [d.name for d in domains], self.services.settings.lockdown.internal_domains
        )
        self._directory_at = now
        if not self._mtas:
            raise ZcompError("no MTA server is listed (GetAllServers service=mta)")

    def _read_queues(self, report: PollReport) -> list[QueueSummary]:
        s = self.settings
        requests = [
            GetMailQueue(server=mta, queue=q, limit=s.page_size, scan=True, wait_s=s.scan_wait_s)
            for mta in self._mtas
            for q in s.queues
        ]
        out: list[QueueSummary] = []
        for req, got in zip(requests, self.services.client.batch(requests), strict=True):
            if not isinstance(got, QueueSummary):
                why = f"{got.code}: {got.reason}" if isinstance(got, ZimbraFault) else "not run"
                report.errors.append(f"the {req.queue} queue of {req.server}: {why}")
                continue
            out.append(got)
            report.queues_read += 1
            report.messages_seen += len(got.messages)
            if got.more or got.total > len(got.messages):
                report.truncated.append(
                    f"{got.server} {got.queue}: {got.total} queued, {len(got.messages)} listed"
                )
            if got.scanning:
                report.scanning.append(f"{got.server} {got.queue}")
        return out

    def _log_report(self, report: PollReport) -> None:
        report.log_lines, self._log_lines = self._log_lines, 0
        if self._sink_failures:
            more = self._sink_failures - 1
            report.warnings.append(self._sink_error + (f" (and {more} more lines)" if more else ""))
            self._sink_failures = 0
        if self.follower is None:
            return
        problems = self.follower.problems()
        # Said when it starts (or changes), not every poll for as long as a file is missing.
        report.warnings += [p for f, p in problems.items() if self._log_problems.get(f) != p]
        self._log_problems = problems

    # -- counting --------------------------------------------------------------------------

    def _aggregate(self, summaries: list[QueueSummary]) -> dict[str, Activity]:
        found: dict[str, Activity] = {}
        held_before = self._zcomp_holds(summaries)

        def of(address: str) -> Activity:
            got = found.get(address)
            if got is None:
                got = found[address] = Activity(address)
            return got

        for summary in summaries:
            listed: Counter[str] = Counter()
            for m in summary.messages:
                sender = _address(m.sender)
                if sender.partition("@")[0] in BOUNCE_SENDERS:
                    for rcpt in {r.lower() for r in m.recipients}:
                        if self._local(rcpt):
                            of(rcpt).bounces += 1
                    continue
                if not self._local(sender):
                    continue
                if summary.queue == "hold":
                    since = held_before.get(sender)
                    if since is not None and (_arrival(m.received) or 0.0) <= since:
                        continue  # zcomp held it when it contained the account
                act = of(sender)
                listed[sender] += 1
                act.queued += 1
                act.deferred += summary.queue == "deferred"
                act.on_hold += summary.queue == "hold"
                act.mtas.add(summary.server)
                for rcpt in m.recipients:
                    dom = domain_of(rcpt)
                    if dom in act.domains or len(act.domains) < DOMAIN_CAP:
                        act.domains[dom] += 1
                if len(act.samples) < SAMPLES:
                    act.samples.append(f"{summary.server} {summary.queue} {m.id}")
            # Zimbra's per-queue sender summary counts the whole queue, not just the page.
            if summary.queue != "hold":
                for sender, n in _from_counts(summary).items():
                    extra = n - listed.get(sender, 0)
                    if extra > 0 and self._local(sender):
                        of(sender).queued += extra
                        if summary.queue == "deferred":
                            of(sender).deferred += extra
        return found

    def _zcomp_holds(self, summaries: list[QueueSummary]) -> dict[str, float]:
        """Per sender on hold: when zcomp last contained it (its newest incident's start).
        What zcomp held arrived before that; hold mail is activity only when newer."""
        out: dict[str, float] = {}
        for summary in summaries:
            if summary.queue != "hold":
                continue
            for sender in {_address(m.sender) for m in summary.messages} - out.keys():
                if not self._local(sender):
                    continue
                found = self.services.journal.incidents(sender, limit=1)
                if found:
                    out[sender] = found[0].started_at.timestamp()
        return out

    def _local(self, address: str) -> bool:
        return "@" in address and (not self.settings.local_only or self._org.is_inside(address))

    def _add_suspects(self, activity: dict[str, Activity], report: PollReport) -> None:
        if self.sink is None:
            return
        try:
            suspects = self.sink.suspects()
        except Exception as exc:  # noqa: BLE001 - another module's bug must not end the watch
            report.warnings.append(f"the log scanner failed: {type(exc).__name__}: {exc}")
            return
        for account, score, reason in suspects:
            act = activity.get(account.lower())
            if act is None:
                act = activity[account.lower()] = Activity(account.lower())
            act.log_score = max(act.log_score, float(score))
            act.log_reasons.append(f"logs: {reason}")

    def score(self, act: Activity) -> None:
        """Fill act.score and act.reasons (every measure at or over its threshold)."""
        s = self.settings
        measures = [
            (act.queued, s.queued_messages, f"{act.queued} messages queued"),
            (len(act.domains), s.recipient_domains, f"{len(act.domains)} recipient domains"),
            (act.deferred, s.deferred_messages, f"{act.deferred} deferred"),
            (act.bounces, s.bounces, f"{act.bounces} bounces queued to it"),
        ]
        ratios = [n / limit for n, limit, _ in measures if limit > 0]
        act.score = round(max([*ratios, act.log_score, 0.0]), 2)
        act.reasons = [
            f"{text} (threshold {limit})" for n, limit, text in measures if 0 < limit <= n
        ]
        if act.log_score >= s.alert_score:
            act.reasons += act.log_reasons

    # -- deciding --------------------------------------------------------------------------

    def _handle(self, activity: dict[str, Activity], report: PollReport, now: float) -> set[str]:
        """Alert and lock as due; the accounts still over the alert score (by primary name)."""
        s = self.settings
        for act in activity.values():
            self.score(act)
        candidates = [a for a in activity.values() if a.score >= s.alert_score]
        for act in candidates:
            if self._allowed(act.address):
                report.skipped.append(Skip(act.address, "on the watch allow list"))
        candidates = [a for a in candidates if not self._allowed(a.address)]
        if not candidates:
            return set()
        accounts = self._resolve(candidates, report)
        # The addresses of one account are one sender, merged under its primary name: the
        # candidates, and whatever its other addresses queued under the threshold.
        owner: dict[str, Account] = {}
        for account in accounts.values():
            for address in (account.name, *account.values("zimbraMailAlias")):
                owner[address.lower()] = account
        merged: dict[str, tuple[Account, Activity]] = {}
        for act in sorted(activity.values(), key=lambda a: -a.score):
            found = owner.get(act.address)
            if found is None or self._allowed(act.address):
                continue
            name = found.name.lower()
            if name in merged:
                merged[name][1].merge(act)
            else:
                merged[name] = (found, act)
                act.aliases |= {act.address} - {name}
                act.address = name
        over: set[str] = set()
        for name, (account, act) in merged.items():
            self.score(act)
            report.suspects.append(act)
            if self._allowed(name):
                report.skipped.append(Skip(name, "on the watch allow list"))
                continue
            contained = self._contained(account)
            if contained:
                report.skipped.append(Skip(name, contained))
                if self.state.end(name, now, contained) is not None:
                    report.episodes_ended.append(name)
                continue
            over.add(name)
            self._over(account, act, report, now)
        report.suspects.sort(key=lambda a: -a.score)
        return over

    def _resolve(self, candidates: list[Activity], report: PollReport) -> dict[str, Account]:
        """Address -> account (GetAccount by name finds aliases too), in one BatchRequest."""
        requests = [GetAccount(a.address, attrs=ACCOUNT_ATTRS) for a in candidates]
        out: dict[str, Account] = {}
        for act, got in zip(candidates, self.services.client.batch(requests), strict=True):
            if isinstance(got, Account):
                out[act.address] = got
            elif isinstance(got, ZimbraFault) and got.code == "account.NO_SUCH_ACCOUNT":
                report.skipped.append(Skip(act.address, "not an account (a list, or forged)"))
            else:
                why = f"{got.code}: {got.reason}" if isinstance(got, ZimbraFault) else "not run"
                report.errors.append(f"reading the account {act.address}: {why}")
        return out

    def _allowed(self, address: str) -> bool:
        address = address.lower()
        domain = "@" + address.rsplit("@", 1)[-1]
        return any(entry.lower().strip() in (address, domain) for entry in self.settings.allow)

    def _contained(self, account: Account) -> str | None:
        status = account.get("zimbraAccountStatus") or ""
        incident = self.services.journal.open_incident(account.id)
        if incident is not None:
            return f"already contained by zcomp (incident {incident.key}, {incident.state})"
        if status in CONTAINED_STATUSES:
            return f"already {status}"
        return None

    def _over(self, account: Account, act: Activity, report: PollReport, now: float) -> None:
        s = self.settings
        name = account.name.lower()
        ep = self.state.active(name)
        if ep is None:
            ep = self.state.start(name, now, act.score)
        else:
            ep.last_over, ep.under_since, ep.peak = now, None, max(ep.peak, act.score)
        done: list[str] = []
        if s.auto_lockdown and act.score >= s.lockdown_score and not ep.lock_tried:
            ep.lock_tried = True
            self._save(now, report)  # before acting: a crash never repeats a lockdown
            locked = self._lockdown(account, act, report)
            if locked is None:
                self.state.end(name, now, "locked by zcomp watch --auto-lockdown")
                report.episodes_ended.append(name)
                if ep.alert == PENDING:
                    ep.alert = LOCKED  # lockdown's own ticket tells the help desk
                return
            done.append(locked)
        if ep.alert != PENDING:
            return
        retry = ep.content is not None
        if ep.content is None:
            ep.content = content_to_dict(self._alert(account, act, ep, done))
            self._save(now, report)  # recorded before it is filed: a restart files it once
        self._file(ep, report, retry=retry)

    def _lockdown(self, account: Account, act: Activity, report: PollReport) -> str | None:
        """None when the account ended up contained, else what the ticket should say."""
        reason = f"watch: {'; '.join(act.reasons) or 'over the auto-lockdown score'}"
        outcome = lockdown_account(self.services, account.name, LockdownOptions(reason=reason))
        result = str(outcome.result)
        error = outcome.error.message if outcome.error else None
        report.lockdowns.append(LockdownDone(account.name, result, outcome.incident, error))
        if outcome.result in (Result.CONTAINED, Result.TICKET_PENDING, Result.ALREADY_CONTAINED):
            return None
        return f"auto-lockdown (score {act.score}) did not contain it: {result}" + (
            f": {error}" if error else ""
        )

    def _alert(
        self, account: Account, act: Activity, ep: Episode, done: list[str]
    ) -> TicketContent:
        s = self.settings
        found = [*act.reasons] or [f"score {act.score}"]
        if act.aliases:
            found.append(f"also sent as: {', '.join(sorted(act.aliases))}")
        if act.mtas:
            found.append(f"queued on: {', '.join(sorted(act.mtas))}")
        if act.domains:
            top = ", ".join(f"{d} ({n})" for d, n in act.domains.most_common(TOP_DOMAINS))
            found.append(f"top recipient domains: {top}")
        if act.samples:
            found.append(f"queued messages (server queue id): {'; '.join(act.samples)}")
        if not s.auto_lockdown:
            done.append("nothing: zcomp watch alerts only (auto-lockdown is off)")
        elif not done:
            done.append(
                f"nothing yet: score {act.score} is under the auto-lockdown score "
                f"{s.lockdown_score}"
            )
        template, trouble = site_template(self.services.settings)
        return TicketContent(
            incident_id=ep.key,
            account=account.name,
            title=f"Possible spam from {account.name} (zcomp watch, score {act.score})",
            found=[withhold_secrets(line) for line in found],
            done=[withhold_secrets(line) for line in done],
            next_steps=[
                "Verify before acting: look at the queued messages named above (zmqstat, "
                "postcat -q ID) and ask whether the owner is sending a legitimate mailing.",
                f"If it is spam: zcomp lockdown {account.name}",
                "If it is legitimate: add the sender to the watch allow list so it is not "
                "alerted again.",
            ],
            evidence_sha256=None,
            created_at=datetime.fromtimestamp(ep.started, timezone.utc),
            extra={
                "reason": withhold_secrets(f"watch: {'; '.join(act.reasons)}"),
                "operator": self.services.operator,
                "score": str(act.score),
                **trouble,
            },
            template=template,
        )

    def _file(self, ep: Episode, report: PollReport, *, retry: bool) -> None:
        if ep.content is None:
            return
        content = content_from_dict(ep.content)
        score = float(content.extra.get("score") or ep.peak)
        try:
            ref = self.services.tickets.open(content)
        except ZcompError as exc:
            ep.error = exc.message
            report.alerts.append(AlertRaised(content.account, ep.key, score, None, ep.error, retry))
            report.errors.append(f"the alert for {content.account} was not filed: {ep.error}")
            return
        ep.alert, ep.error = FILED, None
        ep.ticket = {"backend": ref.backend, "id": ref.id, "url": ref.url}
        report.alerts.append(AlertRaised(content.account, ep.key, score, ref, None, retry))

    def _retry_pending(self, over: set[str], report: PollReport) -> None:
        """Alerts decided earlier whose filing failed (or was cut short by a crash)."""
        for ep in list(self.state.episodes.values()):
            if ep.active and ep.alert == PENDING and ep.content and ep.account not in over:
                self._file(ep, report, retry=True)

    def _quiet(self, over: set[str], report: PollReport, now: float, *, complete: bool) -> None:
        """Episodes under the threshold: the quiet period runs only on complete polls."""
        if not complete:
            return
        for ep in list(self.state.episodes.values()):
            if not ep.active or ep.account in over:
                continue
            if ep.under_since is None:
                ep.under_since = now
            elif now - ep.under_since >= self.settings.quiet_period_s:
                self.state.end(ep.account, now, "quiet for the quiet period")
                report.episodes_ended.append(ep.account)

    def _save(self, now: float, report: PollReport) -> None:
        try:
            self.state.save(now)
        except OSError as exc:
            report.errors.append(
                f"cannot save the watch state {self.state.path}: {exc.strerror or exc}"
            )


# ---------------------------------------------------------------- helpers


def _address(sender: str) -> str:
    return sender.strip().strip("<>").lower()


def _arrival(received: str | None) -> float | None:
    """GetMailQueue's time= (epoch milliseconds) in seconds."""
    try:
        value = float(received) if received else None
    except ValueError:
        return None
    if value is None:
        return None
    return value / 1000 if value > 1e11 else value


def _from_counts(summary: QueueSummary) -> Mapping[str, int]:
    """The queue's <qs type="from"> counts: every message of the queue, not only the page."""
    return {sender.lower(): n for sender, n in summary.summaries.get("from", {}).items()}
