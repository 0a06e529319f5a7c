"""HTTP front: one ThreadingHTTPServer per sandbox server, keep-alive, no Nagle, clean shutdown."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from zcomp.sandbox.engine import handle
from zcomp.sandbox.faults import failure
from zcomp.sandbox.protocol import Proto, fault_element, serialize
from zcomp.sandbox.state import ServerState, World

MAX_BODY = 16 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60
    server: SoapHttpServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

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

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._send(404, "text/plain", b"not found\n")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        servlet = self._servlet()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._send(413, "text/plain", b"too large\n")
            return
        raw = self.rfile.read(length) if length else b""
        if servlet is None:
            self._send(404, "text/plain", b"not found\n")
            return
        srv = self.server
        world = srv.world
        if world_latency := srv.latency_s:
            time.sleep(world_latency)
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
        time.sleep(min(2.0, 0.2 + srv.latency_s * 4))
        return False


class SoapHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

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

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

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
        # Wake handler threads blocked on idle keep-alive connections so they close their sockets.
        with self._conn_lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        self.server_close()  # joins the handler threads (block_on_close)
        if self._thread is not None:
            self._thread.join(timeout=5)
