"""JSON in and out of the journal: canonical text, secret tripwire, SHA-256."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from zcomp.journal.errors import JournalError, SecretRefusedError
from zcomp.journal.guard import find_secret, might_hold_secret

# What json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False) builds on
# every call; made once.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_json(value: Any) -> str:
    """The one JSON spelling of `value`: sorted keys, no spaces, ASCII only, no NaN."""
    try:
        return _CANONICAL.encode(value)
    except (TypeError, ValueError) as exc:
        raise JournalError(f"cannot journal a value that is not plain JSON: {exc}") from None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def refuse_secrets(value: Any, where: str) -> None:
    found = find_secret(value, where)
    if found:
        raise SecretRefusedError(f"refused to write to the journal: {found}")


def encode(value: Any, where: str) -> str:
    """Canonical JSON of a value holding no secret (SecretRefusedError otherwise).

    An evidence bundle holds hundreds of values: the text is searched first, in C, and only
    text that may hold a secret is walked value by value, for the verdict and its place. Every
    finding of the walk shows in the text: a token's characters are never escaped in JSON and
    cannot run across two strings, and a key is spelled "key": there."""
    text = canonical_json(value)
    if might_hold_secret(text):
        refuse_secrets(value, where)
    return text


def decode(text: str) -> Any:
    return json.loads(text)
