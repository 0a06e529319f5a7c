"""HTTP behaviour: shutdown with idle keep-alive clients, injected faults, latency.

Start-up and stop times are measured in tests/bench/bench_sandbox.py, not asserted here.
"""

from __future__ import annotations

import http.client
import threading
import time

from tests.sandbox.rawsoap import MAIL, RawSoap
from zcomp.sandbox import Sandbox, SandboxOptions

# Only against hanging: a stop that waited for an idle client would sit out the handlers'
# 60 s keep-alive timeout.
HANG_GUARD_S = 30


def test_stop_with_idle_keepalive_client() -> None:
    sb = Sandbox(SandboxOptions(seed="none")).start()
    c = RawSoap(sb.admin_url)
    c.admin_login()
    stopper = threading.Thread(target=sb.stop)  # the client still holds its connection open
    stopper.start()
    stopper.join(timeout=HANG_GUARD_S)
    assert not stopper.is_alive()
    # stop() shut the idle connection itself: the client reads end-of-file.
    sock = c.conn.sock
    assert sock is not None
    sock.settimeout(HANG_GUARD_S)
    assert sock.recv(1) == b""
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


def test_a_body_over_the_limit_is_413_and_the_connection_is_closed_as_announced() -> None:
    from urllib.parse import urlsplit

    from zcomp.sandbox.server import MAX_BODY

    with Sandbox(SandboxOptions(seed="none")) as sb:
        parts = urlsplit(sb.admin_url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=HANG_GUARD_S)
        # Only the headers: the server answers from Content-Length before reading a byte.
        conn.putrequest("POST", parts.path)
        conn.putheader("Content-Type", "application/soap+xml")
        conn.putheader("Content-Length", str(MAX_BODY + 1))
        conn.endheaders()
        reply = conn.getresponse()
        assert reply.status == 413
        assert reply.getheader("Connection") == "close"  # a keep-alive client must not reuse it
        assert reply.will_close
        reply.read()
        sock = conn.sock
        assert sock is None or sock.recv(1) == b""
        conn.close()
