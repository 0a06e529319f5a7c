"""zcomp on a real pseudo-terminal, and what a person would see on it at the end.

The child writes to the pty as to any terminal (isatty, a window size, TERM); everything it
wrote is fed to pyte, a VT100 emulator, whose screen rows are what the test asserts on. The
run is over when the child has closed the terminal and exited: no sleeping, no timing.
"""

from __future__ import annotations

import fcntl
import os
import platform
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyte

from tests.foundation.child import child_env


@dataclass
class Screen:
    exit_code: int
    rows: list[str]  # the screen at the end, each row without trailing blanks
    raw: bytes  # everything written to the terminal, escape codes and all
    cols: int

    @property
    def lines(self) -> list[str]:
        """The non-blank lines shown, a line the terminal wrapped (a full row followed by
        its rest) joined again."""
        lines: list[str] = []
        wrapped = False
        for row in self.rows:
            if wrapped:
                lines[-1] += row
            elif row.strip():
                lines.append(row)
            wrapped = len(row) == self.cols
        return lines


def default_signals() -> None:
    # A test run started in the background inherits SIGINT ignored, and Python then keeps it
    # ignored: give the child the defaults, as a terminal would.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def on_terminal() -> None:
    """In the child before exec: default signals, and the pty (its stdin, in a new session)
    as its controlling terminal, so that /dev/tty is the pty and Ctrl-C (b"\x03") is SIGINT."""
    default_signals()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


# read(2) by machine: a child blocked in it is waiting for what is typed.
_READ_SYSCALL = {"x86_64": 0, "aarch64": 63, "riscv64": 63}

Keys = bytes | Callable[[subprocess.Popen[bytes]], bytes]


def at_prompt(keys: Keys) -> Callable[[subprocess.Popen[bytes]], bytes]:
    """`keys` for a prompt, typed once the child is blocked reading the answer.

    A signal (Ctrl-C, SIGTERM) that arrives after the prompt is written but before the read
    starts is caught, and acted on only at the child's next Python instruction; the read that
    follows is not interrupted, and waits for ever (CPython, any program). A person presses
    Ctrl-C again; a test must not race it. What is typed is buffered by the terminal anyway.
    """

    def typed_when_reading(proc: subprocess.Popen[bytes]) -> bytes:
        _wait_until_reading(proc.pid)
        return keys(proc) if callable(keys) else keys

    return typed_when_reading


def _wait_until_reading(pid: int, timeout: float = 60) -> None:
    number = _READ_SYSCALL.get(platform.machine())
    if number is None:
        return  # a machine this does not know: type at once, as before
    deadline = time.monotonic() + timeout
    while True:
        try:
            fields = Path(f"/proc/{pid}/syscall").read_text().split()
        except OSError:
            return  # not readable here: type at once
        if fields and fields[0] == str(number):
            return
        assert time.monotonic() < deadline, f"the child never waited for an answer: {fields}"
        time.sleep(0.005)  # polling a condition, not waiting for a time to pass


def run_on_screen(
    argv: list[str],
    *,
    cols: int = 120,
    rows: int = 60,
    stdout: Path | None = None,
    timeout: float = 120,
    answers: Sequence[tuple[str, Keys]] = (),
    env: Mapping[str, str | None] | None = None,
) -> Screen:
    """Run argv with stdin and stderr on a pty of cols x rows (its controlling terminal), and
    stdout too unless it goes to the file `stdout` (as in `zcomp ... > file`).

    `answers`: (text, keys) in order: once `text` has appeared on the terminal (after the
    previous answer's text), `keys` are typed (b"\x03" is Ctrl-C); a callable is called then
    with the process (to release a held request, or signal it) and what it returns is typed.
    `env`: changes to the environment (None removes a variable)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    child = {**child_env(), "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
    child.pop("NO_COLOR", None)
    for name, value in (env or {}).items():
        if value is None:
            child.pop(name, None)
        else:
            child[name] = value
    out = stdout.open("wb") if stdout is not None else None
    try:
        proc = subprocess.Popen(
            argv,
            stdin=terminal,
            stdout=out if out is not None else terminal,
            stderr=terminal,
            env=child,
            start_new_session=True,
            preexec_fn=on_terminal,
        )
    finally:
        os.close(terminal)
        if out is not None:
            out.close()
    try:
        raw, after = b"", 0
        for text, keys in answers:
            raw, after = _read_until(controller, raw, text.encode(), after, timeout)
            typed = keys(proc) if callable(keys) else keys
            if typed:
                os.write(controller, typed)
        raw += _read_until_closed(controller, timeout)
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:  # a failed test leaves no child behind
            proc.kill()
            proc.wait()
        os.close(controller)
    screen = pyte.Screen(cols, rows)
    pyte.ByteStream(screen).feed(raw)
    return Screen(code, [row.rstrip() for row in screen.display], raw, cols)


def _read_until(fd: int, seen: bytes, text: bytes, after: int, timeout: float) -> tuple[bytes, int]:
    """Read on until `text` shows in what was written after offset `after`; everything read
    so far, and the offset just past `text`."""
    deadline = time.monotonic() + timeout
    while (at := seen.find(text, after)) < 0:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {text!r}; the terminal showed {seen[-2000:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its side
            chunk = b""
        assert chunk, f"the terminal closed before {text!r}: {seen[-2000:]!r}"
        seen += chunk
    return seen, at + len(text)


def _read_until_closed(fd: int, timeout: float) -> bytes:
    """Everything written to the terminal, until the child's side is closed (it exited)."""
    deadline = time.monotonic() + timeout
    seen = b""
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; the terminal showed {seen[-2000:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every descriptor of the child's side is closed
            return seen
        if not chunk:
            return seen
        seen += chunk
