"""Random passwords that satisfy any reasonable Zimbra password policy."""

from __future__ import annotations

import secrets
import string

from zcomp.zimbra.model import Secret

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "-_.!@#%^*+=")


def random_password(length: int = 32) -> Secret:
    """Unique per call; at least one character of each class (policy minimums)."""
    alphabet = "".join(_CLASSES)
    chars = [secrets.choice(c) for c in _CLASSES]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return Secret("".join(chars))
