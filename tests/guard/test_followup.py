"""After a hold: one alert per sender per window (a real webhook receiver), the journal record,
and auto-lockdown after N holds (the sandbox, over HTTP)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.guard.conftest import StartGuard, wait_for
from tests.guard.milter import STANDARD_MAILER, send
from tests.tickets.fakedesk import Answer, FakeDesk, Seen
from tests.watch.helpers import ALICE, BOB, close_services, make_services
from zcomp.core.services import Services
from zcomp.guard.actions import Responder, lockdown_with
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox
from zcomp.tickets import make_backend
from zcomp.tickets.backends.webhook import WebhookBackend
from zcomp.zimbra.operations import GetAccount


class Receiver(FakeDesk):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, object]] = []
        self.route("POST", r"/hooks/zcomp", self.receive)

    def receive(self, seen: Seen, _match: re.Match[str]) -> Answer:
        self.events.append(seen.json())
        return Answer(200, {"ok": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    desk = Receiver()
    desk.start()
    try:
        yield desk
    finally:
        desk.stop()


def test_one_alert_per_sender_per_window(
    start_guard: StartGuard, receiver: Receiver, state_dir: Path
) -> None:
    backend = make_backend(
        "webhook", {"webhook": {"url": receiver.url + "/hooks/zcomp", "timeout": 5}}, state_dir
    )
    assert isinstance(backend, WebhookBackend)
    journal = Journal.open(state_dir)
    try:
        responder = Responder(log=lambda _l: None, journal=journal, tickets=backend)
        guard = start_guard(responder=responder)
        for i in range(3):
            assert send(guard.address, ALICE, 60, mailer=STANDARD_MAILER, queue_id=f"A{i}")
        assert send(guard.address, BOB, 60, mailer=STANDARD_MAILER, queue_id="B0").quarantined
        wait_for(lambda: responder.done == 4, what="the follow-ups")
        assert len(receiver.events) == 2  # alice once, bob once
        text = str(receiver.events)
        assert ALICE in text and BOB in text and "60 recipients" in text
        holds = journal.guard_holds(["A0", "A1", "A2", "B0"])
        assert sorted(holds) == ["A0", "A1", "A2", "B0"]
        assert holds["A1"].rule == "bulk" and holds["A1"].server == "mta1.sandbox.test"
        assert holds["B0"].detail["recipients"] == 60
    finally:
        journal.close()


def test_a_desk_that_is_down_never_affects_the_milter(
    start_guard: StartGuard, receiver: Receiver, state_dir: Path
) -> None:
    backend = make_backend(
        "webhook", {"webhook": {"url": receiver.url + "/hooks/zcomp", "timeout": 5}}, state_dir
    )
    assert isinstance(backend, WebhookBackend)
    backend.sleep = lambda _s: None
    lines: list[str] = []
    responder = Responder(log=lines.append, tickets=backend)
    guard = start_guard(responder=responder)
    receiver.fail_next("POST", r"/hooks/zcomp", 503, times=10)
    assert send(guard.address, ALICE, 60, mailer=STANDARD_MAILER).quarantined
    wait_for(lambda: responder.done == 1, what="the follow-up")
    assert any("was not filed" in line for line in lines)


def test_auto_lockdown_after_n_holds(
    start_guard: StartGuard, sandbox: Sandbox, tmp_path: Path, services: Services
) -> None:
    locker = make_services(sandbox.admin_url, tmp_path / "locker")  # the responder thread's own
    try:
        lines: list[str] = []
        responder = Responder(log=lines.append, lockdown=lockdown_with(locker), auto_lockdown=True)
        guard = start_guard(responder=responder, auto_lockdown=True, lockdown_after_holds=2)
        assert send(guard.address, BOB, 60, mailer=STANDARD_MAILER).quarantined
        wait_for(lambda: responder.done == 1, what="the first follow-up")
        assert responder.lockdowns == []
        assert send(guard.address, BOB, 60, mailer=STANDARD_MAILER).quarantined
        wait_for(lambda: responder.done == 2, what="the lockdown")
        assert responder.lockdowns == [f"{BOB}: contained"], lines
        account = services.client.call(
            GetAccount(BOB, attrs=("zimbraAccountStatus", "zimbraNotes"))
        )
        assert account.get("zimbraAccountStatus") == "locked"
        assert "[zcomp] locked" in (account.get("zimbraNotes") or "")
        # Contained now: everything it sends is held, and it is not locked twice.
        assert guard.contained.refresh()
        reply = send(guard.address, BOB, 1)
        assert reply.quarantined is not None and "contained" in reply.quarantined
        wait_for(lambda: responder.done == 3, what="the third follow-up")
        assert len(responder.lockdowns) == 1
    finally:
        close_services(locker)
