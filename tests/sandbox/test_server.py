"""HTTP behaviour: start-up time, shutdown with idle keep-alive clients, injected faults."""

from __future__ import annotations

import http.client
import time

from tests.sandbox.rawsoap import MAIL, RawSoap
from zcomp.sandbox import Sandbox, SandboxOptions


def test_startup_is_fast() -> None:
    start = time.perf_counter()
    with Sandbox(SandboxOptions(servers=2)):
        elapsed = time.perf_counter() - start
    assert elapsed < 0.5


def test_stop_with_idle_keepalive_client() -> None:
    sb = Sandbox(SandboxOptions(seed="none")).start()
    c = RawSoap(sb.admin_url)
    c.admin_login()
    start = time.perf_counter()
    sb.stop()  # the client still holds its connection open
    assert time.perf_counter() - start < 2
    c.close()


def test_fault_injection_is_seeded() -> None:
    opts = SandboxOptions(seed="none", fault_rate=0.6, random_seed=0)
    outcomes: list[str] = []
    with Sandbox(opts) as sb:
        for _ in range(12):
            c = RawSoap(sb.user_url())
            try:
                r = c.xml(f'<NoOpRequest xmlns="{MAIL}"/>', token=None)
                outcomes.append(r.fault_code or "ok")
            except (http.client.HTTPException, ConnectionError):
                outcomes.append("dropped")
            finally:
                c.close()
    assert "service.FAILURE" in outcomes
    assert "dropped" in outcomes
    assert "service.AUTH_REQUIRED" in outcomes  # requests that got through


def test_latency_option() -> None:
    with Sandbox(SandboxOptions(seed="none", latency_ms=50)) as sb:
        c = RawSoap(sb.user_url())
        try:
            start = time.perf_counter()
            c.xml(f'<NoOpRequest xmlns="{MAIL}"/>', token=None)
            assert time.perf_counter() - start >= 0.05
        finally:
            c.close()
