"""Detection engine of `zcomp scan`: find phished accounts in Zimbra's own logs.

Formats, joins and thresholds: docs/zimbra-logs.md. Library only; the CLI lives elsewhere.
Names are loaded on first use: the configuration imports `zcomp.detect.settings` at every
start-up, and must not pay for the parsers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zcomp.detect.model import (
        Evidence,
        KindStats,
        LogKind,
        ScanInputs,
        ScanResult,
        ScanStats,
        ScanWarning,
        Signal,
        Suspect,
    )
    from zcomp.detect.phishlist import load_phish_list, parse_phish_list
    from zcomp.detect.scanner import Scanner
    from zcomp.detect.scanning import scan
    from zcomp.detect.settings import DEFAULT_WEIGHTS, DetectSettings

_WHERE = {
    **dict.fromkeys(
        (
            "Evidence",
            "KindStats",
            "LogKind",
            "ScanInputs",
            "ScanResult",
            "ScanStats",
            "ScanWarning",
            "Signal",
            "Suspect",
        ),
        "zcomp.detect.model",
    ),
    "load_phish_list": "zcomp.detect.phishlist",
    "parse_phish_list": "zcomp.detect.phishlist",
    "scan": "zcomp.detect.scanning",
    "Scanner": "zcomp.detect.scanner",
    "DEFAULT_WEIGHTS": "zcomp.detect.settings",
    "DetectSettings": "zcomp.detect.settings",
}

__all__ = [
    "DEFAULT_WEIGHTS",
    "DetectSettings",
    "Evidence",
    "KindStats",
    "LogKind",
    "ScanInputs",
    "ScanResult",
    "ScanStats",
    "ScanWarning",
    "Scanner",
    "Signal",
    "Suspect",
    "load_phish_list",
    "parse_phish_list",
    "scan",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'zcomp.detect' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
