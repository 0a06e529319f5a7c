"""Output never stops containment, and signals never leave an account half-done.

zcomp runs as a real child process (`python -m zcomp`) against an in-process sandbox, with
real pipes (closed early, or `| head -1`) and real signals; the accounts are read back over
raw SOAP and the journal is opened independently.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.foundation.child import (
    TRACES,
    Child,
    assert_contained,
    assert_untouched,
    child_env,
    interrupt_at_prompt,
    journal_changes,
    journal_incidents,
    json_lines,
    quote,
    shell,
    wait_until,
    workers_config,
    zcomp,
)
from tests.lifecycle import envs
from tests.reliability.proxy import BEFORE, Exchange, Hold, LossyProxy
from zcomp.cli.main import INTERRUPTED_MESSAGE, NOTHING_CHANGED_MESSAGE, main
from zcomp.core.outcome import AccountOutcome, Result
from zcomp.core.report import Report
from zcomp.core.runner import run_accounts
from zcomp.core.services import Services
from zcomp.core.stop import StopRequest
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox, SandboxOptions, replay_attack

ALICE = "alice@sandbox.test"
BATCH = [f"{name}@sandbox.test" for name in ("bob", "carol", "dave", "erin", "heidi", "ivan")]
STOPPING = "stopping: "


@pytest.fixture
def slow_sandbox() -> Iterator[Sandbox]:
    """Every request takes 100 ms: a run is slow enough to close a pipe or signal mid-way."""
    with Sandbox(SandboxOptions(servers=1, seed="demo", latency_ms=100)) as sb:
        yield sb


def plant(sb: Sandbox, accounts: list[str]) -> str:
    """Replay the attack on every account (in parallel: the sandbox is slow); the freemail."""
    with ThreadPoolExecutor(len(accounts)) as pool:
        reports = list(pool.map(lambda account: replay_attack(sb, account), accounts))
    return reports[0].freemail


def no_trace(stderr: str) -> None:
    for trace in TRACES:
        assert trace not in stderr, stderr


def results_of(stdout: str) -> dict[str, str]:
    return {line["account"]: line["result"] for line in json_lines(stdout)}


# ---------------------------------------------------------------------------- closed pipes


def test_lockdown_goes_on_after_head_closes_its_output(
    slow_sandbox: Sandbox, state_dir: Path
) -> None:
    sb = slow_sandbox
    freemail = plant(sb, [ALICE])

    done = shell(f"{quote(zcomp(sb.urls[0], 'lockdown', ALICE))} 2>&1 | head -1")

    assert done.stdout == f"{ALICE}: resolving\n"
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert_contained(sb.urls[0], ALICE, freemail)
    with Journal.open(state_dir) as journal:
        [incident] = journal.incidents()
        assert incident.state == "contained"
        assert journal.unfinished_runs() == []
        assert journal.run(1).results == {ALICE: "contained"}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_json_batch_contains_every_account_after_its_reader_left(
    slow_sandbox: Sandbox, state_dir: Path, tmp_path: Path, workers: int
) -> None:
    sb = slow_sandbox
    accounts = BATCH[:3]
    freemail = plant(sb, accounts)
    argv = zcomp(
        sb.urls[0], "--json", "lockdown", *accounts, config=workers_config(tmp_path, workers)
    )
    errors = tmp_path / "stderr.txt"

    with errors.open("w") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=child_env())
        assert proc.stdout is not None
        first = proc.stdout.readline()  # `| head -1`
        with Journal.open(state_dir) as journal:
            [run] = journal.unfinished_runs()
        proc.stdout.close()
        code = proc.wait(timeout=60)

    # The reader left while accounts were still to be written about.
    assert len(run.results) < len(accounts)
    assert json_lines(first.decode())[0]["result"] == "contained"
    assert code == 0
    stderr = errors.read_text()
    no_trace(stderr)
    assert "Error" not in stderr
    for account in accounts:
        assert_contained(sb.urls[0], account, freemail)
    with Journal.open(state_dir) as journal:
        assert journal.unfinished_runs() == []
        assert journal.run(run.id).results == dict.fromkeys(accounts, "contained")


@pytest.fixture
def long_history(state_dir: Path) -> int:
    """More incidents than a pipe holds (64 KiB), so writing them outlives `head -1`."""
    count = 400
    with Journal.open(state_dir) as journal:
        for i in range(count):
            journal.start_incident(
                f"id-{i}", f"user{i}@sandbox.test", reason="phished " * 40, operator="test"
            )
    return count


# A standard stream closed before zcomp starts (`>&-`, `2>&-`, `<&-`: a careless cron line or
# daemon wrapper): Python leaves it None, and writing to it was "unexpected AttributeError".


def test_lockdown_with_stdout_closed_contains_the_account(sandbox: Sandbox) -> None:
    freemail = replay_attack(sandbox, ALICE).freemail
    done = shell(f"{quote(zcomp(sandbox.urls[0], 'lockdown', ALICE))} >&-")

    assert done.returncode == 0, done.stderr
    no_trace(done.stderr)
    assert "Error" not in done.stderr
    assert_contained(sandbox.urls[0], ALICE, freemail)


def test_inspect_with_stderr_closed_reports_on_stdout(sandbox: Sandbox) -> None:
    replay_attack(sandbox, ALICE)
    done = shell(f"{quote(zcomp(sandbox.urls[0], 'inspect', ALICE))} 2>&-")

    assert done.returncode == 1, done.stdout  # malicious: what inspect exits with
    assert done.stdout.startswith(f"{ALICE}: malicious (status active)\n"), done.stdout
    assert done.stdout.count(f"{ALICE}: ") == 1, done.stdout


def test_accounts_from_a_closed_stdin_are_none(sandbox: Sandbox) -> None:
    done = shell(f"{quote(zcomp(sandbox.urls[0], 'lockdown', '--from', '-'))} <&-")

    assert done.returncode == 2, done.stderr
    assert "no accounts given" in done.stderr
    no_trace(done.stderr)


@pytest.mark.usefixtures("long_history")
@pytest.mark.parametrize(
    ("args", "merged"),
    [(["--json", "history"], False), (["history"], True), (["history"], False)],
    ids=["json", "lines-2>&1", "lines"],
)
def test_a_listing_ends_quietly_when_its_reader_leaves(args: list[str], merged: bool) -> None:
    command = quote(zcomp(None, *args, "--limit", "400"))
    done = shell(f"{command} {'2>&1 ' if merged else ''}| head -1")

    assert done.returncode == 0, done.stderr
    if args[0] == "--json":
        [line] = json_lines(done.stdout)
        assert line["account"] == "user399@sandbox.test"
        assert done.stderr == ""
    else:
        # The listing is the report (stdout): head shows its first line, and the rest is
        # dropped quietly once head has gone.
        assert re.match(r"incident INC-[0-9A-Z]{8} account user399@sandbox.test ", done.stdout)
        assert done.stdout.count("\n") == 1
        assert done.stderr == ""


def test_read_only_json_ends_quietly_when_its_reader_leaves(
    slow_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb = slow_sandbox
    accounts = BATCH[:4]
    plant(sb, accounts)
    argv = zcomp(sb.urls[0], "--json", "inspect", *accounts, config=workers_config(tmp_path, 1))
    writes = len(sb.stats.writes)

    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(), text=True
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    _out, stderr = proc.communicate(timeout=60)

    # Found something to report (exit 1 with the pipe open), but the reader left: status 0.
    assert proc.returncode == 0, stderr
    no_trace(stderr)
    assert len(sb.stats.writes) == writes


# ---------------------------------------------------------------------------- signals

SIGNALS = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT]


def _batch(sb: Sandbox, tmp_path: Path) -> Child:
    config = workers_config(tmp_path, 2)
    return Child(zcomp(sb.urls[0], "--json", "lockdown", *BATCH, config=config))


def _rerun_finishes_the_rest(sb: Sandbox, freemail: str, first: dict[str, str]) -> None:
    again = Child(zcomp(sb.urls[0], "--json", "lockdown", *BATCH))
    code, stdout, stderr = again.finish()
    assert code == 0, stderr
    results = results_of(stdout)
    for account in BATCH:
        expected = "contained" if first[account] == "not-started" else "already-contained"
        assert results[account] == expected, (account, first[account])
        assert_contained(sb.urls[0], account, freemail)


def _each_account_whole(sb: Sandbox, freemail: str, results: dict[str, str]) -> None:
    """Contained and cleaned, or not touched at all: never locked-but-not-cleaned."""
    for account, result in results.items():
        if result == "contained":
            assert_contained(sb.urls[0], account, freemail)
        else:
            assert result == "not-started", (account, result)
            assert_untouched(sb.urls[0], account, freemail)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_during_a_batch_leaves_no_account_half_done(
    slow_sandbox: Sandbox, tmp_path: Path, state_dir: Path, signum: int
) -> None:
    sb = slow_sandbox
    freemail = plant(sb, BATCH)
    child = _batch(sb, tmp_path)
    wait_until(lambda: journal_incidents(state_dir) > 0, "the first account to be under way")

    child.signal(signum)
    code, stdout, stderr = child.finish()

    assert code == 130, stderr
    no_trace(stderr)
    assert stderr.rstrip().endswith(INTERRUPTED_MESSAGE)
    results = results_of(stdout)
    assert set(results) == set(BATCH)  # every account is reported, the unstarted ones too
    assert "contained" in results.values() and "not-started" in results.values()
    _each_account_whole(sb, freemail, results)
    with Journal.open(state_dir) as journal:
        [run] = journal.unfinished_runs()  # cut short: the journal says so
    assert run.results == results

    _rerun_finishes_the_rest(sb, freemail, results)


# Needs the playbooks to wrap their changes in StopRequest.changing_section (the lead's
# change): without it no account is ever "being changed" and the first signal ends the run
# at once (after the accounts in flight), without the "stopping:" line.
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_accounts_being_changed_finish_before_the_run_stops(
    slow_sandbox: Sandbox, tmp_path: Path, state_dir: Path, signum: int
) -> None:
    sb = slow_sandbox
    freemail = plant(sb, BATCH)
    child = _batch(sb, tmp_path)
    wait_until(lambda: journal_changes(state_dir) > 0, "an account to be being changed")

    child.signal(signum)
    child.wait_for_stderr(STOPPING)
    code, stdout, stderr = child.finish()

    assert code == 130, stderr
    no_trace(stderr)
    [stopping] = [line for line in stderr.splitlines() if STOPPING in line]
    assert "account(s) being changed will finish first" in stopping
    assert "send the signal again" in stopping
    assert stderr.rstrip().endswith(INTERRUPTED_MESSAGE)
    results = results_of(stdout)
    assert set(results) == set(BATCH)
    assert "contained" in results.values() and "not-started" in results.values()
    _each_account_whole(sb, freemail, results)
    with Journal.open(state_dir) as journal:
        [run] = journal.unfinished_runs()
    assert run.results == results

    _rerun_finishes_the_rest(sb, freemail, results)


# Needs the playbooks' checkpoints (the lead's change), as the test above.
def test_a_second_signal_stops_the_accounts_at_their_next_step(
    slow_sandbox: Sandbox, tmp_path: Path, state_dir: Path
) -> None:
    sb = slow_sandbox
    freemail = plant(sb, BATCH)
    child = _batch(sb, tmp_path)
    wait_until(lambda: journal_changes(state_dir) > 0, "an account to be being changed")

    child.signal(signal.SIGTERM)
    child.wait_for_stderr(STOPPING)
    child.signal(signal.SIGTERM)
    code, stdout, stderr = child.finish()

    assert code == 130, stderr
    no_trace(stderr)
    assert stderr.rstrip().endswith(INTERRUPTED_MESSAGE)
    results = results_of(stdout)
    assert set(results) == set(BATCH)
    assert set(results.values()) <= {"contained", "stopped", "not-started"}
    assert "not-started" in results.values()
    with Journal.open(state_dir) as journal:
        [run] = journal.unfinished_runs()
    assert run.results == results

    again = Child(zcomp(sb.urls[0], "--json", "lockdown", *BATCH))
    code, stdout, stderr = again.finish()
    assert code == 0, stderr
    for account in BATCH:
        assert_contained(sb.urls[0], account, freemail)


CAROL, ERIN = "carol@sandbox.test", "erin@sandbox.test"


def test_an_account_picked_up_just_before_the_signal_is_one_not_started_line(
    sandbox: Sandbox, tmp_path: Path, state_dir: Path
) -> None:
    """Ctrl-C while Carol is being changed and Erin only looked up: Erin never starts
    changing. She is one line, `not-started`, like any account not started: no error line
    for an account nothing happened to, and the summary lists her as not started."""
    freemail = plant(sandbox, [CAROL, ERIN])
    changing = Hold("ModifyAccountRequest", body=sandbox.account(CAROL).id.encode())
    looking = Hold("GetAccountRequest", body=ERIN.encode())
    with LossyProxy(sandbox.urls[0]) as proxy:
        proxy.hooks += [changing, looking]
        config = workers_config(tmp_path, 2)
        child = Child(zcomp(proxy.base_url, "lockdown", CAROL, ERIN, config=config))
        try:
            for hold in (changing, looking):
                assert hold.reached.wait(30), "the accounts did not get that far"
            child.signal(signal.SIGINT)
            child.wait_for_stderr(STOPPING)  # Carol is being changed: she finishes first
        finally:
            changing.release()
            looking.release()
        code, stdout, stderr = child.finish()

    assert code == 130, stderr
    no_trace(stderr)
    lines = stdout.splitlines()
    assert f"{CAROL}: contained" in "\n".join(lines)
    assert f"{ERIN}: not-started" in lines, stdout  # the line, and nothing more on it
    # Not "Error: erin@...: stopped: not started (SIGINT)": nothing went wrong with her.
    assert not [line for line in stderr.splitlines() if line.startswith("Error")], stderr
    at = lines.index("summary: 2 accounts: 1 contained, 1 not-started")
    [row] = [line for line in lines[at:] if ERIN in line]
    assert row.split() == [ERIN, "not-started", "-"], row
    assert stderr.rstrip().endswith(INTERRUPTED_MESSAGE)
    assert_contained(sandbox.urls[0], CAROL, freemail)
    assert_untouched(sandbox.urls[0], ERIN, freemail)
    with Journal.open(state_dir) as journal:
        [run] = journal.unfinished_runs()
        assert run.results == {CAROL: "contained", ERIN: "not-started"}
        assert [i.account_name for i in journal.incidents()] == [CAROL]


class SignalAfter(io.TextIOWrapper):
    """stdout as a file, sending `signum` to this process once `text` has been written: the
    signal then arrives exactly between that line and the next, every run."""

    def __init__(self, path: Path, text: str, signum: int) -> None:
        super().__init__(path.open("ab"), encoding="utf-8", line_buffering=True)
        self.text, self.signum, self.sent = text, signum, False

    def write(self, s: str) -> int:
        written = super().write(s)
        if self.text in s and not self.sent:
            self.flush()
            self.sent = True
            signal.raise_signal(self.signum)
        return written


@pytest.mark.parametrize("erin", ["changing", "reading"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_never_splits_an_accounts_lines(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, erin: str
) -> None:
    """`zcomp lockdown carol erin > log 2>&1`, the signal arriving right after Carol's result
    line. Erin being changed: the "stopping:" line comes after Carol's held-mail line, not
    between the two lines of one account, and both finish. Erin only being read: the run
    ends, but not before Carol's last line. (In this process: only here can the signal be
    placed between two writes of the real rendering, every time.)"""
    plant(sandbox, [CAROL, ERIN])
    if erin == "changing":
        held = Hold("ModifyAccountRequest", body=sandbox.account(ERIN).id.encode())
    else:
        held = Hold("GetAccountRequest", body=ERIN.encode())
    log = tmp_path / "log"
    log.touch()
    stdout = SignalAfter(log, f"{CAROL}: contained", signum)
    stderr = log.open("a", encoding="utf-8", buffering=1)
    monkeypatch.setenv("ZCOMP_PASSWORD", "sandbox")
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setattr("sys.stderr", stderr)
    carol = sandbox.account(CAROL).id.encode()

    def carol_waits_for_erin(exchange: Exchange, phase: str) -> None:
        # Carol's lines are written only once Erin is where the test wants her.
        if phase == BEFORE and exchange.has("ModifyAccountRequest") and carol in exchange.body:
            held.reached.wait(30)

    def release_erin() -> None:
        if held.reached.wait(30):
            wait_until(lambda: stdout.sent, "the signal")
        held.release()

    with LossyProxy(sandbox.urls[0]) as proxy:
        proxy.hooks += [held, carol_waits_for_erin]
        argv = zcomp(proxy.base_url, "lockdown", CAROL, ERIN, config=workers_config(tmp_path, 2))
        release = threading.Thread(target=release_erin)
        release.start()
        try:
            with pytest.raises(SystemExit) as ended:
                main(argv[3:])  # after `python -c LAUNCH`
        finally:
            held.release()
            release.join(60)
            stdout.close()
            stderr.close()

    output = log.read_text()
    assert stdout.sent and held.reached.is_set(), output
    no_trace(output)
    lines = output.splitlines()
    first = lines.index(next(line for line in lines if line.startswith(f"{CAROL}: contained")))
    assert lines[first + 1] == "  held 1 queued message(s)", output
    if erin == "changing":
        assert ended.value.code == 0, output  # both were being worked on: both finish
        [stopping] = [i for i, line in enumerate(lines) if STOPPING in line]
        assert stopping > first + 1, output
    else:
        assert ended.value.code == 130, output
        assert STOPPING not in output
        assert f"{ERIN}: not-started" in lines, output
        assert lines[-1] == INTERRUPTED_MESSAGE, output


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_outside_a_playbook_is_one_line_and_130(signum: int) -> None:
    # A second per request: the signal lands while the child waits for the request after its
    # login, which is counted once answered.
    with Sandbox(SandboxOptions(servers=1, seed="demo", latency_ms=1000)) as sb:
        child = Child(zcomp(sb.urls[0], "baseline", "capture", "--all"))
        wait_until(lambda: sb.stats.total("AuthRequest") > 0, "the child to log in")
        child.signal(signum)
        code, stdout, stderr = child.finish()

    assert code == 130
    echo = "\n" if signum == signal.SIGINT else ""  # closes the terminal's "^C"
    # A capture changes nothing in Zimbra, and the message says so.
    assert stderr == f"{echo}{NOTHING_CHANGED_MESSAGE}\n"
    assert stdout == ""


def test_ctrl_c_at_the_unlock_prompt_aborts_at_once(sandbox: Sandbox, tmp_path: Path) -> None:
    freemail = plant(sandbox, [ALICE])
    locked = subprocess.run(
        zcomp(sandbox.urls[0], "lockdown", ALICE), env=child_env(), capture_output=True
    )
    assert locked.returncode == 0, locked.stderr
    config = tmp_path / "config.toml"
    config.write_text("[unlock]\nmin_locked_minutes = 0\n")
    root = ["--url", sandbox.urls[0], "--admin", "admin@sandbox.test", "--config", str(config)]
    writes = len(sandbox.stats.writes)

    code, terminal = interrupt_at_prompt(
        [*root, "unlock", ALICE], prompt="New temporary password for"
    )

    assert code == 130, terminal
    assert NOTHING_CHANGED_MESSAGE in terminal
    assert "Traceback" not in terminal
    assert len(sandbox.stats.writes) == writes  # nothing was changed
    assert_contained(sandbox.urls[0], ALICE, freemail)


# ---------------------------------------------------------------------------- the runner


@pytest.fixture
def make_services(sandbox: Sandbox, state_dir: Path) -> Iterator[Callable[[], Services]]:
    """Real Environments for run_accounts (one per worker), closed at the end."""
    made: list[Services] = []

    def make() -> Services:
        made.append(envs.make_services(sandbox, state_dir))
        return made[-1]

    yield make
    for services in made:
        envs.close_services(services)


@pytest.mark.parametrize("workers", [1, 2])
def test_no_account_starts_after_a_stop(
    make_services: Callable[[], Services], workers: int
) -> None:
    stop = StopRequest()
    accounts = [f"user{i}@sandbox.test" for i in range(6)]
    requested = threading.Event()
    started: list[str] = []

    def work(services: Services, name: str) -> AccountOutcome:
        assert services.stop is stop  # one StopRequest, in every worker's Services
        started.append(name)
        if name == accounts[1]:
            stop.request("test")
            requested.set()
        elif workers > 1:
            requested.wait(10)  # the other worker's account is in flight meanwhile
        return AccountOutcome(account=name, result=Result.CONTAINED)

    delivered: list[AccountOutcome] = []
    report = run_accounts(
        accounts, make_services, work, workers=workers, stop=stop, on_done=delivered.append
    )

    assert sorted(started) == accounts[:2]
    results = {o.account: o.result for o in delivered}  # in the order they finished
    assert [results[a] for a in accounts] == [Result.CONTAINED] * 2 + [Result.NOT_STARTED] * 4
    assert len(delivered) == len(accounts)
    report.stopped = stop.requested
    assert report.exit_code == 130
    assert Report(delivered, stopped=True).exit_code == 130


def test_an_interrupted_runner_waits_for_the_accounts_in_flight(
    make_services: Callable[[], Services],
) -> None:
    """KeyboardInterrupt in the main thread (a signal handler's) while two accounts are being
    worked on: no other account starts, both finish, and only then does it go on."""
    accounts = [f"user{i}@sandbox.test" for i in range(6)]
    in_flight = threading.Barrier(3)
    interrupted = threading.Event()
    release = threading.Event()
    events: list[str] = []

    def work(services: Services, name: str) -> AccountOutcome:
        events.append(f"start {name}")
        in_flight.wait(10)
        release.wait(10)
        events.append(f"end {name}")
        return AccountOutcome(account=name, result=Result.CONTAINED)

    def signaller() -> None:
        in_flight.wait(10)
        os.kill(os.getpid(), signal.SIGUSR1)
        interrupted.wait(10)
        # Not needed for the order asserted below, only to give a runner that does not wait
        # the time to return before the workers end.
        time.sleep(0.3)
        release.set()

    def interrupt(_signum: int, _frame: object) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    delivered: list[AccountOutcome] = []
    previous = signal.signal(signal.SIGUSR1, interrupt)
    thread = threading.Thread(target=signaller)
    thread.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_accounts(
                accounts,
                make_services,
                work,
                workers=2,
                stop=StopRequest(),
                on_done=delivered.append,
            )
        events.append("returned")
    finally:
        signal.signal(signal.SIGUSR1, previous)
        release.set()
        thread.join()

    assert sorted(events[:2]) == [f"start {a}" for a in accounts[:2]]
    assert sorted(events[2:4]) == [f"end {a}" for a in accounts[:2]]
    assert events[4:] == ["returned"]
    expected = dict.fromkeys(accounts, Result.NOT_STARTED) | dict.fromkeys(
        accounts[:2], Result.CONTAINED
    )
    assert {o.account: o.result for o in delivered} == expected
