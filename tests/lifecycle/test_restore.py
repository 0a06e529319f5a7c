"""Restore: a falsely removed item comes back exactly as it was, where it was."""

from __future__ import annotations

import json
from collections.abc import Callable

from click.testing import Result

from zcomp.core.baseline import capture_accounts
from zcomp.core.environment import Environment
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.sandbox import Sandbox, replay_attack
from zcomp.sandbox.attack import FREEMAIL, RULE_REDIRECT, SPAM_SIGNATURE
from zcomp.zimbra.model import FilterRule, Node
from zcomp.zimbra.requests import GetAccount, GetFilterRules, GetSignatures, ModifyFilterRules

ALICE = "alice@sandbox.test"
JUNK_RULE = FilterRule(
    name="Digest to Junk",
    condition="anyof",
    tests=[
        Node(
            "headerTest",
            {"header": "subject", "stringComparison": "contains", "value": "Weekly digest"},
        )
    ],
    actions=[Node("actionFileInto", {"folderPath": "Junk"}), Node("actionStop")],
)


def _rules(env: Environment, account_id: str) -> list[dict[str, object]]:
    return [r.to_dict() for r in env.client.call(GetFilterRules(), as_account=account_id)]


def test_falsely_removed_rule_comes_back_unchanged_in_place(
    sandbox: Sandbox, env: Environment, zcomp: Callable[..., Result]
) -> None:
    account_id = env.client.call(GetAccount(ALICE)).id
    rules = env.client.call(GetFilterRules(), as_account=account_id)
    assert len(rules) >= 2
    env.client.call(ModifyFilterRules((rules[0], JUNK_RULE, *rules[1:])), as_account=account_id)
    before = _rules(env, account_id)
    lockdown = lockdown_account(env, ALICE, LockdownOptions())
    assert lockdown.result == "contained", lockdown.error
    assert JUNK_RULE.name not in [r["name"] for r in _rules(env, account_id)]

    result = zcomp("restore", str(lockdown.incident), "--filter", "Digest to Junk", "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "restored"
    assert _rules(env, account_id) == before
    actions = [a for a in env.journal.actions(lockdown.incident or 0) if a.step == "restore"]
    assert [(a.kind, a.target, a.status) for a in actions] == [("filter", "Digest to Junk", "done")]
    again = zcomp("restore", str(lockdown.incident), "--filter", "Digest to Junk", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["result"] == "unchanged"


def test_restore_after_attack_selection_rules(
    sandbox: Sandbox, env: Environment, zcomp: Callable[..., Result]
) -> None:
    capture_accounts(env, [ALICE])
    replay_attack(sandbox, ALICE)
    incident = lockdown_account(env, ALICE, LockdownOptions()).incident
    assert incident is not None

    nothing = zcomp("restore", str(incident))
    assert nothing.exit_code == 2 and "--forwarding" in nothing.stderr
    unknown = zcomp("restore", str(incident), "--filter", "Nope")
    assert unknown.exit_code == 2
    assert repr(RULE_REDIRECT) in unknown.stderr  # names the available rules
    assert zcomp("restore", "999", "--all").exit_code == 2

    sandbox.stats.reset()
    plan = zcomp("restore", str(incident), "--all", "--dry-run", "--json")
    assert plan.exit_code == 0, plan.stderr
    assert json.loads(plan.stdout)["plan"]
    assert sandbox.stats.writes == []

    # The admin decides the forward and the signature were the owner's after all.
    done = zcomp("restore", str(incident), "--forwarding", "--signature", "Alice Smith", "--json")
    assert done.exit_code == 0, done.stderr
    entry = sandbox.account(ALICE)
    assert entry.first("zimbraPrefMailForwardingAddress") == FREEMAIL
    assert entry.first("zimbraPrefMailLocalDeliveryDisabled") == "TRUE"
    sigs = env.client.call(GetSignatures(), as_account=entry.id)
    restored = next(s for s in sigs if s.name == "Alice Smith")
    assert SPAM_SIGNATURE in "".join(restored.contents.values())
