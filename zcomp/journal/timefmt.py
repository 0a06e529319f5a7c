"""UTC timestamps as fixed-width ISO-8601 text ending in "Z", so they sort as strings."""

from __future__ import annotations

from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def to_text(moment: datetime | None = None) -> str:
    """Aware datetime -> "2024-05-01T12:00:00.000000Z". Naive datetimes are refused."""
    if moment is None:
        moment = utc_now()
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("journal timestamps must be timezone-aware datetimes")
    return moment.astimezone(timezone.utc).strftime(_FORMAT)


def from_text(text: str) -> datetime:
    return datetime.strptime(text, _FORMAT).replace(tzinfo=timezone.utc)


def from_optional_text(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)
