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
_TOKEN_MIN_LEN = 44  # the shortest match: a digit, "_", 40 hex digits, "_", a hex digit
_LOOKS_LIKE = " looks like a Zimbra auth token"


# Every ZIMBRA_TOKEN match holds this, and it starts with a literal, which the regex engine
# finds at C speed (ZIMBRA_TOKEN's leading \d+ is tried at every digit of the text).
_TOKEN_CORE = re.compile(r"_[0-9a-f]{40}_[0-9a-f]")
# In canonical JSON (journal/codec.py), a key named like a secret is spelled "password":.
_SECRET_KEYS_JSON = tuple(f'"{key}":' for key in sorted(SECRET_KEYS))


def might_hold_secret(json_text: str) -> bool:
    """False when a JSON text certainly holds neither a token nor a secret-named key (the
    common case, found at C speed); True means: walk the value with find_secret to know."""
    if _TOKEN_CORE.search(json_text) is not None:
        return True
    lowered = json_text.lower()
    # The one non-ASCII letter str.lower() turns into a letter of those keys: the Kelvin sign
    # (K -> k, as in "authtoken"); canonical JSON writes it escaped.
    return any(key in lowered for key in _SECRET_KEYS_JSON) or "\\u212a" in lowered


def find_secret(value: Any, where: str = "value") -> str | None:
    """Return a description of where a secret-looking item sits in `value`, or None."""
    found = _secret_path(value)
    return None if found is None else where + found


def _secret_path(value: Any) -> str | None:
    """The path to the secret and what it is (".key[2] looks like ..."), spelled out only on
    the way back from the item found, not for every item looked at."""
    if isinstance(value, str):
        return _LOOKS_LIKE if _token_in(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            if name.lower() in SECRET_KEYS:
                return f" has a key named {name!r}"
            if _token_in(name):
                return " key" + _LOOKS_LIKE
            found = _secret_path(item)
            if found is not None:
                return f".{name}{found}"
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            found = _secret_path(item)
            if found is not None:
                return f"[{index}]{found}"
    return None


def _token_in(text: str) -> bool:
    # Most texts are too short or have no "_", so cannot hold a token: no regex for them. Only
    # for plain str: a subclass may answer len() or `in` its own way; the regex reads the text.
    if type(text) is str and (len(text) < _TOKEN_MIN_LEN or "_" not in text):
        return False
    return ZIMBRA_TOKEN.search(text) is not None
