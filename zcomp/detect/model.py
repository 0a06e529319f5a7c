"""Public result types of a scan: evidence, signals, suspects, warnings and statistics."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field

# A send line with hundreds of recipients can be tens of KB; evidence keeps its head
# (timestamp, client context, Message-ID, nrcpts), which is what an admin reads.
EVIDENCE_CHARS = 1000  # bytes
# Evidence lines kept per signal.
EVIDENCE_LINES = 5


class LogKind(str, enum.Enum):
    MAILBOX = "mailbox"  # /opt/zimbra/log/mailbox.log (§1)
    AUDIT = "audit"  # /opt/zimbra/log/audit.log (§2)
    MTA = "mta"  # /var/log/zimbra.log: postfix, amavis, saslauthd (§3)
    NGINX = "nginx"  # /opt/zimbra/log/nginx.access.log (§4)


@dataclass(frozen=True)
class Evidence:
    file: str
    line: int
    text: str

    @staticmethod
    def of(file: str, line: int, raw: bytes) -> Evidence:
        raw = raw.rstrip(b"\r\n")
        if len(raw) > EVIDENCE_CHARS:
            more = len(raw) - EVIDENCE_CHARS
            text = raw[:EVIDENCE_CHARS].decode("utf-8", "replace") + f" …(+{more} bytes)"
        else:
            text = raw.decode("utf-8", "replace")
        return Evidence(file, line, text)


@dataclass(frozen=True)
class Signal:
    rule: str  # e.g. "big_send", "new_ip_change"
    weight: float  # contribution to the account's score
    reason: str  # one short sentence for a human
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Suspect:
    account: str
    score: float
    signals: tuple[Signal, ...]  # heaviest first

    def rules(self) -> set[str]:
        return {s.rule for s in self.signals}

    def signal(self, rule: str) -> Signal | None:
        return next((s for s in self.signals if s.rule == rule), None)


@dataclass(frozen=True)
class ScanWarning:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class KindStats:
    files: int = 0
    bytes: int = 0  # after decompression
    lines: int = 0


@dataclass
class ScanStats:
    kinds: dict[LogKind, KindStats] = field(default_factory=dict)
    seconds: float = 0.0

    def of(self, kind: LogKind) -> KindStats:
        return self.kinds.setdefault(kind, KindStats())


PathArg = str | os.PathLike[str]


@dataclass(frozen=True)
class ScanInputs:
    """Files per log kind. Each entry is a path, a directory, a glob or "-" (stdin).

    A directory means the rotated set of that kind's log in it (mailbox.log*, audit.log*,
    zimbra.log*, nginx.access.log*); every kind's set is read oldest first.
    """

    mailbox: tuple[PathArg, ...] = ()
    audit: tuple[PathArg, ...] = ()
    mta: tuple[PathArg, ...] = ()
    nginx: tuple[PathArg, ...] = ()
    # Year of syslog lines (zimbra.log has none, §3); None = each file's modification year.
    year: int | None = None

    def of(self, kind: LogKind) -> tuple[PathArg, ...]:
        return {
            LogKind.MAILBOX: self.mailbox,
            LogKind.AUDIT: self.audit,
            LogKind.MTA: self.mta,
            LogKind.NGINX: self.nginx,
        }[kind]


@dataclass
class ScanResult:
    suspects: list[Suspect]
    warnings: list[ScanWarning]
    stats: ScanStats
