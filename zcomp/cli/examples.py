"""One or two examples per command, shown at the end of its --help (and in the generated
reference). Kept in one table so that they read as a set; the root group attaches them when
it loads a command."""

from __future__ import annotations

import click

# "command path" -> [(what it does, the command line)]
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "lockdown": [
        ("one account", "zcomp lockdown alice@example.edu --reason 'phish reported'"),
        (
            "a scan's suspects",
            "zcomp scan --mailbox-log mailbox.log --json | zcomp lockdown --from - --yes",
        ),
    ],
    "unlock": [
        (
            "the owner was reached: hand it back",
            "zcomp unlock alice@example.edu --generate --delete-held",
        ),
        ("what unlock would do", "zcomp unlock alice@example.edu --dry-run"),
    ],
    "inspect": [
        ("a bare name gets the default domain", "zcomp inspect alice"),
        ("a spreadsheet export", "zcomp inspect --from accounts.csv --json > report.jsonl"),
    ],
    "restore": [
        ("list what the incident removed", "zcomp restore INC-7K3MQ9XA"),
        (
            "put two items back",
            "zcomp restore INC-7K3MQ9XA --filter 'Move invoices' --signature Work",
        ),
    ],
    "history": [
        ("the newest incidents", "zcomp history"),
        ("one account's incidents and actions", "zcomp history alice@example.edu --json"),
    ],
    "baseline capture": [
        ("every account's directory settings", "zcomp baseline capture --all"),
        ("one account in full", "zcomp baseline capture alice@example.edu"),
    ],
    "baseline show": [("the newest baseline", "zcomp baseline show alice@example.edu")],
    "ticket retry": [("file the tickets a lockdown left pending", "zcomp ticket retry")],
    "ticket test": [("check the configured help desk end to end", "zcomp ticket test")],
    "scan": [
        (
            "a log directory (rotated, gzipped)",
            "zcomp scan --mailbox-log /opt/zimbra/log/ --since 2026-11-30",
        ),
        (
            "from an admin host",
            "ssh mail1 cat /opt/zimbra/log/mailbox.log | zcomp scan --mailbox-log -",
        ),
    ],
    "watch": [
        ("every minute, until Ctrl-C", "zcomp watch"),
        ("one look, for cron or a monitoring check (exit 1: an alert)", "zcomp watch --once"),
    ],
    "audit": [
        ("the weak settings, with what to set and why", "zcomp audit"),
        ("change the serious ones (asks first)", "zcomp audit --apply --severity high"),
    ],
    "guard serve": [
        ("the milter, on the MTA host", "zcomp guard serve --listen inet:127.0.0.1:10029")
    ],
    "guard review": [
        ("what is on hold, and why", "zcomp guard review"),
        ("drop one sender's held spam", "zcomp guard review --sender alice@example.edu --delete"),
    ],
    "sandbox serve": [
        ("two mailbox servers", "zcomp sandbox serve --servers 2 --log-dir /tmp/zlogs")
    ],
    "sandbox attack": [("plant a phishing attack", "zcomp sandbox attack alice@sandbox.test")],
    "demo": [("the whole story on a private sandbox", "zcomp demo")],
    "login": [
        (
            "check and store the admin password",
            "zcomp --url https://mail.example.edu:7071 --admin admin@example.edu login",
        ),
    ],
    "logout": [("forget the stored password and token", "zcomp logout")],
    "config init": [("a commented example in ~/.config/zcomp/config.toml", "zcomp config init")],
    "config show": [
        ("the effective values and where each came from", "zcomp --profile campus config show")
    ],
}


def epilog(path: str) -> str | None:
    found = EXAMPLES.get(path)
    if not found:
        return None
    lines = ["Examples:", "", "\b"]
    for what, line in found:
        lines += [f"  # {what}", f"  {line}"]
    return "\n".join(lines)


def attach(command: click.Command, path: str) -> None:
    """Give `command` (and, for a group, its subcommands) their examples, once."""
    if command.epilog is None:
        command.epilog = epilog(path)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            attach(sub, f"{path} {name}")


def markdown() -> str:
    """The examples as a Markdown section, for the generated command reference."""
    out = ["## Examples", ""]
    for path, found in EXAMPLES.items():
        out += [f"`zcomp {path}`", "", "```sh"]
        for what, line in found:
            out += [f"# {what}", line]
        out += ["```", ""]
    return "\n".join(out)
