"""`zcomp guard serve`: the milter service (asyncio; one coroutine per MTA connection).

It fails open: whatever breaks inside (a rule, the contained list, a malformed packet) the
message is accepted and one line says so on stderr. Postfix's milter_default_action=accept
covers the guard being down or unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from zcomp.guard import protocol as p
from zcomp.guard.actions import Hold, Responder
from zcomp.guard.rules import Message, Rules, Verdict
from zcomp.guard.settings import parse_listen
from zcomp.output import visible, write_stderr

HOLD_HEADER = "X-Zcomp-Guard"
NOTE_EVERY_S = 60.0  # the same "could not check" line at most this often


def stderr_log(line: str) -> None:
    # Senders and recipients are the attacker's text: one log line stays one line.
    write_stderr(visible(line) + "\n")


@dataclass
class Stats:
    connections: int = 0
    messages: int = 0
    held: int = 0
    errors: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


class Guard:
    """The decision side shared by every connection."""

    def __init__(
        self,
        rules: Rules,
        *,
        responder: Responder | None = None,
        log: Callable[[str], None] = stderr_log,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rules = rules
        self.responder = responder
        self.log = log
        self.clock = clock
        self.stats = Stats()
        self._noted: dict[str, float] = {}

    def decide(self, msg: Message, server: str) -> Verdict:
        now = self.clock()
        verdict = self.rules.decide(msg, now)
        self.stats.messages += 1
        if verdict.note:
            self.note(f"guard: {verdict.note}: {msg.queue_id or 'a message'} accepted unchecked")
        if verdict.hold:
            self.stats.held += 1
            self.stats.by_rule[verdict.rule] = self.stats.by_rule.get(verdict.rule, 0) + 1
            self.log(
                f"guard: held {msg.queue_id or '(no queue id)'} from {verdict.who} "
                f"({verdict.client}, {msg.recipients} recipients): {verdict.reason}"
            )
            if self.responder is not None:
                self.responder.submit(Hold(verdict, msg, server, now))
        return verdict

    def note(self, line: str) -> None:
        """Rate-limited per kind of trouble: a Zimbra that is down for an hour at thousands of
        messages a minute must not write a line per message."""
        key = line.split(":", 2)[1] if line.count(":") >= 2 else line
        now = time.monotonic()
        if now - self._noted.get(key, -NOTE_EVERY_S) >= NOTE_EVERY_S:
            self._noted[key] = now
            self.log(line)

    def failed(self, where: str, exc: BaseException) -> None:
        self.stats.errors += 1
        self.note(f"guard: internal error ({where}): {exc!r}: accepting (fail open)")


# The steps after which the MTA may have agreed to wait for no reply (SMFIP_NR_*).
_NO_REPLY = {
    p.CONNECT: p.SMFIP_NR_CONN,
    p.HELO: p.SMFIP_NR_HELO,
    p.MAIL: p.SMFIP_NR_MAIL,
    p.RCPT: p.SMFIP_NR_RCPT,
    p.HEADER: p.SMFIP_NR_HDR,
    p.DATA: p.SMFIP_NR_DATA,
    p.EOH: p.SMFIP_NR_EOH,
    p.BODY: p.SMFIP_NR_BODY,
    p.UNKNOWN: p.SMFIP_NR_UNKN,
}


class Session:
    """One MTA connection: several messages, one after the other."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.protocol = 0  # agreed SMFIP flags
        self.actions = 0  # agreed SMFIF flags
        self.conn_macros: dict[str, str] = {}
        self.client_address = ""
        self._reset_message()

    def _reset_message(self) -> None:
        self.msg_macros: dict[str, str] = {}
        self.sender = ""
        self.recipients = 0
        self.x_mailer: str | None = None
        self.user_agent: str | None = None
        self.broken = False  # something failed earlier in this message: accept it

    def macro(self, name: str) -> str:
        return self.msg_macros.get(name) or self.conn_macros.get(name) or ""

    def _reply(self, no_reply_flag: int) -> bytes:
        return b"" if self.protocol & no_reply_flag else p.encode(p.CONTINUE)

    def handle(self, pkt: p.Packet) -> tuple[bytes, bool]:
        """(bytes to send, whether the connection ends)."""
        cmd = pkt.command
        try:
            return self._handle(cmd, pkt.data)
        except Exception as exc:  # noqa: BLE001 - fail open, whatever it was
            self.guard.failed(f"command {cmd!r}", exc)
            if cmd == p.OPTNEG:
                raise  # no sane reply: the MTA applies milter_default_action
            self.broken = True
            if cmd in (p.MACRO, p.ABORT, p.QUIT, p.QUIT_NC):
                return b"", cmd == p.QUIT
            if self.protocol & _NO_REPLY.get(cmd, 0):
                # The MTA waits for no reply here: one sent anyway would be read as the reply
                # to its next command, and every reply after it would land on the wrong
                # message. `broken` accepts this message at its end instead.
                return b"", False
            if cmd == p.BODYEOB:
                self._reset_message()
            return p.encode(p.ACCEPT if cmd != p.CONNECT else p.CONTINUE), False

    def _handle(self, cmd: bytes, data: bytes) -> tuple[bytes, bool]:
        if cmd == p.MACRO:
            stage, values = p.macros(data)
            (self.conn_macros if stage in ("C", "H") else self.msg_macros).update(values)
            return b"", False
        if cmd == p.RCPT:
            self.recipients += 1
            return self._reply(p.SMFIP_NR_RCPT), False
        if cmd == p.HEADER:
            name, value = p.header(data)
            lowered = name.lower()
            if lowered == "x-mailer" and self.x_mailer is None:
                self.x_mailer = value.strip()
            elif lowered == "user-agent" and self.user_agent is None:
                self.user_agent = value.strip()
            return self._reply(p.SMFIP_NR_HDR), False
        if cmd == p.MAIL:
            macros = self.msg_macros
            self._reset_message()
            self.msg_macros = macros  # MAIL's macros arrive just before it
            self.sender = p.address_arg(data)
            return self._reply(p.SMFIP_NR_MAIL), False
        if cmd == p.BODYEOB:
            return self._end_of_message(), False
        if cmd == p.ABORT:
            self._reset_message()
            return b"", False
        if cmd == p.CONNECT:
            _host, self.client_address = p.connect_address(data)
            return self._reply(p.SMFIP_NR_CONN), False
        if cmd == p.OPTNEG:
            _version, mta_actions, mta_protocol = p.optneg(data)
            reply, self.protocol = p.optneg_reply(mta_actions, mta_protocol)
            self.actions = p.WANT_ACTIONS & mta_actions
            return reply, False
        if cmd == p.QUIT:
            return b"", True
        if cmd == p.QUIT_NC:  # a new SMTP session on the same milter connection
            self.conn_macros, self.client_address = {}, ""
            self._reset_message()
            return b"", False
        steps = {
            p.HELO: p.SMFIP_NR_HELO,
            p.DATA: p.SMFIP_NR_DATA,
            p.EOH: p.SMFIP_NR_EOH,
            p.BODY: p.SMFIP_NR_BODY,
            p.UNKNOWN: p.SMFIP_NR_UNKN,
        }
        if cmd in steps:
            return self._reply(steps[cmd]), False
        raise p.ProtocolError(f"unknown milter command {cmd!r}")

    def _end_of_message(self) -> bytes:
        if self.broken:
            self._reset_message()
            return p.encode(p.CONTINUE)
        msg = Message(
            sender=self.sender,
            recipients=self.recipients,
            auth_user=self.macro("auth_authen"),
            x_mailer=self.x_mailer,
            user_agent=self.user_agent,
            client_address=self.client_address,
            queue_id=self.macro("i"),
        )
        server = self.conn_macros.get("j", "")
        self._reset_message()
        verdict = self.guard.decide(msg, server)
        if not verdict.hold:
            return p.encode(p.CONTINUE)
        if not self.actions & p.SMFIF_QUARANTINE:
            self.guard.note("guard: the MTA did not allow quarantine: a hold was let through")
            return p.encode(p.CONTINUE)
        out = b""
        if self.actions & p.SMFIF_ADDHDRS:
            # Zimbra's GetMailQueue cannot say why mail is on hold; postcat -q ID can show this.
            out += p.add_header(HOLD_HEADER, f"held ({verdict.rule}): {verdict.reason}")
        out += p.quarantine(f"zcomp guard: {verdict.reason}")
        return out + p.encode(p.CONTINUE)


async def serve_connection(
    guard: Guard, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    guard.stats.connections += 1
    session = Session(guard)
    try:
        while True:
            pkt = await p.read_packet(reader)
            if pkt is None:
                break
            out, done = session.handle(pkt)
            if out:
                writer.write(out)
                # Replies are few and small: wait for the socket only at the end of a message
                # (the MTA waits for that reply) or when the buffer grows.
                if pkt.command == p.BODYEOB or writer.transport.get_write_buffer_size() > 65536:
                    await writer.drain()
            if done:
                break
    except (p.ProtocolError, ConnectionError) as exc:
        guard.note(f"guard: connection dropped: {exc}: the MTA applies milter_default_action")
    except Exception as exc:  # noqa: BLE001 - fail open: the MTA applies its default (accept)
        guard.failed("connection", exc)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def start_server(guard: Guard, listen: str) -> asyncio.Server:
    family, host, port = parse_listen(listen)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(guard, reader, writer)

    if family == "unix":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(host)  # a socket left by a killed guard
        server = await asyncio.start_unix_server(handler, path=host)
        # Postfix's smtpd runs as postfix, not as us; guard the socket's directory instead.
        os.chmod(host, 0o666)  # noqa: S103
        return server
    return await asyncio.start_server(handler, host=host, port=port, reuse_address=True)


class GuardThread:
    """The server on its own event loop in a thread (tests, the benchmark, and the CLI's
    serve, which waits on it). `address` is what it listens on (port 0 resolved)."""

    def __init__(self, guard: Guard, listen: str) -> None:
        self.guard = guard
        self.listen = listen
        self.address = ""
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> GuardThread:
        self._thread = threading.Thread(target=self._run, name="guard-milter", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(start_server(self.guard, self.listen))
        except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
            self._error = exc
            self._ready.set()
            loop.close()
            return
        sock = self._server.sockets[0].getsockname()
        if isinstance(sock, tuple):
            self.port = int(sock[1])
            self.address = f"inet:{sock[0]}:{sock[1]}"
        else:
            self.address = f"unix:{sock}"
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            # Open MTA connections end here (wait_closed would wait for them to finish).
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    def wait(self, stop: threading.Event) -> None:
        while not stop.is_set() and self._thread is not None and self._thread.is_alive():
            stop.wait(1.0)

    def __enter__(self) -> GuardThread:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
