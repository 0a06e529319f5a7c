"""A cheap tripwire against secrets reaching the journal or a ticket.

Callers never pass secrets; this catches a bug before it becomes a leak. Messages name where
the value was found, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# A Zimbra auth token: "<version>_<40 hex hmac>_<hex-encoded data>", searched anywhere in text.
ZIMBRA_TOKEN = re.compile(r"\d+_[0-9a-f]{40}_[0-9a-f]+")
SECRET_KEYS = frozenset({"password", "newpassword", "authtoken"})


def find_secret(value: Any, where: str = "value") -> str | None:
    """Return a description of where a secret-looking item sits in `value`, or None."""
    if isinstance(value, str):
        return f"{where} looks like a Zimbra auth token" if ZIMBRA_TOKEN.search(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            if name.lower() in SECRET_KEYS:
                return f"{where} has a key named {name!r}"
            found = find_secret(name, f"{where} key") or find_secret(item, f"{where}.{name}")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            found = find_secret(item, f"{where}[{index}]")
            if found:
                return found
    return None
