"""Output: data on stdout, humans on stderr, no markup injection, progress off-terminal."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from zcomp.output import (
    Output,
    escape,
    stderr_closed,
    stdout_closed,
    stdout_reader_gone,
    write_stderr,
)

REPO = Path(__file__).resolve().parents[2]


def test_json_data_is_one_line_per_record(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output(json=True)
    long_value = "x" * 300 + " [bold]not markup[/bold]"
    out.data({"account": "a@x", "value": long_value})
    out.data({"account": "b@x"})
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["value"] == long_value
    assert captured.err == ""


def test_human_text_goes_to_stderr_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output()
    attacker = "Evil [red]Corp[/red] <evil@freemail.example> [link=http://x]click[/link]"
    out.info(attacker)
    out.warn(attacker)
    out.error(attacker)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [attacker, f"Warning: {attacker}", f"Error: {attacker}"]
    assert "\x1b[" not in captured.err  # not a terminal: no colour codes


def test_control_characters_never_make_or_rewrite_a_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Zimbra's data is the attacker's: a newline would forge a line, \\r or an escape sequence
    rewrite the terminal, a bidirectional override reorder it. Each shows as escaped text."""
    out = Output()
    planted = "x\n  [ok] fine\rZZ\x1b[2K\t\u202eevil\x85"
    shown = "x\\n  [ok] fine\\rZZ\\x1b[2K\\t\\u202eevil\\x85"
    out.report(f"rule {planted}")
    out.report_table(["name", "kind"], [[planted, "filter"]])
    out.data({"name": planted})
    out.data([planted])
    out.info(planted)
    out.warn(planted)
    out.error(planted)
    out.line(planted)
    out.table(["name"], [[planted]])
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"rule {shown}",
        "name" + " " * (len(shown) - 2) + "kind",
        f"{shown}  filter",
        f"name  {shown}",
        shown,
    ]
    err = captured.err.splitlines()
    assert err[:4] == [shown, f"Warning: {shown}", f"Error: {shown}", shown]
    assert any(f"│ {shown} │" in line for line in err[4:]), err
    for text in (captured.out, captured.err):
        assert "\r" not in text and "\x1b" not in text and "\u202e" not in text


def test_long_lines_are_not_wrapped(capsys: pytest.CaptureFixture[str]) -> None:
    Output().info("y" * 250)
    assert capsys.readouterr().err == "y" * 250 + "\n"


def test_quiet_keeps_warnings_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output(quiet=True)
    out.info("hidden")
    out.table(["a"], [["1"]])
    out.warn("shown")
    out.error("also shown")
    with out.progress(2, "Locking") as bar:
        bar.advance("a@x")
    assert capsys.readouterr().err == "Warning: shown\nError: also shown\n"


def test_table_escapes_cells(capsys: pytest.CaptureFixture[str]) -> None:
    Output().table(["account", "filter"], [["a@x", "[bold]fwd[/bold] all"], ["b@x", None]], "Found")
    err = capsys.readouterr().err
    assert "[bold]fwd[/bold] all" in err and "Found" in err


def test_progress_off_terminal_prints_one_line_per_item(capsys: pytest.CaptureFixture[str]) -> None:
    with Output().progress(2, "Locking") as bar:
        bar.advance("a@x")
        bar.advance("[b]@x")
    assert capsys.readouterr().err.splitlines() == ["Locking [1/2] a@x", "Locking [2/2] [b]@x"]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_and_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    out = Output(env={"TERM": "xterm-256color"})
    assert out.colour_enabled() and out.interactive()
    out.warn("careful")
    assert "\x1b[" in terminal.getvalue()
    with out.progress(1, "Locking") as bar:
        bar.advance("a@x")
    assert "1/1" in terminal.getvalue()
    assert not Output(no_color=True, env={}).colour_enabled()
    assert not Output(env={"NO_COLOR": "1"}).interactive()
    assert not Output(env={"TERM": "dumb"}).interactive()
    assert not Output(env={}).colour_enabled()  # no TERM at all (env -i): a dumb terminal


def test_escape() -> None:
    assert escape("[bold]x[/bold]") == "\\[bold]x\\[/bold]"


def test_plain_data_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output()
    out.data({"account": "a@x", "locked": True, "addresses": ["a", "b"]})
    out.data("just text")
    assert capsys.readouterr().out.splitlines() == [
        "account    a@x",
        "locked     yes",
        "addresses  a, b",
        "just text",
    ]


# ------------------------------------------------------------------ a reader that left


def _orphan_pipe() -> tuple[int, IO[str]]:
    """A text stream on a pipe whose read end is closed (what `| head -1` leaves)."""
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    return write_fd, os.fdopen(write_fd, "w", encoding="utf-8")


def test_data_to_a_closed_pipe_is_dropped_and_the_fd_goes_to_devnull(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fd, stream = _orphan_pipe()
    with stream:
        monkeypatch.setattr("sys.stdout", stream)
        out = Output(json=True)
        assert not out.stdout_closed
        out.data({"account": "a@x"})  # EPIPE: no exception
        assert out.stdout_closed
        out.data({"account": "b@x"})  # dropped
        stream.write("left in the buffer")  # what the interpreter flushes at exit
        assert os.write(fd, b"x") == 1  # /dev/null now: nothing can fail any more
        monkeypatch.setattr("sys.stdout", io.StringIO())
        assert not out.stdout_closed  # another stream (CliRunner swaps them) is not closed


def test_human_text_to_a_closed_pipe_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    _fd, stream = _orphan_pipe()
    with stream:
        monkeypatch.setattr("sys.stderr", stream)
        out = Output()
        out.info("first")
        out.warn("second")
        out.table(["a"], [["1"]])
        out.line("third")
        with out.progress(2, "Locking") as bar:
            bar.advance("a@x")
        assert out.stderr_closed


def test_write_stderr_drops_text_once_the_reader_left(monkeypatch: pytest.MonkeyPatch) -> None:
    _fd, stream = _orphan_pipe()
    with stream:
        monkeypatch.setattr("sys.stderr", stream)
        write_stderr("Error: one line\n")
        write_stderr("Error: another\n")
        assert stderr_closed()


def test_a_broken_pipe_is_stdouts_reader_gone_only_when_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Click's --help met EPIPE: stdout's reader left, or a socket's did (a real failure)."""
    epipe = BrokenPipeError(errno.EPIPE, "Broken pipe")
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "w") as healthy:
        monkeypatch.setattr("sys.stdout", healthy)
        assert not stdout_reader_gone(epipe)
        assert not stdout_closed()
    fd, stream = _orphan_pipe()
    with stream:
        monkeypatch.setattr("sys.stdout", stream)
        assert not stdout_reader_gone(ValueError("not a write"))
        assert stdout_reader_gone(epipe)
        assert stdout_closed()
        assert os.write(fd, b"x") == 1  # /dev/null now: the exit flush cannot fail


def test_a_process_whose_reader_left_exits_quietly() -> None:
    """No "Exception ignored ... BrokenPipeError" and no status 120 at interpreter exit."""
    script = (
        "import sys\n"
        "from zcomp.output import Output\n"
        "out = Output(json=True)\n"
        "for i in range(200):\n"
        "    out.data({'i': i, 'pad': 'x' * 1000})\n"
        "sys.stdout.write('unflushed tail')\n"
        "print('done', file=sys.stderr)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before anything is written
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=30) == 0
    assert stderr == b"done\n"


# ------------------------------------------------------------------ tables and the live bar

ADDRESS = "a.very.long.address.of.someone@faculty.example.edu"


def _table_on(monkeypatch: pytest.MonkeyPatch, columns: int) -> tuple[FakeTerminal, Output]:
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stdout", terminal)
    monkeypatch.setenv("COLUMNS", str(columns))
    out = Output(env={"TERM": "xterm-256color"})
    out.report_table(
        ["incident", "account", "change"],
        [[1, ADDRESS, "removed " + "forwarding to someone@freemail.example " * 4]],
        keep=(1,),
    )
    return terminal, out


def test_a_table_on_a_terminal_never_splits_an_address(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal, _out = _table_on(monkeypatch, 100)
    rows = terminal.getvalue().splitlines()
    assert rows[0].startswith("┏")  # a table
    assert sum(ADDRESS in row for row in rows) == 1  # whole, on one row
    assert len(rows) > 5  # the long change wrapped instead


def test_too_narrow_a_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal, _out = _table_on(monkeypatch, 60)
    lines = terminal.getvalue().splitlines()
    assert not any(box in terminal.getvalue() for box in "┏│└")
    assert lines[0].split() == ["incident", "account", "change"]
    assert lines[1].startswith(f"1         {ADDRESS}  removed forwarding")


def test_lines_never_share_a_row_with_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout and stderr on one terminal: each line on its own row, the bar gone at the end."""
    import pyte

    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stdout", terminal)
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("COLUMNS", "80")
    out = Output(env={"TERM": "xterm-256color"})
    with out.progress(3, "lockdown") as bar:
        out.report("a@x: contained")
        bar.advance("a@x contained")
        out.error("b@x: account.NO_SUCH_ACCOUNT: no such account")
        out.report("b@x: failed (account.NO_SUCH_ACCOUNT)")
        bar.advance("b@x failed")
        out.line("a line straight to stderr")
        bar.advance("c@x contained")
    out.report("summary: 3 accounts")

    assert "3/3" in terminal.getvalue()  # the bar was drawn
    screen = pyte.Screen(80, 10)
    pyte.Stream(screen).feed(terminal.getvalue().replace("\n", "\r\n"))
    assert [row.rstrip() for row in screen.display if row.strip()] == [
        "a@x: contained",
        "Error: b@x: account.NO_SUCH_ACCOUNT: no such account",
        "b@x: failed (account.NO_SUCH_ACCOUNT)",
        "a line straight to stderr",
        "summary: 3 accounts",
    ]


def test_the_bar_never_takes_data_to_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout a file, stderr the terminal: the data stays in the file (rich's redirection of
    sys.stdout into the terminal is off)."""
    terminal, data = FakeTerminal(), io.StringIO()
    monkeypatch.setattr("sys.stdout", data)
    monkeypatch.setattr("sys.stderr", terminal)
    out = Output(json=True, env={"TERM": "xterm-256color"})
    with out.progress(1, "lockdown") as bar:
        out.data({"account": "a@x"})
        bar.advance("a@x")
    assert data.getvalue() == '{"account": "a@x"}\n'
    assert "a@x" in terminal.getvalue() and '{"account"' not in terminal.getvalue()
