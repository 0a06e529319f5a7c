"""History: incidents and their actions from the journal."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from click.testing import Result

from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.services import Services
from zcomp.core.unlock import UnlockOptions, unlock_account
from zcomp.journal import ActionEntry
from zcomp.sandbox import Sandbox, replay_attack

ALICE = "alice@sandbox.test"


def test_history_shows_lockdown_and_unlock(no_wait: Services, zcomp: Callable[..., Result]) -> None:
    lockdown_account(no_wait, ALICE, LockdownOptions())
    assert unlock_account(no_wait, ALICE, UnlockOptions(generate=True)).result == "unlocked"
    lockdown_account(no_wait, "bob@sandbox.test", LockdownOptions())

    result = zcomp("history", ALICE, "--json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 1
    incident = lines[0]
    assert incident["state"] == "closed" and incident["closed_how"] == "unlocked"
    steps = {a["step"] for a in incident["actions"]}
    assert {"contain", "unlock"} <= steps

    everyone = zcomp("history")
    assert everyone.exit_code == 0
    assert "bob@sandbox.test" in everyone.stdout and ALICE in everyone.stdout
    assert "no incidents" in zcomp("history", "carol@sandbox.test").stderr


STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
KEY = r"INC-[0-9A-Z]{8}"


def test_history_off_terminal_is_one_line_per_incident_and_action(
    sandbox: Sandbox, no_wait: Services, zcomp: Callable[..., Result]
) -> None:
    replay_attack(sandbox, ALICE)
    contained = lockdown_account(no_wait, ALICE, LockdownOptions())
    assert contained.result == "contained", contained.error
    lockdown_account(no_wait, "bob@sandbox.test", LockdownOptions())

    everyone = zcomp("history")  # CliRunner: stdout is not a terminal

    assert everyone.exit_code == 0, everyone.stderr
    lines = everyone.stdout.splitlines()  # the report is data: stdout
    assert len(lines) == 2, everyone.stdout  # one per incident, no actions, no table
    head = re.compile(
        rf"incident {KEY} account \S+ state contained started {STAMP} closed - ticket file {KEY}$"
    )
    assert all(head.match(line) for line in lines), lines
    assert not any(box in everyone.stdout for box in "│┃━─")

    one = zcomp("history", ALICE)

    assert one.exit_code == 0, one.stderr
    incident, *actions = one.stdout.splitlines()
    assert incident.startswith(f"incident {contained.incident} account {ALICE} ")
    assert len(actions) == len(no_wait.journal.actions(contained.incident or 0))
    step = re.compile(
        rf"  {STAMP} incident {KEY} (contain|claim|clean|record|ticket|evidence) \S+ "
    )
    assert all(step.match(line) for line in actions), actions
    # A removed filter shows what was removed (the rules of one write), not its empty "after".
    removed = [a for a in actions if " clean filter " in a]
    assert removed and all(": removed [{" in a or ": removed {" in a for a in removed), removed
    # The claim says whose it was and until when; no line ends in a dangling ": ".
    (claim,) = [a for a in actions if " claim claim " in a]
    assert re.search(rf'done: {{"description": "zcomp-claim \w+ until {STAMP} by ', claim), claim
    assert not [line for line in one.stdout.splitlines() if line.rstrip().endswith(":")]


def test_an_action_with_nothing_recorded_ends_at_its_status(
    no_wait: Services, zcomp: Callable[..., Result]
) -> None:
    """A claim journaled by an older zcomp (no before, no after): no `done: ` with nothing."""
    journal = no_wait.journal
    incident = journal.start_incident("id-1", ALICE, reason="r", operator="o")
    journal.record_actions(
        incident.id, [ActionEntry("claim", "claim", ALICE, before=None, after=None, status="done")]
    )
    journal.set_ticket(incident.id, "file", incident.key, None)

    shown = zcomp("history", ALICE)

    assert shown.exit_code == 0, shown.stderr
    head, action = shown.stdout.splitlines()
    assert head.endswith(f" ticket file {incident.key}"), head
    assert action.endswith(f" incident {incident.key} claim claim {ALICE} done"), action


def test_history_finds_an_incident_as_restore_does(
    sandbox: Sandbox, no_wait: Services, zcomp: Callable[..., Result]
) -> None:
    replay_attack(sandbox, ALICE)
    key = lockdown_account(no_wait, ALICE, LockdownOptions()).incident
    assert key is not None
    lockdown_account(no_wait, "bob@sandbox.test", LockdownOptions())

    for typed in (key, key.lower(), key[4:], key[4:8].lower(), f"INC {key[4:8]}"):
        shown = zcomp("history", typed)
        assert shown.exit_code == 0, (typed, shown.stderr)
        incident, *actions = shown.stdout.splitlines()
        assert incident.startswith(f"incident {key} account {ALICE} "), (typed, shown.stdout)
        assert actions and all(f" incident {key} " in a for a in actions)

    # An unknown incident is the same one line and exit 2 for both commands.
    for typed in ("INC-ZZZZZZZZ", "inc-zz", "INC ZZZZ", "inczzzzzzzz"):
        told = zcomp("history", typed)
        restore = zcomp("restore", typed)
        assert (told.exit_code, restore.exit_code) == (2, 2), told.output
        assert told.stdout == ""
        assert len(told.stderr.splitlines()) == 1 and told.stderr.startswith("Error: ")
        assert told.stderr == restore.stderr

    # A bare word no incident starts with is an account's name, as before.
    assert zcomp("history", "zzzz").exit_code == 0
    assert zcomp("history", "alice").stdout.startswith(f"incident {key} account {ALICE} ")


def test_a_bare_word_that_is_an_account_and_an_incident_prefix_asks_which(
    no_wait: Services, zcomp: Callable[..., Result]
) -> None:
    journal = no_wait.journal
    journal.start_incident("id-1", "dave@sandbox.test", reason="r", operator="o")
    journal.start_incident("id-2", "bob@sandbox.test", reason="r", operator="o", key="INC-DAVE1234")

    told = zcomp("history", "dave")

    assert told.exit_code == 2 and told.stdout == ""
    assert told.stderr == (
        "Error: 'dave' is an account and the start of an incident's key: give the whole key "
        "(INC-7K3MQ9XA) or the account's address\n"
    )
    assert "dave@sandbox.test" in zcomp("history", "dave@sandbox.test").stdout
    assert "bob@sandbox.test" in zcomp("history", "INC-DAVE").stdout


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("a@", "Error: 'a@' is not an account (no domain after the @)"),
        ("bob@sandbox.test,", "Error: 'bob@sandbox.test,' is not one account"),
        ("", "Error: the ACCOUNT argument is empty"),
    ],
)
@pytest.mark.parametrize("command", [["history"], ["baseline", "show"]])
def test_an_account_argument_is_checked_as_other_commands_do(
    sandbox: Sandbox, zcomp: Callable[..., Result], command: list[str], bad: str, says: str
) -> None:
    sandbox.stats.reset()
    result = zcomp(*command, bad)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == says
    assert not sandbox.stats.requests  # refused before Zimbra is asked anything


def test_baseline_show_and_history_take_a_pasted_address(
    no_wait: Services, zcomp: Callable[..., Result]
) -> None:
    lockdown_account(no_wait, ALICE, LockdownOptions())
    assert ALICE in zcomp("history", f"Alice Smith <{ALICE}>").stdout
    shown = zcomp("baseline", "show", f"<{ALICE}>")
    assert shown.exit_code == 1, shown.output  # none recorded: said, not a Zimbra fault
    assert shown.stderr == (
        f"Error: no baseline recorded for {ALICE}: run `zcomp baseline capture {ALICE}`\n"
    )
