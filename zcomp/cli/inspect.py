"""zcomp inspect: read-only triage; exit 0 when clean, 1 when anything is risky."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import accounts_options, json_option, workers_option
from zcomp.cli.playbook import run_playbook
from zcomp.cli.render import result_line, show_problems
from zcomp.core.outcome import AccountOutcome
from zcomp.exitcodes import ExitCode
from zcomp.output import Output
from zcomp.timestamps import restamp, stamp_ms

if TYPE_CHECKING:
    from zcomp.core.report import Report


def show_inspection(output: Output, outcome: AccountOutcome) -> None:
    if output.json:
        output.data(outcome.to_json())
        return
    extra = outcome.extra
    if outcome.error:
        output.report(result_line(outcome))
        show_problems(output, outcome)
        return
    head = f"{outcome.account}: {outcome.result} (status {extra.get('status')}"
    incident = extra.get("open_incident")
    marker = extra.get("zcomp_marker")
    if incident:
        head += f", open incident {incident['id']} {incident['state']})"
    elif marker:
        # Contained by a zcomp with another journal (a colleague, another host).
        by = f" by {marker['by']}" if marker["by"] else ""
        desk = f", ticket on {marker['ticket_backend']}" if marker["ticket_backend"] else ""
        head += f", contained by zcomp{by} at {marker['locked_at']}: incident "
        head += f"{marker['incident']}{desk})"
    else:
        head += ")"
    # The findings are the command's report: stdout, so `| grep malicious` and `> file` work.
    output.report(head)
    show_items(output, extra.get("findings", []))
    logon = extra.get("last_logon", {})
    value = logon.get("value")
    shown = restamp(value) if value else "never recorded"
    output.report(f"  last logon: {shown} ({logon.get('note')})")
    sessions: list[dict[str, Any]] = extra.get("sessions", [])
    output.report(f"  sessions on this server: {len(sessions)}")
    for s in sessions:
        output.report(f"    {s['type']} {s['session']}… last used {_ms(s['accessed_ms'])}")
    held = extra.get("held_queue", [])
    if held:
        output.report("  held mail: " + ", ".join(f"{q['total']} on {q['server']}" for q in held))
    if extra.get("baseline"):
        output.report(f"  compared with the baseline of {restamp(extra['baseline'])}")
    for warning in outcome.warnings:
        output.warn(f"{outcome.account}: {warning}")


def show_items(output: Output, found: list[dict[str, Any]]) -> None:
    if not found:
        return
    if not output.stdout_interactive():
        # Pipes, files, logs and cron mail: one greppable line per item, never a wrapped cell.
        for f in found:
            output.report(f"  [{f['verdict']}] {f['kind']}: {f['detail']} -- {f['reason']}")
        return
    rows = [[f["verdict"], f["kind"], f["detail"], f["reason"]] for f in found]
    output.report_table(["verdict", "kind", "item", "reason"], rows)


def _ms(value: int) -> str:
    return stamp_ms(value) if value else "?"


def inspection_status(report: Report) -> ExitCode:
    """Inspecting failed: the run's status; else 1 when anything is not clean."""
    if report.not_done_count:
        return report.exit_code
    if report.total - report.counts["clean"]:
        return ExitCode.FAILURE
    return ExitCode.OK


@click.command("inspect")
@accounts_options()
@workers_option
@json_option
@pass_app
def inspect_cmd(app: AppContext, accounts: list[str]) -> None:
    """Read-only triage of ACCOUNT...: forwarding, filters, identities, signatures and
    auto-replies with a verdict (ok, suspicious, malicious) and the reason, plus status, last
    logon, sessions, open incident and held mail. Changes nothing.

    Exit status: 0 when everything is clean; 1 when anything is suspicious or malicious (a
    finding, shown as a warning, not an error); other codes when inspecting itself failed.
    --json: one object per account, its items under "findings" (kind, detail, verdict,
    reason)."""
    from zcomp.core.inspect import inspect_account

    report = run_playbook(
        app,
        accounts,
        inspect_account,
        verb="inspect",
        render=lambda outcome: show_inspection(app.output, outcome),
    )
    sys.exit(int(inspection_status(report)))
