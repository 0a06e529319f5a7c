"""A tiny loopback HTTP server that answers with canned Zimbra-shaped (or broken) replies.

It also serves what a real Zimbra never sends (HTML page, non-XML, empty 500, a reply slower
than the client's timeout, a dropped connection) so the client's error mapping is testable.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
TOKEN = "0_abc123_" + b"id=36:00000000-0000-0000-0000-000000000001;exp=13:4102444800000;".hex()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/xml; charset=utf-8"
    drop: bool = False  # close the socket without answering
    delay_event: threading.Event | None = None  # wait for this before answering


@dataclass
class Exchange:
    body: etree._Element  # first child of soap Body
    header: etree._Element | None  # urn:zimbra context
    raw: bytes


Responder = Callable[[Exchange], Reply]


def envelope(inner: str, soap: str = SOAP11) -> bytes:
    return (
        f'<soap:Envelope xmlns:soap="{soap}"><soap:Header><context xmlns="urn:zimbra"/>'
        f"</soap:Header><soap:Body>{inner}</soap:Body></soap:Envelope>"
    ).encode()


def fault(code: str, reason: str, soap: str = SOAP11, request_id: str | None = None) -> str:
    rid = f' requestId="{request_id}"' if request_id else ""
    detail = f'<Error xmlns="urn:zimbra"><Code>{code}</Code><Trace>qtp-1</Trace></Error>'
    if soap == SOAP11:
        return (
            f"<soap:Fault{rid}><faultcode>soap:Client</faultcode><faultstring>{reason}</faultstring>"
            f"<detail>{detail}</detail></soap:Fault>"
        )
    return (
        f"<soap:Fault{rid}><soap:Code><soap:Value>soap:Sender</soap:Value></soap:Code>"
        f"<soap:Reason><soap:Text>{reason}</soap:Text></soap:Reason>"
        f"<soap:Detail>{detail}</soap:Detail></soap:Fault>"
    )


def fault_reply(code: str, reason: str, soap: str = SOAP11) -> Reply:
    return Reply(status=500, body=envelope(fault(code, reason, soap), soap))


def ok(inner: str) -> Reply:
    return Reply(body=envelope(inner))


AUTH_OK = (
    f'<AuthResponse xmlns="urn:zimbraAdmin"><authToken>{TOKEN}</authToken>'
    "<lifetime>43200000</lifetime></AuthResponse>"
)


def local(node: etree._Element) -> str:
    return etree.QName(node).localname


@dataclass
class FakeZimbra:
    responder: Responder
    exchanges: list[Exchange] = field(default_factory=list)
    url: str = ""
    port: int = 0

    def names(self) -> list[str]:
        return [local(e.body) for e in self.exchanges]


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    fake: FakeZimbra

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        root = etree.fromstring(raw)
        body = root.find(f"{{{SOAP11}}}Body")
        if body is None:
            body = root.find(f"{{{SOAP12}}}Body")
        assert body is not None
        header = root.find(".//{urn:zimbra}context")
        exchange = Exchange(body=body[0], header=header, raw=raw)
        self.fake.exchanges.append(exchange)
        reply = self.fake.responder(exchange)
        if reply.delay_event is not None:
            reply.delay_event.wait(10)
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


@contextmanager
def serve(responder: Responder) -> Iterator[FakeZimbra]:
    fake = FakeZimbra(responder=responder)
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    fake.port = server.server_address[1]
    fake.url = f"http://127.0.0.1:{fake.port}/service/admin/soap/"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def zimbra_like(handlers: dict[str, Callable[[Exchange], Reply]]) -> Responder:
    """Answer AuthRequest with TOKEN and each other request by its element name."""

    def respond(ex: Exchange) -> Reply:
        name = local(ex.body)
        if name in handlers:
            return handlers[name](ex)
        if name == "AuthRequest":
            return ok(AUTH_OK)
        return fault_reply("service.UNKNOWN_DOCUMENT", f"unknown document: {name}")

    return respond
