"""zcomp scan: rank suspect accounts from Zimbra's own logs, with the lines that say why."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import json_option, yes_option
from zcomp.exitcodes import ExitCode, UsageError

if TYPE_CHECKING:
    from zcomp.detect.model import ScanResult, Suspect
    from zcomp.output import Output

EVIDENCE_SHOWN = 2  # lines per signal in the table (all of them in --json)
EVIDENCE_WIDTH = 200  # characters of an evidence line in the table (whole in --json)


class _When(click.ParamType):  # type: ignore[type-arg]  # generic from Click 8.5 only
    """A moment in log time: 2024-03-15, 2024-03-15T03:00, "2024-03-15 03:00:00"."""

    name = "TIME"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a date or time (2024-03-15, 2024-03-15T03:00)", param, ctx)


@click.command()
@click.option("--mailbox-log", "mailbox", multiple=True, metavar="FILE", help="mailbox.log.")
@click.option("--audit-log", "audit", multiple=True, metavar="FILE", help="audit.log.")
@click.option("--mta-log", "mta", multiple=True, metavar="FILE", help="zimbra.log (postfix).")
@click.option("--nginx-log", "nginx", multiple=True, metavar="FILE", help="nginx.access.log.")
@click.option("--since", type=_When(), help="Only lines from this moment on (log time).")
@click.option("--until", type=_When(), help="Only lines before this moment (log time).")
@click.option(
    "--year", type=click.IntRange(1990, 2999), help="Year of zimbra.log lines (they have none)."
)
@click.option(
    "--phish-list",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Known phishing reply-to addresses: one per line, or address,type,date lines.",
)
@json_option
@click.option(
    "--lockdown",
    "then_lockdown",
    is_flag=True,
    help="Then lock the suspects down (after typed confirmation, or --yes).",
)
@yes_option
@pass_app
def scan(
    app: AppContext,
    mailbox: tuple[str, ...],
    audit: tuple[str, ...],
    mta: tuple[str, ...],
    nginx: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    year: int | None,
    phish_list: Path | None,
    then_lockdown: bool,
    yes: bool,
) -> None:
    """Find phished accounts in Zimbra's own logs before the complaints do: big envelopes
    (more so from the Standard web client), recipients per minute and per hour, settings
    changed after a login from a new address, logins from many addresses, brute force,
    SMTP-AUTH first hops, replies to known phishing addresses, night-time bursts.

    Each FILE may be plain or .gz, a rotated set (several files, a directory or a glob; read
    oldest first), or - for standard input (`ssh mailhost cat /opt/zimbra/log/mailbox.log |
    zcomp scan --mailbox-log -`). A damaged file is one warning; the rest is scanned.

    The ranked suspects are the report (stdout), each with its evidence lines; --json is one
    object per suspect, which `zcomp lockdown --from -` takes as it is. Thresholds: [detect]
    in the config. Exit status: 0 no suspect, 1 suspects found, 2 bad usage."""
    from zcomp.detect.model import ScanInputs
    from zcomp.detect.phishlist import load_phish_list
    from zcomp.detect.scanning import scan as run_scan

    if not (mailbox or audit or mta or nginx):
        raise UsageError(
            "give at least one log: --mailbox-log, --audit-log, --mta-log, --nginx-log"
        )
    piped = sum(paths.count("-") for paths in (mailbox, audit, mta, nginx))
    if piped > 1:
        raise UsageError("standard input (-) can be only one of the logs")
    if then_lockdown and piped and not yes:
        # The typed confirmation would be read from the log itself.
        raise UsageError("--lockdown reading a log from standard input needs --yes")
    if since is not None and until is not None:
        from zcomp.detect.clock import from_datetime

        if from_datetime(since) >= from_datetime(until):
            # Every line would be cut: "0 suspects" would read as an all-clear.
            raise UsageError(
                f"--since {since.isoformat()} is not before --until {until.isoformat()}: "
                "no line could be scanned"
            )
    settings = app.settings.detect
    if phish_list is not None:
        try:
            addresses = load_phish_list(phish_list)
        except OSError as exc:
            raise UsageError(f"cannot read --phish-list {phish_list}: {exc.strerror}") from None
        settings = dataclasses.replace(settings, phish_list=settings.phish_list | addresses)
    inputs = ScanInputs(mailbox=mailbox, audit=audit, mta=mta, nginx=nginx, year=year)
    result = run_scan(inputs, settings, since=since, until=until)
    if not any(kind.files for kind in result.stats.kinds.values()):
        # Every log named was missing or unreadable (the warnings say which): exit 0, "no
        # suspect", would tell a cron job all is well.
        why = "; ".join(str(warning) for warning in result.warnings)
        raise UsageError(f"nothing was scanned: {why or 'no log could be read'}")
    show_scan(app.output, result, json=app.json)
    if not result.suspects:
        sys.exit(int(ExitCode.OK))
    if not then_lockdown:
        sys.exit(int(ExitCode.FAILURE))
    _lockdown(app, [s.account for s in result.suspects], yes)


def _lockdown(app: AppContext, accounts: list[str], yes: bool) -> None:
    """The batch lockdown of the suspects, confirmed by typing their number (always, however
    few: a scan's verdict is a guess until an admin has looked)."""
    from zcomp.cli.confirm import confirm_batch
    from zcomp.cli.playbook import run_playbook
    from zcomp.cli.render import show_outcome
    from zcomp.core.lockdown import LockdownOptions, lockdown_account
    from zcomp.core.stop import StopRequest

    confirm_batch("lock down", len(accounts), 0, yes)
    options = LockdownOptions(reason="zcomp scan: suspect in Zimbra's logs")
    report = run_playbook(
        app,
        accounts,
        lambda env, name: lockdown_account(env, name, options),
        verb="lockdown",
        stop=StopRequest(),
        journaled=True,
        files_tickets=True,
        render=lambda outcome: show_outcome(app.output, outcome, verbose=len(accounts) == 1),
    )
    sys.exit(int(report.exit_code))


def show_scan(output: Output, result: ScanResult, *, json: bool) -> None:
    for warning in result.warnings:
        output.warn(str(warning))
    for rank, suspect in enumerate(result.suspects, 1):
        if json:
            output.data(_as_json(rank, suspect))
            continue
        rules = ", ".join(sorted(suspect.rules()))
        output.report(f"{rank:>3}  {suspect.account}  score {suspect.score:g}  ({rules})")
        for signal in suspect.signals:
            output.report(f"       {signal.rule} {signal.weight:g}: {signal.reason}")
            for ev in signal.evidence[:EVIDENCE_SHOWN]:
                text = ev.text if len(ev.text) <= EVIDENCE_WIDTH else ev.text[:EVIDENCE_WIDTH] + "…"
                output.report(f"         {ev.file}:{ev.line}: {text}")
    stats = result.stats
    read = ", ".join(
        f"{kind.value} {s.lines:,} lines ({s.bytes / 1e6:,.1f} MB)"
        for kind, s in stats.kinds.items()
        if s.files
    )
    output.info(
        f"scanned {read or 'nothing'} in {stats.seconds:.1f}s: "
        f"{len(result.suspects)} suspect account(s)"
    )


def _as_json(rank: int, suspect: Suspect) -> dict[str, object]:
    return {
        "account": suspect.account,
        "rank": rank,
        "score": suspect.score,
        "signals": [
            {
                "rule": s.rule,
                "weight": s.weight,
                "reason": s.reason,
                "evidence": [{"file": e.file, "line": e.line, "text": e.text} for e in s.evidence],
            }
            for s in suspect.signals
        ],
    }
