"""Ctrl-C on a real terminal: at each prompt, and in the middle of a batch.

zcomp runs on a pseudo-terminal that is its controlling terminal, so b"\\x03" typed there is
SIGINT, as from a person's keyboard; the test asserts the screen a person would see at the
end (pyte), the exit status, the sandbox (nothing written) and the journal.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.foundation.child import TRACES, assert_contained, child_env, zcomp
from tests.foundation.screen import Screen, at_prompt, run_on_screen
from tests.reliability.proxy import Hold, LossyProxy
from zcomp.cli.main import (
    DEMO_INTERRUPTED_MESSAGE,
    INTERRUPTED_MESSAGE,
    NOTHING_CHANGED_MESSAGE,
    UNLOCK_INTERRUPTED_MESSAGE,
)
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox, SandboxOptions, replay_attack

CTRL_C = b"\x03"
ALICE, BOB = "alice@sandbox.test", "bob@sandbox.test"
PASSWORD = b"Tel3phone-Line-Quiet!\r"


def no_trace(screen: Screen) -> None:
    for trace in TRACES:
        assert trace.encode() not in screen.raw, screen.rows


def lock_down(sb: Sandbox, *accounts: str) -> str:
    freemail = ""
    for account in accounts:
        freemail = replay_attack(sb, account).freemail
    done = subprocess.run(
        zcomp(sb.urls[0], "lockdown", "--yes", *accounts), env=child_env(), capture_output=True
    )
    assert done.returncode == 0, done.stderr
    return freemail


def unlock_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    # No cached admin token: the admin password is asked for where it is not given.
    config.write_text('token_cache = "off"\n[unlock]\nmin_locked_minutes = 0\n')
    return config


# ---------------------------------------------------------------------------- at a prompt

ELEVEN = [f"user{i}@sandbox.test" for i in range(11)]


@pytest.mark.parametrize(
    ("args", "answers"),
    [
        (["lockdown", *ELEVEN], [("to go on", at_prompt(CTRL_C))]),
        (["unlock", "--generate", *ELEVEN], [("to go on", at_prompt(CTRL_C))]),
        (["unlock", ALICE], [("New temporary password for", at_prompt(CTRL_C))]),
        (
            ["unlock", ALICE],
            [("New temporary password for", PASSWORD), ("again", at_prompt(CTRL_C))],
        ),
        (["login"], [("Password for", at_prompt(CTRL_C))]),
        (["restore", "INC-1", "--forwarding"], [("Password for", at_prompt(CTRL_C))]),
    ],
    ids=[
        "lockdown-confirm",
        "unlock-confirm",
        "unlock-password",
        "unlock-again",
        "login",
        "restore-admin-password",
    ],
)
def test_ctrl_c_at_a_prompt_changes_nothing_and_says_so(
    sandbox: Sandbox,
    tmp_path: Path,
    state_dir: Path,
    args: list[str],
    answers: list[tuple[str, bytes]],
) -> None:
    freemail = lock_down(sandbox, ALICE)
    with Journal.open(state_dir) as journal:
        [incident] = journal.incidents()
    args = [incident.key if a == "INC-1" else a for a in args]
    writes = len(sandbox.stats.writes)
    config = unlock_config(tmp_path)
    # The admin password is asked for only where the prompt is the admin's.
    env = {"ZCOMP_PASSWORD": None} if args[0] in ("login", "restore") else {}

    screen = run_on_screen(zcomp(sandbox.urls[0], *args, config=config), answers=answers, env=env)

    assert screen.exit_code == 130, screen.rows
    assert screen.lines[-1] == NOTHING_CHANGED_MESSAGE, screen.rows
    no_trace(screen)
    assert len(sandbox.stats.writes) == writes
    assert_contained(sandbox.urls[0], ALICE, freemail)


@pytest.mark.parametrize(
    ("args", "keys"),
    [
        (["lockdown", *ELEVEN], b"10\r"),
        (["lockdown", *ELEVEN], b"\x04"),
        (["unlock", "--generate", *ELEVEN], b"eleven\r"),
    ],
    ids=["lockdown-wrong-count", "lockdown-ctrl-d", "unlock-wrong-count"],
)
def test_a_declined_confirmation_is_one_line_saying_nothing_changed(
    sandbox: Sandbox, tmp_path: Path, args: list[str], keys: bytes
) -> None:
    """Not Click's bare "Aborted!" (exit 1): the confirmation was not given, as when there is
    no terminal to ask on (exit 2), and nothing was changed."""
    writes = len(sandbox.stats.writes)
    argv = zcomp(sandbox.urls[0], *args, config=unlock_config(tmp_path))

    screen = run_on_screen(argv, answers=[("to go on", keys)])

    assert screen.exit_code == 2, screen.rows
    assert b"Aborted" not in screen.raw, screen.rows
    assert screen.lines[-1].startswith("Error: not confirmed ("), screen.rows
    assert screen.lines[-1].endswith("): nothing was changed"), screen.rows
    assert screen.lines[-2].startswith("About to "), screen.rows  # one line, after the prompt
    no_trace(screen)
    assert len(sandbox.stats.writes) == writes


CTRL_D = b"\x04"


@pytest.mark.parametrize(
    ("args", "prompt", "code", "error"),
    [
        (["login"], "Password for", 3, "Error: no password entered (Ctrl-D)"),
        (
            ["unlock", ALICE],
            "New temporary password for",
            2,
            f"Error: {ALICE}: usage: no new password entered (Ctrl-D): {ALICE} was not changed",
        ),
    ],
    ids=["login", "unlock-password"],
)
def test_ctrl_d_at_a_password_prompt_is_one_line(
    sandbox: Sandbox, tmp_path: Path, args: list[str], prompt: str, code: int, error: str
) -> None:
    """Ctrl-D (no password) was "unexpected EOFError" or an internal error, glued to the
    prompt: now the line below the prompt says so, and nothing was changed."""
    freemail = lock_down(sandbox, ALICE)
    writes = len(sandbox.stats.writes)
    env = {"ZCOMP_PASSWORD": None} if args[0] == "login" else {}
    argv = zcomp(sandbox.urls[0], *args, config=unlock_config(tmp_path))

    screen = run_on_screen(argv, answers=[(prompt, CTRL_D)], env=env)

    assert screen.exit_code == code, screen.rows
    assert screen.lines[-1] == error, screen.rows
    assert b"EOFError" not in screen.raw, screen.rows
    no_trace(screen)
    assert len(sandbox.stats.writes) == writes
    assert_contained(sandbox.urls[0], ALICE, freemail)


def test_ctrl_c_ends_a_watch_on_a_row_of_its_own(sandbox: Sandbox) -> None:
    """ "watch ended" was glued to the terminal's "^C" echo ("^Cwatch ended")."""
    argv = zcomp(sandbox.urls[0], "watch", "--interval", "1")

    screen = run_on_screen(argv, answers=[("episode(s) open", CTRL_C)])

    assert screen.exit_code == 0, screen.rows
    assert screen.lines[-2:] == ["^C", "watch ended"], screen.rows
    no_trace(screen)


def test_ctrl_c_in_the_demo_does_not_ask_to_resume_it() -> None:
    """The demo's lockdown interrupted said "run the same command again to resume": but the
    demo's sandbox is gone with it, and running it again starts afresh."""
    screen = run_on_screen(zcomp(None, "demo"), answers=[("zcomp lockdown", CTRL_C)])

    assert screen.exit_code == 130, screen.rows
    assert screen.lines[-1] == DEMO_INTERRUPTED_MESSAGE, screen.rows
    assert not any("resume" in line for line in screen.lines), screen.rows
    no_trace(screen)


def sigterm(proc: subprocess.Popen[bytes]) -> bytes:
    proc.send_signal(signal.SIGTERM)  # `kill PID` from another shell: nothing is echoed
    return b""


@pytest.mark.parametrize(
    ("args", "prompt"),
    [
        (["lockdown", *ELEVEN], "to go on"),
        (["login"], "Password for"),
        (["unlock", ALICE], "New temporary password for"),
    ],
    ids=["lockdown-confirm", "login", "unlock-password"],
)
def test_sigterm_at_a_prompt_says_so_below_it(
    sandbox: Sandbox, tmp_path: Path, args: list[str], prompt: str
) -> None:
    """SIGTERM leaves no "^C" echo to end the prompt's row: the message was glued to it
    ("... Type 11 to go on: Interrupted before anything in Zimbra was changed.")."""
    lock_down(sandbox, ALICE)
    writes = len(sandbox.stats.writes)
    env = {"ZCOMP_PASSWORD": None} if args[0] == "login" else {}
    argv = zcomp(sandbox.urls[0], *args, config=unlock_config(tmp_path))

    screen = run_on_screen(argv, answers=[(prompt, at_prompt(sigterm))], env=env)

    assert screen.exit_code == 130, screen.rows
    assert screen.lines[-1] == NOTHING_CHANGED_MESSAGE, screen.rows
    [asked] = [line for line in screen.lines if prompt in line]
    assert asked.endswith(":"), screen.rows  # the prompt's row holds the prompt alone
    no_trace(screen)
    assert len(sandbox.stats.writes) == writes


# ---------------------------------------------------------------------------- in a batch


def test_ctrl_c_at_the_second_accounts_password_prompt(
    sandbox: Sandbox, tmp_path: Path, state_dir: Path
) -> None:
    """Alice unlocked, then Ctrl-C where Bob's password is asked: Bob is reported not started
    on a line of its own (not glued to his prompt), the summary says what was done and what
    was not, and the journal agrees."""
    freemail = lock_down(sandbox, ALICE, BOB)
    argv = zcomp(sandbox.urls[0], "unlock", ALICE, BOB, config=unlock_config(tmp_path))

    screen = run_on_screen(
        argv,
        answers=[
            (f"New temporary password for {ALICE}", PASSWORD),
            ("again", PASSWORD),
            (f"New temporary password for {BOB}", at_prompt(CTRL_C)),
        ],
    )

    assert screen.exit_code == 130, screen.rows
    no_trace(screen)
    lines = screen.lines
    assert f"New temporary password for {BOB}:" in lines, lines
    assert f"{BOB}: not-started" in lines, lines
    at = lines.index("summary: 2 accounts: 1 not-started, 1 unlocked")
    assert any(BOB in row and "not-started" in row for row in lines[at:]), lines
    assert lines[-1] == UNLOCK_INTERRUPTED_MESSAGE
    assert_contained(sandbox.urls[0], BOB, freemail)
    with Journal.open(state_dir) as journal:
        [run] = journal.unfinished_runs()
    assert run.results == {ALICE: "unlocked", BOB: "not-started"}


def test_ctrl_c_twice_stops_the_account_at_its_next_step_and_says_where(
    sandbox: Sandbox, state_dir: Path
) -> None:
    """The first Ctrl-C lets the account being changed finish, the second stops it at its
    next step: the screen says which step, in words that do not stutter ("stopped: stopped
    (SIGINT) before cleaning" was the error line), and the journal agrees."""
    replay_attack(sandbox, ALICE)
    # Held while it is being locked, until both Ctrl-Cs have been answered.
    contain = Hold("ModifyAccountRequest", body=sandbox.account(ALICE).id.encode())

    def release(_proc: object) -> bytes:
        contain.release()
        return b""

    with LossyProxy(sandbox.urls[0]) as proxy:
        proxy.hooks.append(contain)
        screen = run_on_screen(
            zcomp(proxy.base_url, "lockdown", ALICE),
            answers=[("containing", CTRL_C), ("stopping:", CTRL_C), ("next step", release)],
        )

    assert screen.exit_code == 130, screen.rows
    no_trace(screen)
    with Journal.open(state_dir) as journal:
        [incident] = journal.incidents()
    lines = screen.lines
    assert f"{ALICE}: stopped (incident {incident.key})" in lines, lines
    assert (
        f"Error: {ALICE}: stopped: by SIGINT before cleaning; incident {incident.key} is "
        f"{incident.state}: run the same command again to finish"
    ) in lines, lines
    assert incident.state == "locked-not-cleaned"
    assert lines[-1] == INTERRUPTED_MESSAGE


@pytest.fixture
def slow_sandbox() -> Iterator[Sandbox]:
    """Every request takes 100 ms: an account takes long enough to press Ctrl-C meanwhile."""
    with Sandbox(SandboxOptions(servers=1, seed="demo", latency_ms=100)) as sb:
        yield sb


BATCH = [f"{name}@sandbox.test" for name in ("carol", "dave", "erin", "heidi")]


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_under_the_bar_leaves_no_bar_behind(
    slow_sandbox: Sandbox, tmp_path: Path, state_dir: Path, workers: int
) -> None:
    """Ctrl-C while the bar is on screen, its row full (a narrow terminal, a long label): the
    terminal's "^C" echo must not push the bar's row out of reach of its erasing."""
    for account in BATCH:
        replay_attack(slow_sandbox, account)
    config = tmp_path / "config.toml"
    config.write_text(f"[lockdown]\nworkers = {workers}\n")
    # The bar is drawn below the first account's lines; the second account is held at its
    # first request until the "^C" has been echoed, so the bar is on the screen when the keys
    # arrive however slow the machine (the 100 ms per request only makes the bar long-lived).
    second = Hold("GetAccountRequest", body=BATCH[1].encode())

    def release(_proc: object) -> bytes:
        second.release()
        return b""

    with LossyProxy(slow_sandbox.urls[0]) as proxy:
        proxy.hooks.append(second)
        argv = zcomp(proxy.base_url, "lockdown", *BATCH, config=config)
        try:
            screen = run_on_screen(
                argv, cols=60, answers=[(f"1/{len(BATCH)}", CTRL_C), ("^C", release)]
            )
        finally:
            second.release()

    assert screen.exit_code == 130, screen.rows
    no_trace(screen)
    assert b"lockdown \x1b" in screen.raw  # the bar was drawn
    assert not any(row.startswith("lockdown") for row in screen.rows), "\n".join(screen.rows)
    with Journal.open(state_dir) as journal:
        [run] = journal.unfinished_runs()
    assert set(run.results) == set(BATCH)
    assert "not-started" in run.results.values()
    for account, result in run.results.items():
        assert any(row.startswith(f"{account}: {result}") for row in screen.lines), screen.rows


# ---------------------------------------------------------------------------- no colour


@pytest.mark.parametrize(
    ("root", "env"),
    [
        ([], {"NO_COLOR": "1"}),
        (["--no-color"], {}),
        ([], {"TERM": "dumb"}),
        # `env -i`, a minimal cron or ssh environment: rich would assume a capable terminal.
        ([], {"TERM": None, "COLORTERM": None}),
        ([], {"TERM": ""}),
    ],
    ids=["NO_COLOR", "--no-color", "TERM=dumb", "no-TERM", "TERM-empty"],
)
def test_no_colour_means_no_escape_codes(
    sandbox: Sandbox, root: list[str], env: dict[str, str | None]
) -> None:
    replay_attack(sandbox, ALICE)
    # A failure: the summary's table of what was not done, the one with a header.
    argv = zcomp(sandbox.urls[0], *root, "lockdown", ALICE, "ghost@sandbox.test")

    screen = run_on_screen(argv, env=env)

    assert screen.exit_code == 6, screen.rows
    assert b"\x1b" not in screen.raw, screen.raw
    assert any("ghost@sandbox.test" in row and "failed" in row for row in screen.rows)
