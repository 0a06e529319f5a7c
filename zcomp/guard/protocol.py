"""The milter wire protocol (Sendmail's libmilter, version 6, as Postfix speaks it).

Every packet is a 4-byte big-endian length (of what follows), one command byte, then data.
Constants from libmilter's mfdef.h; Postfix's side is src/milter/milter8.c. Only what the
guard needs is decoded; both directions are here so that tests and the benchmark speak the
same bytes as Postfix does.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

VERSION = 6
MAX_PACKET = 1 << 20  # a corrupt length must not make us allocate gigabytes

# Commands (MTA -> milter).
ABORT = b"A"
BODY = b"B"
CONNECT = b"C"
MACRO = b"D"
BODYEOB = b"E"
HELO = b"H"
QUIT_NC = b"K"
HEADER = b"L"
MAIL = b"M"
EOH = b"N"
OPTNEG = b"O"
QUIT = b"Q"
RCPT = b"R"
DATA = b"T"
UNKNOWN = b"U"

# Responses (milter -> MTA).
ACCEPT = b"a"
CONTINUE = b"c"
ADDHEADER = b"h"
QUARANTINE = b"q"
REJECT = b"r"
TEMPFAIL = b"t"
SKIP = b"s"

# Actions the milter may take (OPTNEG "actions").
SMFIF_ADDHDRS = 0x01
SMFIF_QUARANTINE = 0x20
SMFIF_SETSYMLIST = 0x100

# Protocol steps (OPTNEG "protocol"): NO* = do not send this step, NR_* = send it but do
# not wait for a reply (faster: the MTA pipelines).
SMFIP_NOCONNECT = 0x1
SMFIP_NOHELO = 0x2
SMFIP_NOMAIL = 0x4
SMFIP_NORCPT = 0x8
SMFIP_NOBODY = 0x10
SMFIP_NOHDRS = 0x20
SMFIP_NOEOH = 0x40
SMFIP_NR_HDR = 0x80
SMFIP_NOUNKNOWN = 0x100
SMFIP_NODATA = 0x200
SMFIP_NR_CONN = 0x1000
SMFIP_NR_HELO = 0x2000
SMFIP_NR_MAIL = 0x4000
SMFIP_NR_RCPT = 0x8000
SMFIP_NR_DATA = 0x10000
SMFIP_NR_UNKN = 0x20000
SMFIP_NR_EOH = 0x40000
SMFIP_NR_BODY = 0x80000

# Macro stages (SMFIM_*), for the symbol lists asked for in OPTNEG.
STAGE_CONNECT = 0
STAGE_HELO = 1
STAGE_ENVFROM = 2
STAGE_ENVRCPT = 3
STAGE_DATA = 4
STAGE_EOM = 5
STAGE_EOH = 6

# What the guard needs: CONNECT (the client address: a mailbox server or not), MAIL, RCPT,
# headers (X-Mailer), end of message. Everything else is switched off.
WANT_ACTIONS = SMFIF_ADDHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST
SKIP_STEPS = SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA
NO_REPLY_STEPS = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR
# Postfix's defaults already send {auth_authen} and {mail_addr} with MAIL and {i} at the end
# (milter_mail_macros, milter_end_of_data_macros); asked for anyway, in case a site trimmed them.
SYMBOLS = {
    STAGE_ENVFROM: "{auth_authen} {mail_addr} i",
    STAGE_EOM: "i {auth_authen}",
}


class ProtocolError(Exception):
    """The peer sent something that is not the milter protocol."""


@dataclass(frozen=True)
class Packet:
    command: bytes
    data: bytes


def encode(command: bytes, data: bytes = b"") -> bytes:
    return struct.pack("!I", len(data) + 1) + command + data


async def read_packet(reader: asyncio.StreamReader) -> Packet | None:
    """The next packet, or None at a clean end of stream (between packets)."""
    try:
        head = await reader.readexactly(4)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ProtocolError("connection closed inside a packet length") from None
        return None
    (length,) = struct.unpack("!I", head)
    if length < 1 or length > MAX_PACKET:
        raise ProtocolError(f"bad packet length {length}")
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise ProtocolError("connection closed inside a packet") from None
    return Packet(body[:1], body[1:])


# ---------------------------------------------------------------- decoding data


def strings(data: bytes) -> list[str]:
    """NUL-separated strings (a trailing NUL ends the last one)."""
    if data.endswith(b"\0"):
        data = data[:-1]
    if not data:
        return []
    return [part.decode("utf-8", "replace") for part in data.split(b"\0")]


def macros(data: bytes) -> tuple[str, dict[str, str]]:
    """MACRO: the command it precedes, then name, value pairs."""
    if not data:
        raise ProtocolError("empty macro packet")
    stage = data[:1].decode("latin-1")
    parts = strings(data[1:])
    pairs = {}
    for i in range(0, len(parts) - 1, 2):
        pairs[normal_macro(parts[i])] = parts[i + 1]
    return stage, pairs


def normal_macro(name: str) -> str:
    """ "{i}" and "i" name the same macro (Postfix sends the braces for long names only)."""
    return name[1:-1] if name.startswith("{") and name.endswith("}") else name


def connect_address(data: bytes) -> tuple[str, str]:
    """CONNECT: (hostname, address); family '4'/'6' has a port and an address."""
    host, _, rest = data.partition(b"\0")
    address = ""
    if rest[:1] in (b"4", b"6") and len(rest) >= 3:
        address = rest[3:].rstrip(b"\0").decode("latin-1")
    elif rest[:1] in (b"L", b"U"):
        address = rest[3:].rstrip(b"\0").decode("latin-1") if len(rest) >= 3 else ""
    return host.decode("utf-8", "replace"), address


def address_arg(data: bytes) -> str:
    """MAIL/RCPT: the address of the first argument, without angle brackets, lower-cased."""
    parts = strings(data)
    first = parts[0] if parts else ""
    return first.strip().strip("<>").strip().lower()


def header(data: bytes) -> tuple[str, str]:
    parts = strings(data)
    name = parts[0] if parts else ""
    value = parts[1] if len(parts) > 1 else ""
    return name, value


def optneg(data: bytes) -> tuple[int, int, int]:
    if len(data) < 12:
        raise ProtocolError("short option negotiation")
    version, actions, protocol = struct.unpack("!III", data[:12])
    return version, actions, protocol


# ---------------------------------------------------------------- encoding replies


def optneg_reply(mta_actions: int, mta_protocol: int) -> tuple[bytes, int]:
    """The reply to OPTNEG and the protocol flags agreed: only what the MTA offered.

    Steps the MTA does not offer to skip are still sent to us, and answered; "no reply"
    flags it does not offer are simply not asked for.
    """
    actions = WANT_ACTIONS & mta_actions
    protocol = (SKIP_STEPS | NO_REPLY_STEPS) & mta_protocol
    data = struct.pack("!III", VERSION, actions, protocol)
    if actions & SMFIF_SETSYMLIST:
        for stage, names in SYMBOLS.items():
            data += struct.pack("!I", stage) + names.encode() + b"\0"
    return encode(OPTNEG, data), protocol


def quarantine(reason: str) -> bytes:
    return encode(QUARANTINE, reason.encode("utf-8", "replace") + b"\0")


def add_header(name: str, value: str) -> bytes:
    return encode(ADDHEADER, name.encode() + b"\0" + value.encode("utf-8", "replace") + b"\0")


# ---------------------------------------------------------------- the MTA's side (tests, bench)


def mta_optneg(
    actions: int = 0x1FF, protocol: int = 0x1FFFFF & ~0x100000, version: int = VERSION
) -> bytes:
    """What Postfix sends first: everything it can do (milter8.c offers all steps)."""
    return encode(OPTNEG, struct.pack("!III", version, actions, protocol))


def mta_macro(stage: bytes, values: dict[str, str]) -> bytes:
    data = stage
    for name, value in values.items():
        data += name.encode() + b"\0" + value.encode() + b"\0"
    return encode(MACRO, data)


def mta_connect(host: str, address: str, port: int = 25) -> bytes:
    family = b"6" if ":" in address else b"4"
    data = host.encode() + b"\0" + family + struct.pack("!H", port) + address.encode() + b"\0"
    return encode(CONNECT, data)


def mta_address(command: bytes, address: str, *args: str) -> bytes:
    data = f"<{address}>".encode() + b"\0" + b"".join(a.encode() + b"\0" for a in args)
    return encode(command, data)


def mta_header(name: str, value: str) -> bytes:
    return encode(HEADER, name.encode() + b"\0" + value.encode() + b"\0")
