"""How playbook outcomes look.

An account's result is the command's data: its line ("alice@x: contained (incident
INC-7K3MQ9XA, ticket file INC-7K3MQ9XA)") and its details (what was removed or kept, the plan
of a dry run, what was done, held mail, the evidence copy) go to stdout, and so does a batch's
summary. For people, on stderr: warnings, the one-line explanation of an account that failed,
step progress and the bar. --json: one object per account on stdout, nothing else there.
"""

from __future__ import annotations

from collections.abc import Sequence

from zcomp.core.findings import Finding
from zcomp.core.outcome import AccountOutcome
from zcomp.core.report import Report
from zcomp.output import Output


def result_line(outcome: AccountOutcome) -> str:
    """One line: `alice@x: contained (incident INC-7K3MQ9XA, ticket file INC-7K3MQ9XA)`; a
    failure names its code: `ghost@x: failed (account.NO_SUCH_ACCOUNT)`."""
    notes: list[str] = []
    if outcome.incident is not None:
        notes.append(f"incident {outcome.incident}")
        if outcome.ticket:
            notes.append(f"ticket {outcome.ticket['backend']} {outcome.ticket['id']}")
    if outcome.error and outcome.error.code != str(outcome.result):
        notes.append(outcome.error.code)
    head = f"{outcome.account}: {outcome.result}"
    return f"{head} ({', '.join(notes)})" if notes else head


def show_outcome(output: Output, outcome: AccountOutcome, *, verbose: bool = True) -> None:
    if output.json:
        output.data(outcome.to_json())
        return
    output.report(result_line(outcome))
    show_problems(output, outcome)
    if outcome.plan:
        output.report("  plan:")
        for step in outcome.plan:
            output.report(f"    - {step}")
    elif verbose and (outcome.removed or outcome.kept):
        show_findings(output, outcome.removed, title="removed")
        show_findings(output, [f for f in outcome.kept if f.risky], title="reported, kept")
        benign = [f for f in outcome.kept if not f.risky]
        if benign:
            output.report("  kept: " + ", ".join(f.detail for f in benign))
    if verbose and not outcome.plan:
        for line in outcome.extra.get("done", []):
            output.report(f"  done: {line}")
    if outcome.held_messages:
        output.report(f"  held {outcome.held_messages} queued message(s)")
    if outcome.evidence_path:
        output.report(f"  evidence: {outcome.evidence_path}")


def show_problems(output: Output, outcome: AccountOutcome) -> None:
    """For people, on stderr: why the account failed (one line), then its warnings, each
    naming the account (in a batch, the lines of several accounts interleave)."""
    if outcome.error:
        output.error(f"{outcome.account}: {outcome.error.code}: {outcome.error.message}")
    for warning in outcome.warnings:
        output.warn(f"{outcome.account}: {warning}")


def show_findings(output: Output, findings: Sequence[Finding], *, title: str) -> None:
    if not findings:
        return
    output.report(f"  {title}:")
    if not output.stdout_interactive():
        # Pipes, files, logs and cron mail: one greppable line per item, never a wrapped cell.
        for f in findings:
            output.report(f"    - [{f.verdict}] {f.kind}: {f.detail} -- {f.reason}")
        return
    rows = [[f.verdict, f.kind, f.detail, f.reason] for f in findings]
    output.report_table(["verdict", "kind", "item", "reason"], rows)


def show_summary(output: Output, report: Report) -> None:
    """A batch's summary, its report: the results counted, then each account that did not end
    as asked with its fault code. --json has each account's line instead; the count goes to
    stderr there, for the person watching."""
    if output.json:
        output.info(report.summary_line())
        return
    output.report(f"summary: {report.summary_line()}")
    rows = [[n.account, n.result, n.code or "-", n.message] for n in report.not_done]
    if rows:
        output.report_table(["account", "result", "code", "message"], rows, keep=(0, 1, 2))
    if report.not_listed:
        output.report(f"... and {report.not_listed} more not done (each has its line above)")
