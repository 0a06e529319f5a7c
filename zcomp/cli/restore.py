"""zcomp restore: put back items lockdown removed, from the incident's evidence."""

from __future__ import annotations

import shlex
import sys

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import INCIDENT, dry_run_option, json_option
from zcomp.cli.render import result_line, show_outcome
from zcomp.cli.runtime import Runtime
from zcomp.core.outcome import AccountOutcome
from zcomp.output import Output, visible
from zcomp.timestamps import stamp


def shell_word(value: str) -> str:
    """`value` as one word to paste at a shell: shlex's quoting, or bash's $'...' when it
    holds control characters (printed escaped, they would not paste back as themselves)."""
    if visible(value) == value:
        return shlex.quote(value)
    return "$'" + visible(value.replace("\\", "\\\\").replace("'", "\\'")) + "'"


def show_restore(output: Output, outcome: AccountOutcome) -> None:
    if output.json:
        output.data(outcome.to_json())
        return
    if outcome.error and outcome.error.code == "malicious":
        # The result, and on stderr one line: which item and why; nothing else happened.
        output.report(result_line(outcome))
        output.error(f"{outcome.account}: {outcome.error.message}")
        return
    show_outcome(output, outcome)
    for item in outcome.extra.get("restored", []):
        output.report(f"  restored {item['detail']}")
    for item in outcome.extra.get("already_present", []):
        output.report(f"  {item['detail']}: already present, nothing changed")


def show_restorable(app: AppContext, incident_id: str) -> None:
    """`zcomp restore INCIDENT` alone: what lockdown removed, each with the option that puts
    it back. The listing is the command's report: stdout (--json: one object per item)."""
    from zcomp.core.restore import restorable, restore_option
    from zcomp.core.restore_access import unrestorable
    from zcomp.journal import Journal

    output = app.output
    with Journal.open(app.settings.state_dir) as journal:
        incident, found = restorable(journal, incident_id)
    rows: list[list[str]] = []
    for f in found:
        option = restore_option(f)
        shown = "-"  # no option restores it
        if option is not None:
            # As typed on a command line: a rule named "my rule" pastes as one argument.
            shown = option[0] if option[1] is None else f"{option[0]} {shell_word(option[1])}"
        if output.json:
            output.data(
                {
                    "incident": incident.key,
                    "account": incident.account_name,
                    "started_at": stamp(incident.started_at),
                    "option": option[0] if option else None,
                    "name": option[1] if option else None,
                    **f.summary(),
                    "not_restorable": unrestorable(f),
                }
            )
        rows.append([shown, f.kind, f.detail, unrestorable(f) or f.reason])
    if output.json:
        return
    output.report(
        f"incident {incident.key} account {incident.account_name} state {incident.state} "
        f"started {stamp(incident.started_at)}: lockdown removed {len(found)} item(s)"
    )
    if rows:
        output.report_table(["option", "kind", "item", "reason"], rows, keep=(0,))


class IncidentOrAuditRun(click.ParamType):  # type: ignore[type-arg]  # generic from Click 8.5
    """An incident key (INC-...), or an audit run's (AUD-...: what `zcomp audit --apply` did)."""

    name = "INCIDENT|AUDIT-RUN"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        from zcomp.journal.audit import normalise_audit_key

        if normalise_audit_key(str(value)):
            return str(value).strip()
        return str(INCIDENT.convert(value, param, ctx))


def restore_audit(
    app: AppContext,
    key: str,
    settings: tuple[str, ...],
    everything: bool,
    dry_run: bool,
    force: bool,
) -> None:
    """An audit run: list the settings it changed, or put them back (--setting, --all)."""
    from zcomp.audit.restore import changed_items, restore_run
    from zcomp.exitcodes import ExitCode
    from zcomp.journal import Journal

    output = app.output
    if not settings and not everything:
        with Journal.open(app.settings.state_dir) as journal:
            run, items = changed_items(journal, key)
        if output.json:
            for item in items:
                output.data({"audit_run": run.key, **item.to_json()})
            return
        output.report(
            f"audit run {run.key} on {run.zimbra} by {run.operator} started "
            f"{stamp(run.started_at)} ({run.state}): {len(items)} setting(s) changed"
        )
        rows = [
            [
                i.option,
                ", ".join(i.before) or "(unset)",
                ", ".join(i.after) or "(unset)",
                "restored" if i.restored else i.status,
            ]
            for i in items
        ]
        if rows:
            output.report_table(["setting", "before", "after", "status"], rows, keep=(0,))
        return
    with Runtime(app, notes=False) as runtime:
        env = runtime.make_services()
        outcome, skipped, planned = restore_run(
            env, key, settings, everything=everything, force=force, dry_run=dry_run
        )
    for line in skipped:
        output.warn(line)
    if outcome is None:
        for change in planned:
            output.report(f"plan: {change.plan}")
        sys.exit(int(ExitCode.OK))
    for done in outcome.applied:
        if output.json:
            output.data(
                {
                    "audit_run": outcome.run.key,
                    "setting": done.change.target,
                    "values": done.change.after["values"],
                    "status": str(done.status),
                    "problem": done.problem or None,
                }
            )
        elif done.ok:
            output.report(f"restored: {done.change.done}")
        else:
            output.error(done.problem)
    sys.exit(int(ExitCode.OK if outcome.ok else ExitCode.FAILURE))


@click.command()
@click.argument("incident", type=IncidentOrAuditRun())
@click.option("--filter", "filters", multiple=True, metavar="NAME", help="A filter rule.")
@click.option("--forwarding", is_flag=True, help="The forwarding (and local delivery) setting.")
@click.option("--signature", "signatures", multiple=True, metavar="NAME", help="A signature.")
@click.option("--identity", "identities", multiple=True, metavar="NAME", help="An identity.")
@click.option("--auto-reply", is_flag=True, help="The out-of-office auto-reply.")
@click.option(
    "--share",
    "shares",
    multiple=True,
    metavar="FOLDER[:WHO]",
    help="A folder share, as listed (/Inbox:bob@example.org), or all of a folder's (/Inbox).",
)
@click.option(
    "--right",
    "rights",
    multiple=True,
    metavar="RIGHT[:WHO]",
    help="A right on the account, as listed (sendAs:bob@example.org), or all of one (sendAs).",
)
@click.option("--data-source", "data_sources", multiple=True, metavar="NAME", help="A data source.")
@click.option("--device", "devices", multiple=True, metavar="ID", help="A mobile device.")
@click.option(
    "--setting",
    "settings",
    multiple=True,
    metavar="SCOPE:ATTR",
    help="An audit run's setting, as listed (cos:default:zimbraPasswordLockoutEnabled).",
)
@click.option("--all", "everything", is_flag=True, help="Everything lockdown removed.")
@dry_run_option
@json_option
@click.option(
    "--force", is_flag=True, help="With --all: restore items that are malicious today too."
)
@pass_app
def restore(
    app: AppContext,
    incident: str,
    filters: tuple[str, ...],
    forwarding: bool,
    signatures: tuple[str, ...],
    identities: tuple[str, ...],
    auto_reply: bool,
    shares: tuple[str, ...],
    rights: tuple[str, ...],
    data_sources: tuple[str, ...],
    devices: tuple[str, ...],
    settings: tuple[str, ...],
    everything: bool,
    dry_run: bool,
    force: bool,
) -> None:
    """Put back what lockdown removed in INCIDENT (a false positive), exactly as the evidence
    recorded it: filter rules at their original position and with their names, signatures with
    their ids, identities, forwarding, auto-replies, folder shares, rights on the account, data
    sources (turned on again), mobile devices (resumed). Journaled and verified by read-back.
    App-specific passwords, trusted devices and guest shares cannot come back (their secrets
    were never kept): the listing says so.

    An item already present is reported ("already present") and not written. An item you name
    is restored even if it classifies as malicious today, with a warning (lockdown would remove
    it again, and unlock refuses while it is there). With --all, such items are refused, exit 1,
    nothing written, unless --force (journaled).

    With no item named (and no --all): list what lockdown removed in INCIDENT, each with the
    option that restores it; changes nothing.

    An audit run (AUD-...): alone, list the settings `zcomp audit --apply` changed; with
    --setting or --all, put back the values they had, each only while it still holds what the
    audit set (--force: anyway)."""
    from zcomp.journal.audit import normalise_audit_key

    if normalise_audit_key(incident):
        if filters or signatures or identities or forwarding or auto_reply or shares or rights:
            raise click.UsageError("an audit run takes --setting or --all, not account items")
        if data_sources or devices:
            raise click.UsageError("an audit run takes --setting or --all, not account items")
        restore_audit(app, incident, settings, everything, dry_run, force)
        return
    if settings:
        raise click.UsageError("--setting is for an audit run (AUD-...), not an incident")
    from zcomp.core.report import Report
    from zcomp.core.restore import RestoreSelection, restore_incident

    selection = RestoreSelection(
        filters=filters,
        signatures=signatures,
        identities=identities,
        forwarding=forwarding,
        auto_reply=auto_reply,
        shares=shares,
        rights=rights,
        data_sources=data_sources,
        devices=devices,
        all=everything,
    )
    if selection.empty:
        show_restorable(app, incident)
        return
    with Runtime(app, notes=False) as runtime:
        env = runtime.make_services()
        outcome = restore_incident(env, incident, selection, dry_run=dry_run, force=force)
    show_restore(app.output, outcome)
    sys.exit(int(Report([outcome]).exit_code))
