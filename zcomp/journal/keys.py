"""Incident keys: unique across journals and hosts, short enough to read out and type.

A key is INC- and 8 characters of Crockford's base32 (no I, L, O or U: nothing to confuse when
read aloud), 40 random bits: two teams filing a thousand incidents each meet a collision about
once in a million years of such years. People may type it in lower case, without INC- or the
dash, or only its first 4 or more characters when that is unique in their journal. Incidents
from before keys keep the one they were shown with: INC000042 (and 42 still finds it).
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
MIN_PREFIX = 4
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_incident_key() -> str:
    return "INC-" + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_key(typed: str) -> str:
    """The key as stored ("INC-7K3MQ9XA", "INC000042"), or a prefix of one; "" if it cannot be."""
    text = typed.strip().upper().replace(" ", "")
    rest = text.removeprefix("INC").removeprefix("-")
    if rest.isdigit():
        return f"INC{int(rest):06d}" if 0 < int(rest) < 2**63 else ""
    rest = rest.replace("-", "").translate(_READ_AS)
    if not rest or any(c not in ALPHABET for c in rest) or len(rest) > LENGTH:
        return ""
    return "INC-" + rest


def is_prefix(key: str) -> bool:
    """A normalised key that is only the start of one (typed short)."""
    return key.startswith("INC-") and len(key) < len("INC-") + LENGTH
