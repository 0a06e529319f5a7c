"""zcomp completion SHELL: the script that completes zcomp's commands and options."""

from __future__ import annotations

import click

from zcomp.output import write_stdout

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (Click's own): commands, options and their
    choices complete; account names do not (that would mean asking the server).

    \b
      bash: echo 'eval "$(zcomp completion bash)"' >> ~/.bashrc
      zsh:  echo 'eval "$(zcomp completion zsh)"' >> ~/.zshrc
      fish: zcomp completion fish > ~/.config/fish/completions/zcomp.fish"""
    from click.shell_completion import get_completion_class

    from zcomp.cli.main import cli

    script = get_completion_class(shell)
    if script is None:  # every shell Click ships is offered, so not reached
        raise click.UsageError(f"no completion for {shell}")
    # The same names Click's own entry point uses (prog_name "zcomp"), so the script's calls
    # back into `zcomp` are answered by cli.main.
    write_stdout(script(cli, {}, "zcomp", "_ZCOMP_COMPLETE").source() + "\n")
