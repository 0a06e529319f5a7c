"""Root command group. Subcommands are imported lazily so `zcomp --help` stays light."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from zcomp import __version__
from zcomp.exitcodes import ExitCode, ZcompError

# name -> (module, attribute, one-line help). Modules are imported only when the command runs.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "lockdown": ("zcomp.cli.lockdown", "lockdown", "Contain, clean and record a phished account."),
    "unlock": ("zcomp.cli.unlock", "unlock", "Hand a contained account back to its owner."),
    "inspect": ("zcomp.cli.inspect", "inspect_cmd", "Read-only triage of an account's risky settings."),
    "restore": ("zcomp.cli.restore", "restore", "Put back items lockdown removed (false positives)."),
    "history": ("zcomp.cli.history", "history", "Incidents and their actions from the journal."),
    "baseline": ("zcomp.cli.baseline", "baseline", "Record or show known-good account settings."),
    "sandbox": ("zcomp.cli.sandbox", "sandbox", "A local Zimbra-compatible server for rehearsals."),
    "demo": ("zcomp.cli.demo", "demo", "The whole story on the built-in sandbox."),
    "login": ("zcomp.cli.auth", "login", "Verify the admin password and store it in the keyring."),
    "logout": ("zcomp.cli.auth", "logout", "Remove the stored admin password and cached token."),
    "config": ("zcomp.cli.config", "config", "Write an example configuration or show the effective one."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from the table, so listing commands imports none of them.
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zcomp")
@click.pass_context
def cli(ctx: click.Context, **_options: Any) -> None:
    """Respond to a phished Zimbra account: lock it down, clean it, hand it back."""


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="zcomp", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ZcompError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
