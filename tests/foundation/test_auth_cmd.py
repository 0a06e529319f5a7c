"""`zcomp login` / `zcomp logout`: the parts that need no Zimbra, and a refused connection."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.fixtures_env import MemoryKeyring
from zcomp.credentials import KEYRING_SERVICE, keyring_username
from zcomp.zimbra.model import Secret
from zcomp.zimbra.tokens import CachedToken, FileCache, cache_key
from zcomp.zimbra.urls import admin_url

Invoke = Callable[..., Result]
URL = "https://mail.example.edu:7071"
ADMIN = "admin@example.edu"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_login_needs_url_and_admin(invoke: Invoke) -> None:
    result = invoke("login")
    assert result.exit_code == 2 and "no Zimbra URL configured" in result.stderr


def test_login_off_terminal_without_a_source_exits_3(invoke: Invoke) -> None:
    result = invoke("--url", URL, "--admin", ADMIN, "login")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: no password for admin@example.edu")


def test_login_refuses_when_keyring_disabled(invoke: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'url = "{URL}"\nadmin = "{ADMIN}"\nkeyring = false\n')
    result = invoke("--config", str(config), "login")
    assert result.exit_code == 2 and "keyring = false" in result.stderr


def test_login_with_unreachable_server_stores_nothing(
    invoke: Invoke, memory_keyring: MemoryKeyring
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = invoke(
        "--url", url, "--admin", ADMIN, "--timeout", "5", "login", env={"ZCOMP_PASSWORD": "pw"}
    )
    assert result.exit_code == 4, result.stderr
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert memory_keyring.entries == {}


def test_logout_removes_password_and_token(
    invoke: Invoke, memory_keyring: MemoryKeyring, state_dir: Path
) -> None:
    memory_keyring.set_password(KEYRING_SERVICE, keyring_username(ADMIN, URL), "pw")
    key = cache_key(admin_url(URL), ADMIN)
    FileCache(state_dir).put(key, CachedToken(Secret("0_a_00"), 2**62))
    result = invoke("--url", URL, "--admin", ADMIN, "logout")
    assert result.exit_code == 0, result.stderr
    assert "Removed password for" in result.stderr
    assert "Removed cached auth token" in result.stderr
    assert memory_keyring.entries == {} and FileCache(state_dir).get(key) is None
    again = invoke("--json", "--url", URL, "--admin", ADMIN, "logout")
    assert again.exit_code == 0 and again.stdout == '{"removed": []}\n'


def test_logout_headless_is_quiet_and_fine(invoke: Invoke, no_keyring: object) -> None:
    result = invoke("--url", URL, "--admin", ADMIN, "logout")
    assert result.exit_code == 0
    assert "Traceback" not in result.stderr


def test_login_against_the_sandbox_stores_the_password(
    invoke: Invoke, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    import zcomp.sandbox

    if not hasattr(zcomp.sandbox, "Sandbox"):
        pytest.skip("zcomp.sandbox.Sandbox not built yet")
    from zcomp.sandbox import Sandbox, SandboxOptions

    with Sandbox(SandboxOptions(servers=1, seed="demo", port=0)) as sb:
        url = sb.admin_url
        wrong = invoke(
            "--url", url, "--admin", "admin@sandbox.test", "login", env={"ZCOMP_PASSWORD": "bad"}
        )
        assert wrong.exit_code == 3, wrong.stderr
        assert memory_keyring.entries == {}
        good = invoke(
            "--url",
            url,
            "--admin",
            "admin@sandbox.test",
            "login",
            env={"ZCOMP_PASSWORD": "sandbox"},
        )
        assert good.exit_code == 0, good.stderr
    username = keyring_username("admin@sandbox.test", url)
    assert memory_keyring.entries[(KEYRING_SERVICE, username)] == "sandbox"
