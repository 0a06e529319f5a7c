"""Reading one backend's [tickets.<name>] table: typed, validated, secrets never inline.

Every problem is one ConfigError line naming the key (`[tickets.rt] url: ...`); the caller adds
the config file. A secret (API token, SMTP password) comes from a file (`token_file`), an
environment variable (`token_env`) or the OS keyring (`token_keyring = true`: service "zcomp",
user "tickets.<backend>.<key>"), as the admin password does; it is read once, when the backend is
made, so a missing file stops a lockdown before its first request rather than at the ticket.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from zcomp.exitcodes import ConfigError
from zcomp.zimbra.model import Secret

KEYRING_SERVICE = "zcomp"


class Options:
    """One backend's settings. Call `done()` last: it refuses keys nobody asked for."""

    def __init__(
        self,
        backend: str,
        table: Mapping[str, Any],
        *,
        env: Mapping[str, str] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.backend = backend
        self.table = dict(table)
        self.env = os.environ if env is None else env
        self.warn = warn or (lambda _text: None)
        self._known: set[str] = set()

    def _fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"[tickets.{self.backend}] {key}: {problem}")

    def _get(self, key: str) -> Any:
        self._known.add(key)
        return self.table.get(key)

    def text(self, key: str, *, default: str | None = None) -> str | None:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self._fail(key, f"expected non-empty text, got {value!r}")
        return value.strip()

    def required_text(self, key: str, *, default: str | None = None) -> str:
        value = self.text(key, default=default)
        if value is None:
            raise self._fail(key, "is required")
        return value

    def url(
        self, key: str, *, required: bool = True, schemes: tuple[str, ...] = ("https", "http")
    ) -> str:
        value = self.required_text(key) if required else self.text(key)
        if value is None:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.hostname:
            raise self._fail(key, f"expected a {' or '.join(schemes)} URL, got {value!r}")
        return value.rstrip("/")

    def integer(self, key: str, *, default: int, low: int, high: int) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._fail(key, f"expected a whole number from {low} to {high}, got {value!r}")
        return value

    def seconds(self, key: str, *, default: float, high: float = 600.0) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= high:
            # NaN and infinity fail the comparison too.
            raise self._fail(
                key, f"expected seconds, more than 0 and at most {high:g}, got {value!r}"
            )
        return float(value)

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, f"expected true or false, got {value!r}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], *, default: str) -> str:
        value = self.required_text(key, default=default)
        if value not in choices:
            raise self._fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def strings(self, key: str) -> list[str]:
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self._fail(key, f"expected a list of non-empty texts, got {value!r}")
        return [v.strip() for v in value]

    def table_of_texts(self, key: str) -> dict[str, str]:
        value = self._get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self._fail(key, "expected a table of texts")
        return dict(value)

    def secret(self, key: str, *, required: bool = True) -> Secret | None:
        """`<key>_file`, `<key>_env` or `<key>_keyring = true`; never `<key>` itself."""
        inline = self._get(key)
        if inline is not None:
            raise self._fail(
                key,
                f"secrets are not written in the config: use {key}_file, {key}_env or "
                f"{key}_keyring = true",
            )
        path, variable = self._get(f"{key}_file"), self._get(f"{key}_env")
        keyring = self._get(f"{key}_keyring")
        given = [name for name, v in ((f"{key}_file", path), (f"{key}_env", variable)) if v]
        if keyring:
            given.append(f"{key}_keyring")
        if len(given) > 1:
            raise self._fail(given[1], f"give only one of {', '.join(given)}")
        if path is not None:
            return self._secret_file(f"{key}_file", path)
        if variable is not None:
            if not isinstance(variable, str) or not variable.strip():
                raise self._fail(f"{key}_env", f"expected a variable name, got {variable!r}")
            found = self.env.get(variable.strip())
            if not found:
                raise self._fail(f"{key}_env", f"${variable.strip()} is not set")
            return Secret(found)
        if keyring is not None:
            if not isinstance(keyring, bool):
                raise self._fail(f"{key}_keyring", f"expected true or false, got {keyring!r}")
            if keyring:
                return self._secret_keyring(key)
        if required:
            raise self._fail(key, f"is required: set {key}_file, {key}_env or {key}_keyring = true")
        return None

    def _secret_file(self, key: str, raw: Any) -> Secret:
        if not isinstance(raw, str) or not raw.strip():
            raise self._fail(key, f"expected a file path, got {raw!r}")
        path = Path(raw).expanduser()
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise self._fail(key, f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise self._fail(key, f"{path} is not UTF-8 text") from None
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            self.warn(f"{path} is readable by others (mode {stat.S_IMODE(mode):04o}); chmod 600 it")
        value = text.strip()
        if not value:
            raise self._fail(key, f"{path} is empty")
        return Secret(value)

    def _secret_keyring(self, key: str) -> Secret:
        user = f"tickets.{self.backend}.{key}"
        try:
            import keyring

            value = keyring.get_password(KEYRING_SERVICE, user)
        except Exception as exc:  # noqa: BLE001 - any keyring failure is "not available"
            raise self._fail(f"{key}_keyring", f"the OS keyring is not available ({exc})") from None
        if not value:
            raise self._fail(
                f"{key}_keyring", f"no entry for service {KEYRING_SERVICE!r}, user {user!r}"
            )
        return Secret(value)

    def ca_file(self, key: str = "ca_file") -> str | None:
        """A CA bundle to trust for the desk's TLS, if given; it must be a readable file."""
        value = self.text(key)
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_file():
            raise self._fail(key, f"{path} is not a readable file")
        return str(path)

    def transport_warnings(self, url: str, *, verify: bool, what: str = "the token") -> None:
        """Warn (never refuse: a lab desk may need it) about credentials sent in the clear
        to another host, and about a certificate that is not checked."""
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
            self.warn(f"[tickets.{self.backend}] url is http://: {what} would travel unencrypted")
        if not verify and parts.scheme == "https":
            self.warn(
                f"[tickets.{self.backend}] verify = false: the server's certificate is not checked"
            )

    def done(self) -> None:
        unknown = sorted(set(self.table) - self._known)
        if unknown:
            from zcomp.config import did_you_mean

            known = sorted(self._known)
            hint = did_you_mean(unknown[0], known)
            raise ConfigError(
                f"[tickets.{self.backend}] unknown option {unknown[0]!r}{hint} "
                f"(valid: {', '.join(known)})"
            )
