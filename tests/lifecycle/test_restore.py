"""Restore: a falsely removed item comes back exactly as it was, where it was."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from click.testing import Result

from zcomp.core.baseline import capture_accounts
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.services import Services
from zcomp.sandbox import Sandbox, replay_attack
from zcomp.sandbox.attack import FREEMAIL, RULE_REDIRECT, SPAM_SIGNATURE
from zcomp.zimbra.model import FilterRule, Node
from zcomp.zimbra.operations import GetAccount, GetFilterRules, GetSignatures, ModifyFilterRules

ALICE = "alice@sandbox.test"
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
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


def _rules(services: Services, account_id: str) -> list[dict[str, object]]:
    return [r.to_dict() for r in services.client.call(GetFilterRules(), as_account=account_id)]


def test_falsely_removed_rule_comes_back_unchanged_in_place(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result]
) -> None:
    account_id = services.client.call(GetAccount(ALICE)).id
    rules = services.client.call(GetFilterRules(), as_account=account_id)
    assert len(rules) >= 2
    services.client.call(
        ModifyFilterRules((rules[0], JUNK_RULE, *rules[1:])), as_account=account_id
    )
    before = _rules(services, account_id)
    lockdown = lockdown_account(services, ALICE, LockdownOptions())
    assert lockdown.result == "contained", lockdown.error
    assert JUNK_RULE.name not in [r["name"] for r in _rules(services, account_id)]

    incident = str(lockdown.incident)
    sandbox.stats.reset()

    # Filing into Junk is malicious by today's rules: a blanket --all leaves it alone...
    refused = zcomp("restore", incident, "--all")
    assert refused.exit_code == 1
    lines = refused.stderr.splitlines()
    assert len(lines) == 1, refused.stderr
    assert 'rule "Digest to Junk"' in lines[0] and "Junk (hides it)" in lines[0]
    assert "--force" in lines[0]
    assert sandbox.stats.writes == []

    # ...but the admin who names it gets it back, warned that lockdown would remove it again
    # (the incident typed short and in lower case: its first 4 characters after INC-).
    assert lockdown.incident is not None
    shown = lockdown.incident.removeprefix("INC-")[:4].lower()
    result = zcomp("restore", shown, "--filter", "Digest to Junk", "--json")

    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["result"] == "restored"
    assert any("restoring as asked although" in w for w in out["warnings"])
    assert _rules(services, account_id) == before
    actions = [a for a in services.journal.actions(lockdown.incident or 0) if a.step == "restore"]
    assert [(a.kind, a.target, a.status) for a in actions] == [("filter", "Digest to Junk", "done")]
    assert "malicious today" in actions[0].detail

    sandbox.stats.reset()
    again = zcomp("restore", incident, "--filter", "Digest to Junk")
    assert again.exit_code == 0, again.stderr
    # What happened is the report: stdout.
    assert 'rule "Digest to Junk"' in again.stdout and "already present" in again.stdout
    assert sandbox.stats.writes == []
    assert (
        len([a for a in services.journal.actions(lockdown.incident or 0) if a.step == "restore"])
        == 1
    )
    as_json = zcomp("restore", incident, "--filter", "Digest to Junk", "--json")
    line = json.loads(as_json.stdout)
    assert line["result"] == "unchanged" and line["already_present"][0]["kind"] == "filter"


def test_restore_after_attack_selection_rules(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result]
) -> None:
    capture_accounts(services, [ALICE])
    replay_attack(sandbox, ALICE)
    incident = lockdown_account(services, ALICE, LockdownOptions()).incident
    assert incident is not None

    # Nothing named: the list of what lockdown removed, each with the option that restores it.
    sandbox.stats.reset()
    listing = zcomp("restore", str(incident))
    assert listing.exit_code == 0, listing.stderr
    head, _columns, *items = listing.stdout.splitlines()
    assert re.match(
        rf"incident {incident} account {ALICE} state contained started {STAMP}: "
        r"lockdown removed \d+ item\(s\)$",
        head,
    ), head
    assert any(line.startswith("--forwarding ") for line in items), items
    assert any(line.startswith(f"--filter {RULE_REDIRECT}") for line in items), items
    assert listing.stderr == ""
    assert sandbox.stats.writes == []
    as_json = [
        json.loads(line) for line in zcomp("restore", str(incident), "--json").stdout.splitlines()
    ]
    assert len(as_json) == len(items)
    assert {"--forwarding", "--filter", "--signature"} <= {line["option"] for line in as_json}
    assert all(re.fullmatch(STAMP, line["started_at"]) for line in as_json)
    unknown = zcomp("restore", str(incident), "--filter", "Nope")
    assert unknown.exit_code == 2
    assert repr(RULE_REDIRECT) in unknown.stderr  # names the available rules
    assert zcomp("restore", "999", "--all").exit_code == 2

    sandbox.stats.reset()
    plan = zcomp("restore", str(incident), "--all", "--dry-run", "--json")
    assert plan.exit_code == 0, plan.stderr
    assert json.loads(plan.stdout)["plan"]
    assert sandbox.stats.writes == []

    # The spam signature is malicious today: --all refuses in one line, nothing written.
    sandbox.stats.reset()
    refused = zcomp("restore", str(incident), "--all")
    assert refused.exit_code == 1
    assert len(refused.stderr.splitlines()) == 1, refused.stderr
    assert 'signature "Alice Smith" is malicious today' in refused.stderr
    assert sandbox.stats.writes == []

    # The admin decides the forward and the signature were the owner's after all.
    done = zcomp(
        "restore",
        str(incident),
        "--forwarding",
        "--signature",
        "Alice Smith",
        "--json",
    )
    assert done.exit_code == 0, done.stderr
    assert any("restoring as asked" in w for w in json.loads(done.stdout)["warnings"])
    entry = sandbox.account(ALICE)
    assert entry.first("zimbraPrefMailForwardingAddress") == FREEMAIL
    assert entry.first("zimbraPrefMailLocalDeliveryDisabled") == "TRUE"
    sigs = services.client.call(GetSignatures(), as_account=entry.id)
    restored = next(s for s in sigs if s.name == "Alice Smith")
    assert SPAM_SIGNATURE in "".join(restored.contents.values())

    sandbox.stats.reset()
    again = zcomp("restore", str(incident), "--forwarding", "--signature", "Alice Smith")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.count("already present") >= 2
    assert sandbox.stats.writes == []
