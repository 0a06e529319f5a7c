"""Bad input a hurried admin types, end to end against the sandbox over real HTTP: one line on
stderr, the documented exit status, and nothing changed in Zimbra."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from zcomp.sandbox import Sandbox

ADMIN = "admin@sandbox.test"
ALICE = "alice@sandbox.test"


@pytest.fixture
def zcomp(invoke: Callable[..., Result], sandbox: Sandbox) -> Callable[..., Result]:
    def run(*args: str, url: str | None = None) -> Result:
        root = ["--url", url or sandbox.admin_url, "--admin", ADMIN]
        return invoke(*root, *args, env={"ZCOMP_PASSWORD": "sandbox"})

    return run


def one_error_line(result: Result) -> str:
    """The single stderr line of a refused run (no traceback, no progress before it)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# ---------------------------------------------------------------- timeouts


@pytest.mark.parametrize("value", ["99999999999999999999", "1e12", "86401"])
def test_a_huge_timeout_flag_is_a_usage_error_not_an_error_per_account(
    zcomp: Callable[..., Result], value: str
) -> None:
    result = zcomp("--timeout", value, "inspect", ALICE)
    assert result.exit_code == 2, result.output
    assert "--timeout must be > 0 and at most 86,400 seconds" in one_error_line(result)
    assert result.stdout == ""


def test_a_huge_timeout_in_the_file_is_a_usage_error(
    zcomp: Callable[..., Result], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("timeout = 1e20\n")
    result = zcomp("--config", str(config), "inspect", ALICE)
    assert result.exit_code == 2, result.output
    assert f"{config}: bad value for 'timeout'" in one_error_line(result)


def test_a_day_of_timeout_still_works(zcomp: Callable[..., Result]) -> None:
    assert zcomp("--timeout", "86400", "inspect", ALICE).exit_code in (0, 1)


def test_a_password_history_zimbra_refuses_stops_before_lockdown_changes_anything(
    zcomp: Callable[..., Result], sandbox: Sandbox, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[unlock]\npassword_history = 2147483648\n")
    sandbox.stats.reset()
    result = zcomp("--config", str(config), "lockdown", ALICE)
    assert result.exit_code == 2, result.output
    assert "bad value for 'unlock.password_history'" in one_error_line(result)
    assert sandbox.stats.writes == []
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "active"


# ---------------------------------------------------------------- the URL


@pytest.mark.parametrize("port", ["99999", "0", "70a1", "-1"])
def test_a_url_with_an_impossible_port_is_a_usage_error_not_a_connection_failure(
    zcomp: Callable[..., Result], sandbox: Sandbox, port: str
) -> None:
    url = f"http://127.0.0.1:{port}"
    result = zcomp("lockdown", ALICE, url=url)
    assert result.exit_code == 2, result.output
    assert one_error_line(result) == (
        f"Error: Zimbra URL {url!r} has a bad port: give one from 1 to 65535 (7071)"
    )
    assert result.stdout == ""


@pytest.mark.parametrize("content", [b"", b"\xd8\xff\x00\x9f" * 500], ids=["empty", "binary"])
def test_a_ca_bundle_with_no_certificate_is_a_usage_error_not_a_tls_failure(
    zcomp: Callable[..., Result], sandbox: Sandbox, tmp_path: Path, content: bytes
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(content)
    sandbox.stats.reset()
    result = zcomp("--ca-bundle", str(bundle), "lockdown", "--yes", ALICE)
    assert result.exit_code == 2, result.output
    assert one_error_line(result) == f"Error: CA bundle {bundle} holds no PEM certificate (flag)"
    assert result.stdout == ""
    assert sandbox.stats.writes == []


# ---------------------------------------------------------------- account arguments


def usage_error(result: Result) -> str:
    """A usage error: Click's usage lines, then the one `Error:` line; no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.endswith(errors[0] + "\n"), result.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("a@", "Error: 'a@' is not an account (no domain after the @)"),
        ("@sandbox.test", "Error: '@sandbox.test' is not an account (no name before the @)"),
        ("@", "Error: '@' is not an account (no name before the @)"),
        ("bob@@sandbox.test", "Error: 'bob@@sandbox.test' is not one account"),
        ("bob@sandbox.test,", "Error: 'bob@sandbox.test,' is not one account"),
        (
            "bob@sandbox.test\ncarol@sandbox.test",
            "Error: 'bob@sandbox.test\\ncarol@sandbox.test' is not one account",
        ),
        ("x" * 1001 + "@x", "Error: an ACCOUNT argument is longer than 1,000 characters"),
    ],
    ids=["no-domain", "no-name", "at-only", "two-at", "comma", "newline", "1000-chars"],
)
def test_a_bad_account_argument_stops_the_batch_before_any_account_is_touched(
    zcomp: Callable[..., Result], sandbox: Sandbox, bad: str, says: str
) -> None:
    sandbox.stats.reset()
    result = zcomp("lockdown", "--yes", ALICE, bad)
    assert usage_error(result) == says
    assert sandbox.stats.writes == []
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "active"


def test_an_account_argument_pasted_from_a_mail_client_is_its_address(
    zcomp: Callable[..., Result],
) -> None:
    result = zcomp("--json", "inspect", "Alice Smith <ALICE@sandbox.test>", " bob@sandbox.test ")
    assert result.exit_code in (0, 1), result.stderr  # 1: a finding, not a failure
    assert "failed" not in result.stdout
    assert result.stdout.count('"account"') == 2
