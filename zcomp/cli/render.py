"""How playbook outcomes look: one JSON line each with --json, tables on stderr otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from zcomp.core.findings import Finding
from zcomp.core.outcome import AccountOutcome
from zcomp.output import Output


def show_outcome(output: Output, outcome: AccountOutcome, *, verbose: bool = True) -> None:
    if output.json:
        output.data(outcome.to_json())
        return
    head = f"{outcome.account}: {outcome.result}"
    if outcome.incident is not None:
        head += f" (incident {outcome.incident}"
        if outcome.ticket:
            head += f", ticket {outcome.ticket['backend']} {outcome.ticket['id']}"
        head += ")"
    if outcome.ok:
        output.success(head)
    elif outcome.error:
        # One line: what happened to the account and why.
        output.error(f"{head}: {outcome.error.code}: {outcome.error.message}")
    else:
        output.error(head)
    for warning in outcome.warnings:
        output.warn(f"  {warning}")
    if outcome.plan:
        output.info("  plan:")
        for step in outcome.plan:
            output.info(f"    - {step}")
    elif verbose and (outcome.removed or outcome.kept):
        show_findings(output, outcome.removed, title="removed")
        risky_kept = [f for f in outcome.kept if f.risky]
        if risky_kept:
            show_findings(output, risky_kept, title="reported, kept")
        benign = [f for f in outcome.kept if not f.risky]
        if benign:
            output.info("  kept: " + ", ".join(f.detail for f in benign))
    if verbose and not outcome.plan:
        for line in outcome.extra.get("done", []):
            output.info(f"  done: {line}")
    if outcome.held:
        output.info(f"  held {outcome.held} queued message(s)")
    if outcome.evidence_path:
        output.info(f"  evidence: {outcome.evidence_path}")


def show_findings(output: Output, findings: Sequence[Finding], *, title: str) -> None:
    if not findings:
        return
    if not output.interactive():
        # Cron mail and log files: one greppable line per item, never a wrapped table cell.
        output.info(f"  {title}:")
        for f in findings:
            output.info(f"    - [{f.verdict}] {f.kind}: {f.detail} -- {f.reason}")
        return
    rows = [[f.verdict, f.kind, f.detail, f.reason] for f in findings]
    output.table(["verdict", "kind", "item", "reason"], rows, title=title)


def summary_line(outcomes: Sequence[AccountOutcome]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
    return ", ".join(f"{n} {result}" for result, n in sorted(counts.items()))
