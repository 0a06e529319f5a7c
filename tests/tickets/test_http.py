"""TicketHttp against replies that break off: one TicketUnreachable line, never a traceback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from zcomp.tickets.http import TicketHttp, TicketUnreachable


@pytest.fixture
def cut_short() -> Iterator[str]:
    """A server that promises 100 bytes of body, sends 1, and hangs up (IncompleteRead)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_reply_cut_short_is_unreachable_and_says_whether_a_write_may_have_landed(
    cut_short: str,
) -> None:
    http = TicketHttp(backend="desk", base_url=cut_short, timeout_s=2.0, sleep=lambda _s: None)
    with pytest.raises(TicketUnreachable) as read:
        http.request("GET", "/tickets")
    assert not read.value.maybe_applied and "no answer from 127.0.0.1:" in read.value.message
    with pytest.raises(TicketUnreachable) as write:
        http.request("POST", "/tickets", json={"subject": "x"})
    assert write.value.maybe_applied and "it may have been applied" in write.value.message
