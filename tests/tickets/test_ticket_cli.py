"""The ticket backend from the CLI: checked when a command files tickets, never otherwise;
`zcomp ticket test` files, finds, comments on and resolves a test ticket or says why not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.tickets.fakedesk import Answer, FakeDesk, Seen
from zcomp.sandbox import Sandbox, replay_attack

ALICE = "alice@sandbox.test"
BROKEN = '[tickets]\nbackend = "zammad"\n\n[tickets.zammad]\nurl = "https://desk.example"\n'


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_a_bad_ticket_setting_stops_lockdown_before_zimbra_and_never_stops_inspect(
    invoke: Callable[..., Result], sandbox: Sandbox, tmp_path: Path
) -> None:
    replay_attack(sandbox, ALICE)
    config = _config(tmp_path, BROKEN)  # no token: required
    root = ["--config", str(config), "--url", sandbox.admin_url, "--admin", "admin@sandbox.test"]
    env = {"ZCOMP_PASSWORD": "sandbox"}
    before = sandbox.stats.total("AuthRequest")

    refused = invoke(*root, "lockdown", ALICE, env=env)

    assert refused.exit_code == 2, refused.stderr
    assert f"{config}: [tickets.zammad] token: is required" in refused.stderr
    assert sandbox.stats.total("AuthRequest") == before  # nothing was sent to Zimbra
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "active"

    looked = invoke(*root, "--json", "inspect", ALICE, env=env)
    assert looked.exit_code == 1, looked.stderr  # found the attack; the desk is not its business
    assert json.loads(looked.stdout)["result"] == "malicious"
    dry = invoke(*root, "--json", "lockdown", "--dry-run", ALICE, env=env)
    assert dry.exit_code == 0, dry.stderr

    shown = invoke("--config", str(config), "config", "show")
    assert shown.exit_code == 2 and "[tickets.zammad] token: is required" in shown.stderr


class _Hook(FakeDesk):
    """A webhook receiver that says yes."""

    def __init__(self) -> None:
        super().__init__()
        self.route("POST", r"/hook", lambda seen, m: Answer(200, {"ok": True}))


def test_ticket_test_files_comments_and_resolves_or_says_why_not(
    invoke: Callable[..., Result], tmp_path: Path, state_dir: Path
) -> None:
    ok = invoke("ticket", "test")  # the default file backend
    assert ok.exit_code == 0, ok.stderr
    assert "ticket test on file: ok (opened ZCOMPTEST-" in ok.stdout
    assert "commented; resolved" in ok.stdout
    [ticket] = (state_dir / "tickets").iterdir()
    assert "## Resolved" in ticket.read_text()
    key = ticket.name.removeprefix("zcomp-").removesuffix(".md")
    # was "# zcomp ZCOMPTEST-...: zcomp ticket backend test: ...": zcomp twice
    heading = f"# zcomp ticket backend test {key}: please ignore, it resolves itself"
    assert ticket.read_text().splitlines()[0] == heading

    with _Hook() as desk:
        config = _config(
            tmp_path,
            f'[tickets]\nbackend = "webhook"\n\n[tickets.webhook]\nurl = "{desk.url}/hook"\n',
        )
        hooked = invoke("--config", str(config), "--json", "ticket", "test")
        assert hooked.exit_code == 0, hooked.stderr
        assert json.loads(hooked.stdout)["ok"] is True
        events: list[Seen] = [s for s in desk.requests if s.path == "/hook"]
        assert len(events) == 3  # opened, commented, resolved

        desk.fail_next("POST", r"/hook", 401, body={"error": "bad token"})
        refused = invoke("--config", str(config), "ticket", "test")
    assert refused.exit_code == 1
    assert "ticket test on webhook failed: " in refused.stderr and "401" in refused.stderr


def test_a_desk_that_is_down_leaves_the_ticket_pending_then_retry_files_it_once(
    invoke: Callable[..., Result], sandbox: Sandbox, tmp_path: Path
) -> None:
    replay_attack(sandbox, ALICE)
    with _Hook() as desk:
        webhook = f'[tickets]\nbackend = "webhook"\n\n[tickets.webhook]\nurl = "{desk.url}/hook"\n'
        config = _config(tmp_path, webhook)
        root = ["--config", str(config), "--url", sandbox.admin_url]
        root += ["--admin", "admin@sandbox.test"]
        env = {"ZCOMP_PASSWORD": "sandbox"}
        desk.fail_next("POST", r"/hook", 503, body={"error": "down for maintenance"})

        contained = invoke(*root, "--json", "lockdown", ALICE, env=env)
        assert contained.exit_code == 7, contained.stderr  # contained, the ticket pending
        line = json.loads(contained.stdout)
        assert line["result"] == "contained-ticket-pending" and line["ticket"] is None
        assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"

        retried = invoke(*root, "--json", "ticket", "retry", line["incident"], env=env)
        assert retried.exit_code == 0, retried.stderr
        filed = json.loads(retried.stdout)
        assert filed["ticket"]["backend"] == "webhook" and filed["error"] is None

        again = invoke(*root, "--json", "ticket", "retry", env=env)
        assert again.exit_code == 0
        opened = [s for s in desk.requests if s.path == "/hook"]
        # The refused attempt, then one that landed: nothing more on the second retry.
        assert len(opened) == 2
        assert all("sandbox" not in (s.header("Authorization") or "") for s in opened)


def test_a_lockdown_ticket_names_its_incident_once_in_the_title(
    invoke: Callable[..., Result], sandbox: Sandbox, state_dir: Path
) -> None:
    # The title already names the incident: it was prefixed "zcomp KEY: " again, so the file's
    # heading and every backend's subject carried the key twice.
    key, text = _attacked_and_locked_down(invoke, sandbox, state_dir)
    heading = text.splitlines()[0]
    assert heading == f"# Compromised account {ALICE} locked (incident {key})"


def test_a_lockdown_tickets_next_steps_are_the_help_desks_own(
    invoke: Callable[..., Result], sandbox: Sandbox, state_dir: Path
) -> None:
    # The help desk reaches the owner; running zcomp is the mail admins' part, and the ticket
    # says so. The attack queued one message: one, not "1 ... message(s) are".
    _key, text = _attacked_and_locked_down(invoke, sandbox, state_dir)
    steps = text[text.index("## What the help desk must do next") :].splitlines()
    zcomp_steps = [line for line in steps if "`zcomp " in line]
    assert len(zcomp_steps) == 2
    assert all("the mail admins" in line.lower() for line in zcomp_steps), zcomp_steps
    [held] = [line for line in steps if "held on the MTA" in line]
    assert "1 queued message is held" in held and "whether they sent it;" in held
    assert "the mail admins unlock" in held


def _attacked_and_locked_down(
    invoke: Callable[..., Result], sandbox: Sandbox, state_dir: Path
) -> tuple[str, str]:
    """Alice attacked, then locked down by the CLI: the incident's key and its file ticket."""
    replay_attack(sandbox, ALICE)
    root = ["--url", sandbox.admin_url, "--admin", "admin@sandbox.test"]
    done = invoke(*root, "--json", "lockdown", ALICE, env={"ZCOMP_PASSWORD": "sandbox"})
    assert done.exit_code == 0, done.stderr
    key: str = json.loads(done.stdout.splitlines()[-1])["incident"]
    return key, (state_dir / "tickets" / f"zcomp-{key}.md").read_text()
