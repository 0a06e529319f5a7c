"""Baselines: thousands of accounts in a few round trips; lockdown restores from them."""

from __future__ import annotations

import json
from collections.abc import Callable

from click.testing import Result

from zcomp.core.baseline import capture_accounts, capture_all
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.services import Services
from zcomp.sandbox import Sandbox, replay_attack
from zcomp.zimbra.operations import GetAccount, GetSignatures

ALICE = "alice@sandbox.test"


def test_capture_all_2000_accounts_in_pages(sandbox: Sandbox, services: Services) -> None:
    names = sandbox.add_accounts(2000)
    report = capture_all(services)
    assert report.failed == [] and report.skipped == []
    assert report.captured >= 2000
    assert report.pages == 5  # 500 a page
    assert report.round_trips <= 3  # login, first page + facts, the other pages batched
    account = services.client.call(GetAccount(names[1234], attrs=("zimbraId",)))
    row = services.journal.latest_baseline(account.id)
    assert row is not None and row.account_name == names[1234]
    assert "attrs" in row.data and "signatures" not in row.data


def test_lockdown_restores_the_baseline_signature(sandbox: Sandbox, services: Services) -> None:
    account_id = services.client.call(GetAccount(ALICE)).id
    original = {s.id: s for s in services.client.call(GetSignatures(), as_account=account_id)}
    report = capture_accounts(services, [ALICE])
    assert report.captured == 1
    row = services.journal.latest_baseline(account_id)
    assert row is not None and len(row.data["signatures"]) == len(original)

    replay_attack(sandbox, ALICE)
    outcome = lockdown_account(services, ALICE, LockdownOptions())

    assert outcome.result == "contained", outcome.error
    now = {s.id: s for s in services.client.call(GetSignatures(), as_account=account_id)}
    assert set(now) == set(original)  # restored in place, not deleted
    for sig_id, sig in original.items():
        assert {k: v for k, v in now[sig_id].contents.items() if v} == {
            k: v for k, v in sig.contents.items() if v
        }


def test_compromised_or_contained_accounts_are_not_baselined(
    sandbox: Sandbox, services: Services
) -> None:
    replay_attack(sandbox, ALICE)
    report = capture_accounts(services, [ALICE])
    assert report.captured == 0
    assert "risky settings" in report.skipped[0]["reason"]
    lockdown_account(services, ALICE, LockdownOptions())
    report = capture_all(services)
    skipped = {s["account"]: s["reason"] for s in report.skipped}
    assert "open incident" in skipped[ALICE]


def test_capture_and_show_through_the_cli(zcomp: Callable[..., Result]) -> None:
    captured = zcomp("baseline", "capture", "--all", "--json")
    assert captured.exit_code == 0, captured.stderr
    assert json.loads(captured.stdout)["captured"] >= 3
    named = zcomp("baseline", "capture", ALICE)
    assert named.exit_code == 0 and "1 account(s)" in named.stderr
    shown = zcomp("baseline", "show", ALICE, "--json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)["baseline"]
    assert {s["name"] for s in data["signatures"]} >= {"Alice Smith", "Short"}
    assert zcomp("baseline", "capture").exit_code == 2
    assert zcomp("baseline", "show", "carol@sandbox.test").exit_code in (0, 1)


def test_a_rule_the_admin_vouches_for_survives_lockdown(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result]
) -> None:
    """The owner forwards copies of timesheets to a personal address: a redirect outside.

    Without a baseline lockdown removes it; once the admin records it as the owner's own
    (--accept-risky), lockdown keeps exactly that rule and still removes the attacker's."""
    from zcomp.zimbra.model import FilterRule, Node
    from zcomp.zimbra.operations import GetAccount, GetFilterRules, ModifyFilterRules

    account_id = services.client.call(GetAccount(ALICE)).id
    own = FilterRule(
        name="timesheets",
        tests=[
            Node(
                "headerTest",
                {"header": "subject", "stringComparison": "contains", "value": "timesheet"},
            )
        ],
        actions=[Node("actionRedirect", {"a": "alice.home@gmail.com", "copy": "1"})],
    )
    rules = services.client.call(GetFilterRules(), as_account=account_id)
    services.client.call(ModifyFilterRules((*rules, own)), as_account=account_id)

    skipped = zcomp("baseline", "capture", ALICE, "--json")
    assert json.loads(skipped.stdout)["skipped"][0]["account"] == ALICE
    vouched = zcomp("baseline", "capture", ALICE, "--accept-risky", "--json")
    assert vouched.exit_code == 0, vouched.stderr
    assert json.loads(vouched.stdout)["captured"] == 1

    replay_attack(sandbox, ALICE)
    outcome = lockdown_account(services, ALICE, LockdownOptions())
    assert outcome.result == "contained", outcome.error
    names = [r.name for r in services.client.call(GetFilterRules(), as_account=account_id)]
    assert "timesheets" in names and "." not in names and ".." not in names
    kept = {f.key: f for f in outcome.kept}
    assert "baseline" in kept["timesheets"].reason


def test_a_named_account_left_unrecorded_is_not_success(
    sandbox: Sandbox, zcomp: Callable[..., Result]
) -> None:
    """`zcomp baseline capture alice && ...`: skipped (risky settings) is a request not done,
    exit 1, as lockdown's skipped is; --all skips such accounts by design and lists them."""
    replay_attack(sandbox, ALICE)

    named = zcomp("baseline", "capture", ALICE, "carol@sandbox.test")

    assert named.exit_code == 1, named.stderr
    assert "baseline recorded for 1 account(s)" in named.stderr
    assert f"Warning: skipped {ALICE}: risky settings" in named.stderr
    everything = zcomp("baseline", "capture", "--all")
    assert everything.exit_code == 0, everything.stderr
    assert f"Warning: skipped {ALICE}: risky settings" in everything.stderr
