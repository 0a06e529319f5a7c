"""The log Scanner as `zcomp watch` feeds it (zcomp.core.watch.LineSink): lines in, suspects
out on watch's scale, where 1.0 is worth an alert (here: the scan's own reporting score)."""

from __future__ import annotations

from zcomp.detect.scanner import Scanner
from zcomp.detect.settings import DetectSettings


class ScannerSink:
    def __init__(self, settings: DetectSettings, *, web: bool = False) -> None:
        self.settings = settings
        self.scanner = Scanner(settings, web=web)

    def feed(self, kind: str, file: str, lineno: int, line: bytes) -> None:
        self.scanner.feed(kind, file, lineno, line)

    def suspects(self) -> list[tuple[str, float, str]]:
        bar = self.settings.min_score
        return [
            (s.account, s.score / bar, "; ".join(signal.reason for signal in s.signals))
            for s in self.scanner.suspects()
        ]
