"""Where things are printed: data on stdout, everything for humans on stderr.

Data is written with sys.stdout.write (JSON lines with --json), never through rich, which
wraps at 80 columns off-terminal and eats [brackets] as markup. Human text goes through a
rich Console on stderr, created (and rich imported) on first use, always with markup and
highlighting off, because much of what is printed comes from Zimbra or from an attacker.

A live progress bar (stderr on a terminal) is taken off the screen before any line is written
to that terminal, stdout's lines included, and drawn again below them on the next advance: a
line never shares a row with the bar, and sys.stdout is never redirected into the terminal.

Zimbra's data is the attacker's: a filter rule named "x\n  [ok] ..." must not print a second,
forged line, nor a carriage return or an escape sequence rewrite what the terminal shows. Every
line for stdout or stderr is printed with its control characters (and the bidirectional
overrides that reorder a terminal's text) escaped (`visible`); --json escapes them its own way.

Output never stops the work: a write that finds its reader gone (`| head -1`, a closed
terminal) marks that stream closed, later output to it is dropped, and the file descriptor is
pointed at /dev/null so the interpreter's flush at exit cannot complain either. Commands decide
what a closed stream means for them (a lockdown goes on; a listing stops, see `stdout_closed`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import select
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Protocol

from zcomp.timestamps import stamp

if TYPE_CHECKING:
    from rich.console import Console

# EPIPE: the reader went away (Python ignores SIGPIPE, so writes raise instead of killing us).
# EIO: a terminal that hung up (what writing after SIGHUP gives).
_GONE = frozenset({errno.EPIPE, errno.EIO})
_closed_lock = threading.RLock()
# The stream objects found closed. Objects, not fds: CliRunner and pytest swap sys.stdout per
# run, and a fresh stream must not inherit an earlier one's fate.
_closed: list[object] = []


# \n, \r and \t as people write them; other C0 and C1 controls and DEL as \xNN; the Unicode
# line separators and bidirectional controls as \uNNNN.
_VISIBLE: dict[int, str] = (
    {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
    | {c: f"\\u{c:04x}" for c in (0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}
    | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
)


def visible(text: str) -> str:
    """`text` as one line that shows what it holds: control characters escaped."""
    return text.translate(_VISIBLE)


def occupy_closed_streams() -> None:
    """A standard stream closed before zcomp started (`>&-`, `2>&-`, `<&-`) is None in Python,
    and the next file opened (the journal) would take its descriptor. /dev/null takes it
    instead: stdin reads nothing, and stdout or stderr counts as a reader gone."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
            target = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        except OSError:  # free, as expected: /dev/null becomes that descriptor
            devnull = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)
            target = fd
        # Open for the rest of the process, as the stream it replaces would have been.
        stream = open(target, "r" if fd == 0 else "w", encoding="utf-8")  # noqa: SIM115
        setattr(sys, name, stream)
        if fd != 0:
            _closed.append(stream)


def is_closed(stream: object) -> bool:
    with _closed_lock:
        return any(s is stream for s in _closed)


def stdout_closed() -> bool:
    return is_closed(sys.stdout)


def stderr_closed() -> bool:
    return is_closed(sys.stderr)


def _gone(exc: BaseException, stream: object) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in _GONE
    # ValueError: someone closed the file object itself.
    return isinstance(exc, ValueError) and bool(getattr(stream, "closed", False))


def _mark_closed(stream: Any, *, flush: bool = True) -> None:
    with _closed_lock:
        if is_closed(stream):
            return
        _closed.append(stream)
    _point_at_devnull(stream, flush=flush)


def _point_at_devnull(stream: Any, *, flush: bool) -> None:
    """What is still buffered (and what the interpreter flushes at exit) goes nowhere, instead
    of "Exception ignored ... BrokenPipeError" and exit status 120."""
    fd = _fileno(stream)
    if fd is None:
        return  # not a real file (CliRunner, StringIO): nothing is flushed at exit
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)
    if flush:
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def _attempt(stream: Any, action: Callable[[], object]) -> None:
    if is_closed(stream):
        return
    try:
        action()
    except (OSError, ValueError) as exc:
        if not _gone(exc, stream):
            raise
        _mark_closed(stream)


def stdout_reader_gone(exc: BaseException) -> bool:
    """`exc`, from a write zcomp does not make itself (Click's --help and --version), is
    stdout's reader gone (`| head -0`)? Then stdout is dropped, as `write_to` does. Asked of
    the descriptor, since an EPIPE may come from a socket as well."""
    if not (isinstance(exc, OSError) and exc.errno in _GONE):
        return False
    fd = _fileno(sys.stdout)
    if fd is None or not hasattr(select, "poll"):
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    # A pipe without a reader polls POLLERR; a terminal that hung up, POLLHUP.
    if not any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0)):
        return False
    _mark_closed(sys.stdout)
    return True


def write_to(stream: IO[str], text: str) -> None:
    """Write and flush, unless the stream's reader is gone (then drop it, silently)."""

    def write() -> None:
        stream.write(text)
        stream.flush()

    _attempt(stream, write)


# A live progress bar is on the terminal's last row (set by Output's bar): a line written
# straight to the descriptor starts by erasing that row, or it would be glued to the bar.
_bar_on_screen = False
_ERASE_ROW = "\r\x1b[2K"


def signal_line(text: str) -> None:
    """One line on stderr from a signal handler: straight to the file descriptor, since the
    code the signal interrupted may be inside a write to sys.stderr (a second, reentrant write
    to a buffered stream raises RuntimeError)."""
    stream = sys.stderr
    fd = _fileno(stream)
    if fd is None:  # no descriptor (CliRunner): an ordinary write
        write_to(stream, text + "\n")
        return
    if is_closed(stream):
        return
    _write_fd(stream, fd, (_ERASE_ROW if _bar_on_screen else "") + text + "\n")


def _write_fd(stream: Any, fd: int, text: str) -> None:
    """All of `text` to `stream`'s descriptor, past its buffer; a reader gone closes it."""
    data = text.encode(getattr(stream, "encoding", None) or "utf-8", "replace")
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError as exc:
        if exc.errno not in _GONE:
            raise
        _mark_closed(stream, flush=False)


# A prompt (a confirmation, a password) is waiting on its row, the cursor after it: a signal
# that ends the run there must start its line on a row of its own. Only SIGINT's "^C" echo was
# taken care of (end_echoed_row); SIGTERM and SIGHUP echo nothing.
_prompt_open = False


@contextmanager
def prompt_open() -> Iterator[None]:
    """Around a prompt whose answer ends its row (Enter echoes the newline)."""
    global _prompt_open
    _prompt_open = True
    try:
        yield
    finally:
        _prompt_open = False


def end_prompt_row() -> bool:
    """From a signal handler: end the row of an unanswered prompt, if one is open."""
    global _prompt_open
    if not _prompt_open:
        return False
    _prompt_open = False
    signal_line("")
    return True


def end_echoed_row() -> None:
    """From a SIGINT handler: what is written next starts on a row of its own, not after the
    terminal's "^C" echo or an unanswered prompt. A live bar's row is erased instead (the
    cursor is on it, and the bar leaves when the next line is written)."""
    if not _bar_on_screen:
        signal_line("")
        return
    stream = sys.stderr
    fd = _fileno(stream)
    if fd is not None and not is_closed(stream):
        _write_fd(stream, fd, _ERASE_ROW)


def write_stdout(text: str) -> None:
    write_to(sys.stdout, text)


def write_stderr(text: str) -> None:
    write_to(sys.stderr, text)


class SafeStream:
    """A text stream for rich that drops output once its reader is gone; it follows writes to
    the stream it wraps, so a closed pipe found here is closed for `write_to` too."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        _attempt(self.stream, lambda: self.stream.write(text))
        return len(text)

    def flush(self) -> None:
        _attempt(self.stream, self.stream.flush)

    def isatty(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (AttributeError, ValueError):
            return False

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"


def escape(text: object) -> str:
    """Make any text safe to embed in rich markup (for callers that build markup)."""
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))


def _json_default(value: object) -> object:
    # Paths, enums and the like become their text; Secret's str is already masked.
    if isinstance(value, datetime):
        return stamp(value)
    return str(value)


class ProgressReporter(Protocol):
    def advance(self, label: str = "") -> None: ...


class _SilentProgress:
    def advance(self, label: str = "") -> None:
        return None


class _LineProgress:
    """Off-terminal: one plain line per finished item, what cron mail and log files want."""

    def __init__(self, output: Output, total: int, description: str) -> None:
        self._output = output
        self._total = total
        self._description = description
        self._done = 0

    def advance(self, label: str = "") -> None:
        self._done += 1
        suffix = f" {label}" if label else ""
        self._output.info(f"{self._description} [{self._done}/{self._total}]{suffix}")


class _BarProgress:
    """A rich bar on stderr's terminal that is never on screen while a line is written.

    Every line (stdout or stderr) first takes the bar off the screen (`hide`); the next
    `advance` draws it again below the lines. So a line never shares a row with the bar,
    whether stdout is this terminal or a file. Drawn only on advance (no refresh thread): it
    changes only then, and a thread drawing on its own would race the lines.
    """

    def __init__(self, progress: Any, task: Any, *, covers_stdout: bool) -> None:
        self._progress = progress
        self._task = task
        self._shown = False
        self.covers_stdout = covers_stdout  # stdout is a terminal too (maybe the same one)

    def show(self) -> None:
        global _bar_on_screen
        if not self._shown:
            # Shown before it is drawn: a Ctrl-C in the middle of the first draw still has
            # `hide` erase what was drawn.
            self._shown = _bar_on_screen = True
            self._progress.start()
        else:
            self._progress.refresh()

    def hide(self) -> None:
        global _bar_on_screen
        if self._shown:
            # transient: stopping erases the bar and leaves the cursor where it began
            self._progress.stop()
            self._shown = _bar_on_screen = False

    def advance(self, label: str = "") -> None:
        self._progress.update(self._task, advance=1, item=visible(label))
        self.show()


class _LockedBar:
    """What `Output.progress` hands out: advances under the Output's write lock (workers'
    lines may be written meanwhile)."""

    def __init__(self, bar: _BarProgress, lock: threading.RLock) -> None:
        self._bar = bar
        self._lock = lock

    def advance(self, label: str = "") -> None:
        with self._lock:
            self._bar.advance(label)


class Output:
    def __init__(
        self,
        json: bool = False,
        quiet: bool = False,
        no_color: bool = False,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.json = json
        self.quiet = quiet
        self.no_color = no_color
        self._env = os.environ if env is None else env
        self._console: Console | None = None
        self._console_stream: object = None
        # Lines and the live bar take turns under this lock (workers may write too).
        self._lock = threading.RLock()
        self._bar: _BarProgress | None = None

    # ------------------------------------------------------------ terminal detection

    def stderr_is_terminal(self) -> bool:
        stream = sys.stderr
        try:
            return bool(stream.isatty())
        except (AttributeError, ValueError):
            return False

    def dumb_terminal(self) -> bool:
        """TERM says the terminal understands no escape sequences: dumb, unknown, or no TERM at
        all (`env -i`, a minimal cron or ssh environment), where rich would assume a capable
        terminal and send colours and cursor moves. Windows consoles set no TERM, and rich
        asks the console itself there."""
        term = self._env.get("TERM", "").strip().lower()
        if not term and sys.platform == "win32":
            return False
        return term in ("", "dumb", "unknown")

    def colour_allowed(self) -> bool:
        """Neither --no-color, NO_COLOR nor a dumb terminal forbids escape codes."""
        return not (self.no_color or "NO_COLOR" in self._env) and not self.dumb_terminal()

    def colour_enabled(self) -> bool:
        return self.colour_allowed() and self.stderr_is_terminal()

    def interactive(self) -> bool:
        """A live progress bar is drawn only on a real, capable terminal."""
        return self.colour_enabled() and not self.quiet

    @property
    def console(self) -> Console:
        # Re-created when sys.stderr was swapped (CliRunner, pytest capture) since last use.
        if self._console is None or self._console_stream is not sys.stderr:
            from rich.console import Console

            colour = self.colour_enabled()
            self._console = Console(
                file=SafeStream(sys.stderr),  # type: ignore[arg-type]  # write/flush/isatty
                no_color=not colour,
                color_system="auto" if colour else None,
                highlight=False,
                markup=False,
                emoji=False,
                soft_wrap=True,
                force_terminal=None if colour else False,
            )
            self._console_stream = sys.stderr
        return self._console

    @property
    def stdout_closed(self) -> bool:
        """stdout's reader is gone: a listing stops here, a lockdown goes on."""
        return stdout_closed()

    @property
    def stderr_closed(self) -> bool:
        return stderr_closed()

    # ------------------------------------------------------------ lines and the bar

    @contextmanager
    def _writing(self, *, stdout: bool) -> Iterator[None]:
        """A write that must not share a row with the live bar: the bar leaves the screen
        first (a write to stdout only when stdout is a terminal: a file is not the screen)."""
        with self._lock:
            bar = self._bar
            if bar is not None and (bar.covers_stdout or not stdout):
                bar.hide()
            yield

    def _say(self, text: str, style: str | None = None) -> None:
        with self._writing(stdout=False):
            self.console.print(visible(text), style=style)

    # ------------------------------------------------------------ data (stdout)

    def data(self, obj: Any) -> None:
        """One record. --json: one JSON object per line. Otherwise a plain rendering.
        Dropped, silently, once stdout's reader is gone."""
        if self.json:
            text = json.dumps(obj, default=_json_default, ensure_ascii=False) + "\n"
        elif isinstance(obj, Mapping):
            width = max((len(visible(str(k))) for k in obj), default=0)
            text = "".join(
                f"{visible(str(k)).ljust(width)}  {visible(_plain(v))}\n" for k, v in obj.items()
            )
        elif isinstance(obj, list | tuple):
            text = "".join(visible(_plain(item)) + "\n" for item in obj)
        else:
            text = visible(_plain(obj)) + "\n"
        with self._writing(stdout=True):
            write_stdout(text)

    # ------------------------------------------------------------ human text (stderr)

    def info(self, text: str) -> None:
        if not self.quiet:
            self._say(text)

    def success(self, text: str) -> None:
        if not self.quiet:
            self._say(text, style="green")

    def warn(self, text: str) -> None:
        self._say(f"Warning: {text}", style="yellow")

    def error(self, text: str) -> None:
        self._say(f"Error: {text}", style="bold red")

    def line(self, text: str) -> None:
        """One plain line on stderr even with --quiet: what happens to the run (stopping,
        interrupted) is never optional."""
        with self._writing(stdout=False):
            write_stderr(visible(text) + "\n")

    def debug(self, text: str) -> None:
        """--debug output (already redacted by its producer)."""
        self._say(text, style="dim")

    # ------------------------------------------------------------ a command's report (stdout)

    def stdout_interactive(self) -> bool:
        """Tables only when a person reads stdout; `| grep`, `> file` get plain lines."""
        try:
            tty = bool(sys.stdout.isatty())
        except (AttributeError, ValueError):
            tty = False
        return tty and not self.dumb_terminal()

    def report(self, text: str) -> None:
        """One line of the command's report: stdout, verbatim, even with --quiet."""
        with self._writing(stdout=True):
            write_stdout(visible(text) + "\n")

    def report_table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        keep: Sequence[int] = (),
    ) -> None:
        """The report as a table on a terminal; elsewhere aligned plain lines, never cut.

        `keep`: the columns whose cells are never wrapped or cut (addresses, timestamps). A
        terminal too narrow for them whole gets the plain lines instead."""
        columns = [visible(str(c)) for c in columns]
        cells = [[visible(_plain(c)) if c is not None else "" for c in row] for row in rows]
        with self._writing(stdout=True):
            styled = self.colour_allowed()
            if self.stdout_interactive() and _table_on_stdout(columns, cells, keep, styled):
                return
            widths = [
                max([len(str(h)), *(len(row[i]) for row in cells)]) for i, h in enumerate(columns)
            ]
            for row in [list(columns), *cells]:
                last = len(row) - 1
                write_stdout(
                    "  ".join(c if i == last else c.ljust(widths[i]) for i, c in enumerate(row))
                    + "\n"
                )

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None
    ) -> None:
        """A table for people, on stderr."""
        if self.quiet:
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(title=Text(visible(title)) if title else None, title_justify="left")
        for column in columns:
            table.add_column(Text(visible(column)), overflow="fold")
        for row in rows:
            # Text() cells are never parsed as markup: Zimbra data is printed verbatim.
            table.add_row(*(Text("" if cell is None else visible(_plain(cell))) for cell in row))
        with self._writing(stdout=False):
            self.console.print(table)

    @contextmanager
    def progress(self, total: int, description: str) -> Iterator[ProgressReporter]:
        if self.quiet:
            yield _SilentProgress()
            return
        if not self.interactive():
            yield _LineProgress(self, total, description)
            return
        from rich.console import RenderableType
        from rich.constrain import Constrain
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        console = self.console

        class RoomForTheEcho(Progress):
            def get_renderable(self) -> RenderableType:
                # Two columns short of the row: Ctrl-C's "^C" echo stays on the bar's row,
                # which is erased with it. On a full row it would wrap onto the next one,
                # and erasing that one would leave the bar behind.
                return Constrain(super().get_renderable(), max(1, console.width - 2))

        progress = RoomForTheEcho(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[item]}", markup=False),
            console=console,
            # Never redirect sys.stdout into the terminal: data goes where stdout goes.
            redirect_stdout=False,
            redirect_stderr=False,
            auto_refresh=False,
            transient=True,
        )
        task = progress.add_task(description, total=total, item="")
        bar = _BarProgress(progress, task, covers_stdout=self.stdout_interactive())
        with self._lock:
            self._bar = bar
            bar.show()
        try:
            yield _LockedBar(bar, self._lock)
        finally:
            with self._lock:
                bar.hide()
                self._bar = None


def _table_on_stdout(
    columns: Sequence[str], cells: Sequence[Sequence[str]], keep: Sequence[int], styled: bool
) -> bool:
    """A rich table on stdout's terminal; False (nothing printed) when the kept columns
    cannot be whole in it. Not `styled` (--no-color, NO_COLOR): no escape codes at all, not
    even the bold header."""
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(
        file=SafeStream(sys.stdout),  # type: ignore[arg-type]  # write/flush/isatty
        highlight=False,
        markup=False,
        color_system="auto" if styled else None,
    )
    widths = [
        max([cell_len(str(h)), *(cell_len(row[i]) for row in cells)]) for i, h in enumerate(columns)
    ]
    # Kept columns whole; the others may wrap down to a few characters; 3 per column of
    # borders and padding, plus the last border.
    needed = sum(w if i in keep else min(w, 10) for i, w in enumerate(widths))
    if needed + 3 * len(columns) + 1 > console.width:
        return False
    table = Table()
    for i, column in enumerate(columns):
        if i in keep:
            table.add_column(Text(column), no_wrap=True, min_width=widths[i])
        else:
            table.add_column(Text(column), overflow="fold")
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)
    return True


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    return str(value)
