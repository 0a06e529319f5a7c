"""Isolation from the developer's machine: home, config, state dir and keyring.

Every test runs with HOME and the XDG directories under tmp_path, no ZCOMP_* variables except
ZCOMP_STATE_DIR (a tmp dir), the system config path redirected, and an in-memory keyring.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.core
import keyring.errors
import pytest
from click.testing import CliRunner, Result

import zcomp.config

__all__ = [
    "MemoryKeyring",
    "FailingKeyring",
    "isolated_environment",
    "memory_keyring",
    "no_keyring",
    "cli_runner",
    "invoke",
    "state_dir",
]


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A dict; never touches the OS. priority is irrelevant: it is installed explicitly."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("not found") from None


class FailingKeyring(keyring.backend.KeyringBackend):
    """What a headless server without D-Bus/secret service gives: NoKeyringError everywhere."""

    priority = 0  # type: ignore[assignment]

    def _fail(self) -> None:
        raise keyring.errors.NoKeyringError(
            "No recommended backend was available. Install a recommended 3rd party backend "
            "package; or, install the keyrings.alt package if you want to use the non-recommended "
            "backends. See https://pypi.org/project/keyring for details."
        )

    def get_password(self, service: str, username: str) -> str | None:
        self._fail()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._fail()

    def delete_password(self, service: str, username: str) -> None:
        self._fail()


def _install(backend: keyring.backend.KeyringBackend) -> None:
    keyring.set_keyring(backend)


@pytest.fixture(autouse=True)
def isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MemoryKeyring]:
    root = tmp_path_factory.mktemp("env")
    for name in list(os.environ):
        if name.startswith("ZCOMP_"):
            monkeypatch.delenv(name)
    for var, sub in (
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        path = root / sub
        path.mkdir()
        monkeypatch.setenv(var, str(path))
    (root / "zcomp-state").mkdir()
    monkeypatch.setenv("ZCOMP_STATE_DIR", str(root / "zcomp-state"))
    # Child processes (subprocess tests) must not reach a real keyring either.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(zcomp.config, "SYSTEM_CONFIG_PATH", root / "etc" / "zcomp" / "config.toml")

    # Read the private slot rather than get_keyring(): that would run backend discovery.
    previous = getattr(keyring.core, "_keyring_backend", None)
    memory = MemoryKeyring()
    _install(memory)
    try:
        yield memory
    finally:
        keyring.core._keyring_backend = previous  # type: ignore[attr-defined]


@pytest.fixture
def memory_keyring(isolated_environment: MemoryKeyring) -> MemoryKeyring:
    """The in-memory keyring every test already has, to read or seed it."""
    return isolated_environment


@pytest.fixture
def no_keyring(isolated_environment: MemoryKeyring) -> FailingKeyring:
    backend = FailingKeyring()  # type: ignore[no-untyped-call]
    _install(backend)
    return backend


@pytest.fixture
def state_dir() -> Path:
    return Path(os.environ["ZCOMP_STATE_DIR"])


@pytest.fixture
def cli_runner() -> CliRunner:
    # Click >= 8.2 keeps result.stdout and result.stderr apart.
    return CliRunner()


@pytest.fixture
def invoke(cli_runner: CliRunner) -> Callable[..., Result]:
    from zcomp.cli.main import cli

    def run(*args: str, input: str | None = None, env: dict[str, Any] | None = None) -> Result:
        return cli_runner.invoke(cli, list(args), input=input, env=env, prog_name="zcomp")

    return run
