# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""`zcomp sandbox serve`: ready line, Ctrl-C exits 0, bad options exit 2."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sandbox.rawsoap import RawSoap
from zcomp.credentials import read_password_file


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_serve_ready_line_and_interrupt() -> None:
    proc, url = _serve("--servers", "2")
    try:
        c = RawSoap(url)
        try:
            assert c.admin_login()
        finally:
            c.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert err == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize(
    "args",
    [
        ["--servers", "0"],
        ["--seed", "lots"],
        ["--fault-rate", "2"],
        ["--zimbra-version", "ten"],
        ["--port", "notaport"],
        ["--bogus"],
    ],
)
def test_bad_options_exit_2(args: list[str]) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "zcomp", "sandbox", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert res.returncode == 2
    assert res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_a_binary_admin_password_file_is_one_line_exit_2(tmp_path: Path) -> None:
    binary = tmp_path / "pw.bin"
    binary.write_bytes(b"\xd8\xff\x00\x9fsandbox\n")
    res = subprocess.run(
        [sys.executable, "-m", "zcomp", "sandbox", "serve", "--port", "0"]
        + ["--admin-password-file", str(binary)],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    assert res.stderr == f"Error: --admin-password-file {binary} is not UTF-8 text\n"


def test_the_admin_password_file_reads_as_zcomps_password_file_does(tmp_path: Path) -> None:
    """A file saved by a Windows editor (BOM) with a space in the password: the sandbox and
    `zcomp --password-file` take the same password from it, so one file serves a rehearsal."""
    secret = tmp_path / "pw"
    secret.write_bytes("\ufeffs3cret pw \n".encode())
    password = read_password_file(secret, warn=lambda _: None).reveal()
    proc, url = _serve("--admin-password-file", str(secret))
    try:
        c = RawSoap(url)
        try:
            assert c.admin_login(password=password)
        finally:
            c.close()
    finally:
        proc.kill()
        proc.communicate()


def _serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    """`zcomp sandbox serve --port 0 --seed none ARGS` started, and its first server's URL from
    the ready line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "zcomp", "sandbox", "serve", "--port", "0", "--seed", "none", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A test run started in the background inherits SIGINT ignored, and Python then keeps
        # it ignored: give the child the default, as a terminal would.
        preexec_fn=_default_sigint,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("sandbox ready"):
        proc.kill()
        proc.communicate()
    assert line.startswith("sandbox ready"), line
    return proc, next(w for w in line.split() if w.startswith("http://"))
