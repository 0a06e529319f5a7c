"""Bare names, as zmprov users type them: `alice` is alice@<zimbraDefaultDomainName>.

Zimbra completes a bare name itself (LdapProvisioning.fixupAccountName) and refuses one when
no default domain is set; zcomp reads the default domain once per batch run, so that `alice`
and `alice@domain` in one list are one account, and shows the full address everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from click.testing import Result

from tests.rawjson import admin_token, call
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.services import Services
from zcomp.sandbox import Sandbox, replay_attack

ALICE = "alice@sandbox.test"


def _json_lines(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_zimbra_completes_a_bare_name_with_the_default_domain(sandbox: Sandbox) -> None:
    token = admin_token(sandbox.urls[0])

    def get(name: str) -> object:
        return call(
            sandbox.urls[0],
            "GetAccountRequest",
            "urn:zimbraAdmin",
            {"account": {"by": "name", "_content": name}},
            token=token,
            admin=True,
        )

    config = call(
        sandbox.urls[0],
        "GetConfigRequest",
        "urn:zimbraAdmin",
        {"a": {"n": "zimbraDefaultDomainName"}},
        token=token,
        admin=True,
    )
    assert config["a"] == [{"n": "zimbraDefaultDomainName", "_content": "sandbox.test"}]
    found = get("Alice")
    assert isinstance(found, dict) and found["account"][0]["name"] == ALICE

    sandbox.directory.config_attrs.pop("zimbraDefaultDomainName")
    assert get("alice") == "service.INVALID_REQUEST"


def test_a_bare_name_is_the_full_address_in_the_output(
    sandbox: Sandbox, zcomp: Callable[..., Result]
) -> None:
    replay_attack(sandbox, ALICE)

    result = zcomp("--json", "inspect", "alice")

    assert result.exit_code == 1, result.stderr  # found what the attack planted
    [line] = _json_lines(result)
    assert line["account"] == ALICE


def test_a_batch_reads_the_default_domain_once_and_drops_the_duplicate(
    sandbox: Sandbox, zcomp: Callable[..., Result]
) -> None:
    result = zcomp("--json", "lockdown", "--dry-run", "Alice", ALICE, "bob", "--yes")

    assert result.exit_code == 0, result.stderr
    accounts = sorted(str(line["account"]) for line in _json_lines(result))
    assert accounts == [ALICE, "bob@sandbox.test"]
    assert sandbox.stats.total("GetConfigRequest") == 1


def test_a_bare_name_without_a_default_domain_is_one_clear_line(
    sandbox: Sandbox, zcomp: Callable[..., Result]
) -> None:
    sandbox.directory.config_attrs.pop("zimbraDefaultDomainName")

    result = zcomp("lockdown", "--dry-run", "alice", "bob@sandbox.test", "--yes")

    assert result.exit_code == 2, result.stderr
    assert "alice: give the full address" in result.stderr
    assert "zimbraDefaultDomainName is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_history_of_a_bare_name_finds_it_in_any_domain(
    no_wait: Services, zcomp: Callable[..., Result]
) -> None:
    lockdown_account(no_wait, ALICE, LockdownOptions())

    result = zcomp("--json", "history", "alice")

    assert result.exit_code == 0, result.stderr
    [incident] = _json_lines(result)
    assert incident["account"] == ALICE
    # A name that is a prefix of another's is not that other: "ali" is no one here.
    assert not _json_lines(zcomp("--json", "history", "ali"))
