"""`zcomp sandbox serve`: every server's URL on the ready line, prompt exit on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.sandbox.rawsoap import MAIL, RawSoap


@contextmanager
def serve(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "zcomp", "sandbox", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_ready_line_names_every_server_url() -> None:
    with serve("--servers", "2", "--seed", "none") as (proc, line):
        assert line.startswith("sandbox ready: admin http://"), line
        urls = [w.rstrip(",;") for w in line.split() if w.startswith("http://")]
        assert len(urls) == 3 and urls[0].endswith("/service/admin/soap/")
        assert "mbox1.sandbox.test at " in line and "mbox2.sandbox.test at " in line
        assert urls[1] != urls[2]
        for base in urls[1:]:
            client = RawSoap(base + "/service/soap/")
            try:
                assert client.xml(f'<NoOpRequest xmlns="{MAIL}"/>', token=None).fault_code
            finally:
                client.close()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        assert proc.returncode == 0


def test_port_help_tells_the_truth_about_port_0() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "zcomp", "sandbox", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    assert "0: any free port for each server" in " ".join(res.stdout.split())


def test_sigterm_with_a_request_in_flight_exits_promptly() -> None:
    with serve("--seed", "none", "--latency-ms", "5000") as (proc, line):
        url = next(w for w in line.split() if w.startswith("http://"))
        host, port = url.split("/")[2].rsplit(":", 1)
        body = f'<NoOpRequest xmlns="{MAIL}"/>'.encode()
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            # "100 Continue" proves a handler thread holds this request before SIGTERM is sent.
            conn.sendall(
                b"POST /service/soap/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            assert conn.recv(100).startswith(b"HTTP/1.1 100")
            conn.sendall(body)  # the server now sits in its 5 s latency
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=30)
            # The server did not sit out the 5 s latency to answer: it dropped the request.
            answer = conn.recv(100)
        assert proc.returncode == 0, err
        assert err == ""
        assert not answer.startswith(b"HTTP/1.1 200")


def test_sigterm_with_a_half_sent_request_exits_quietly() -> None:
    with serve("--seed", "none") as (proc, line):
        url = next(w for w in line.split() if w.startswith("http://"))
        host, port = url.split("/")[2].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(
                b"POST /service/soap/ HTTP/1.1\r\nHost: x\r\n"
                b"Expect: 100-continue\r\nContent-Length: 100\r\n\r\n"
            )
            assert conn.recv(100).startswith(b"HTTP/1.1 100")
            conn.sendall(b"<NoOp")  # and never the rest
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert err == "", err  # no BrokenPipe traceback from the abandoned request
