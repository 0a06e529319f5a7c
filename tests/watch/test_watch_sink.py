"""The log scanner behind `zcomp watch --mailbox-log ...`: fed line by line, scored on watch's
scale (1.0 = worth an alert)."""

from __future__ import annotations

from tests.detect.helpers import SAMPLES
from zcomp.detect.settings import DetectSettings
from zcomp.detect.watch_sink import ScannerSink


def test_fed_lines_make_the_abused_account_an_alert_and_nobody_else() -> None:
    sink = ScannerSink(DetectSettings())
    for kind, name in (("audit", "audit.log"), ("mailbox", "mailbox.log")):
        path = SAMPLES / name
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            sink.feed(kind, str(path), number, line)
    scored = {account: (score, why) for account, score, why in sink.suspects()}
    bob_score, bob_why = scored["bob@example.com"]
    assert bob_score >= 1.0 and "Standard (HTML) client" in bob_why
    assert all(score >= 1.0 for score, _ in scored.values())  # only what scan would report
    assert not {"alice@example.com", "carol@example.com"} & set(scored)


def test_a_followed_proxy_log_adds_the_standard_client_sends() -> None:
    # watch --audit-log --nginx-log: the proxy's compose POSTs, joined to bob by his login
    sink = ScannerSink(DetectSettings(min_score=1.0), web=True)
    for kind, name in (("audit", "audit.log"), ("nginx", "nginx.access.log")):
        path = SAMPLES / name
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            sink.feed(kind, str(path), number, line)
    scored = {account: why for account, _, why in sink.suspects()}
    assert "3 sends from the Standard (HTML) client at 203.0.113.77" in scored["bob@example.com"]
