"""Root command group. Subcommands are imported lazily so `zcomp --help` stays light.

Every error becomes one line `Error: ...` on stderr with the exit status of zcomp.exitcodes;
a traceback only with --debug. This happens inside the group's invoke(), so `main()`, the
console script, `python -m zcomp` and click.testing.CliRunner all behave the same.

SIGTERM and SIGHUP end a command the way Ctrl-C does (one line, status 130) rather than
silently; commands that change accounts refine this in zcomp.cli.playbook.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, Any

import click

from zcomp import __version__
from zcomp.cli.paramtypes import FiniteSeconds
from zcomp.exitcodes import ExitCode, ZcompError

# name -> (module, attribute, one-line help). Modules are imported only when the command runs.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "lockdown": ("zcomp.cli.lockdown", "lockdown", "Contain, clean and record a phished account."),
    "unlock": ("zcomp.cli.unlock", "unlock", "Hand a contained account back to its owner."),
    "inspect": (
        "zcomp.cli.inspect",
        "inspect_cmd",
        "Read-only triage of an account's risky settings.",
    ),
    "restore": (
        "zcomp.cli.restore",
        "restore",
        "Put back items lockdown removed (false positives).",
    ),
    "history": ("zcomp.cli.history", "history", "Incidents and their actions from the journal."),
    "audit": (
        "zcomp.cli.audit",
        "audit",
        "Report (and fix) the COS, domain and global settings a phisher exploits.",
    ),
    "baseline": ("zcomp.cli.baseline", "baseline", "Record or show known-good account settings."),
    "ticket": ("zcomp.cli.ticket", "ticket", "File help-desk tickets left pending."),
    "scan": ("zcomp.cli.scan", "scan", "Rank suspect accounts from Zimbra's own logs."),
    "watch": ("zcomp.cli.watch", "watch", "Watch the MTA queues live and raise alerts."),
    "guard": ("zcomp.cli.guard", "guard", "A milter holding bulk and contained-account mail."),
    "sandbox": ("zcomp.cli.sandbox", "sandbox", "A local Zimbra-compatible server for rehearsals."),
    "demo": ("zcomp.cli.demo", "demo", "The whole story on the built-in sandbox."),
    "login": ("zcomp.cli.auth", "login", "Verify the admin password and store it in the keyring."),
    "logout": ("zcomp.cli.auth", "logout", "Remove the stored admin password and cached token."),
    "completion": (
        "zcomp.cli.completion",
        "completion",
        "Print the shell completion script (bash, zsh, fish).",
    ),
    "config": (
        "zcomp.cli.config",
        "config",
        "Write an example configuration or show the effective one.",
    ),
}


def _stderr(text: str) -> None:
    # zcomp.output is imported when something is said, not at every start-up (`zcomp --help`).
    from zcomp.output import write_stderr

    write_stderr(text)


def _traceback() -> str:
    import traceback

    return traceback.format_exc()


class ReportedError(click.ClickException):
    """A ZcompError (or Ctrl-C) on its way out as one line with its own exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # per instance, not per class

    def show(self, file: IO[Any] | None = None) -> None:
        from zcomp.output import visible  # a fault's message may quote Zimbra's data

        _stderr(f"Error: {visible(self.message)}\n")


INTERRUPTED_MESSAGE = (
    "Interrupted: run the same command again to resume "
    "(accounts already contained are verified, not redone)."
)
UNLOCK_INTERRUPTED_MESSAGE = (
    "Interrupted: run unlock again for the accounts not unlocked to finish them (an account "
    "already unlocked has no open incident left, and is refused)."
)
NOTHING_CHANGED_MESSAGE = "Interrupted before anything in Zimbra was changed."
# The demo changes only its own sandbox, which ends with it: running it again starts afresh.
DEMO_INTERRUPTED_MESSAGE = (
    "Interrupted: the demo's sandbox ended with it; nothing outside it was changed "
    "(zcomp demo starts afresh)."
)


def interrupted_message(command: str | None) -> str:
    """What to do after a run that changed something was interrupted: lockdown's re-run
    verifies what is done, unlock's refuses it (its incident is closed)."""
    return UNLOCK_INTERRUPTED_MESSAGE if command == "unlock" else INTERRUPTED_MESSAGE


class Interrupted(ReportedError):
    """Ctrl-C: every step is journaled and idempotent, so running again is how to resume."""

    def __init__(self, cause: BaseException | None = None, command: str | None = None) -> None:
        super().__init__("interrupted", int(ExitCode.INTERRUPTED))
        self.signal_name = cause.name if isinstance(cause, SignalInterrupt) else "SIGINT"
        # The handler that raised it already ended the "^C" row (lines were written since).
        self.echo_ended = isinstance(cause, SignalInterrupt) and cause.echo_ended
        self.command = command

    def show(self, file: IO[Any] | None = None) -> None:
        from zcomp.core.stop import anything_changed

        if self.command == "demo":
            message = DEMO_INTERRUPTED_MESSAGE
        elif anything_changed():
            message = interrupted_message(self.command)
        else:
            message = NOTHING_CHANGED_MESSAGE
        lead = "" if self.echo_ended else after_echo(self.signal_name)
        _stderr(f"{lead}{message}\n")


class SignalInterrupt(KeyboardInterrupt):
    """KeyboardInterrupt raised by zcomp's own handler, naming the signal (SIGTERM ...).
    `echo_ended`: the handler already ended the row of the terminal's "^C" echo."""

    def __init__(self, name: str, *, echo_ended: bool = False) -> None:
        super().__init__(name)
        self.name = name
        self.echo_ended = echo_ended


def after_echo(signal_name: str) -> str:
    """A newline after the terminal's "^C" echo; SIGTERM and SIGHUP leave none to close."""
    return "\n" if signal_name == "SIGINT" else ""


def stop_signals() -> list[signal.Signals]:
    # SIGHUP: the terminal went away (ssh dropped); absent on Windows.
    found = [signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)]
    return [s for s in found if s is not None]


SignalHandler = Callable[[int, FrameType | None], None]


@contextmanager
def signal_handlers(handler: SignalHandler, signals: Sequence[signal.Signals]) -> Iterator[None]:
    """Install `handler` for `signals` while the block runs, then put the previous ones back.
    Only the main thread may (CliRunner in a thread: nothing is installed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # A signal ignored when zcomp started (nohup, a background job) stays ignored.
    wanted = [sig for sig in signals if signal.getsignal(sig) != signal.SIG_IGN]
    previous = {sig: signal.signal(sig, handler) for sig in wanted}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    from zcomp.output import end_prompt_row

    # A prompt left waiting: the message goes below it, not after it on its row.
    raise SignalInterrupt(signal.Signals(signum).name, echo_ended=end_prompt_row())


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        try:
            module = importlib.import_module(entry[0])
        except ModuleNotFoundError as exc:
            if exc.name != entry[0]:
                raise
            raise click.ClickException(f"'{cmd_name}' is not available in this build") from None
        command: click.Command = getattr(module, entry[1])
        from zcomp.cli.examples import attach

        attach(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from the table, so listing commands imports none of them.
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


# Never taken from after a command: `unlock X --password-file F` must not make the owner's new
# password file the ADMIN password (it is refused as an unknown option instead).
_NOT_HOISTED = ("help", "version", "password_file")


def _root_options(group: click.Command, *, hoisted_only: bool = True) -> dict[str, bool]:
    """The root's own options (only those taken from after a command, unless `hoisted_only`
    is false): each spelling -> whether it takes a value."""
    found: dict[str, bool] = {}
    for param in group.params:
        if isinstance(param, click.Option) and (not hoisted_only or param.name not in _NOT_HOISTED):
            for spelling in (*param.opts, *param.secondary_opts):
                found[spelling] = not param.is_flag
    return found


def hoist_root_options(
    args: list[str], root: dict[str, bool], command: click.Command | None
) -> tuple[list[str], list[str]]:
    """Split a command's arguments into root options given after it (as zmprov and gh users
    type `zcomp lockdown --url U X`) and the rest. An option the command has itself stays the
    command's; a group's arguments are left alone."""
    if command is None or isinstance(command, click.Group):
        return [], args
    own = {
        spelling
        for param in command.params
        for spelling in (*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ()))
    }
    moved: list[str] = []
    kept: list[str] = []
    rest = iter(args)
    for word in rest:
        if word == "--":
            kept += [word, *rest]
            break
        name, eq, _value = word.partition("=")
        if name in root and name not in own:
            moved.append(word)
            if root[name] and not eq:
                value = next(rest, None)
                if value is not None:
                    moved.append(value)
            continue
        kept.append(word)
    return moved, kept


class RootGroup(LazyGroup):
    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0]) if args else ""
        if args and name not in COMMANDS and not name.startswith("-"):
            import difflib  # only for a mistyped command: kept out of every start-up

            close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Find the command among the arguments (skipping root options and their values) and
        # move root options given after it to the front.
        root = _root_options(self)
        # Every root option is skipped with its value, the ones never hoisted too: the value
        # of `--password-file F` is not the command.
        before = _root_options(self, hoisted_only=False)
        index = 0
        while index < len(args):
            token = args[index]
            if token in before:
                index += 2 if before[token] else 1
                continue
            if token.startswith("-"):
                index += 1
                continue
            break
        if index < len(args) and args[index] in COMMANDS:
            command = self.get_command(ctx, args[index])
            moved, kept = hoist_root_options(args[index + 1 :], root, command)
            args = [*args[:index], *moved, args[index], *kept]
        try:
            return super().parse_args(ctx, args)
        except OSError as exc:
            # `zcomp --help | head -0`: Click's own output met a reader that left.
            _reader_left(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        from zcomp.core.stop import forget_changes

        forget_changes()
        debug = bool(ctx.params.get("debug"))
        # SIGINT keeps Python's own handler (KeyboardInterrupt); the others join it.
        terminate = [s for s in stop_signals() if s != signal.SIGINT]
        try:
            with signal_handlers(_interrupt, terminate):
                return super().invoke(ctx)
        except click.exceptions.Abort as exc:
            # Click turns Ctrl-C at a prompt into Abort; that is an interruption too.
            if isinstance(exc.__context__, KeyboardInterrupt):
                raise Interrupted(exc.__context__, ctx.invoked_subcommand) from None
            raise
        except (click.ClickException, click.exceptions.Exit):
            raise
        except ZcompError as exc:
            if debug:
                _stderr(_traceback())
            raise ReportedError(exc.message, int(exc.exit_code)) from exc
        except KeyboardInterrupt as exc:
            if debug:
                _stderr(_traceback())
            raise Interrupted(exc, ctx.invoked_subcommand) from None
        except Exception as exc:
            _reader_left(exc)  # `zcomp inspect --help | head -0`
            if debug:
                raise
            raise ReportedError(
                f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                int(ExitCode.FAILURE),
            ) from exc


def _reader_left(exc: BaseException) -> None:
    """Help or version text whose reader has gone ends the way a listing does: quietly, 0."""
    from zcomp.output import stdout_reader_gone

    if stdout_reader_gone(exc):
        raise click.exceptions.Exit(0) from None


_path = click.Path(dir_okay=False, path_type=Path)


@click.group(
    cls=RootGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="zcomp")
@click.option("--config", "config_path", type=_path, help="Configuration file to use.")
@click.option("--profile", help="Named profile of the configuration file.")
@click.option("--url", help="Zimbra admin URL, e.g. https://mail.example.edu:7071")
@click.option("--admin", help="Admin account, e.g. admin@example.edu")
@click.option("--password-file", type=_path, help="File holding the admin password.")
@click.option("--ca-bundle", type=_path, help="CA certificates to verify the server with.")
@click.option("--insecure", is_flag=True, default=None, help="Do not verify TLS (dangerous).")
@click.option(
    "--timeout",
    type=FiniteSeconds(),
    metavar="SECONDS",
    help="Read timeout for each request.",
)
@click.option("--json", "json_output", is_flag=True, help="JSON lines on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors on stderr.")
@click.option("--debug", is_flag=True, help="Tracebacks and (redacted) SOAP exchanges.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR in the environment).")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: Path | None,
    profile: str | None,
    url: str | None,
    admin: str | None,
    password_file: Path | None,
    ca_bundle: Path | None,
    insecure: bool | None,
    timeout: float | None,
    json_output: bool,
    quiet: bool,
    debug: bool,
    no_color: bool,
) -> None:
    """Respond to a phished Zimbra account: lock it down, clean it, hand it back."""
    from zcomp.cli.context import AppContext
    from zcomp.config import CliValues

    ctx.obj = AppContext(
        cli_values=CliValues(
            config=config_path,
            profile=profile,
            url=url,
            admin=admin,
            password_file=password_file,
            ca_bundle=ca_bundle,
            insecure=insecure,
            timeout=timeout,
        ),
        env=os.environ,
        json=json_output,
        quiet=quiet,
        debug=debug,
        no_color=no_color,
    )


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (and `python -m zcomp`)."""
    if sys.stdin is None or sys.stdout is None or sys.stderr is None:
        # A stream closed before zcomp started (`>&-`); zcomp.output stays out of every
        # other start-up (`zcomp --help`).
        from zcomp.output import occupy_closed_streams

        occupy_closed_streams()
    cli.main(args=argv, prog_name="zcomp")
