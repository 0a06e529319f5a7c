"""A batch's output: each account's line whole on a real terminal, the summary as data on
stdout, --json one object per line, a closed stdout, and results streamed (none kept).

The terminal tests run zcomp on a pseudo-terminal and read the screen a person would see
(pyte); the others use CliRunner or real pipes against the in-process sandbox.
"""

from __future__ import annotations

import gc
import re
import subprocess
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
from click.testing import Result

from tests.foundation.child import (
    TRACES,
    assert_contained,
    child_env,
    json_lines,
    quote,
    shell,
    workers_config,
    zcomp,
)
from tests.foundation.screen import default_signals, run_on_screen
from zcomp.core.outcome import AccountOutcome, Failure
from zcomp.core.outcome import Result as Outcome
from zcomp.core.report import FAILURES_KEPT, Report
from zcomp.core.runner import run_accounts
from zcomp.core.services import Services
from zcomp.core.stop import StopRequest
from zcomp.exitcodes import ExitCode
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox, replay_attack

ADMIN = "admin@sandbox.test"
GHOST = "ghost@sandbox.test"
GOOD = [f"{name}@sandbox.test" for name in ("bob", "carol", "dave", "erin")]
BATCH = [GOOD[0], GOOD[1], GHOST, GOOD[2], GOOD[3]]
NO_SUCH = f"{GHOST}: failed (account.NO_SUCH_ACCOUNT)"
EXPLAINED = f"Error: {GHOST}: account.NO_SUCH_ACCOUNT: no such account: {GHOST}"
CONTAINED = re.compile(
    r"(\S+@sandbox\.test): contained \(incident (INC-[0-9A-Z]{8}), ticket file \2\)"
)
SUMMARY = "summary: 5 accounts: 4 contained, 1 failed"
BOX = "┏┃┡│└"  # the rows of a rich table
WARNING = "Warning: "  # a warning is a whole line too (none is expected here today)
NOTE = "Note: "  # once per run: what this server lacks (zcomp.core.services)


def _cli(invoke: Callable[..., Result], sb: Sandbox, *args: str) -> Result:
    return invoke("--url", sb.admin_url, "--admin", ADMIN, *args, env={"ZCOMP_PASSWORD": "sandbox"})


# ---------------------------------------------------------------------------- a real terminal


def test_a_batch_on_a_terminal_keeps_every_line_whole(
    sandbox: Sandbox, tmp_path: Path, state_dir: Path
) -> None:
    argv = zcomp(sandbox.urls[0], "lockdown", *BATCH, config=workers_config(tmp_path, 2))

    screen = run_on_screen(argv)

    assert screen.exit_code == 6, screen.rows
    assert b"/5" in screen.raw  # the bar was drawn (and is gone at the end)
    rows = screen.lines
    # Every row is one whole thing: an account's line, the explanation of the failure, the
    # summary or a row of its table; a bar fragment glued to anything matches none of them.
    for row in rows:
        assert (
            CONTAINED.fullmatch(row)
            or row in (NO_SUCH, EXPLAINED, SUMMARY)
            or row[0] in BOX
            or row.startswith((WARNING, NOTE))
        ), rows
    contained = sorted(m.group(1) for row in rows if (m := CONTAINED.fullmatch(row)))
    assert contained == sorted(GOOD)
    assert rows.count(NO_SUCH) == 1 and rows.count(EXPLAINED) == 1
    # The summary comes last, a table on a terminal, the failure with its fault code.
    at = rows.index(SUMMARY)
    assert all(row[0] in BOX for row in rows[at + 1 :]), rows
    [failure] = [row for row in rows[at:] if GHOST in row]
    assert re.fullmatch(
        rf"│ {re.escape(GHOST)} +│ failed +│ account\.NO_SUCH_ACCOUNT +│ no such account: .*│",
        failure,
    ), failure
    with Journal.open(state_dir) as journal:
        assert len(journal.incidents()) == len(GOOD)


def test_stdout_to_a_file_leaves_the_terminal_clean(
    sandbox: Sandbox, tmp_path: Path, state_dir: Path
) -> None:
    argv = zcomp(sandbox.urls[0], "lockdown", *BATCH, config=workers_config(tmp_path, 2))
    data = tmp_path / "results.txt"

    screen = run_on_screen(argv, stdout=data)

    assert screen.exit_code == 6
    assert b"/5" in screen.raw  # the bar was on the terminal meanwhile
    # The terminal (stderr) keeps what people need: the failure explained, nothing else.
    assert EXPLAINED in screen.lines
    assert all(line == EXPLAINED or line.startswith((WARNING, NOTE)) for line in screen.lines), (
        screen.lines
    )
    # The file has the data, plain: no colour, no bar, no table.
    text = data.read_text()
    assert "\x1b" not in text and "━" not in text
    lines = text.splitlines()
    assert sorted(m.group(1) for line in lines if (m := CONTAINED.fullmatch(line))) == GOOD
    assert lines[-3:] == [
        SUMMARY,
        "account             result  code                     message",
        f"{GHOST}  failed  account.NO_SUCH_ACCOUNT  no such account: {GHOST}",
    ]


# ---------------------------------------------------------------------------- data and people


def test_the_summary_and_each_result_are_data_on_stdout(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    result = _cli(invoke, sandbox, "lockdown", "--dry-run", GOOD[0], GHOST, GOOD[1])

    assert result.exit_code == 6, result.stderr
    out = result.stdout.splitlines()
    assert f"{GOOD[0]}: planned" in out and f"{GOOD[1]}: planned" in out and NO_SUCH in out
    assert out[-3:] == [
        "summary: 3 accounts: 1 failed, 2 planned",
        "account             result  code                     message",
        f"{GHOST}  failed  account.NO_SUCH_ACCOUNT  no such account: {GHOST}",
    ]
    # stderr: the explanation of the failure and the progress lines, never the report.
    err = result.stderr.splitlines()
    assert EXPLAINED in err
    assert all(
        line == EXPLAINED or line.startswith(("lockdown [", WARNING, NOTE)) for line in err
    ), err


def test_inspect_batch_reports_and_summary_on_stdout(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    result = _cli(invoke, sandbox, "inspect", GOOD[0], GHOST)

    assert result.exit_code == 6, result.stderr
    assert NO_SUCH in result.stdout.splitlines()
    assert f"{GOOD[0]}: clean (status active)" in result.stdout.splitlines()
    assert "summary: 2 accounts: 1 clean, 1 failed" in result.stdout.splitlines()
    assert "summary" not in result.stderr and EXPLAINED in result.stderr.splitlines()


def test_json_is_one_object_per_account_and_nothing_else(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    result = _cli(invoke, sandbox, "--json", "lockdown", "--dry-run", GOOD[0], GHOST, GOOD[1])

    assert result.exit_code == 6, result.stderr
    lines = json_lines(result.stdout)
    assert sorted(line["account"] for line in lines) == sorted([GOOD[0], GHOST, GOOD[1]])
    assert len(result.stdout.splitlines()) == 3
    # The count is for the person watching: stderr.
    assert "3 accounts: 1 failed, 2 planned" in result.stderr.splitlines()


# ---------------------------------------------------------------------------- closed stdout


def test_a_read_only_batch_ends_quietly_when_its_reader_is_gone(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The reader left before the first line (`| head -0`): a dry run stops at once, 0."""
    argv = zcomp(
        sandbox.urls[0], "lockdown", "--dry-run", *BATCH, config=workers_config(tmp_path, 1)
    )
    writes = len(sandbox.stats.writes)
    returncode, stderr = _reader_gone_at_once(argv)

    assert returncode == 0, stderr  # not 6: it never got as far as the ghost
    for trace in TRACES:
        assert trace not in stderr
    assert "Error" not in stderr
    assert len(sandbox.stats.writes) == writes


@pytest.mark.parametrize("workers", [1, 4])
def test_a_read_only_batch_counts_each_account_once_after_its_reader_left(
    sandbox: Sandbox, tmp_path: Path, workers: int
) -> None:
    """The account whose line found the reader gone was counted again on stderr
    (`lockdown [6/5] erin@sandbox.test ...`, an account twice): each is counted once."""
    config = workers_config(tmp_path, workers)
    argv = zcomp(sandbox.urls[0], "lockdown", "--dry-run", *BATCH, config=config)
    returncode, stderr = _reader_gone_at_once(argv)

    assert returncode == 0, stderr
    progress = re.findall(r"^lockdown \[(\d+)/(\d+)\] (\S+) ", stderr, re.MULTILINE)
    assert progress, stderr
    counted = [account for _n, _total, account in progress]
    assert len(counted) == len(set(counted)), stderr
    assert all(int(n) <= int(total) == len(BATCH) for n, total, _a in progress), stderr


def test_a_lockdown_batch_goes_on_after_head_took_one_line(
    sandbox: Sandbox, tmp_path: Path, state_dir: Path
) -> None:
    freemail = replay_attack(sandbox, GOOD[0]).freemail
    command = quote(zcomp(sandbox.urls[0], "lockdown", *GOOD, config=workers_config(tmp_path, 1)))

    done = shell(f"{command} | head -1")

    assert done.returncode == 0, done.stderr
    assert CONTAINED.fullmatch(done.stdout.rstrip("\n")), done.stdout
    for trace in TRACES:
        assert trace not in done.stderr
    assert_contained(sandbox.urls[0], GOOD[0], freemail)
    with Journal.open(state_dir) as journal:
        assert {i.account_name for i in journal.incidents()} == set(GOOD)
        assert journal.unfinished_runs() == []


# ---------------------------------------------------------------------------- streaming


# Outcomes alive at once, per worker: the one being made, the submitted ones (two per worker)
# and those just handed on; a bound that does not grow with the number of accounts.
IN_FLIGHT = 6


class _NoEnv:
    """Stands in for an Services: the work below never touches it."""

    stop: StopRequest | None = None


def _outcome(name: str, n: int) -> AccountOutcome:
    if n % 10 == 3:
        error = Failure("account.NO_SUCH_ACCOUNT", f"no such account: {name}", ExitCode.FAULT)
        return AccountOutcome(account=name, result=Outcome.FAILED, error=error)
    return AccountOutcome(account=name, result=Outcome.PLANNED, plan=["x" * 200])


class _Tracker:
    """Weak references to every outcome made: how many are still alive at any moment."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[AccountOutcome]] = []
        self.most_alive = 0
        self._lock = threading.Lock()

    def made(self, outcome: AccountOutcome) -> AccountOutcome:
        with self._lock:
            self.refs.append(weakref.ref(outcome))
            if len(self.refs) % 50 == 0:  # counting is O(n): now and then is enough
                self.most_alive = max(self.most_alive, self.alive())
        return outcome

    def alive(self) -> int:
        return sum(1 for ref in self.refs if ref() is not None)


@pytest.mark.parametrize("workers", [1, 4])
def test_the_runner_keeps_no_outcome(workers: int) -> None:
    accounts = [f"user{i}@sandbox.test" for i in range(3000)]
    tracker = _Tracker()
    index = {name: i for i, name in enumerate(accounts)}
    seen: list[str] = []

    def work(_env: Services, name: str) -> AccountOutcome:
        return tracker.made(_outcome(name, index[name]))

    report = run_accounts(
        accounts,
        lambda: cast(Services, _NoEnv()),
        work,
        workers=workers,
        stop=StopRequest(),
        on_done=lambda o: seen.append(o.account),
    )

    assert sorted(seen) == sorted(accounts)
    # A few per worker in flight at any time (not one per account), none once it is over.
    assert tracker.most_alive <= IN_FLIGHT * workers, tracker.most_alive
    gc.collect()
    assert tracker.alive() == 0
    assert report.total == 3000 and report.counts == {"planned": 2700, "failed": 300}
    assert report.exit_code == ExitCode.PARTIAL


def test_the_report_keeps_counts_and_a_short_list() -> None:
    report = Report()
    for i in range(10_000):
        report.add(_outcome(f"user{i}@x", i))

    assert report.total == 10_000 and report.counts == {"planned": 9000, "failed": 1000}
    assert len(report.not_done) == FAILURES_KEPT and report.not_listed == 1000 - FAILURES_KEPT
    assert report.not_done[0].account == "user3@x"
    assert report.not_done[0].code == "account.NO_SUCH_ACCOUNT"
    assert not hasattr(report, "outcomes")
    assert report.exit_code == ExitCode.PARTIAL
    # One account: its own status, as before.
    assert Report([_outcome("a@x", 3)]).exit_code == ExitCode.FAULT
    assert Report([_outcome("a@x", 0)]).exit_code == ExitCode.OK
    stopped = Report([AccountOutcome(account="a@x", result=Outcome.NOT_STARTED)], stopped=True)
    assert stopped.exit_code == ExitCode.INTERRUPTED


def test_a_large_dry_run_streams_through_the_cli(
    sandbox: Sandbox,
    invoke: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole command path (workers, rendering, summary) keeps no outcome: each is shown
    and dropped. The work is a stand-in, so 5,000 accounts take a second, not minutes."""
    accounts = [f"user{i}@sandbox.test" for i in range(5000)]
    listing = tmp_path / "accounts.txt"
    listing.write_text("\n".join(accounts) + "\n")
    tracker = _Tracker()
    index = {name: i for i, name in enumerate(accounts)}

    def fake(_env: Services, name: str, _options: object) -> AccountOutcome:
        return tracker.made(_outcome(name, index[name]))

    monkeypatch.setattr("zcomp.core.lockdown.lockdown_account", fake)
    result = _cli(invoke, sandbox, "lockdown", "--dry-run", "--yes", "--from", str(listing))

    assert result.exit_code == 6, result.stderr
    assert tracker.most_alive <= IN_FLIGHT * 4, tracker.most_alive  # 4 workers by default
    gc.collect()
    assert tracker.alive() == 0
    out = result.stdout.splitlines()
    assert out.count("  plan:") == 4500  # every account's report was shown
    summary = out.index("summary: 5000 accounts: 500 failed, 4500 planned")
    assert len(out[summary + 2 :]) == FAILURES_KEPT + 1  # header, the rows kept, the rest told
    assert out[-1] == f"... and {500 - FAILURES_KEPT} more not done (each has its line above)"


def _reader_gone_at_once(argv: list[str]) -> tuple[int, str]:
    """Run zcomp with its stdout's reader gone before the first line (`| head -0`): its exit
    status and stderr."""
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        text=True,
        preexec_fn=default_signals,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _out, stderr = proc.communicate(timeout=60)
    return proc.returncode, stderr
