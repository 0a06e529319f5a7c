"""An http:// URL to another host sends the admin password in clear: warn once on stderr."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result

from zcomp.cli.context import AppContext, cleartext_to_remote
from zcomp.config import CliValues

ADMIN = "admin@example.edu"
WARNING = "plain http:// to another host"


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://mail.example.edu:7071", True),
        ("HTTP://10.0.0.5:7071/service/admin/soap/", True),
        ("http://[2001:db8::1]:7071", True),
        ("http://127.0.0.1.example.com:7071", True),
        ("http://127.0.0.1:7071", False),
        ("http://127.8.9.10:7071", False),
        ("http://[::1]:7071", False),
        ("http://localhost:7071", False),
        ("http://LOCALHOST.:7071", False),
        ("https://mail.example.edu:7071", False),
    ],
)
def test_which_urls_are_cleartext_to_another_host(url: str, warned: bool) -> None:
    assert cleartext_to_remote(url) is warned


def test_warned_once_per_command(capsys: pytest.CaptureFixture[str]) -> None:
    app = AppContext(cli_values=CliValues(url="http://mail.example.edu:7071", admin=ADMIN), env={})
    app.connection_settings()
    app.connection_settings()
    err = capsys.readouterr().err
    assert err.count(WARNING) == 1
    assert "unencrypted" in err and "https://" in err


@pytest.mark.parametrize("url", ["http://mail.example.edu:7071", "http://127.0.0.1:7071"])
def test_cli_warns_only_for_a_remote_host(invoke: Callable[..., Result], url: str) -> None:
    # No password source off a terminal: the command stops after building the connection.
    result = invoke("--url", url, "--admin", ADMIN, "login")
    assert result.exit_code == 3
    assert (WARNING in result.stderr) is (url == "http://mail.example.edu:7071")
