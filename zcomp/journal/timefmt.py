"""UTC timestamps as fixed-width ISO-8601 text ending in "Z", so they sort as strings."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Exactly what to_text writes (ASCII digits, every field full width): read without strptime,
# which costs ~10x more. Anything else still goes through strptime, errors included.
_WRITTEN = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})Z", re.ASCII)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def to_text(moment: datetime | None = None) -> str:
    """Aware datetime -> "2024-05-01T12:00:00.000000Z". Naive datetimes are refused."""
    if moment is None:
        moment = utc_now()
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("journal timestamps must be timezone-aware datetimes")
    utc = moment.astimezone(timezone.utc)
    if type(utc) is not datetime or utc.year < 1000:
        return utc.strftime(_FORMAT)  # a subclass's own strftime; the C library's short years
    return (
        f"{utc.year}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def from_text(text: str) -> datetime:
    found = _WRITTEN.fullmatch(text) if type(text) is str else None
    if found is not None:
        try:
            year, month, day, hour, minute, second, micro = map(int, found.groups())
            return datetime(year, month, day, hour, minute, second, micro, timezone.utc)
        except ValueError:
            pass  # out of range: strptime raises its own error below
    return datetime.strptime(text, _FORMAT).replace(tzinfo=timezone.utc)


def from_optional_text(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)
