"""zcomp audit: the global, class-of-service and domain settings that make a phished account
more harmful or harder to contain; with --apply, change them (journaled, verified, undone by
`zcomp restore AUD-...`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import dry_run_option, json_option, yes_option
from zcomp.exitcodes import ExitCode, UsageError
from zcomp.output import Output

if TYPE_CHECKING:
    from zcomp.audit.audit import Finding, Outcome

SEVERITIES = ("high", "medium", "low")


def show_findings(output: Output, findings: list[Finding]) -> None:
    """The report, on stdout: an aligned table (rich only on a terminal), or JSON lines."""
    if output.json:
        for f in findings:
            output.data(f.to_json())
        return
    if not findings:
        output.info("no weak settings found")
        return
    rows = [
        [
            str(f.rule.severity),
            f.entry.where,
            f.rule.attr,
            f.shown_current,
            f.rule.recommended,
            f.rule.why,
        ]
        for f in findings
    ]
    output.report_table(
        ["severity", "scope", "attribute", "current", "recommended", "why"], rows, keep=(2,)
    )


def confirm_changes(count: int, yes: bool) -> None:
    """Typed confirmation: the number of settings, as for a batch of accounts."""
    from zcomp.cli.confirm import typed_confirmation
    from zcomp.credentials import stdin_is_terminal

    if yes:
        return
    if not stdin_is_terminal():
        raise UsageError(f"refusing to change {count} settings without confirmation: add --yes")
    typed_confirmation(
        f"About to change {count} settings for every account they apply to. Type {count} to go on",
        count,
    )


def show_outcome(output: Output, outcome: Outcome) -> None:
    key = outcome.run.key
    for item in outcome.applied:
        change = item.change
        if output.json:
            output.data(
                {
                    "audit_run": key,
                    "setting": change.target,
                    "before": change.before["values"],
                    "after": change.after["values"],
                    "status": str(item.status),
                    "problem": item.problem or None,
                }
            )
        elif item.ok:
            output.report(f"done: {change.done}")
        else:
            output.error(item.problem)


@click.command("audit")
@click.option(
    "--severity",
    type=click.Choice(SEVERITIES),
    default="low",
    show_default=True,
    help="Report (and change) only settings at least this severe.",
)
@click.option("--apply", "apply", is_flag=True, help="Change the weak settings (asks first).")
@yes_option
@dry_run_option
@json_option
@pass_app
def audit(app: AppContext, severity: str, apply: bool, yes: bool, dry_run: bool) -> None:
    """Report the global config, class-of-service and domain settings that make a phished
    account more harmful or harder to contain: password history and lockout, sending as any
    address, forwarding, personas, auto-replies, session lifetimes, password reset, public and
    guest shares, the MTA's envelope-sender check and relay networks. Each with its current
    value, the recommended one and why. Read in one round trip; changes nothing.

    --apply: list the changes, ask for the number of them to be typed (or --yes), then make
    them in one round trip, each journaled before it is sent and verified by reading it back.
    The run's key (AUD-...) is printed: `zcomp restore AUD-... --all` puts every value back.
    Settings zcomp cannot choose a value for (the relay networks) are reported, not changed.

    Exit status: 0 when nothing is weak (or, with --apply, everything was changed and verified);
    1 when weak settings are found or remain, or a change did not hold; other codes when the
    audit itself failed. --json: one object per finding (and per change made)."""
    from zcomp.audit.audit import apply_findings, changes_for, judge, read_settings
    from zcomp.audit.rules import Severity
    from zcomp.cli.runtime import Runtime

    output = app.output
    if dry_run and not apply:
        raise UsageError("--dry-run goes with --apply (audit alone changes nothing)")
    with Runtime(app, notes=False) as runtime:
        env = runtime.make_services()
        findings = judge(read_settings(env.client), Severity(severity))
        show_findings(output, findings)
        if not apply:
            sys.exit(int(ExitCode.FAILURE if findings else ExitCode.OK))
        changes = changes_for(findings)
        manual = [f for f in findings if f.fix is None]
        for f in manual:
            output.warn(
                f"not changed: {f.entry.where} {f.rule.attr}: set it yourself "
                f"({f.rule.recommended})"
            )
        if not changes:
            output.info("nothing for zcomp to change")
            sys.exit(int(ExitCode.FAILURE if manual else ExitCode.OK))
        output.info(f"plan ({len(changes)} change(s)):")
        for change in changes:
            output.info(f"  - {change.plan}")
        if dry_run:
            sys.exit(int(ExitCode.FAILURE))
        confirm_changes(len(changes), yes)
        outcome = apply_findings(env, findings, zimbra=runtime.connection.url)
    show_outcome(output, outcome)
    key = outcome.run.key
    output.info(
        f"audit run {key}: {sum(a.ok for a in outcome.applied)} of {len(outcome.applied)} "
        f"change(s) made; `zcomp restore {key}` lists them, `--all` puts them back"
    )
    sys.exit(int(ExitCode.OK if outcome.ok and not manual else ExitCode.FAILURE))
