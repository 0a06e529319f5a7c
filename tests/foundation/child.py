"""zcomp as a child process (`python -m zcomp`) against an in-process sandbox: real pipes and
real signals, with the account's state read back over raw SOAP (not zcomp's client)."""

from __future__ import annotations

import json
import os
import pty
import select
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tests.rawjson import ADMIN, MailboxReader, admin_token, call
from zcomp.journal import Journal

REPO = Path(__file__).resolve().parents[2]
TRACES = ("Traceback", "Exception ignored", "BrokenPipeError", "unexpected")

# zcomp leaves alone a signal ignored by whoever started it (nohup, a background job in a
# script, as pytest may be): the child gets the defaults, as from an interactive shell.
_DEFAULT_SIGNALS = """
import signal, sys
for name in ("SIGINT", "SIGTERM", "SIGHUP"):
    signal.signal(getattr(signal, name), signal.SIG_DFL)
"""
_LAUNCH = (
    _DEFAULT_SIGNALS
    + """
import os
os.execv(sys.executable, [sys.executable, "-m", "zcomp", *sys.argv[1:]])
"""
)
_ON_TERMINAL = (
    _DEFAULT_SIGNALS
    + """
import fcntl, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # new session: stdin's pty becomes /dev/tty
from zcomp.cli.main import main
main(sys.argv[1:])
"""
)


def zcomp(url: str | None, *args: str, config: Path | None = None) -> list[str]:
    """argv of `python -m zcomp [--url URL --admin ADMIN] [--config FILE] ARGS`."""
    root = ["--url", url, "--admin", ADMIN] if url else []
    if config is not None:
        root += ["--config", str(config)]
    return [sys.executable, "-c", _LAUNCH, *root, *args]


def child_env() -> dict[str, str]:
    """The test's isolated environment (state dir, HOME, no keyring), the sandbox password,
    and this checkout of zcomp."""
    return {**os.environ, "ZCOMP_PASSWORD": "sandbox", "PYTHONPATH": str(REPO)}


def workers_config(tmp_path: Path, workers: int) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f"[lockdown]\nworkers = {workers}\n")
    return config


def shell(command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`command` in bash; its status is zcomp's (the pipeline's first), not head's."""
    return subprocess.run(
        ["bash", "-c", f"{command}; exit ${{PIPESTATUS[0]}}"],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def quote(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


class Child:
    """A running zcomp whose stdout and stderr are read as they come, so a test can wait for
    a line (or the journal) before it signals or closes a pipe."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = threading.Condition()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._pumps = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream: IO[str], into: list[str]) -> None:
        with stream:
            for line in stream:
                with self._changed:
                    into.append(line)
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_stderr(self, text: str, timeout: float = 30) -> None:
        def seen() -> bool:
            return any(text in line for line in self.err) or self.proc.poll() is not None

        with self._changed:
            assert self._changed.wait_for(seen, timeout), f"no {text!r} on stderr: {self.err}"
        assert any(text in line for line in self.err), f"ended before {text!r}: {self.err}"

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=timeout)
        for pump in self._pumps:
            pump.join(timeout)
        return code, "".join(self.out), "".join(self.err)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Poll a fact (the journal, the sandbox) until it holds: the child has got that far."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def journal_incidents(state_dir: Path) -> int:
    if not (state_dir / "journal.sqlite3").exists():
        return 0
    with Journal.open(state_dir) as journal:
        return len(journal.incidents())


def journal_changes(state_dir: Path) -> int:
    """Actions recorded so far, over every incident: an account is being changed."""
    if not (state_dir / "journal.sqlite3").exists():
        return 0
    with Journal.open(state_dir) as journal:
        return sum(len(journal.actions(i.id)) for i in journal.incidents())


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def account_attrs(url: str, account: str) -> dict[str, list[str]]:
    reply = call(
        url,
        "GetAccountRequest",
        "urn:zimbraAdmin",
        {"account": {"by": "name", "_content": account}},
        token=admin_token(url),
        admin=True,
    )
    assert not isinstance(reply, str), reply
    attrs: dict[str, list[str]] = {"zimbraId": [reply["account"][0]["id"]]}
    for item in reply["account"][0]["a"]:
        attrs.setdefault(item["n"], []).append(item.get("_content", ""))
    return attrs


def assert_contained(url: str, account: str, freemail: str) -> None:
    """Locked, and what the attacker planted is gone: forwarding and the redirect rules."""
    attrs = account_attrs(url, account)
    assert attrs["zimbraAccountStatus"] == ["locked"], account
    assert "zimbraPrefMailForwardingAddress" not in attrs, account
    rules = MailboxReader(url, attrs["zimbraId"][0]).rules()
    assert freemail not in json.dumps(rules), account


def assert_untouched(url: str, account: str, freemail: str) -> None:
    """Not started: still active, the attacker's forwarding still there for the next run."""
    attrs = account_attrs(url, account)
    assert attrs["zimbraAccountStatus"] == ["active"], account
    assert attrs["zimbraPrefMailForwardingAddress"] == [freemail], account


def interrupt_at_prompt(args: list[str], prompt: str, timeout: float = 30) -> tuple[int, str]:
    """Run zcomp ARGS on a pseudo-terminal (its controlling terminal), press Ctrl-C when
    `prompt` appears; the exit status and what the terminal showed."""
    controller, child_side = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", _ON_TERMINAL, *args],
        stdin=child_side,
        stdout=child_side,
        stderr=child_side,
        env=child_env(),
        start_new_session=True,
    )
    try:
        os.close(child_side)
        child_side = -1
        seen = _read_until(controller, prompt.encode(), timeout)
        os.write(controller, b"\x03")  # the terminal's INTR character: SIGINT, as a person
        seen += _read_until(controller, None, timeout)
        return proc.wait(timeout=timeout), seen.decode(errors="replace")
    finally:
        if proc.poll() is None:  # a failed test leaves no child behind
            proc.kill()
            proc.wait()
        for fd in (child_side, controller):
            if fd != -1:
                os.close(fd)


def _read_until(fd: int, text: bytes | None, timeout: float) -> bytes:
    """Terminal output until `text` shows (None: until the child closes the terminal)."""
    deadline = time.monotonic() + timeout
    seen = b""
    while text is None or text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; the terminal showed {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed its side
            break
        if not chunk:
            break
        seen += chunk
    assert text is None or text in seen, f"the terminal closed before {text!r}: {seen!r}"
    return seen
