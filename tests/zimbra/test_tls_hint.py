"""https:// against a plain-HTTP port: exit 4, a hint, and no internal class names."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import Result

from zcomp.sandbox import Sandbox
from zcomp.zimbra.soap import tls_failure

HINT = "does this port speak plain HTTP? try http:// or the right port"


def test_hint_only_for_plain_http_signs() -> None:
    url = "https://h:7071/service/admin/soap/"
    for reason in ("wrong version number", "record layer failure", "unknown protocol"):
        assert tls_failure(url, reason).endswith(f"({HINT})")
    assert HINT not in tls_failure(url, "certificate verify failed: self-signed certificate")


def test_https_to_the_plain_http_sandbox(sandbox: Sandbox, invoke: Callable[..., Result]) -> None:
    url = sandbox.admin_url.replace("http://", "https://")
    result = invoke(
        "--url", url, "--admin", "admin@sandbox.test", "login", env={"ZCOMP_PASSWORD": "sandbox"}
    )
    assert result.exit_code == 4, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith(f"Error: {url}: TLS failure: ")
    assert HINT in line
    assert "Zimbra" not in line.replace(url, "") and "Error:" not in line[len("Error:") :]
