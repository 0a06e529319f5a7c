"""Load a phish list: one address per line, or `address,type,date` CSV lines; # comments."""

from __future__ import annotations

import os


def parse_phish_list(text: str) -> frozenset[str]:
    out: set[str] = set()
    for line in text.splitlines():
        entry = line.split("#", 1)[0].split(",", 1)[0].strip().strip("<>").lower()
        if "@" in entry:  # also skips a CSV header such as "address,type,date"
            out.add(entry)
    return frozenset(out)


def load_phish_list(path: str | os.PathLike[str]) -> frozenset[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return parse_phish_list(fh.read())
