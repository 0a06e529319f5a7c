"""Admin token cache (keyring, 0600 file or off) and local reading of a token's expiry.

A Zimbra token is `{keyVersion}_{hmac}_{hex(data)}`; data is BlobMetaData
(`name=len:value;`...) with `exp` in ms (ZimbraAuthToken.getEncoded).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from zcomp.securefile import (
    O_NOFOLLOW,
    foreign_owner,
    make_private_dirs,
    team_group,
    write_private,
)
from zcomp.zimbra.model import Secret

KEYRING_SERVICE = "zcomp-admin-token"
FILE_NAME = "admin-tokens.json"
# Treat a token as expired a little early so it does not die between check and use.
EXPIRY_MARGIN_MS = 60_000


def _metadata(data: str) -> dict[str, str]:
    found: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        eq = data.find("=", pos)
        colon = data.find(":", eq + 1)
        if eq < 0 or colon < 0:
            break
        length = int(data[eq + 1 : colon])
        value = data[colon + 1 : colon + 1 + length]
        found[data[pos:eq]] = value
        pos = colon + 1 + length + 1  # skip the ';'
    return found


def token_fields(token: str) -> dict[str, str]:
    """The BlobMetaData fields of a Zimbra token, or {} when it cannot be decoded."""
    parts = token.split("_")
    if len(parts) < 3:
        return {}
    try:
        return _metadata(bytes.fromhex(parts[-1]).decode("utf-8"))
    except ValueError:
        return {}


def token_expiry_ms(token: str) -> int | None:
    exp = token_fields(token).get("exp")
    try:
        return int(exp) if exp is not None else None
    except ValueError:
        return None


@dataclass
class CachedToken:
    token: Secret
    expires_ms: int

    def valid(self, now_ms: int) -> bool:
        return now_ms + EXPIRY_MARGIN_MS < self.expires_ms


def expiry_of(token: Secret, lifetime_ms: int, now_ms: int) -> int:
    """When a freshly issued token expires: its own `exp`, else now + the reported lifetime."""
    return token_expiry_ms(token.reveal()) or now_ms + lifetime_ms


class TokenCache(Protocol):
    def get(self, key: str) -> CachedToken | None: ...
    def put(self, key: str, entry: CachedToken) -> None: ...
    def delete(self, key: str) -> None: ...


def _encode(entry: CachedToken) -> str:
    return json.dumps({"token": entry.token.reveal(), "expires_ms": entry.expires_ms})


def _decode(raw: str | None) -> CachedToken | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return CachedToken(Secret(str(data["token"])), int(data["expires_ms"]))
    except (ValueError, KeyError, TypeError):
        return None


class NoCache:
    def get(self, key: str) -> CachedToken | None:
        return None

    def put(self, key: str, entry: CachedToken) -> None:
        return None

    def delete(self, key: str) -> None:
        return None


class FileCache:
    """A JSON map key -> token in a 0600 file; unreadable, foreign or loose files are ignored."""

    def __init__(self, directory: Path) -> None:
        # In a team's shared state directory each admin keeps their own (tokens are personal).
        try:
            shared = team_group(directory.stat()) is not None
        except OSError:
            shared = False
        self.path = directory / (f"admin-tokens-{os.getuid()}.json" if shared else FILE_NAME)

    def _load(self) -> dict[str, str]:
        try:
            text = _read_own_private(self.path)
            data = json.loads(text) if text is not None else None
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _save(self, data: dict[str, str]) -> None:
        make_private_dirs(self.path.parent)
        write_private(self.path, json.dumps(data).encode("utf-8"))

    def get(self, key: str) -> CachedToken | None:
        return _decode(self._load().get(key))

    def put(self, key: str, entry: CachedToken) -> None:
        data = self._load()
        data[key] = _encode(entry)
        self._save(data)

    def delete(self, key: str) -> None:
        data = self._load()
        if data.pop(key, None) is not None:
            self._save(data)


def _read_own_private(path: Path) -> str | None:
    """The file's text, or None if it is a symlink, not ours, or others could read it."""
    fd = os.open(path, os.O_RDONLY | O_NOFOLLOW)
    try:
        st = os.fstat(fd)
        if foreign_owner(st) is not None or st.st_mode & 0o077:
            return None  # someone else wrote it, or could read it: do not trust or extend it
        with os.fdopen(os.dup(fd), encoding="utf-8") as handle:
            return handle.read()
    finally:
        os.close(fd)


class KeyringCache:
    """The OS keyring; any keyring error means "no cached token" (never fatal)."""

    def get(self, key: str) -> CachedToken | None:
        import keyring

        try:
            return _decode(keyring.get_password(KEYRING_SERVICE, key))
        except Exception:  # noqa: BLE001 - a broken keyring must never stop a lockdown
            return None

    def put(self, key: str, entry: CachedToken) -> None:
        import keyring

        with contextlib.suppress(Exception):
            keyring.set_password(KEYRING_SERVICE, key, _encode(entry))

    def delete(self, key: str) -> None:
        import keyring

        with contextlib.suppress(Exception):
            keyring.delete_password(KEYRING_SERVICE, key)


def keyring_usable() -> bool:
    """True when a keyring backend answers a lookup (headless hosts often have none)."""
    try:
        import keyring

        keyring.get_password(KEYRING_SERVICE, "zcomp-probe")
        from keyring.backends import fail, null

        return not isinstance(keyring.get_keyring(), (fail.Keyring, null.Keyring))
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


def open_cache(mode: str, state_dir: Path | None) -> TokenCache:
    if mode == "off":
        return NoCache()
    if mode == "keyring":
        return KeyringCache()
    if mode == "file":
        return FileCache(state_dir) if state_dir is not None else NoCache()
    if mode == "auto":
        if keyring_usable():
            return KeyringCache()
        return FileCache(state_dir) if state_dir is not None else NoCache()
    raise ValueError(f"token_cache must be auto, keyring, file or off, not {mode!r}")


def cache_key(url: str, admin: str) -> str:
    return f"{admin}@{url}"


def now_ms() -> int:
    return int(time.time() * 1000)
