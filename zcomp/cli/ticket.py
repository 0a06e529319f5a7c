"""zcomp ticket retry: file the help-desk tickets that are still pending."""

from __future__ import annotations

import sys

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import INCIDENT, json_option
from zcomp.exitcodes import ExitCode


@click.group("ticket")
def ticket() -> None:
    """Help-desk tickets."""


@ticket.command("retry")
@click.argument("incident", type=INCIDENT, required=False)
@json_option
@pass_app
def retry(app: AppContext, incident: str | None) -> None:
    """File the tickets left pending (a backend that was down, a killed run): every pending
    one, or INCIDENT's. A ticket an earlier run already filed is linked, never filed twice.
    Exit 0 when none is left pending, 7 when some still are."""
    from zcomp.cli.runtime import make_tickets
    from zcomp.core.ticketing import retry_pending
    from zcomp.journal import Journal

    settings = app.settings
    only = incident
    tickets = make_tickets(app)
    with Journal.open(settings.state_dir) as journal:
        results = retry_pending(tickets, journal, only)
    if not results:
        app.output.info("no ticket is pending" + (f" for incident {only}" if only else ""))
    for r in results:
        key = r.incident.key
        if app.output.json:
            app.output.data(
                {
                    "incident": r.incident.key,
                    "account": r.incident.account_name,
                    "ticket": None
                    if r.ref is None
                    else {"backend": r.ref.backend, "id": r.ref.id, "url": r.ref.url},
                    "error": r.error,
                }
            )
        elif r.ref is not None:
            where = f" {r.ref.url}" if r.ref.url else ""
            app.output.data(
                f"{key} {r.incident.account_name} filed {r.ref.backend}:{r.ref.id}{where}"
            )
        else:
            app.output.data(f"{key} {r.incident.account_name} still pending: {r.error}")
    pending = any(r.ref is None for r in results)
    sys.exit(int(ExitCode.TICKET_PENDING if pending else ExitCode.OK))


@ticket.command("test")
@json_option
@pass_app
def test(app: AppContext) -> None:
    """File a test ticket on the configured backend, comment on it and resolve it; or say
    exactly why that cannot be done (exit 1). Nothing is journaled; the test ticket says it is
    a test. Run it once after configuring [tickets]."""
    from zcomp.cli.runtime import make_tickets
    from zcomp.core.ticketing import test_ticket
    from zcomp.tickets import TicketError

    backend = make_tickets(app)  # a bad setting ends here, naming the file and key
    steps: list[str] = []
    try:
        for step in test_ticket(backend):
            steps.append(step)
            app.output.info(step)
    except TicketError as exc:
        done = f" (after: {'; '.join(steps)})" if steps else ""
        raise TicketError(f"ticket test on {backend.name} failed: {exc.message}{done}") from None
    if app.output.json:
        app.output.data({"backend": backend.name, "ok": True, "steps": steps})
    else:
        app.output.data(f"ticket test on {backend.name}: ok ({'; '.join(steps)})")
