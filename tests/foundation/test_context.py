"""AppContext: lazy settings, connection settings built from them, password asked once."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from zcomp.cli.context import AppContext
from zcomp.config import CliValues
from zcomp.credentials import Terminal
from zcomp.exitcodes import ConfigError, ExitCode, UsageError

URL = "https://mail.example.edu:7071"
ADMIN = "admin@example.edu"


def test_settings_load_lazily(tmp_path: Path) -> None:
    app = AppContext(cli_values=CliValues(config=tmp_path / "missing.toml"), env={})
    with pytest.raises(ConfigError):
        _ = app.settings


def test_connection_settings_need_url_and_admin() -> None:
    with pytest.raises(UsageError, match="no Zimbra URL") as caught:
        AppContext(env={}).connection_settings()
    assert caught.value.exit_code == ExitCode.USAGE
    with pytest.raises(UsageError, match="no admin account"):
        AppContext(cli_values=CliValues(url=URL), env={}).connection_settings()


def test_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    app = AppContext(
        cli_values=CliValues(url=URL, admin=ADMIN, ca_bundle=tmp_path / "nope.pem"), env={}
    )
    with pytest.raises(ConfigError, match=r"CA bundle .*nope.pem not found \(flag\)"):
        app.connection_settings()


@pytest.mark.parametrize("content", [b"", b"\xd8\xff\x00\x9f" * 500, b"not a certificate\n"])
def test_a_ca_bundle_without_a_certificate_is_a_config_error(
    tmp_path: Path, content: bytes
) -> None:
    """Not urllib3's SSLError on the first request (exit 4): one line, exit 2, before any."""
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(content)
    app = AppContext(cli_values=CliValues(url=URL, admin=ADMIN, ca_bundle=bundle), env={})
    with pytest.raises(ConfigError) as caught:
        app.connection_settings()
    assert str(caught.value) == f"CA bundle {bundle} holds no PEM certificate (flag)"
    assert caught.value.exit_code == ExitCode.USAGE


def test_a_ca_bundle_with_a_certificate_is_taken(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    app = AppContext(cli_values=CliValues(url=URL, admin=ADMIN, ca_bundle=bundle), env={})
    assert app.connection_settings().ca_bundle == bundle


def test_connection_settings_fields(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("keyring = false\ntimeout = 90\n")
    app = AppContext(
        cli_values=CliValues(config=config, url=URL, admin=ADMIN),
        env={"ZCOMP_STATE_DIR": str(tmp_path / "s")},
        debug=True,
    )
    conn = app.connection_settings()
    assert (conn.url, conn.admin) == (URL, ADMIN)
    assert conn.read_timeout == 90.0 and conn.connect_timeout == 10.0
    assert conn.token_cache == "file"  # keyring = false keeps tokens out of the keyring too
    assert conn.state_dir == tmp_path / "s"
    assert conn.debug is not None and not conn.insecure


def test_password_is_asked_once_and_only_when_called() -> None:
    asked: list[str] = []

    def read_secret(prompt: str) -> str:
        asked.append(prompt)
        return "typed"

    app = AppContext(
        cli_values=CliValues(url=URL, admin=ADMIN),
        env={},
        terminal=Terminal(is_interactive=lambda: True, read_secret=read_secret),
    )
    conn = app.connection_settings()
    assert asked == []
    assert conn.password().reveal() == "typed"
    assert conn.password().reveal() == "typed"
    assert len(asked) == 1


def test_insecure_warns(capsys: pytest.CaptureFixture[str]) -> None:
    app = AppContext(cli_values=CliValues(url=URL, admin=ADMIN, insecure=True), env={})
    assert app.connection_settings().insecure
    assert "TLS verification is OFF" in capsys.readouterr().err
