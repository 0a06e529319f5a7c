"""A milter client that speaks to the guard as Postfix does: real bytes over a real socket.

It offers what Postfix 3.x offers (every action, every step, protocol 6), honours what the
guard agrees to (steps it skips are not sent, "no reply" steps are not waited for), and
returns the guard's replies to the end of each message.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass, field

from zcomp.guard import protocol as p

STANDARD_MAILER = "Zimbra 8.8.15_GA_4308 (zclient/8.8.15_GA_4308)"
AJAX_MAILER = "Zimbra 10.0.6_GA_4585 (ZimbraWebClient - GC121 (Win)/10.0.6_GA_4585)"
MODERN_MAILER = "Zimbra 9.0.0_GA_4583 (ZimbraModernWebClient - FF122 (Linux)/9.0.0_GA_4583)"


@dataclass
class Reply:
    """The guard's answer to one end of message."""

    packets: list[p.Packet] = field(default_factory=list)

    @property
    def final(self) -> bytes:
        return self.packets[-1].command if self.packets else b""

    @property
    def quarantined(self) -> str | None:
        for pkt in self.packets:
            if pkt.command == p.QUARANTINE:
                return pkt.data.rstrip(b"\0").decode()
        return None

    @property
    def headers(self) -> dict[str, str]:
        out = {}
        for pkt in self.packets:
            if pkt.command == p.ADDHEADER:
                name, value = p.header(pkt.data)
                out[name] = value
        return out

    @property
    def accepted(self) -> bool:
        return self.final in (p.CONTINUE, p.ACCEPT) and self.quarantined is None


FINAL = {p.ACCEPT, p.CONTINUE, p.REJECT, p.TEMPFAIL, b"d", b"y"}


class MilterClient:
    def __init__(self, address: tuple[str, int] | str, *, timeout: float = 10.0) -> None:
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(address)
        self.file = self.sock.makefile("rb")
        self._out = bytearray()
        self.sock.sendall(p.mta_optneg())
        reply = self._read()
        assert reply.command == p.OPTNEG, reply
        _v, self.actions, self.protocol = struct.unpack("!III", reply.data[:12])
        self.symlist = reply.data[12:]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(bytes(self._out) + p.encode(p.QUIT))
        self.file.close()
        self.sock.close()

    def __enter__(self) -> MilterClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(self, data: bytes) -> None:
        """Buffered, as Postfix's milter client does: sent when a reply is awaited."""
        self._out += data

    def _read(self) -> p.Packet:
        if self._out:
            self.sock.sendall(self._out)
            self._out.clear()
        head = self.file.read(4)
        if len(head) < 4:
            raise ConnectionError("the milter closed the connection")
        (length,) = struct.unpack("!I", head)
        body = self.file.read(length)
        return p.Packet(body[:1], body[1:])

    def _step(self, data: bytes, skip: int, no_reply: int) -> None:
        """Send one step unless skipped; read its reply unless "no reply" was agreed."""
        if self.protocol & skip:
            return
        self._send(data)
        if not self.protocol & no_reply:
            reply = self._read()
            assert reply.command == p.CONTINUE, reply

    def connect(self, address: str = "127.0.0.1", host: str = "mailbox1.sandbox.test") -> None:
        self._send(p.mta_macro(b"C", {"j": "mta1.sandbox.test", "{daemon_name}": "smtpd"}))
        self._step(p.mta_connect(host, address), p.SMFIP_NOCONNECT, p.SMFIP_NR_CONN)

    def message(
        self,
        sender: str,
        recipients: int | list[str],
        *,
        headers: dict[str, str] | None = None,
        auth: str | None = None,
        queue_id: str = "4ABC12DEF",
    ) -> Reply:
        """One message on this connection; returns the replies to its end."""
        rcpts = (
            [f"rcpt{i}@example.net" for i in range(recipients)]
            if isinstance(recipients, int)
            else recipients
        )
        mail_macros = {"{mail_addr}": sender, "i": queue_id}
        if auth:
            mail_macros["{auth_authen}"] = auth
            mail_macros["{auth_type}"] = "PLAIN"
        self._send(p.mta_macro(b"M", mail_macros))
        self._step(p.mta_address(p.MAIL, sender, "SIZE=1234"), p.SMFIP_NOMAIL, p.SMFIP_NR_MAIL)
        for rcpt in rcpts:
            self._send(p.mta_macro(b"R", {"{rcpt_addr}": rcpt}))
            self._step(p.mta_address(p.RCPT, rcpt), p.SMFIP_NORCPT, p.SMFIP_NR_RCPT)
        self._step(p.encode(p.DATA), p.SMFIP_NODATA, p.SMFIP_NR_DATA)
        all_headers = {
            "From": sender,
            "To": "undisclosed-recipients:;",
            "Subject": "Quarterly report",
            "Message-ID": f"<{queue_id}@sandbox.test>",
            **(headers or {}),
        }
        for name, value in all_headers.items():
            self._step(p.mta_header(name, value), p.SMFIP_NOHDRS, p.SMFIP_NR_HDR)
        self._step(p.encode(p.EOH), p.SMFIP_NOEOH, p.SMFIP_NR_EOH)
        self._step(
            p.encode(p.BODY, b"Hello,\r\nsee attached.\r\n"), p.SMFIP_NOBODY, p.SMFIP_NR_BODY
        )
        self._send(p.mta_macro(b"E", {"i": queue_id}))
        self._send(p.encode(p.BODYEOB))
        reply = Reply()
        while True:
            pkt = self._read()
            reply.packets.append(pkt)
            if pkt.command in FINAL:
                return reply


def send(
    address: tuple[str, int] | str,
    sender: str,
    recipients: int | list[str],
    *,
    mailer: str | None = None,
    auth: str | None = None,
    client_address: str = "127.0.0.1",
    queue_id: str = "4ABC12DEF",
) -> Reply:
    """One SMTP session with one message, as Postfix runs it past the milter."""
    with MilterClient(address) as client:
        client.connect(client_address)
        headers = {"X-Mailer": mailer} if mailer else None
        return client.message(sender, recipients, headers=headers, auth=auth, queue_id=queue_id)
