"""The watch as it runs for days: Zimbra unreachable for a poll, a ticket desk down, the loop
and its stop, the log scanner's seam, one watch per state dir."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.proxy import BEFORE, Exchange, LossyProxy, Verdict
from tests.tickets.fakedesk import Answer, FakeDesk, Seen
from tests.watch.conftest import MakeWatcher
from tests.watch.helpers import ALICE, CAROL, FakeClock, close_services, drain, flood, make_services
from zcomp.core.services import Services
from zcomp.core.watch import PollReport, Watcher
from zcomp.core.watch_settings import WatchSettings
from zcomp.core.watch_state import WatchBusy, WatchStateError
from zcomp.sandbox import Sandbox
from zcomp.tickets import make_backend
from zcomp.tickets.backends.webhook import WebhookBackend


class Switch:
    """A proxy hook: while `down`, every request is dropped before the sandbox sees it."""

    def __init__(self) -> None:
        self.down = False

    def __call__(self, exchange: Exchange, moment: str) -> Verdict | None:
        return Verdict.DROP if self.down and moment == BEFORE else None


@pytest.fixture
def switch(sandbox: Sandbox) -> Iterator[tuple[LossyProxy, Switch]]:
    hook = Switch()
    with LossyProxy(sandbox.urls[0]) as proxy:
        proxy.hooks.append(hook)
        yield proxy, hook


def test_a_poll_with_zimbra_down_reports_an_error_and_the_next_recovers(
    sandbox: Sandbox,
    switch: tuple[LossyProxy, Switch],
    state_dir: Path,
    clock: FakeClock,
    make_watcher: MakeWatcher,
) -> None:
    proxy, hook = switch
    services = make_services(proxy.admin_url, state_dir, retries=0)
    try:
        watcher = make_watcher(environment=services)
        hook.down = True
        down = watcher.poll()  # the very first poll: not even logged in
        assert not down.ok and down.alerts == []
        assert down.errors[0].startswith("reading the mail queues failed: ")

        hook.down = False
        flood(sandbox, ALICE, 60)
        clock.advance(60)
        up = watcher.poll()
        assert up.ok, up.errors
        assert [a.account for a in up.alerts] == [ALICE]

        drain(sandbox, ALICE)
        hook.down = True
        clock.advance(60)
        again = watcher.poll()
        assert not again.ok
        # A poll that saw nothing is not quiet time: the episode's quiet period has not begun.
        episode = watcher.state.active(ALICE)
        assert episode is not None and episode.under_since is None

        hook.down = False
        clock.advance(60)
        assert watcher.poll().ok
        episode = watcher.state.active(ALICE)
        assert episode is not None and episode.under_since == clock.now
    finally:
        close_services(services)


class Receiver(FakeDesk):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, object]] = []
        self.route("POST", r"/hooks/zcomp", self.receive)

    def receive(self, seen: Seen, _match: re.Match[str]) -> Answer:
        self.events.append(seen.json())
        return Answer(200, {"ok": True})


def test_an_alert_the_desk_refused_is_filed_at_the_next_poll_once(
    sandbox: Sandbox, state_dir: Path, clock: FakeClock, make_watcher: MakeWatcher
) -> None:
    receiver = Receiver()
    receiver.start()
    backend = make_backend(
        "webhook", {"webhook": {"url": receiver.url + "/hooks/zcomp", "timeout": 5}}, state_dir
    )
    assert isinstance(backend, WebhookBackend)
    backend.sleep = lambda _s: None
    services = make_services(sandbox.admin_url, state_dir, tickets=backend)
    try:
        watcher = make_watcher(environment=services)
        flood(sandbox, ALICE, 60)
        receiver.fail_next("POST", r"/hooks/zcomp", 503)
        failed = watcher.poll()
        assert [(a.account, a.ticket) for a in failed.alerts] == [(ALICE, None)]
        assert failed.alerts[0].error and not failed.ok
        assert receiver.events == []

        clock.advance(60)
        filed = watcher.poll()
        assert [(a.account, a.retry) for a in filed.alerts] == [(ALICE, True)]
        assert filed.alerts[0].ticket is not None
        clock.advance(60)
        assert watcher.poll().alerts == []
        (event,) = receiver.events
        assert ALICE in json.dumps(event)
    finally:
        close_services(services)
        receiver.stop()


def test_run_polls_until_stopped_and_stops_promptly(
    sandbox: Sandbox, make_watcher: MakeWatcher
) -> None:
    flood(sandbox, ALICE, 60)
    reports: list[PollReport] = []
    stop = threading.Event()

    def seen(report: PollReport) -> None:
        reports.append(report)
        if len(reports) == 2:
            stop.set()

    watcher = make_watcher(poll_interval_s=0.05)
    watcher.run(stop, seen)
    assert len(reports) == 2
    assert [len(r.alerts) for r in reports] == [1, 0]

    # A long interval: the stop ends the wait at once, not at the next poll.
    slow = threading.Event()
    watcher.close()
    sleeper = make_watcher(poll_interval_s=3600)
    thread = threading.Thread(target=sleeper.run, args=(slow, reports.append))
    began = time.monotonic()
    thread.start()
    time.sleep(0.3)
    slow.set()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - began < 3
    assert len(reports) == 3


class Sink:
    """What zcomp.detect's Scanner will be: fed lines, asked for suspects."""

    def __init__(self) -> None:
        self.fed: list[tuple[str, str, int, bytes]] = []
        self.found: list[tuple[str, float, str]] = []

    def feed(self, kind: str, file: str, lineno: int, line: bytes) -> None:
        self.fed.append((kind, file, lineno, line))
        if b"SendMsg" in line:
            self.found = [(CAROL, 1.5, "SendMsg from 41 countries")]

    def suspects(self) -> list[tuple[str, float, str]]:
        return list(self.found)


def test_log_lines_go_to_the_sink_and_its_suspects_are_alerted(
    sandbox: Sandbox, services: Services, state_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    log = tmp_path / "mailbox.log"
    log.write_bytes(b"old line, before the watch\n")
    sink = Sink()
    with Watcher(
        services,
        WatchSettings(follow_poll_s=0.02),
        state_dir=state_dir,
        sink=sink,
        logs=[("mailbox", log)],
        clock=clock,
    ) as watcher:
        with log.open("ab") as out:
            out.write(b"2024-05-01 INFO [qtp] soap - SendMsg\n2024-05-01 half a li")
        watcher.follow_logs(threading.Event(), until=time.monotonic() + 0.2)
        assert sink.fed == [("mailbox", str(log), 2, b"2024-05-01 INFO [qtp] soap - SendMsg")]

        report = watcher.poll()
        assert report.log_lines == 1
        assert [a.account for a in report.alerts] == [CAROL]
        assert report.suspects[0].reasons == ["logs: SendMsg from 41 countries"]

        # The queue and the logs agree: the larger score counts, once.
        flood(sandbox, ALICE, 60)
        sink.found = [(ALICE, 0.5, "a few odd logins")]
        clock.advance(60)
        report = watcher.poll()
        assert [a.account for a in report.alerts] == [ALICE]
        (alice,) = report.suspects
        assert alice.score == 2.4 and alice.log_score == 0.5
        assert not any(r.startswith("logs:") for r in alice.reasons)  # under its own alert score


def test_a_second_watch_on_the_same_state_dir_is_refused(
    make_watcher: MakeWatcher, state_dir: Path
) -> None:
    first = make_watcher()
    with pytest.raises(WatchBusy):
        make_watcher()
    first.close()
    make_watcher().close()


def test_an_unreadable_state_is_refused_not_forgotten(
    make_watcher: MakeWatcher, state_dir: Path
) -> None:
    (state_dir / "watch-state.json").write_text("{not json")
    with pytest.raises(WatchStateError, match="move it away"):
        make_watcher()
    (state_dir / "watch-state.json").unlink()
    make_watcher().close()


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        WatchSettings(lockdown_score=0.5)
    with pytest.raises(ValueError):
        WatchSettings(queues=("deferred", "nonsense"))


class BrokenSink(Sink):
    def feed(self, kind: str, file: str, lineno: int, line: bytes) -> None:
        raise RuntimeError("scanner bug")


def test_log_trouble_is_a_warning_and_never_ends_the_watch(
    services: Services, state_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    log, missing = tmp_path / "mailbox.log", tmp_path / "not-yet.log"
    log.write_bytes(b"")
    with Watcher(
        services,
        WatchSettings(follow_poll_s=0.02),
        state_dir=state_dir,
        sink=BrokenSink(),
        logs=[("mailbox", log), ("audit", missing)],
        clock=clock,
    ) as watcher:
        log.write_bytes(b"a\nb\n")
        watcher.follow_logs(threading.Event(), until=time.monotonic() + 0.1)
        report = watcher.poll()
        assert report.ok, report.errors  # the queues were read: the poll counts
        assert report.log_lines == 2
        assert any("scanner bug" in w and "1 more lines" in w for w in report.warnings)
        assert any("not-yet.log" in w for w in report.warnings)
        clock.advance(60)
        assert watcher.poll().warnings == []  # said once, not every poll


def test_the_environments_stop_request_ends_the_loop(
    services: Services, make_watcher: MakeWatcher
) -> None:
    watcher = make_watcher(poll_interval_s=3600)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop, lambda _r: None))
    thread.start()
    time.sleep(0.2)
    services.stop.request("SIGTERM")  # what zcomp's signal handlers do
    thread.join(5)
    assert not thread.is_alive()
