"""`zcomp sandbox attack`: the rehearsal's attack from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable

from click.testing import Result

from zcomp.journal.guard import ZIMBRA_TOKEN
from zcomp.sandbox import Sandbox

ALICE = "alice@sandbox.test"


def test_attack_plants_what_it_says_and_never_prints_the_token(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    result = invoke("sandbox", "attack", ALICE, "--url", sandbox.admin_url, "--json")

    assert result.exit_code == 0, result.stderr
    planted = json.loads(result.stdout)
    alice = sandbox.account(ALICE)
    freemail = alice.first("zimbraPrefMailForwardingAddress")
    assert freemail and freemail in planted["forwarding"]
    assert alice.first("zimbraPrefMailLocalDeliveryDisabled") == "TRUE"
    assert planted["rules"] and planted["account"] == ALICE
    assert not ZIMBRA_TOKEN.search(result.stdout + result.stderr)  # the attacker's token


def test_attack_plain_lines_and_one_line_errors(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    ok = invoke("sandbox", "attack", "bob@sandbox.test", "--url", sandbox.urls[0], "--bcc", "3")
    assert ok.exit_code == 0, ok.stderr
    assert [line.split()[0] for line in ok.stdout.splitlines()][:3] == [
        "account",
        "via",
        "forwarding",
    ]

    wrong = invoke("sandbox", "attack", ALICE, "--url", sandbox.urls[0], "--password", "nope")
    assert wrong.exit_code == 5
    assert wrong.stderr.startswith("Error: ") and "AUTH_FAILED" in wrong.stderr
    assert len(wrong.stderr.splitlines()) == 1


def test_attack_on_a_bare_name_attacks_the_default_domains_account(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    # The server completes "carol" with zimbraDefaultDomainName (LdapProvisioning
    # fixupAccountName), so the seed's password is carol@sandbox.test's.
    result = invoke("sandbox", "attack", "carol", "--url", sandbox.urls[0], "--json")

    assert result.exit_code == 0, result.stderr
    planted = json.loads(result.stdout)
    assert planted["account"] == "carol@sandbox.test"
    carol = sandbox.account("carol@sandbox.test")
    assert carol.first("zimbraPrefMailForwardingAddress") in planted["forwarding"]
