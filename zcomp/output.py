"""Where things are printed: data on stdout, everything for humans on stderr.

Data is written with sys.stdout.write (JSON lines with --json), never through rich, which
wraps at 80 columns off-terminal and eats [brackets] as markup. Human text goes through a
rich Console on stderr, created (and rich imported) on first use, always with markup and
highlighting off, because much of what is printed comes from Zimbra or from an attacker.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console


def escape(text: object) -> str:
    """Make any text safe to embed in rich markup (for callers that build markup)."""
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))


def _json_default(value: object) -> object:
    # Paths, enums, datetimes and the like become their text; Secret's str is already masked.
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
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, label: str = "") -> None:
        self._progress.update(self._task, advance=1, item=label)


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

    # ------------------------------------------------------------ terminal detection

    def stderr_is_terminal(self) -> bool:
        stream = sys.stderr
        try:
            return bool(stream.isatty())
        except (AttributeError, ValueError):
            return False

    def colour_enabled(self) -> bool:
        return not (self.no_color or "NO_COLOR" in self._env) and self.stderr_is_terminal()

    def interactive(self) -> bool:
        """A live progress bar is drawn only on a real, capable terminal."""
        dumb = self._env.get("TERM", "") in ("dumb", "unknown")
        return self.colour_enabled() and not dumb and not self.quiet

    @property
    def console(self) -> Console:
        # Re-created when sys.stderr was swapped (CliRunner, pytest capture) since last use.
        if self._console is None or self._console_stream is not sys.stderr:
            from rich.console import Console

            colour = self.colour_enabled()
            self._console = Console(
                file=sys.stderr,
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

    # ------------------------------------------------------------ data (stdout)

    def data(self, obj: Any) -> None:
        """One record. --json: one JSON object per line. Otherwise a plain rendering."""
        if self.json:
            sys.stdout.write(json.dumps(obj, default=_json_default, ensure_ascii=False) + "\n")
        elif isinstance(obj, Mapping):
            width = max((len(str(k)) for k in obj), default=0)
            for key, value in obj.items():
                sys.stdout.write(f"{str(key).ljust(width)}  {_plain(value)}\n")
        elif isinstance(obj, list | tuple):
            for item in obj:
                sys.stdout.write(_plain(item) + "\n")
        else:
            sys.stdout.write(_plain(obj) + "\n")
        sys.stdout.flush()

    # ------------------------------------------------------------ human text (stderr)

    def info(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)

    def success(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, style="green")

    def warn(self, text: str) -> None:
        self.console.print(f"Warning: {text}", style="yellow")

    def error(self, text: str) -> None:
        self.console.print(f"Error: {text}", style="bold red")

    def debug(self, text: str) -> None:
        """--debug output (already redacted by its producer)."""
        self.console.print(text, style="dim")

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None
    ) -> None:
        if self.quiet:
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(title=Text(title) if title else None, title_justify="left")
        for column in columns:
            table.add_column(Text(column), overflow="fold")
        for row in rows:
            # Text() cells are never parsed as markup: Zimbra data is printed verbatim.
            table.add_row(*(Text("" if cell is None else _plain(cell)) for cell in row))
        self.console.print(table)

    @contextmanager
    def progress(self, total: int, description: str) -> Iterator[ProgressReporter]:
        if self.quiet:
            yield _SilentProgress()
            return
        if not self.interactive():
            yield _LineProgress(self, total, description)
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        bar = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[item]}", markup=False),
            console=self.console,
            transient=False,
        )
        with bar:
            task = bar.add_task(description, total=total, item="")
            yield _BarProgress(bar, task)


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    return str(value)
