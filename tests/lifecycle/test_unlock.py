"""Unlock end to end on the sandbox: the owner gets the account back, the phished password not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.lifecycle import owner
from zcomp.core.baseline import capture_accounts
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.services import Services
from zcomp.core.unlock import UnlockOptions, unlock_account
from zcomp.sandbox import Sandbox, demo_password, replay_attack
from zcomp.tickets import FileBackend
from zcomp.zimbra.model import Secret

ALICE = "alice@sandbox.test"
TEMP = "Temp-Handback-2024!"
NEW = "Owner-Chose-This-9#"


def _locked(services: Services, name: str = ALICE) -> str:
    outcome = lockdown_account(services, name, LockdownOptions())
    assert outcome.incident is not None, outcome.error
    return outcome.incident


def test_attack_lockdown_unlock_owner_handback(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result], tmp_path: Path
) -> None:
    # A nightly baseline lets lockdown restore From/signature instead of blanking them.
    assert capture_accounts(services, [ALICE]).captured == 1
    attack = replay_attack(sandbox, ALICE)
    lockdown = lockdown_account(services, ALICE, LockdownOptions())
    assert lockdown.result == "contained", lockdown.error
    assert sandbox.mta().messages("hold"), "lockdown should have held the spam"
    pw_file = tmp_path / "temp.txt"
    pw_file.write_text(TEMP + "\n")

    result = zcomp(
        "unlock", ALICE, "--new-password-file", str(pw_file), "--delete-held", "--json", minutes=0
    )

    assert result.exit_code == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["result"] == "unlocked", line
    assert TEMP not in result.stdout + result.stderr
    entry = sandbox.account(ALICE)
    assert entry.first("zimbraAccountStatus") == "active"
    assert entry.first("zimbraPasswordMustChange") == "TRUE"
    assert not sandbox.mta().messages("hold")
    base = sandbox.urls[0]
    assert not owner.token_works(base, attack.token)
    # The owner: must change the temporary password, cannot go back to the phished one.
    assert owner.login(base, ALICE, TEMP) == "account.CHANGE_PASSWORD"
    phished = demo_password(ALICE)
    assert owner.login(base, ALICE, phished) == "account.AUTH_FAILED"
    assert owner.change_password(base, ALICE, TEMP, phished) == "account.PASSWORD_RECENTLY_USED"
    assert owner.change_password(base, ALICE, TEMP, NEW) is None
    assert owner.token_works(base, owner.login(base, ALICE, NEW))
    # Clean, journaled, ticket resolved.
    assert zcomp("inspect", ALICE).exit_code == 0
    incident = services.journal.incident(line["incident"])
    assert incident.is_closed and incident.closed_how == "unlocked"
    unlock = [a for a in services.journal.actions(incident.id) if a.step == "unlock"]
    kinds = [(a.kind, a.status) for a in unlock]
    # The password is journaled as sent before it goes out, then with Zimbra's answer.
    assert kinds[:3] == [
        ("password", "sending"),
        ("password", "done"),
        ("password-must-change", "done"),
    ]
    assert {"account-status", "flush-cache", "mail-queue-delete"} <= {a.kind for a in unlock}
    tickets = services.tickets
    assert isinstance(tickets, FileBackend)
    ref = tickets.find(incident.key)
    assert ref is not None and tickets.is_resolved(ref), line
    # Nothing secret was kept anywhere zcomp writes.
    for path in Path(services.journal.path).parent.rglob("*"):
        if path.is_file():
            assert TEMP.encode() not in path.read_bytes(), path


def test_no_open_incident_is_refused(
    sandbox: Sandbox, zcomp: Callable[..., Result], tmp_path: Path
) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text(TEMP)
    sandbox.stats.reset()
    result = zcomp("unlock", "bob@sandbox.test", "--new-password-file", str(pw_file), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "no-incident"
    assert sandbox.stats.writes == []


def test_too_soon_is_refused_and_force_is_journaled(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result], tmp_path: Path
) -> None:
    incident = _locked(services)
    pw_file = tmp_path / "pw"
    pw_file.write_text(TEMP)
    sandbox.stats.reset()

    refused = zcomp("unlock", ALICE, "--new-password-file", str(pw_file), "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["error"]["code"] == "too-soon"
    assert sandbox.stats.writes == []
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"

    forced = zcomp("unlock", ALICE, "--new-password-file", str(pw_file), "--force", "--json")
    assert forced.exit_code == 0, forced.stderr
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "active"
    force = [a for a in services.journal.actions(incident) if a.kind == "force"]
    assert len(force) == 1 and force[0].step == "unlock"


def test_risky_settings_back_block_the_unlock(sandbox: Sandbox, no_wait: Services) -> None:
    _locked(no_wait)
    # Someone (a still-open session, a delegated token) plants a forward again.
    sandbox.account(ALICE).attrs["zimbraPrefMailForwardingAddress"] = ["drop@freemail.test"]
    sandbox.stats.reset()
    outcome = unlock_account(no_wait, ALICE, UnlockOptions(new_password=lambda _a: Secret(TEMP)))
    assert outcome.result == "refused"
    assert outcome.error is not None and outcome.error.code == "risky"
    assert "drop@freemail.test" in outcome.error.message
    assert sandbox.stats.writes == []
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"


def test_dry_run_changes_nothing(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result]
) -> None:
    _locked(services)
    sandbox.stats.reset()
    result = zcomp("unlock", ALICE, "--generate", "--dry-run", "--json", minutes=0)
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)["plan"]
    assert any("zimbraPasswordMustChange" in step for step in plan)
    assert sandbox.stats.writes == []
    assert "New temporary password" not in result.stderr


def test_usage_errors(zcomp: Callable[..., Result], tmp_path: Path) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text(TEMP)
    both = zcomp("unlock", ALICE, "--release-held", "--delete-held", "--generate")
    assert both.exit_code == 2
    two = zcomp("unlock", ALICE, "bob@sandbox.test", "--new-password-file", str(pw_file))
    assert two.exit_code == 2


def test_the_new_password_option_is_not_the_admin_password_option(
    sandbox: Sandbox, zcomp: Callable[..., Result], tmp_path: Path
) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text(TEMP)
    sandbox.stats.reset()
    old = zcomp("unlock", ALICE, "--password-file", str(pw_file), minutes=0)
    assert old.exit_code == 2
    assert "No such option '--password-file'" in old.stderr
    assert not sandbox.stats.requests


def test_no_prompt_without_a_terminal_on_stdin(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result]
) -> None:
    _locked(services)
    sandbox.stats.reset()
    # CliRunner's stdin is not a terminal: typing a password there would echo it.
    result = zcomp("unlock", ALICE, input=f"{TEMP}\n{TEMP}\n", minutes=0)
    assert result.exit_code == 2, result.stderr
    assert "--new-password-file" in result.stderr and "stdin is not a terminal" in result.stderr
    assert not sandbox.stats.requests  # stopped before contacting Zimbra
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"


def test_password_refused_by_policy_reveals_nothing_and_journals_no_force(
    sandbox: Sandbox, services: Services
) -> None:
    incident = _locked(services)  # just now: only --force gets past the minimum locked time
    # Only SetPassword reports it (CheckPasswordStrength does not check the minimum age): lockdown
    # set a password just now.
    sandbox.account(ALICE).attrs["zimbraPasswordMinAge"] = ["1"]
    shown: list[str] = []
    options = UnlockOptions(generate=True, force=True, reveal=lambda a, pw: shown.append(a))

    outcome = unlock_account(services, ALICE, options)

    assert outcome.result == "failed" and outcome.error is not None
    message = outcome.error.message
    assert "breaks the password policy" in message
    assert "still locked" in message and "was not shown" in message
    assert shown == []
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"
    kinds = [a.kind for a in services.journal.actions(incident) if a.step == "unlock"]
    assert "force" not in kinds
    assert services.journal.open_incident(sandbox.account(ALICE).id) is not None


def test_generated_password_revealed_only_once_set_and_force_journaled_after_it(
    sandbox: Sandbox, services: Services
) -> None:
    incident = _locked(services)
    seen: list[tuple[str | None, str | None]] = []

    def reveal(account: str, password: Secret) -> None:
        entry = sandbox.account(account)
        seen.append((entry.first("zimbraPasswordMustChange"), entry.first("zimbraAccountStatus")))

    outcome = unlock_account(
        services, ALICE, UnlockOptions(generate=True, force=True, reveal=reveal)
    )

    assert outcome.result == "unlocked", outcome.error
    assert seen == [("TRUE", "locked")]  # set and must be changed; shown before going active
    kinds = [a.kind for a in services.journal.actions(incident) if a.step == "unlock"]
    assert kinds.index("force") > kinds.index("password-must-change")
    assert kinds.count("force") == 1


def test_the_smallest_history_still_outlives_a_second_containment(
    sandbox: Sandbox, services: Services
) -> None:
    """[unlock] password_history at its minimum (5): lockdown twice (risky settings came back)
    and unlock set three passwords after the phished one, and it still cannot come back."""
    import dataclasses

    services.settings = dataclasses.replace(
        services.settings,
        unlock=dataclasses.replace(
            services.settings.unlock, password_history=5, min_locked_minutes=0
        ),
    )
    replay_attack(sandbox, ALICE)
    assert lockdown_account(services, ALICE, LockdownOptions()).result == "contained"
    # A forward comes back: the second run contains again (a second random password).
    from zcomp.zimbra.operations import GetAccount, ModifyAccount

    account_id = services.client.call(GetAccount(ALICE)).id
    services.client.call(
        ModifyAccount(account_id, {"zimbraPrefMailForwardingAddress": "x@gmail.com"})
    )
    again = lockdown_account(services, ALICE, LockdownOptions())
    assert again.result == "contained" and any("came back" in w for w in again.warnings)
    done = unlock_account(services, ALICE, UnlockOptions(new_password=lambda _a: Secret(TEMP)))
    assert done.result == "unlocked", done.error
    base = sandbox.urls[0]
    phished = demo_password(ALICE)
    assert owner.change_password(base, ALICE, TEMP, phished) == "account.PASSWORD_RECENTLY_USED"


def test_a_history_below_five_is_a_configuration_error(
    zcomp: Callable[..., Result], tmp_path: Path
) -> None:
    config = tmp_path / "small.toml"
    config.write_text("[unlock]\npassword_history = 2\n")
    result = zcomp("--config", str(config), "history")
    assert result.exit_code == 2
    assert "password_history" in result.stderr and "5" in result.stderr
