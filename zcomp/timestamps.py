"""The one timestamp format of everything zcomp shows: UTC, ISO 8601, to the second, with a Z.

2026-11-30T05:37:13Z: one token (greppable, sortable, no time zone to guess) in lines, tables,
--json, tickets, evidence and zimbraNotes. The journal keeps its own, finer, stored format
(zcomp.journal.timefmt); this module only decides how a moment is shown.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Zimbra's LDAP generalized time: 20261130053713Z, 20261130053713.123Z
_GENERALIZED = re.compile(r"^(\d{14})(?:\.\d+)?Z$")


def stamp(moment: datetime | None = None) -> str:
    """A moment (now by default) as 2026-11-30T05:37:13Z; a naive datetime is taken as UTC."""
    if moment is None:
        moment = datetime.now(timezone.utc)
    elif moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime(FORMAT)


def stamp_ms(epoch_ms: int) -> str:
    """Milliseconds since the epoch (Zimbra's session times) as a stamp."""
    return stamp(datetime.fromtimestamp(epoch_ms / 1000, timezone.utc))


def restamp(text: str) -> str:
    """Any ISO 8601 text, or Zimbra's generalized time, as a stamp; other text unchanged (a
    value zcomp does not understand is shown as it came, never guessed at)."""
    value = text.strip()
    generalized = _GENERALIZED.match(value)
    try:
        if generalized:
            moment = datetime.strptime(generalized.group(1), "%Y%m%d%H%M%S")
        else:
            # fromisoformat before 3.11 does not take a trailing Z.
            moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return text
    return stamp(moment)
