"""HTTP front: one ThreadingHTTPServer per sandbox server, keep-alive, no Nagle, clean shutdown."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from zcomp.sandbox.engine import handle
from zcomp.sandbox.faults import failure
from zcomp.sandbox.protocol import Proto, fault_element, serialize
from zcomp.sandbox.rest import handle_get, is_rest_path
from zcomp.sandbox.state import ServerState, World

MAX_BODY = 16 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60
    server: SoapHttpServer

    def setup(self) -> None:
        super().setup()
        if not self.server.track(self.connection, add=True):
            # Accepted just before shutdown: answer nothing, let the thread end now.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: the sandbox writes Zimbra-style logs instead

    def _servlet(self) -> str | None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/service/admin/soap"):
            return "admin"
        if path.startswith("/service/soap"):
            return "user"
        return None

    def _send(self, status: int, ctype: str, body: bytes, *, close: bool = False) -> None:
        self.send_response(status)
        if close:  # said, as Jetty says it: a client must not send on this connection again
            self.send_header("Connection", "close")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if not is_rest_path(self.path):
            self._send(404, "text/plain", b"not found\n")
            return
        srv = self.server
        reply = handle_get(srv.world, srv.state, self.path, dict(self.headers.items()))
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        servlet = self._servlet()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            self._send(413, "text/plain", b"too large\n", close=True)
            return
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:  # the client (or stop()) closed the connection mid-body
            self.close_connection = True
            return
        if servlet is None:
            self._send(404, "text/plain", b"not found\n")
            return
        srv = self.server
        world = srv.world
        if (world_latency := srv.latency_s) and srv.pause(world_latency):
            self.close_connection = True  # stopping: the connection is already shut down
            return
        if srv.fault_rate > 0 and self._inject_fault(raw):
            return
        reply = handle(
            world,
            srv.state,
            servlet,
            raw,
            cookie_header=self.headers.get("Cookie"),
            peer_ip=self.client_address[0],
            forwarded_for=self.headers.get("X-Forwarded-For"),
        )
        self._send(reply.status, reply.content_type, reply.body)

    def _inject_fault(self, raw: bytes) -> bool:
        srv = self.server
        with srv.world.rng_lock:
            roll = srv.world.rng.random()
            kind = srv.world.rng.randrange(3)
        if roll >= srv.fault_rate:
            return False
        if kind == 0:
            proto = (
                Proto.JS
                if raw[:1] != b"<"
                else (
                    Proto.SOAP11
                    if b"schemas.xmlsoap.org/soap/envelope" in raw[:400]
                    else Proto.SOAP12
                )
            )
            fault = failure("injected fault (sandbox --fault-rate)")
            body = serialize(proto, fault_element(proto, fault, "qtp1281060270-0"))
            self._send(500, proto.content_type, body)
            return True
        if kind == 1:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if srv.pause(min(2.0, 0.2 + srv.latency_s * 4)):
            self.close_connection = True
            return True
        return False


class SoapHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog: the stdlib's 5 resets connections when a batch of 16 workers
    # connects at once; a real server's accept queue holds them (Linux's default is 4096).
    request_queue_size = 128

    def __init__(
        self,
        addr: tuple[str, int],
        world: World,
        state: ServerState,
        latency_ms: int,
        fault_rate: float,
    ) -> None:
        super().__init__(addr, _Handler)
        self.world = world
        self.state = state
        self.latency_s = latency_ms / 1000.0
        self.fault_rate = fault_rate
        self._conns: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()

    def track(self, conn: socket.socket, *, add: bool) -> bool:
        """Add or forget a live connection; False (not added) once stopping has begun."""
        with self._conn_lock:
            if not add:
                self._conns.discard(conn)
                return True
            if self.stopping.is_set():
                return False
            self._conns.add(conn)
            return True

    def pause(self, seconds: float) -> bool:
        """Sleep that stop() cuts short; True when it was cut short (drop the request)."""
        return self.stopping.wait(seconds)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client (or stop()) closing a connection mid-request is normal, not a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"sandbox-{self.state.name}",
        )
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        # Wake handler threads blocked on idle keep-alive connections or in a (latency) pause,
        # so they close their sockets and end now rather than when the process dies.
        with self._conn_lock:
            self.stopping.set()
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        self.server_close()  # joins the handler threads (block_on_close)
        if self._thread is not None:
            self._thread.join(timeout=5)
