"""mailbox.log, audit.log and zimbra.log lines in Zimbra's formats (see docs/zimbra-logs.md)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LogContext:
    """What ZimbraLog puts in the [%z] block and the thread name of one request."""

    server: str
    url: str
    request: str
    name: str | None = None
    aname: str | None = None
    mid: str | None = None
    ip: str | None = None
    oip: str | None = None
    ua: str | None = None
    soap_id: str | None = None
    thread: str = "qtp1281060270-1"

    def block(self) -> str:
        parts: list[tuple[str, str | None]] = [
            ("name", self.name),
            ("aname", self.aname),
            ("mid", self.mid),
            ("ip", None if self.oip or self.ip in (None, "127.0.0.1", "::1") else self.ip),
            ("oip", self.oip),
            ("ua", self.ua),
            ("soapId", self.soap_id),
        ]
        return "".join(f"{k}={v.replace(';', ';;').replace(chr(10), ' ')};" for k, v in parts if v)


def _ts(epoch: float) -> str:
    t = time.localtime(epoch)
    return time.strftime("%Y-%m-%d %H:%M:%S", t) + f",{int(epoch * 1000) % 1000:03d}"


def _syslog_ts(epoch: float) -> str:
    t = time.localtime(epoch)
    return time.strftime("%b ", t) + f"{t.tm_mday:2d}" + time.strftime(" %H:%M:%S", t)


class LogWriter:
    """Appends lines when a log directory is configured; does nothing otherwise."""

    def __init__(self, log_dir: str | os.PathLike[str] | None) -> None:
        self._dir = Path(log_dir) if log_dir else None
        self._lock = threading.Lock()
        if self._dir is not None:
            self._dir.mkdir(parents=True, exist_ok=True)

    @property
    def enabled(self) -> bool:
        return self._dir is not None

    def _append(self, filename: str, line: str) -> None:
        if self._dir is None:
            return
        with self._lock, open(self._dir / filename, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def _log4j(
        self, file: str, epoch: float, level: str, ctx: LogContext, cat: str, msg: str
    ) -> None:
        thread = f"{ctx.thread}:{ctx.url}{ctx.request}"
        line = f"{_ts(epoch)} {level:<5} [{thread}] [{ctx.block()}] {cat} - {msg}"
        self._append(file, line)

    def mailbox(
        self, epoch: float, ctx: LogContext, cat: str, msg: str, level: str = "INFO"
    ) -> None:
        self._log4j("mailbox.log", epoch, level, ctx, cat, msg)

    def audit(
        self, epoch: float, ctx: LogContext, fields: list[tuple[str, str]], level: str = "INFO"
    ) -> None:
        msg = " ".join(f"{k}={v.replace(';', ';;')};" for k, v in fields)
        self._log4j("audit.log", epoch, level, ctx, "security", msg)
        self._log4j("mailbox.log", epoch, level, ctx, "security", msg)

    def syslog(self, epoch: float, host: str, prog: str, pid: int, msg: str) -> None:
        self._append("zimbra.log", f"{_syslog_ts(epoch)} {host.split('.')[0]} {prog}[{pid}]: {msg}")
