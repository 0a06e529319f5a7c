"""zcomp guard: the milter on Zimbra's MTA (serve) and what it held (review)."""

from __future__ import annotations

import dataclasses
import sys
import threading
from typing import TYPE_CHECKING

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import dry_run_option, json_option
from zcomp.cli.stopping import stop_between_steps
from zcomp.exitcodes import ExitCode, UsageError

if TYPE_CHECKING:
    from zcomp.guard.review import HeldMessage


@click.group("guard")
def guard() -> None:
    """A milter for Zimbra's MTA: hold web-client bulk sends, senders over a rate, and all
    mail of accounts zcomp has contained (see docs/guard.md for the Postfix wiring)."""


@guard.command("serve")
@click.option(
    "--listen",
    default=None,
    metavar="inet:HOST:PORT|unix:PATH",
    help="Where Postfix reaches the milter (default: [guard] listen, inet:127.0.0.1:10029).",
)
@click.option(
    "--auto-lockdown",
    is_flag=True,
    help="Lock a sender after [guard] lockdown_after_holds holds (off by default).",
)
@pass_app
def serve(app: AppContext, listen: str | None, auto_lockdown: bool) -> None:
    """Run the milter until SIGTERM or Ctrl-C. Each hold is one line on stderr, one journal
    record and at most one alert per sender per [guard] alert_window_s through the ticket
    backend. Anything that breaks inside accepts the message (fail open) and says why."""
    from zcomp.cli.runtime import Runtime
    from zcomp.guard.actions import Responder, lockdown_with
    from zcomp.guard.contained import ContainedList, fetch_contained
    from zcomp.guard.rules import Rules
    from zcomp.guard.server import Guard, GuardThread, stderr_log
    from zcomp.guard.settings import parse_listen
    from zcomp.zimbra.client import ZimbraClient
    from zcomp.zimbra.errors import ZimbraAuthError, ZimbraError

    settings = app.settings.guard
    if listen is not None:
        try:
            parse_listen(listen)
        except ValueError as exc:
            raise UsageError(f"--listen: {exc}") from None
        settings = dataclasses.replace(settings, listen=listen)
    if auto_lockdown:
        settings = dataclasses.replace(settings, auto_lockdown=True)
    with Runtime(app, files_tickets=True, notes=False) as runtime:
        tickets = runtime.tickets()  # a misconfigured desk stops here, before any mail
        try:
            runtime.login()  # asks for the password now (not from a thread later)
        except ZimbraAuthError:
            raise
        except ZimbraError as exc:  # Zimbra down: serve anyway, fail open until it is back
            app.output.warn(f"Zimbra cannot be reached now ({exc.message}): serving anyway")
        env = runtime.make_services() if settings.auto_lockdown else None
        timeout = settings.contained_timeout_s
        reader = ZimbraClient(
            dataclasses.replace(
                runtime.connection, connect_timeout=timeout, read_timeout=timeout, retries=0
            )
        )
        contained = ContainedList(
            lambda: fetch_contained(reader.call),
            ttl_s=settings.contained_ttl_s,
            max_age_s=settings.contained_max_age_s,
        )
        responder = Responder(
            log=stderr_log,
            journal=runtime.journal(),
            tickets=tickets,
            lockdown=lockdown_with(env) if env is not None else None,
            auto_lockdown=settings.auto_lockdown,
        )
        core = Guard(Rules(settings, contained.lookup), responder=responder)
        if settings.hold_contained:
            contained.start()
            contained.loaded.wait(timeout)  # a restart should not open a gap if Zimbra answers
        responder.start()
        server = GuardThread(core, settings.listen)
        try:
            server.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {settings.listen}: {exc.strerror or exc}") from None
        app.output.info(
            f"guard: listening on {server.address}"
            + (
                f"; {contained.size} contained account address(es)"
                if contained.loaded.is_set()
                else ""
            )
            + ("; auto-lockdown on" if settings.auto_lockdown else "")
        )
        stop = threading.Event()
        try:
            with stop_between_steps(stop):
                server.wait(stop)
        finally:
            server.stop()
            contained.stop()
            responder.stop()
            reader.close()
        s = core.stats
        app.output.info(
            f"guard: stopped after {s.messages} message(s), {s.held} held, {s.errors} error(s)"
        )


@guard.command("review")
@click.option("--sender", "senders", multiple=True, metavar="ADDRESS", help="Only this sender.")
@click.option("--id", "ids", multiple=True, metavar="QUEUE_ID", help="Only this message.")
@click.option("--server", default=None, metavar="MTA", help="Only this MTA (default: all).")
@click.option("--release", "op", flag_value="release", help="Release what is listed.")
@click.option("--delete", "op", flag_value="delete", help="Delete what is listed.")
@click.option("--all", "everything", is_flag=True, help="Allow --release/--delete of all.")
@dry_run_option
@json_option
@pass_app
def review(
    app: AppContext,
    senders: tuple[str, ...],
    ids: tuple[str, ...],
    server: str | None,
    op: str | None,
    everything: bool,
    dry_run: bool,
) -> None:
    """List the mail on hold on every MTA (stdout: one line, or with --json one object, per
    message) with why it was held when that is known; with --release or --delete, act on
    what is listed, journaled. Zimbra does not report why mail is on hold: the reason comes
    from the guard's journal on this host (or the X-Zcomp-Guard header: postcat -q ID).

    Exit status: 0 done (or nothing held), 1 some action failed, 5 Zimbra refused."""
    from zcomp.cli.runtime import Runtime
    from zcomp.guard.review import act, list_held

    if op and not (senders or ids or everything):
        raise UsageError(f"--{op} needs --sender, --id or --all (it acts on what is listed)")
    with Runtime(app, notes=False) as runtime:
        services = runtime.make_services()
        client = services.client
        journal = runtime.journal()
        listing = list_held(client, journal, senders=senders, ids=ids, server=server)
        for error in listing.errors:
            app.output.error(error)
        for note in listing.truncated:
            app.output.warn(f"more on hold than listed: {note}")
        missing = set(ids) - {m.id for m in listing.messages}
        for qid in sorted(missing):
            app.output.warn(f"{qid}: not on hold on {server or 'any MTA'}")
        if not op or dry_run:
            for m in listing.messages:
                _show(app, m, f"would {op}" if op else None)
            app.output.info(
                f"{len(listing.messages)} message(s) on hold on {len(listing.mtas)} MTA(s)"
                + (" (dry run: nothing changed)" if op else "")
            )
            sys.exit(int(ExitCode.FAULT if listing.errors else ExitCode.OK))
        results = act(services, op, listing.messages)  # type: ignore[arg-type]
        failed = 0
        for r in results:
            _show(app, r.message, f"{r.op}d" if r.error is None else f"{r.op} failed: {r.error}")
            failed += r.error is not None
        app.output.info(f"{len(results) - failed} message(s) {op}d, {failed} failed")
        if failed or listing.errors:
            sys.exit(int(ExitCode.FAILURE))


def _show(app: AppContext, m: HeldMessage, done: str | None) -> None:
    if app.output.json:
        app.output.data({**m.to_dict(), **({"result": done} if done else {})})
        return
    why = m.reason or "reason not reported by Zimbra"
    if m.reason_from == "guard journal":
        why += " (guard journal)"
    line = f"{m.server} {m.id} {m.sender or '<>'} {len(m.recipients)} rcpt: {why}"
    app.output.data(line + (f" -> {done}" if done else ""))
