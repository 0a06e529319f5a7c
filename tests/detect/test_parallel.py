"""Worker processes searching a large mailbox.log give exactly the in-process result."""

from __future__ import annotations

from pathlib import Path

from tests.detect.helpers import AUDIT, MAILBOX, settings
from zcomp.detect import LogKind, ScanInputs, scan
from zcomp.detect.parallel import MIN_SIZE, eligible


def test_workers_equal_in_process(tmp_path: Path) -> None:
    big = tmp_path / "mailbox.log"
    chunk = MAILBOX.read_bytes()
    noop = (
        b"2024-03-15 00:00:00,000 INFO  [qtp1-1:https://mail.example.com/service/soap/NoOpRequest]"
        b" [name=zoe@example.com;oip=198.51.100.9;ua=ZimbraWebClient - GC122 (Win)/9.0;]"
        b" soap - NoOpRequest elapsed=1\n"
    )
    filler = noop * (MIN_SIZE // 2 // len(noop) + 1)
    parts = [chunk, filler, chunk, filler, chunk]  # sample lines before, between, after
    with open(big, "wb") as fh:
        for part in parts:
            fh.write(part)
    inputs = ScanInputs(mailbox=(big,), audit=(AUDIT,))
    alone = scan(inputs, settings(), workers=0)
    pooled = scan(inputs, settings(), workers=2)
    assert eligible(str(big))  # large enough for the workers
    assert pooled.suspects == alone.suspects
    assert pooled.suspects[0].account == "bob@example.com"
    assert pooled.stats.kinds == alone.stats.kinds
    assert pooled.stats.kinds[LogKind.MAILBOX].lines == sum(len(p.splitlines()) for p in parts)
    # evidence line numbers are absolute in the big file
    ev = pooled.suspects[0].signals[0].evidence[-1]
    line = big.read_bytes().splitlines()[ev.line - 1].decode()
    assert line.startswith(ev.text.split(" …(+")[0])
