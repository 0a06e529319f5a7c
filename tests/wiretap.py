"""A recording HTTP proxy on loopback: zcomp talks to it, it forwards to the sandbox.

Lets a test see every byte on the wire (the random password in SetPassword, every auth token
in AuthResponse) without touching zcomp's code, so the test can then search all of zcomp's
outputs for those secrets.
"""

from __future__ import annotations

import http.client
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_SECRET_ELEMENTS = re.compile(
    rb"<(?:[\w-]+:)?(newPassword|password|authToken)(?:\s[^>]*)?>([^<]+)</", re.IGNORECASE
)
_SECRET_JSON = re.compile(
    rb'"(newPassword|password|authToken)"\s*:\s*(?:\[\s*\{\s*"_content"\s*:\s*)?"([^"]+)"'
)


class Wiretap:
    def __init__(self, target_base: str, tls: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(target_base)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.exchanges: list[tuple[bytes, bytes]] = []
        self._lock = threading.Lock()
        tap = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                conn = http.client.HTTPConnection(*tap.target, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    conn.request("POST", self.path, body=body, headers=headers)
                    reply = conn.getresponse()
                    data = reply.read()
                    status, ctype = reply.status, reply.getheader("Content-Type", "text/xml")
                finally:
                    conn.close()
                with tap._lock:
                    tap.exchanges.append((body, data))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls is not None:  # an HTTPS front for the plain-HTTP sandbox, as a proxy would be
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.base_url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def secrets(self) -> set[str]:
        """Every password and token value that crossed the wire, either way."""
        found: set[str] = set()
        with self._lock:
            for request, reply in self.exchanges:
                for blob in (request, reply):
                    for pattern in (_SECRET_ELEMENTS, _SECRET_JSON):
                        found.update(m.group(2).decode() for m in pattern.finditer(blob))
        return {s for s in found if len(s) >= 6}

    def secret_values(self, element: str) -> list[str]:
        with self._lock:
            blobs = [request for request, _reply in self.exchanges]
        pattern = re.compile(rb"<(?:[\w-]+:)?" + element.encode() + rb"(?:\s[^>]*)?>([^<]+)</")
        return [m.group(1).decode() for blob in blobs for m in pattern.finditer(blob)]


@contextmanager
def wiretap(target_base: str, tls: ssl.SSLContext | None = None) -> Iterator[Wiretap]:
    tap = Wiretap(target_base, tls)
    tap._thread.start()
    try:
        yield tap
    finally:
        tap.server.shutdown()
        tap.server.server_close()
        tap._thread.join(timeout=5)
