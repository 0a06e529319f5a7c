"""Two admins, two journals, one sandbox and one help desk: the account is the shared record.

Admin A contains a phished account. Admin B (another journal: another login, another host)
sees from the account's zimbraNotes line that zcomp contained it, who and when, and under which
incident; B's lockdown verifies instead of containing again; B's unlock hands it back and
resolves A's ticket. One incident key, one ticket, one password change by lockdown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.reliability.harness import password_changes
from zcomp.journal import CLOSED, CONTAINED, Journal
from zcomp.sandbox import Sandbox, replay_attack
from zcomp.tickets import FileBackend

ALICE = "alice@sandbox.test"
ADMIN = "admin@sandbox.test"


def _admin(
    invoke: Callable[..., Result], sandbox: Sandbox, root: Path, name: str, desk: Path
) -> tuple[Callable[..., Result], Path]:
    state = root / name / "state"
    state.mkdir(parents=True)
    config = root / name / "config.toml"
    config.write_text(
        f'state_dir = "{state}"\ntoken_cache = "off"\n\n[unlock]\nmin_locked_minutes = 0\n\n'
        f'[tickets]\nbackend = "file"\n\n[tickets.file]\ndirectory = "{desk}"\n'
    )

    def run(*args: str, input: str | None = None) -> Result:
        root_args = ["--config", str(config), "--url", sandbox.admin_url, "--admin", ADMIN]
        env = {"ZCOMP_PASSWORD": "sandbox", "ZCOMP_STATE_DIR": str(state)}
        return invoke(*root_args, *args, input=input, env=env)

    return run, state


def test_two_admins_one_incident_one_ticket_the_second_unlocks(
    invoke: Callable[..., Result], sandbox: Sandbox, tmp_path: Path
) -> None:
    replay_attack(sandbox, ALICE)
    desk = tmp_path / "helpdesk"  # the help desk both admins file to
    first, first_state = _admin(invoke, sandbox, tmp_path, "ann", desk)
    second, second_state = _admin(invoke, sandbox, tmp_path, "ben", desk)

    contained = first("--json", "lockdown", ALICE)
    assert contained.exit_code == 0, contained.stderr
    out = json.loads(contained.stdout)
    key = out["incident"]
    assert key.startswith("INC-") and out["ticket"]["id"] == key

    # B sees who contained it, when, under which incident, and where the ticket is.
    seen = second("inspect", ALICE)
    assert "contained by zcomp by " in seen.stdout and f"incident {key}, ticket on file" in (
        seen.stdout
    ), seen.stdout
    # B's lockdown verifies and reports: no second containment, incident or ticket.
    again = second("--json", "lockdown", ALICE)
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["result"] == "already-contained"
    assert password_changes(sandbox, ALICE) == 1
    assert len(list(desk.iterdir())) == 1

    # B's dry run plans the hand-back and records nothing.
    planned = second("--json", "unlock", ALICE, "--dry-run")
    assert planned.exit_code == 0, planned.stderr
    assert json.loads(planned.stdout)["incident"] == key
    with Journal.open(second_state) as journal:
        assert journal.incidents() == []

    # B unlocks: the incident is taken into B's journal under the same key, and A's ticket is
    # commented on and resolved.
    password = tmp_path / "new-password"
    password.write_text("Owner-Handback-2026!\n")
    password.chmod(0o600)
    handed = second("--json", "unlock", ALICE, "--new-password-file", str(password))
    assert handed.exit_code == 0, handed.stderr
    back = json.loads(handed.stdout)
    assert back["result"] == "unlocked" and back["incident"] == key, back
    assert any("taken into this journal" in w for w in back["warnings"]), back["warnings"]
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "active"
    [ticket] = desk.iterdir()
    tickets = FileBackend(desk)
    ref = tickets.find(key)
    assert ref is not None and tickets.is_resolved(ref)
    assert "Owner-Handback" not in ticket.read_text()
    with Journal.open(second_state) as journal:
        mine = journal.incident(key)
        assert mine.state == CLOSED and mine.ticket_id == key
    with Journal.open(first_state) as journal:
        assert journal.incident(key).state == CONTAINED  # A's journal learns at A's next look

    # A, later, runs lockdown again (say the account is reported phished anew): A's stale
    # incident is closed as unlocked elsewhere, and this is a new incident, key and ticket.
    anew = first("--json", "lockdown", ALICE)
    assert anew.exit_code == 0, anew.stderr
    line = json.loads(anew.stdout)
    assert line["result"] == "contained" and line["incident"] != key
    assert any("closed by another zcomp's unlock" in w for w in line["warnings"])
    with Journal.open(first_state) as journal:
        assert journal.incident(key).state == CLOSED
    assert len(list(desk.iterdir())) == 2
