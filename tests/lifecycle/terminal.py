"""Run the zcomp CLI in a child process, with or without a controlling terminal.

With `tty=True` the child's stdin is a pseudo-terminal that becomes its controlling terminal
(what /dev/tty opens), while stdout and stderr go to files, as in `zcomp ... 2>log`. The parent
answers prompts as they appear on the terminal and keeps a transcript of it.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import fcntl, sys, termios
if sys.argv[1] == "tty":
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # new session (setsid): stdin's pty becomes /dev/tty
from zcomp.cli.main import main
main(sys.argv[2:])
"""


@dataclass
class Finished:
    exit_code: int
    terminal: str  # everything the child wrote to its terminal
    stdout: str
    stderr: str


def run_zcomp(
    args: Sequence[str],
    *,
    workdir: Path,
    env: dict[str, str] | None = None,
    tty: bool = True,
    answers: Sequence[tuple[str, str]] = (),
    timeout: float = 60,
) -> Finished:
    """`answers`: (text that appears on the terminal, line to type), in order."""
    child_env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO)}
    out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
    controller, child_side = pty.openpty() if tty else (-1, -1)
    transcript = b""
    try:
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, "tty" if tty else "none", *args],
                stdin=child_side if tty else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=child_env,
                start_new_session=True,
            )
        if tty:
            os.close(child_side)
            child_side = -1
            transcript = _converse(controller, list(answers), timeout)
        code = proc.wait(timeout=timeout)
    finally:
        for fd in (child_side, controller):
            if fd != -1:
                os.close(fd)
    return Finished(
        exit_code=code,
        terminal=transcript.decode(errors="replace").replace("\r\n", "\n"),
        stdout=out_path.read_text(),
        stderr=err_path.read_text(),
    )


def _converse(controller: int, answers: list[tuple[str, str]], timeout: float) -> bytes:
    """Read the terminal until the child closes it, typing each answer after its prompt."""
    deadline = time.monotonic() + timeout
    seen = b""
    searched = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the child did not finish; terminal so far: {seen!r}")
        ready, _, _ = select.select([controller], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: every child-side descriptor is closed
            return seen
        if not chunk:
            return seen
        seen += chunk
        while answers and (at := seen.find(answers[0][0].encode(), searched)) != -1:
            searched = at + len(answers[0][0])
            os.write(controller, answers.pop(0)[1].encode() + b"\n")
