"""The reliability proxy keeps its upstream connections to the sandbox alive: fewer connections,
the same requests applied and every client hearing its own reply, or nothing when dropped."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.rawjson import admin_token, call
from tests.reliability.harness import set_fault_rate
from tests.reliability.proxy import AFTER, Exchange, LossyProxy, Verdict
from zcomp.sandbox import Sandbox, SandboxOptions
from zcomp.sandbox.server import SoapHttpServer

ADMIN = "urn:zimbraAdmin"


@pytest.fixture
def counted(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many connections the sandbox accepted."""
    accepted = [0]
    track = SoapHttpServer.track

    def counting(self: SoapHttpServer, conn: object, *, add: bool) -> bool:
        accepted[0] += add
        return track(self, conn, add=add)  # type: ignore[arg-type]

    monkeypatch.setattr(SoapHttpServer, "track", counting)
    yield accepted


def _status(url: str, token: str, name: str) -> object:
    reply = call(
        url,
        "GetAccountRequest",
        ADMIN,
        {"account": {"by": "name", "_content": name}},
        token=token,
        admin=True,
    )
    assert not isinstance(reply, str), reply
    return reply["account"][0]["name"]


def test_requests_share_upstream_connections(sandbox: Sandbox, counted: list[int]) -> None:
    with LossyProxy(sandbox.urls[0]) as proxy:
        token = admin_token(proxy.base_url)
        for _ in range(10):
            assert _status(proxy.base_url, token, "bob@sandbox.test") == "bob@sandbox.test"
    assert proxy.requests == 11
    assert counted[0] == 1


def test_a_reply_dropped_after_the_sandbox_answered_was_applied_and_stays_unheard(
    sandbox: Sandbox,
) -> None:
    def lose(exchange: Exchange, phase: str) -> Verdict | None:
        hit = phase == AFTER and exchange.has("ModifyAccountRequest")
        return Verdict.DROP if hit else None

    bob = sandbox.account("bob@sandbox.test")
    with LossyProxy(sandbox.urls[0]) as proxy:
        token = admin_token(proxy.base_url)
        proxy.hooks.append(lose)
        with pytest.raises(OSError):
            call(
                proxy.base_url,
                "ModifyAccountRequest",
                ADMIN,
                {"id": bob.id, "a": [{"n": "zimbraNotes", "_content": "kept"}]},
                token=token,
                admin=True,
            )
        # The next request on the same upstream connection hears its own reply.
        assert _status(proxy.base_url, token, "carol@sandbox.test") == "carol@sandbox.test"
    assert bob.attrs["zimbraNotes"] == ["kept"]
    assert [e.forwarded for e in proxy.dropped] == [True]


def test_concurrent_clients_each_hear_their_own_reply(sandbox: Sandbox) -> None:
    names = sandbox.add_accounts(24, prefix="conc")
    heard: dict[str, object] = {}
    with LossyProxy(sandbox.urls[0]) as proxy:
        token = admin_token(proxy.base_url)

        def ask(mine: list[str]) -> None:
            for _ in range(3):
                for name in mine:
                    heard[name] = _status(proxy.base_url, token, name)

        # A few clients at once (the proxy's listen backlog is the stdlib's 5).
        threads = [threading.Thread(target=ask, args=(names[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert heard == {n: n for n in names}


def test_a_sandbox_that_hangs_up_drops_the_client_and_the_next_request_goes_through() -> None:
    with Sandbox(SandboxOptions(servers=1, random_seed=3)) as sb, LossyProxy(sb.urls[0]) as proxy:
        token = admin_token(proxy.base_url)
        set_fault_rate(sb, 1.0)
        outcomes = []
        for _ in range(12):
            try:
                reply = call(proxy.base_url, "NoOpRequest", ADMIN, token=token, admin=True)
                outcomes.append(reply if isinstance(reply, str) else "answered")
            except OSError:
                outcomes.append("dropped")
        set_fault_rate(sb, 0.0)
        assert _status(proxy.base_url, token, "bob@sandbox.test") == "bob@sandbox.test"
    # With fault_rate 1 the sandbox hangs up on about a third (and answers faults otherwise):
    # each hang-up reaches the client as a dropped connection, as the proxy always did.
    assert "dropped" in outcomes
    assert "service.FAILURE" in outcomes
    assert len(proxy.dropped) == outcomes.count("dropped")
