"""Paths of the shared sample logs and small helpers for the detection tests."""

from __future__ import annotations

import gzip
from pathlib import Path

from zcomp.detect import DetectSettings, ScanInputs, Suspect

# The shared sample logs (zimbra-logs.md), copied into the repository so a clean checkout
# has them.
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "zimbra-logs"
MAILBOX = SAMPLES / "mailbox.log"
AUDIT = SAMPLES / "audit.log"
MTA = SAMPLES / "zimbra.log"
NGINX = SAMPLES / "nginx.access.log"
LEGACY = SAMPLES / "mailbox-legacy-7.x-8.8.6.log"
PHISH = "it-helpdesk@phish.example.net"


def lineno(path: Path, needle: str) -> int:
    """1-based number of the first log line (not '#' header) of path containing needle."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line and not line.startswith("#"):
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def sample_inputs() -> ScanInputs:
    return ScanInputs(mailbox=(MAILBOX,), audit=(AUDIT,), mta=(MTA,), nginx=(NGINX,))


def settings(**kw: object) -> DetectSettings:
    return DetectSettings(phish_list=frozenset({PHISH}), **kw)  # type: ignore[arg-type]


def by_account(suspects: list[Suspect]) -> dict[str, Suspect]:
    return {s.account: s for s in suspects}


def write_gz(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data))
    return path


def data_lines(path: Path) -> list[bytes]:
    """The sample's log lines without its '#' header."""
    return [ln for ln in path.read_bytes().splitlines(keepends=True) if not ln.startswith(b"#")]
