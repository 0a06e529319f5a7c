"""`zcomp sandbox serve` (the Zimbra-compatible sandbox, until interrupted) and `sandbox attack`."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zcomp.output import write_stderr, write_stdout

if TYPE_CHECKING:
    from zcomp.sandbox import Sandbox


class _OneLineErrors(click.Command):
    """Usage errors as one line on stderr and exit status 2 (no usage dump)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            write_stderr(f"Error: {exc.format_message()}\n")
            ctx.exit(2)


@click.group("sandbox")
def sandbox() -> None:
    """A local Zimbra-compatible server for rehearsals and tests."""


@sandbox.command("serve", cls=_OneLineErrors)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=7071,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port of mbox1; mboxN uses PORT+N-1. 0: any free port for each server.",
)
@click.option(
    "--servers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 16),
    help="Number of mailbox servers.",
)
@click.option(
    "--seed", default="demo", show_default=True, help="demo (a few dozen accounts) or none."
)
@click.option(
    "--latency-ms",
    default=0,
    show_default=True,
    type=click.IntRange(0, 60_000),
    help="Delay every response.",
)
@click.option(
    "--fault-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Fraction of requests that fail.",
)
@click.option(
    "--log-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Write Zimbra-format logs here.",
)
@click.option(
    "--zimbra-version", default="10.1.0", show_default=True, help="Version behaviour to imitate."
)
@click.option(
    "--admin-password-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="File holding the admin password (default: sandbox).",
)
@click.option(
    "--edition",
    type=click.Choice(["foss", "network"]),
    default="foss",
    show_default=True,
    help="Imitate the open-source or the Network Edition (app passwords, devices).",
)
def serve(
    host: str,
    port: int,
    servers: int,
    seed: str,
    latency_ms: int,
    fault_rate: float,
    log_dir: str | None,
    zimbra_version: str,
    admin_password_file: str | None,
    edition: str,
) -> None:
    """Serve /service/admin/soap/ and /service/soap/ until Ctrl-C."""
    from zcomp.credentials import password_text
    from zcomp.sandbox import Sandbox, SandboxOptions

    password = "sandbox"  # noqa: S105 - the documented sandbox default
    if admin_password_file is not None:
        try:
            # Read as zcomp's --password-file is (BOM, one newline off), so one file serves both.
            password = password_text(Path(admin_password_file).read_text(encoding="utf-8"))
        except OSError as exc:
            _usage(f"cannot read --admin-password-file: {exc.strerror}")
        except UnicodeDecodeError:
            _usage(f"--admin-password-file {admin_password_file} is not UTF-8 text")
        if not password:
            _usage("--admin-password-file is empty")
    opts = SandboxOptions(
        host=host,
        port=port,
        servers=servers,
        seed=seed,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        log_dir=log_dir,
        zimbra_version=zimbra_version,
        admin_password=password,
        edition=edition,
    )
    try:
        sb = Sandbox(opts)
    except ValueError as exc:
        _usage(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sb.start()
    except OSError as exc:
        write_stderr(f"Error: cannot listen on {host}:{port}: {exc.strerror}\n")
        sys.exit(4)
    try:
        write_stdout(ready_line(sb) + "\n")
        sys.stdout.flush()
        # Short waits: the SIGTERM handler only sets the event, and exit should follow at once.
        while not stop.wait(0.05):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()


def ready_line(sb: Sandbox) -> str:
    """One line, admin URL first (scripts take the first http:// word), then every server."""
    servers = ", ".join(
        f"{name} at {url}" for name, url in zip(sb.server_names, sb.urls, strict=True)
    )
    return f"sandbox ready: admin {sb.admin_url} (servers: {servers}; admin@sandbox.test)"


def _usage(message: str) -> None:
    write_stderr(f"Error: {message}\n")
    sys.exit(2)


@sandbox.command("attack", cls=_OneLineErrors)
@click.argument("account", default="alice@sandbox.test")
@click.option(
    "--url",
    "urls",
    multiple=True,
    metavar="URL",
    help="A sandbox server, as `sandbox serve` prints it (repeat for several; the attacker "
    "uses the last). Default: http://127.0.0.1:7071",
)
@click.option("--password", help="The account's password (default: the demo seed's).")
@click.option(
    "--bcc",
    default=80,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Bcc recipients of the spam message the attack sends (it is also To the account).",
)
@click.option("--outgoing-redirect", is_flag=True, help="Also plant an outgoing redirect rule.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def attack(
    account: str,
    urls: tuple[str, ...],
    password: str | None,
    bcc: int,
    outgoing_redirect: bool,
    as_json: bool,
) -> None:
    """Replay the phishing attack on a sandbox ACCOUNT through the web client's API, as the
    attacker does: log in, forward everything to a freemail address with local delivery off,
    add a redirect and a discard-all rule, set From/Reply-To to the freemail address, put spam
    in the signature, send one message to many Bcc recipients, share the Inbox publicly and the
    Sent folder with the freemail address, grant sendAs to a second account the attacker holds
    (and on a Network Edition sandbox, make an app-specific password). Prints what it planted
    (never the attacker's token or the passwords it set). For rehearsals only: it refuses
    nothing a real server would."""
    import json
    import urllib.error

    from zcomp.sandbox.attack import AttackError, replay_attack

    targets = list(urls) or ["http://127.0.0.1:7071"]
    try:
        report = replay_attack(
            [u.split("/service/")[0] for u in targets],
            account,
            password,
            outgoing_redirect=outgoing_redirect,
            bcc_count=bcc,
        )
    except AttackError as exc:
        write_stderr(f"Error: {exc}\n")
        sys.exit(5)
    except (urllib.error.URLError, OSError) as exc:
        write_stderr(f"Error: cannot reach the sandbox at {targets[-1]}: {exc}\n")
        sys.exit(4)
    planted = {
        "account": report.account,
        "via": report.server_url,
        "forwarding": f"{report.freemail} (local delivery off)",
        "rules": report.rule_names,
        "outgoing_rules": report.outgoing_rule_names,
        "identity": f"From and Reply-To {report.freemail}",
        "signature": report.signature_text,
        "sent": f"message {report.message_id} to {len(report.recipients)} recipient(s)",
        "public_share": f"{report.public_folder} (anyone, read)",
        "guest_share": f"{report.guest_folder} with {report.freemail} (guest, read)",
        "right": f"sendAs for {report.accomplice}",
        "app_password": report.app_password_name or "-",
    }
    if as_json:
        write_stdout(json.dumps(planted) + "\n")
        return
    width = max(len(k) for k in planted)
    for key, value in planted.items():
        shown = (", ".join(value) or "-") if isinstance(value, list) else value
        write_stdout(f"{key.ljust(width)}  {shown}\n")
