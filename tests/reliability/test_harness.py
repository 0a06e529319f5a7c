"""The suite's own instruments, checked against today's zcomp: the proxy forwards, loses replies
and kills on cue, and the readers report what the account really is."""

from __future__ import annotations

import contextlib
import threading
import urllib.error
from pathlib import Path

import pytest

from tests.rawjson import admin_token, call
from tests.reliability.harness import (
    Zcomp,
    account_state,
    attack_accounts,
    password_changes,
)
from tests.reliability.proxy import (
    AFTER,
    BEFORE,
    Exchange,
    Gate,
    Hook,
    KillSwitch,
    LossyProxy,
    Verdict,
)
from zcomp.sandbox import Sandbox


def _modify(base_url: str, sb: Sandbox, name: str, attr: str, value: str) -> object:
    return call(
        base_url,
        "ModifyAccountRequest",
        "urn:zimbraAdmin",
        {"id": sb.account(name).id, "a": [{"n": attr, "_content": value}]},
        token=admin_token(sb.urls[0]),
        admin=True,
    )


def test_the_proxy_forwards_numbers_and_names_requests(sb: Sandbox) -> None:
    with LossyProxy(sb.urls[0]) as proxy:
        token = admin_token(proxy.base_url)
        reply = call(
            proxy.base_url, "GetVersionInfoRequest", "urn:zimbraAdmin", token=token, admin=True
        )
    assert not isinstance(reply, str), reply
    [auth, version] = proxy.log()
    assert (auth.n, auth.names, auth.status) == (1, ("AuthRequest",), 200)
    assert (version.n, version.names) == (2, ("GetVersionInfoRequest",))
    assert not proxy.dropped


def test_a_dropped_reply_was_applied_a_request_dropped_before_was_not(sb: Sandbox) -> None:
    name = "bob@sandbox.test"

    def lose(phase: str, attr: str) -> Hook:
        def hook(exchange: Exchange, at: str) -> Verdict | None:
            hit = (
                at == phase
                and exchange.has("ModifyAccountRequest")
                and attr.encode() in exchange.body
            )
            return Verdict.DROP if hit else None

        return hook

    with LossyProxy(sb.urls[0]) as proxy:
        proxy.hooks += [lose(AFTER, "zimbraNotes"), lose(BEFORE, "description")]
        for attr in ("zimbraNotes", "description"):
            with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
                _modify(proxy.base_url, sb, name, attr, "set through the proxy")
    attrs = sb.account(name).attrs
    assert attrs["zimbraNotes"] == ["set through the proxy"]  # applied, reply lost
    assert "set through the proxy" not in attrs.get("description", [])  # never reached it
    assert [e.forwarded for e in proxy.dropped] == [True, False]


def test_seeded_losses_are_the_same_every_run(sb: Sandbox) -> None:
    patterns = []
    for _ in range(2):
        with LossyProxy(sb.urls[0], drop_rate=0.3, seed=7) as proxy:
            for _ in range(40):
                with contextlib.suppress(OSError):  # a lost reply
                    call(proxy.base_url, "GetVersionInfoRequest", "urn:zimbraAdmin", admin=True)
        patterns.append([e.dropped for e in proxy.log()])
    assert patterns[0] == patterns[1]
    assert 4 <= sum(patterns[0]) <= 20  # the seed gives 30% give or take, every time


def test_the_kill_switch_kills_at_its_request_and_the_readers_see_the_truth(
    sb: Sandbox, tmp_path: Path
) -> None:
    first, second = attack_accounts(sb, 2)
    before = account_state(sb, first)
    assert before.status == "active"
    assert set(before.planted) == {
        "forwarding to payments.desk.2291@freemail.test",
        "local delivery disabled",
        "rule '.'",
        "rule '..'",
        "signature 'sig'",
        "identity 'DEFAULT'",
    }
    with LossyProxy(sb.urls[0]) as proxy:
        zc = Zcomp.host(tmp_path, proxy.admin_url)
        # After the sandbox applied the containment, before zcomp heard: locked, not cleaned.
        kill = KillSwitch(name="SetPasswordRequest", phase=AFTER)
        run = zc.run_killed(proxy, kill, "--json", "lockdown", first)
        assert kill.fired_at is not None and run.returncode == -9
        n = kill.fired_at.n
        assert all(not e.forwarded for e in proxy.log()[n:])  # a dead process sends nothing more
        truth = account_state(sb, first)
        assert truth.locked and not truth.clean, truth.describe()
        assert password_changes(sb, first) == 1
        # The same request number on another account, before the sandbox saw it: untouched.
        proxy.exchanges.clear()
        kill = KillSwitch(n=n, phase=BEFORE)
        run = zc.run_killed(proxy, kill, "--json", "lockdown", second)
        assert kill.fired_at is not None and kill.fired_at.has("SetPasswordRequest")
        assert run.returncode == -9 and run.lines == []
    truth = account_state(sb, second)
    assert truth.status == "active" and len(truth.planted) == 6, truth.describe()
    assert password_changes(sb, second) == 0


def test_the_gate_holds_each_party_until_all_arrived_or_left(sb: Sandbox) -> None:
    gate = Gate(3)
    with LossyProxy(sb.urls[0]) as one, LossyProxy(sb.urls[0]) as two:
        one.hooks.append(gate.hook(1, "AuthRequest"))
        two.hooks.append(gate.hook(2, "AuthRequest"))
        tokens: dict[int, str] = {}
        threads = [
            threading.Thread(target=lambda p=p, i=i: tokens.__setitem__(i, admin_token(p.base_url)))
            for i, p in ((1, one), (2, two))
        ]
        for t in threads:
            t.start()
        assert gate.wait_arrived(2)
        assert not tokens  # both held: party 3 has neither arrived nor left
        gate.gone(3)
        for t in threads:
            t.join()
    assert set(tokens) == {1, 2}
