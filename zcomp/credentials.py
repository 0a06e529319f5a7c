"""The admin password: password file, $ZCOMP_PASSWORD, the OS keyring, or a hidden prompt.

Never from a command-line option value (it would show in `ps` and shell history). The keyring
is a convenience, not a requirement: a headless machine without a usable backend falls through
to the other sources with one short note. keyring is imported only on the path that needs it.
"""

from __future__ import annotations

import getpass
import os
import re
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from zcomp.config import ENV_PASSWORD, Settings
from zcomp.exitcodes import CredentialError, UsageError, ZcompError
from zcomp.zimbra.model import Secret

KEYRING_SERVICE = "zcomp"


def keyring_username(admin: str, url: str) -> str:
    return f"{admin}@{url}"


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Terminal:
    """The interactive boundary: whether a human is there, and how to ask them secretly."""

    is_interactive: Callable[[], bool] = stdin_is_terminal
    read_secret: Callable[[str], str] = getpass.getpass


@dataclass
class PasswordSource:
    """Everything the chain needs besides the settings; notes go to stderr via `note`."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    note: Callable[[str], None] = lambda _text: None
    warn: Callable[[str], None] = lambda _text: None
    terminal: Terminal = field(default_factory=Terminal)
    _keyring_noted: bool = False

    def keyring_unavailable(self, error: BaseException) -> None:
        if not self._keyring_noted:
            self._keyring_noted = True
            self.note(f"OS keyring not available ({_describe(error)}); using other sources")


def _describe(error: BaseException) -> str:
    """The error's own first sentence; its class name only as words when it says nothing."""
    lines = str(error).strip().splitlines()
    text = lines[0].split(". ")[0].strip().rstrip(".") if lines else ""
    if len(text) > 100:
        text = text[:97] + "..."
    if text:
        return text
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(error).__name__).lower()


class KeyringStoreError(ZcompError):
    """The OS keyring refused to keep a value; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"could not store the password in the OS keyring ({reason})")
        self.reason = reason


# ---------------------------------------------------------------- the individual sources


def read_password_file(path: Path, warn: Callable[[str], None]) -> Secret:
    try:
        mode = path.stat().st_mode
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CredentialError(f"cannot read password file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CredentialError(f"password file {path} is not UTF-8 text") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        warn(
            f"password file {path} is readable by others "
            f"(mode {stat.S_IMODE(mode):04o}); chmod 600 it"
        )
    password = password_text(raw)
    if not password:
        raise CredentialError(f"password file {path} is empty")
    return Secret(password)


def password_text(raw: str) -> str:
    """A password file's text as the password: without the BOM that Windows editors put at
    the start of UTF-8 text (nobody types it, so it would never match), and without one
    trailing newline (strip_one_newline)."""
    return strip_one_newline(raw.removeprefix("\ufeff"))


def strip_one_newline(raw: str) -> str:
    """Exactly one trailing newline goes: `echo pw > file` adds one, but spaces may be real."""
    if raw.endswith("\r\n"):
        return raw[:-2]
    if raw.endswith("\n"):
        return raw[:-1]
    return raw


def keyring_get(service: str, username: str, source: PasswordSource) -> str | None:
    """The stored value, or None when absent or when no keyring works here (noted once)."""
    try:
        import keyring

        return keyring.get_password(service, username)
    except Exception as exc:  # noqa: BLE001 - any keyring failure only means "not available"
        source.keyring_unavailable(exc)
        return None


def keyring_set(service: str, username: str, value: str) -> None:
    """Store a value and read it back; a failing or forgetful keyring raises KeyringStoreError."""
    try:
        import keyring

        keyring.set_password(service, username, value)
        # Some backends (keyring's "null" one) accept a value and keep nothing.
        kept = keyring.get_password(service, username) == value
    except Exception as exc:  # noqa: BLE001 - report any backend failure as one line
        raise KeyringStoreError(_describe(exc)) from None
    if not kept:
        name = type(keyring.get_keyring()).__module__
        raise KeyringStoreError(f"the keyring backend {name} did not keep it")


def keyring_delete(service: str, username: str) -> bool | None:
    """True if removed, False if there was nothing, None if the keyring is not usable."""
    try:
        import keyring
        from keyring.errors import PasswordDeleteError
    except Exception:  # noqa: BLE001
        return None
    try:
        keyring.delete_password(service, username)
    except PasswordDeleteError:
        return False
    except Exception:  # noqa: BLE001 - no backend, locked collection, ...
        return None
    return True


# ---------------------------------------------------------------- the chain


def _require_identity(settings: Settings) -> tuple[str, str]:
    if not settings.url or not settings.admin:
        missing = "url" if not settings.url else "admin"
        raise UsageError(
            f"no Zimbra {missing} configured: use --{missing}, ZCOMP_{missing.upper()} "
            f"or '{missing}' in the configuration file (zcomp config init)"
        )
    return settings.admin, settings.url


def prompt_password(settings: Settings, source: PasswordSource) -> Secret:
    admin, url = _require_identity(settings)
    from zcomp.output import prompt_open, write_stderr

    try:
        with prompt_open():
            value = source.terminal.read_secret(f"Password for {admin} at {url}: ")
    except EOFError:
        write_stderr("\n")  # Ctrl-D echoes nothing: the error starts on a row of its own
        raise CredentialError("no password entered (Ctrl-D)") from None
    if not value:
        raise CredentialError("no password entered")
    return Secret(value)


def get_password(settings: Settings, source: PasswordSource, *, use_keyring: bool = True) -> Secret:
    """First hit wins: password file, $ZCOMP_PASSWORD, keyring, prompt on a terminal."""
    if settings.password_file is not None:
        return read_password_file(settings.password_file, source.warn)
    from_env = source.env.get(ENV_PASSWORD)
    if from_env:
        return Secret(from_env)
    admin, url = _require_identity(settings)
    if use_keyring and settings.keyring:
        stored = keyring_get(KEYRING_SERVICE, keyring_username(admin, url), source)
        if stored:
            return Secret(stored)
    if source.terminal.is_interactive():
        return prompt_password(settings, source)
    ways = "--password-file PATH, ZCOMP_PASSWORD"
    if settings.keyring:
        ways += ", `zcomp login` (OS keyring)"
    raise CredentialError(
        f"no password for {admin}: stdin is not a terminal; supply it with {ways}, "
        "or password_file in the configuration"
    )


def describe_password_source(settings: Settings, env: Mapping[str, str]) -> str:
    """Where the password would come from, without reading it or touching the keyring."""
    if settings.password_file is not None:
        return f"password_file {settings.password_file} ({settings.sources.get('password_file')})"
    if env.get(ENV_PASSWORD):
        return f"env {ENV_PASSWORD}"
    return "OS keyring, else a prompt" if settings.keyring else "prompt (keyring = false)"


def forget(settings: Settings) -> list[str]:
    """Remove the stored password and this admin's cached token; returns what was removed.

    The token cache belongs to zcomp.zimbra.tokens (keyed by the normalised admin URL), so it
    is cleared through that module rather than by guessing its file or keyring names.
    """
    from zcomp.zimbra.tokens import FileCache, KeyringCache, cache_key
    from zcomp.zimbra.urls import admin_url

    admin, url = _require_identity(settings)
    username = keyring_username(admin, url)
    token_key = cache_key(admin_url(url), admin)
    removed: list[str] = []
    if settings.keyring:
        if keyring_delete(KEYRING_SERVICE, username):
            removed.append(f"password for {username} from the OS keyring")
        keyring_tokens = KeyringCache()
        if keyring_tokens.get(token_key) is not None:
            keyring_tokens.delete(token_key)
            removed.append("cached auth token from the OS keyring")
    file_tokens = FileCache(settings.state_dir)
    if file_tokens.get(token_key) is not None:
        file_tokens.delete(token_key)
        removed.append(f"cached auth token from {file_tokens.path}")
    return removed
