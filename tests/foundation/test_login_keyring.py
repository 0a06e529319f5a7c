"""`zcomp login` when the password is right but no keyring can keep it: exit 1, not 3."""

from __future__ import annotations

from collections.abc import Callable

import keyring
import keyring.backends.null
import pytest
from click.testing import Result

from zcomp.sandbox import Sandbox

Invoke = Callable[..., Result]
ADMIN = "admin@sandbox.test"


def login(invoke: Invoke, sandbox: Sandbox) -> Result:
    return invoke(
        "--url", sandbox.admin_url, "--admin", ADMIN, "login", env={"ZCOMP_PASSWORD": "sandbox"}
    )


@pytest.mark.usefixtures("no_keyring")
def test_verified_but_not_stored_without_a_keyring(invoke: Invoke, sandbox: Sandbox) -> None:
    result = login(invoke, sandbox)
    assert result.exit_code == 1, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line
    assert line.startswith(f"Error: password for {ADMIN} verified, but it could not be stored")
    assert "No recommended backend was available" in line  # why
    for way in ("--password-file", "ZCOMP_PASSWORD", "password_file"):  # what to do instead
        assert way in line
    assert "NoKeyringError" not in line and "KeyringStoreError" not in line


def test_a_keyring_that_keeps_nothing_is_not_reported_as_stored(
    invoke: Invoke, sandbox: Sandbox
) -> None:
    keyring.set_keyring(keyring.backends.null.Keyring())  # type: ignore[no-untyped-call]
    result = login(invoke, sandbox)
    assert result.exit_code == 1, result.stderr
    assert "verified, but it could not be stored" in result.stderr
    assert "did not keep it" in result.stderr
    assert "stored in the OS keyring" not in result.stderr


def test_a_wrong_password_is_still_an_auth_failure(invoke: Invoke, sandbox: Sandbox) -> None:
    result = invoke(
        "--url", sandbox.admin_url, "--admin", ADMIN, "login", env={"ZCOMP_PASSWORD": "bad"}
    )
    assert result.exit_code == 3
