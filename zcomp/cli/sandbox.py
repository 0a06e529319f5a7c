"""`zcomp sandbox serve`: run the Zimbra-compatible sandbox until interrupted."""

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
    type=int,
    help="Port of mbox1; mboxN uses PORT+N-1. 0: any free port for each server.",
)
@click.option(
    "--servers", default=1, show_default=True, type=int, help="Number of mailbox servers."
)
@click.option(
    "--seed", default="demo", show_default=True, help="demo (a few dozen accounts) or none."
)
@click.option("--latency-ms", default=0, show_default=True, type=int, help="Delay every response.")
@click.option(
    "--fault-rate",
    default=0.0,
    show_default=True,
    type=float,
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
) -> None:
    """Serve /service/admin/soap/ and /service/soap/ until Ctrl-C."""
    from zcomp.sandbox import Sandbox, SandboxOptions

    password = "sandbox"  # noqa: S105 - the documented sandbox default
    if admin_password_file is not None:
        try:
            password = Path(admin_password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            _usage(f"cannot read --admin-password-file: {exc.strerror}")
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
