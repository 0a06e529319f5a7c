"""The guard over the milter wire protocol: a real client, a real socket, the sandbox."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from tests.guard.conftest import StartGuard, wait_for
from tests.guard.milter import AJAX_MAILER, MODERN_MAILER, STANDARD_MAILER, MilterClient, send
from tests.watch.helpers import ALICE, BOB, CAROL
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.outcome import Result
from zcomp.core.services import Services
from zcomp.guard import protocol as p
from zcomp.guard.contained import ContainedList
from zcomp.guard.rules import Message, Rules, Verdict
from zcomp.guard.server import Guard, Session, stderr_log
from zcomp.guard.settings import GuardSettings


def test_it_negotiates_quarantine_and_the_steps_it_needs(start_guard: StartGuard) -> None:
    guard = start_guard()
    with MilterClient(guard.address) as client:
        assert client.actions & p.SMFIF_QUARANTINE and client.actions & p.SMFIF_ADDHDRS
        assert client.protocol & p.SMFIP_NOBODY and client.protocol & p.SMFIP_NR_RCPT
        assert not client.protocol & (p.SMFIP_NOMAIL | p.SMFIP_NORCPT | p.SMFIP_NOHDRS)
        assert b"{auth_authen}" in client.symlist and b"{mail_addr}" in client.symlist


def test_51_recipients_from_the_standard_client_are_held_with_the_reason(
    start_guard: StartGuard,
) -> None:
    guard = start_guard()
    reply = send(guard.address, ALICE, 51, mailer=STANDARD_MAILER, queue_id="5F00A1B2C")
    assert reply.quarantined == "zcomp guard: 51 recipients from the standard client (more than 50)"
    assert reply.final == p.CONTINUE
    assert reply.headers["X-Zcomp-Guard"].startswith("held (bulk): 51 recipients")
    (line,) = guard.log.having("held 5F00A1B2C")
    assert ALICE in line and "standard" in line


def test_50_from_the_standard_client_and_51_from_the_others_pass(
    start_guard: StartGuard,
) -> None:
    guard = start_guard()
    assert send(guard.address, ALICE, 50, mailer=STANDARD_MAILER).accepted
    assert send(guard.address, ALICE, 51, mailer=AJAX_MAILER).accepted
    assert send(guard.address, BOB, 51, mailer=MODERN_MAILER).accepted
    assert send(guard.address, BOB, 51).accepted  # no X-Mailer: not a web client
    # SMTP AUTH with a forged X-Mailer is SMTP AUTH, not the Standard client.
    assert send(guard.address, BOB, 51, mailer=STANDARD_MAILER, auth=BOB).accepted
    assert guard.guard.stats.held == 0


def test_several_messages_on_one_connection_are_counted_apart(start_guard: StartGuard) -> None:
    guard = start_guard()
    with MilterClient(guard.address) as client:
        client.connect()
        std = {"X-Mailer": STANDARD_MAILER}
        assert client.message(ALICE, 30, headers=std).accepted
        assert client.message(ALICE, 51, headers=std).quarantined
        assert client.message(ALICE, 3, headers=std).accepted


def _contain(services: Services, account: str) -> None:
    outcome = lockdown_account(services, account, LockdownOptions(reason="phished"))
    assert outcome.result == Result.CONTAINED, outcome


def test_a_contained_envelope_sender_is_held(start_guard: StartGuard, services: Services) -> None:
    guard = start_guard()
    assert send(guard.address, BOB, 1).accepted
    _contain(services, BOB)
    assert guard.contained.refresh()  # read from the sandbox over HTTP
    reply = send(guard.address, BOB, 1, queue_id="6C0FFEE01")
    assert reply.quarantined is not None and "contained" in reply.quarantined
    assert send(guard.address, ALICE, 1).accepted


def test_an_authenticated_contained_account_is_held_whatever_the_envelope(
    start_guard: StartGuard, services: Services
) -> None:
    guard = start_guard()
    _contain(services, BOB)
    assert guard.contained.refresh()
    reply = send(guard.address, "billing@forged.example", 2, auth=BOB)
    assert reply.quarantined is not None and BOB in reply.quarantined


def test_a_locked_account_without_the_zcomp_marker_is_not_contained(
    start_guard: StartGuard, services: Services
) -> None:
    from zcomp.zimbra.operations import GetAccount, ModifyAccount

    account = services.client.call(GetAccount(CAROL))
    services.client.call(ModifyAccount(account.id, {"zimbraAccountStatus": "locked"}))
    guard = start_guard()
    assert send(guard.address, CAROL, 1).accepted


def test_zimbra_unreachable_fails_open_with_a_log_line(
    start_guard: StartGuard, tmp_path: Path
) -> None:
    from tests.watch.helpers import make_services

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    nowhere = make_services(dead, tmp_path / "dead", retries=0)
    try:
        from zcomp.guard.contained import fetch_contained

        guard = start_guard(fetch=lambda: fetch_contained(nowhere.client.call))
        assert guard.log.having("cannot read the contained accounts from Zimbra")
        assert send(guard.address, BOB, 1).accepted
        assert guard.log.having("list of contained accounts is not known now")
        # ...and the other rules still hold.
        assert send(guard.address, ALICE, 51, mailer=STANDARD_MAILER).quarantined
    finally:
        nowhere.client.close()  # type: ignore[attr-defined]
        nowhere.journal.close()


def test_a_stale_contained_list_is_not_trusted(start_guard: StartGuard) -> None:
    calls = {"n": 0}

    def flaky() -> set[str]:
        calls["n"] += 1
        if calls["n"] > 1:
            raise TimeoutError("read timed out")
        return {BOB}

    guard = start_guard(fetch=flaky, contained_ttl_s=0.05, contained_max_age_s=0.05)
    assert guard.contained.lookup([BOB]) is True or guard.contained.lookup([BOB]) is None
    assert not guard.contained.refresh()
    wait_for(lambda: guard.contained.lookup([BOB]) is None, what="the list to go stale")
    assert send(guard.address, BOB, 1).accepted


class Exploding(Rules):
    def decide(self, msg: Message, now: float) -> Verdict:
        raise RuntimeError("a rule blew up")


def test_a_rule_raising_fails_open_with_a_log_line(start_guard: StartGuard) -> None:
    guard = start_guard(rules=lambda s, c: Exploding(s, c.lookup))
    reply = send(guard.address, ALICE, 500, mailer=STANDARD_MAILER)
    assert reply.accepted
    (line,) = guard.log.having("internal error")
    assert "a rule blew up" in line and "fail open" in line
    # The connection still works for the next message.
    assert send(guard.address, ALICE, 1).accepted


def test_garbage_on_the_wire_drops_only_that_connection(start_guard: StartGuard) -> None:
    guard = start_guard()
    with socket.create_connection(guard.address, timeout=5) as raw:
        raw.sendall(b"\xff\xff\xff\xffgarbage")
        assert raw.recv(100) == b""  # closed: Postfix applies milter_default_action
    assert guard.log.having("connection dropped")
    assert send(guard.address, ALICE, 51, mailer=STANDARD_MAILER).quarantined


def test_the_rate_rule_holds_a_sender_over_its_window(start_guard: StartGuard) -> None:
    guard = start_guard(rate_recipients=100, rate_window_s=3600)
    for _ in range(5):
        assert send(guard.address, ALICE, 20, mailer=AJAX_MAILER).accepted
    reply = send(guard.address, ALICE, 1, mailer=AJAX_MAILER)
    assert reply.quarantined == ("zcomp guard: 101 recipients within 1 h (more than 100)")
    assert send(guard.address, BOB, 20).accepted  # another sender has its own window
    # An authenticated session counts for its login, not for the envelope it claims.
    assert send(guard.address, "x@forged.example", 1, auth=ALICE).quarantined


def test_the_allow_list_exempts_senders_and_domains(start_guard: StartGuard) -> None:
    guard = start_guard(allow=("alice@sandbox.test", "@lists.sandbox.test"), rate_recipients=10)
    assert send(guard.address, ALICE, 200, mailer=STANDARD_MAILER).accepted
    assert send(guard.address, "news@lists.sandbox.test", 200, mailer=STANDARD_MAILER).accepted
    assert send(guard.address, BOB, 51, mailer=STANDARD_MAILER).quarantined


def test_an_allowed_but_contained_account_is_still_held(
    start_guard: StartGuard, services: Services
) -> None:
    _contain(services, BOB)
    guard = start_guard(allow=(BOB,))
    assert send(guard.address, BOB, 1).quarantined


def test_mailbox_servers_limit_which_x_mailer_counts(start_guard: StartGuard) -> None:
    guard = start_guard(mailbox_servers=("10.0.0.5",))
    assert send(
        guard.address, ALICE, 51, mailer=STANDARD_MAILER, client_address="10.0.0.5"
    ).quarantined
    assert send(
        guard.address, ALICE, 51, mailer=STANDARD_MAILER, client_address="192.0.2.9"
    ).accepted


def test_a_unix_socket_works_too(tmp_path: Path) -> None:
    from zcomp.guard.server import Guard, GuardThread

    path = tmp_path / "guard.sock"
    contained = ContainedList(lambda: set(), ttl_s=10, max_age_s=60)
    contained.refresh()
    guard = Guard(Rules(GuardSettings(), contained.lookup), log=lambda _l: None)
    with GuardThread(guard, f"unix:{path}"):
        assert send(str(path), ALICE, 51, mailer=STANDARD_MAILER).quarantined


class _RcptFails(Session):
    """A session whose RCPT handling breaks (a bug, say) after the MTA agreed not to wait."""

    def _handle(self, cmd: bytes, data: bytes) -> tuple[bytes, bool]:
        if cmd == p.RCPT:
            raise RuntimeError("rcpt blew up")
        return super()._handle(cmd, data)


def test_a_failure_where_no_reply_is_awaited_sends_none() -> None:
    # A reply the MTA did not wait for would be read as the reply to its next command, and
    # every later reply on the connection would answer the wrong message.
    lines: list[str] = []
    rules = Rules(GuardSettings(listen="inet:127.0.0.1:0"), lambda _names: False)
    session = _RcptFails(Guard(rules, log=lines.append))
    every_step = 0x1FFFFF
    optneg = struct.pack("!III", 6, 0x1FF, every_step)
    out, _ = session.handle(p.Packet(p.OPTNEG, optneg))
    assert out and session.protocol & p.SMFIP_NR_RCPT
    session.handle(p.Packet(p.MAIL, b"<alice@sandbox.test>\0"))
    out, _ = session.handle(p.Packet(p.RCPT, b"<x@victims.test>\0"))
    assert out == b""  # nothing: the MTA is not listening for it
    assert any("rcpt blew up" in line for line in lines)
    out, _ = session.handle(p.Packet(p.BODYEOB, b""))
    assert out == p.encode(p.CONTINUE)  # the broken message is accepted at its end, once


def test_the_default_log_keeps_an_attackers_newline_on_one_line(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # A sender or a Zimbra error quoting one may hold "\n[...]": it must not forge a log line.
    stderr_log("guard: held 5F00A1B2C from a@x\nguard: all clear\r")
    assert capfd.readouterr().err == "guard: held 5F00A1B2C from a@x\\nguard: all clear\\r\n"
