"""Open log inputs as blocks of whole lines: plain or gzip files, rotated sets, stdin.

Memory stays constant: each file is read in CHUNK-sized pieces cut at the last newline, so the
parsers can search a whole block with C-speed bytes.find instead of looping over lines in
Python (docs/zimbra-logs.md §5.3: a bytes prefilter is what makes a multi-GB scan fast).
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from zcomp.detect.model import KindStats, LogKind, PathArg, ScanWarning

CHUNK = 4 << 20
MAX_LINE = 16 << 20
NL = b"\n"
STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"

# Base names of each kind's log; rotated copies add a suffix (§8 item 10).
BASE_NAMES = {
    LogKind.MAILBOX: "mailbox.log",
    LogKind.AUDIT: "audit.log",
    LogKind.MTA: "zimbra.log",
    LogKind.NGINX: "nginx.access.log",
}

Warn = Callable[[ScanWarning], None]


@dataclass(slots=True)
class Block:
    """Whole lines of one file: data ends with a newline except at the end of the file."""

    file: str
    first_line: int  # 1-based number of the first line in data
    data: bytes
    lines: int = -1  # set by the parser that counted them; else counted when needed
    # the block's events when a worker already parsed it (data is then empty; parallel.py)
    parsed: list[Any] | None = None

    def line_count(self) -> int:
        if self.lines < 0:
            n = self.data.count(b"\n")
            self.lines = n + (1 if self.data and self.data[-1:] != b"\n" else 0)
        return self.lines


_DATED = re.compile(r"(\d{4})-?(\d\d)-?(\d\d)")
_NUMBERED = re.compile(r"\.(\d+)(?:\.gz)?$")


def rotation_key(path: str) -> tuple[int, int, float]:
    """Sort key putting the oldest rotated file first.

    mailbox.log.2024-03-13.gz < mailbox.log.2024-03-14 < mailbox.log, and
    zimbra.log.2.gz < zimbra.log.1.gz < zimbra.log; zimbra.log-20240314.gz sorts by its date.
    """
    name = os.path.basename(path)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        mtime = 0.0
    dated = _DATED.search(name)
    if dated:
        return (0, int("".join(dated.groups())), mtime)
    numbered = _NUMBERED.search(name)
    if numbered:
        return (1, -int(numbered.group(1)), mtime)
    return (2, 0, mtime)


def expand(kind: LogKind, args: Sequence[PathArg], warn: Warn) -> list[str]:
    """Paths, directories and globs -> the files to read, oldest first; "-" stays last."""
    files: list[str] = []
    stdin = False
    base = BASE_NAMES[kind]
    for arg in args:
        text = os.fspath(arg)
        if text == STDIN:
            stdin = True
        elif os.path.isdir(text):
            found = [
                os.path.join(text, n)
                for n in os.listdir(text)
                if n == base or n.startswith((base + ".", base + "-"))
            ]
            if not found:
                warn(ScanWarning(text, f"no {base} files in this directory"))
            files.extend(found)
        elif any(c in text for c in "*?["):
            matched = glob.glob(text)
            if not matched:
                warn(ScanWarning(text, "no file matches this pattern"))
            files.extend(matched)
        else:
            files.append(text)
    ordered = sorted(dict.fromkeys(files), key=rotation_key)
    return [*ordered, STDIN] if stdin else ordered


def _open(path: str) -> tuple[BinaryIO, BinaryIO]:
    """(reader, raw file): decompressed when the data starts with the gzip magic, whatever
    the name says (rotation tools name files both ways)."""
    if path == STDIN:
        raw: BinaryIO = sys.stdin.buffer
        peek = getattr(raw, "peek", None)
        head = peek(2)[:2] if peek is not None else b""
    else:
        raw = open(path, "rb")  # noqa: SIM115 - closed by read_blocks
        head = raw.read(2)
        raw.seek(0)
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[return-value]
    return raw, raw


def _fill(fh: BinaryIO, pieces: list[bytes]) -> bytes:
    """Up to CHUNK bytes. read1 keeps what a truncated gzip stream gave before its error
    (pieces holds it when the error propagates)."""
    if not isinstance(fh, gzip.GzipFile):
        return fh.read(CHUNK)
    size = 0
    while size < CHUNK:
        piece = fh.read1(CHUNK - size)
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces)


def read_blocks(path: str, warn: Warn, stats: KindStats | None = None) -> Iterator[Block]:
    """Blocks of one file; a read error ends the file with one warning naming it."""
    name = "<stdin>" if path == STDIN else path
    try:
        fh, raw = _open(path)
    except OSError as err:
        warn(ScanWarning(name, f"cannot read: {err.strerror or err}"))
        return
    if stats is not None:
        stats.files += 1
    line = 1
    rest = b""
    first = True
    try:
        while True:
            pieces: list[bytes] = []
            try:
                chunk = _fill(fh, pieces)
            except (EOFError, gzip.BadGzipFile, zlib.error) as err:
                chunk = b"".join(pieces)
                near = line + chunk.count(NL)
                warn(
                    ScanWarning(
                        name,
                        f"truncated or corrupt gzip data near line {near}"
                        f" ({err}); rest of file skipped",
                    )
                )
                fh = io.BytesIO()  # what was decompressed is scanned, then the file ends
            except OSError as err:
                warn(ScanWarning(name, f"read error after line {line - 1}: {err}"))
                chunk = b""
            if first and chunk:
                first = False
                if b"\x00" in chunk[:65536]:
                    warn(ScanWarning(name, "binary data, not a text log; file skipped"))
                    return
            if not chunk:
                if rest:
                    if stats is not None:
                        stats.bytes += len(rest)
                        stats.lines += 1
                    yield Block(name, line, rest, 1)
                return
            cut = chunk.rfind(b"\n")
            if cut < 0:
                rest += chunk
                if len(rest) > MAX_LINE:  # no newline in sight: not a log; keep memory flat
                    warn(ScanWarning(name, f"line {line} longer than {MAX_LINE} bytes; skipped"))
                    rest = b""
                continue
            data = rest + chunk[: cut + 1] if rest else chunk[: cut + 1]
            rest = chunk[cut + 1 :]
            block = Block(name, line, data)
            yield block  # the consumer parses it, counting its lines on the way
            count = block.line_count()
            if stats is not None:
                stats.bytes += len(data)
                stats.lines += count
            line += count
    finally:
        if path != STDIN:
            fh.close()
            raw.close()


def iter_blocks(
    kind: LogKind, args: Sequence[PathArg], warn: Warn, stats: KindStats | None = None
) -> Iterator[Block]:
    """Blocks of a kind's whole rotated set, oldest file first."""
    for path in expand(kind, args, warn):
        yield from read_blocks(path, warn, stats)


def newest_log4j_month(args: Sequence[PathArg], warn: Warn) -> tuple[int, int] | None:
    """(year, month) of the last line of the newest plain mailbox.log/audit.log given: the
    reference for zimbra.log's yearless dates (§3, §8 item 8). Reads only the file's tail."""
    best: tuple[int, int] | None = None
    quiet: Warn = lambda w: None  # noqa: E731 - the scan proper reports these files
    for kind in (LogKind.MAILBOX, LogKind.AUDIT):
        for path in expand(kind, args, quiet):
            if path == STDIN:
                continue
            try:
                with open(path, "rb") as fh:
                    if fh.read(2) == GZIP_MAGIC:
                        continue
                    fh.seek(0, os.SEEK_END)
                    fh.seek(max(0, fh.tell() - 65536))
                    tail = fh.read()
            except OSError:
                continue
            for m in _LOG4J_DATE.finditer(tail):
                found = (int(m.group(1)), int(m.group(2)))
                best = found if best is None else max(best, found)
    return best


_LOG4J_DATE = re.compile(rb"^(\d{4})-(\d\d)-\d\d \d\d:\d\d:\d\d,", re.M)
