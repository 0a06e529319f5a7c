"""zcomp watch: the MTA queues (and followed logs) polled live; alerts through the help desk."""

from __future__ import annotations

import dataclasses
import sys
import threading
from typing import TYPE_CHECKING

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import FiniteSeconds, json_option
from zcomp.cli.runtime import Runtime
from zcomp.cli.stopping import stop_between_steps
from zcomp.exitcodes import ExitCode

if TYPE_CHECKING:
    from zcomp.core.watch import PollReport
    from zcomp.output import Output


@click.command()
@click.option(
    "--interval",
    type=FiniteSeconds(),
    default=None,
    metavar="SECONDS",
    help="Seconds between two looks at the queues (default: [watch] poll_interval_s, 60).",
)
@click.option("--once", is_flag=True, help="Look once, report, exit (for cron or a check).")
@click.option(
    "--auto-lockdown",
    is_flag=True,
    help="Lock accounts above [watch] lockdown_score (off by default: verify first).",
)
@click.option("--mailbox-log", "mailbox_logs", multiple=True, metavar="FILE", help="Follow.")
@click.option("--audit-log", "audit_logs", multiple=True, metavar="FILE", help="Follow.")
@click.option("--mta-log", "mta_logs", multiple=True, metavar="FILE", help="Follow zimbra.log.")
@click.option(
    "--nginx-log", "nginx_logs", multiple=True, metavar="FILE", help="Follow nginx.access.log."
)
@json_option
@pass_app
def watch(
    app: AppContext,
    interval: float | None,
    once: bool,
    auto_lockdown: bool,
    mailbox_logs: tuple[str, ...],
    audit_logs: tuple[str, ...],
    mta_logs: tuple[str, ...],
    nginx_logs: tuple[str, ...],
) -> None:
    """Watch every MTA's mail queues over SOAP, from any admin host with no log access: senders
    with many queued or deferred messages, many recipient domains, bounces piling up. With log
    files, also follow them (surviving rotation) and score what they show. An account crossing
    [watch] alert_score gets one alert per episode through the configured ticket backend
    (restarts do not repeat it); --auto-lockdown also locks accounts above lockdown_score.
    Each look prints its suspects, alerts and lockdowns (stdout); Ctrl-C ends the watch.

    Exit status with --once: 0 nothing over the alert score, 1 something was, 5 Zimbra
    refused or could not be read."""
    from zcomp.core.watch import Watcher

    settings = app.settings.watch
    if interval is not None:
        settings = dataclasses.replace(settings, poll_interval_s=interval)
    if auto_lockdown:
        settings = dataclasses.replace(settings, auto_lockdown=True)
    logs = [
        *[("mailbox", path) for path in mailbox_logs],
        *[("audit", path) for path in audit_logs],
        *[("mta", path) for path in mta_logs],
        *[("nginx", path) for path in nginx_logs],
    ]
    sink = None
    if logs:
        from zcomp.detect.watch_sink import ScannerSink

        sink = ScannerSink(app.settings.detect, web=bool(nginx_logs))
    with Runtime(app, files_tickets=True) as runtime:
        runtime.tickets()  # a misconfigured desk stops the watch before its first look
        env = runtime.make_services()
        with Watcher(env, settings, sink=sink, logs=logs) as watcher:
            if once:
                report = watcher.poll()
                show_poll(app.output, report, json=app.json)
                sys.exit(_exit_code(report))
            stop = threading.Event()
            app.output.info(
                f"watching every {settings.poll_interval_s:g}s"
                + (" (auto-lockdown on)" if settings.auto_lockdown else "")
                + "; Ctrl-C ends it"
            )
            with stop_between_steps(stop):
                watcher.run(stop, lambda r: show_poll(app.output, r, json=app.json))
    app.output.info("watch ended")


def _exit_code(report: PollReport) -> int:
    if report.errors:
        return int(ExitCode.FAULT)
    return int(ExitCode.FAILURE) if report.suspects else int(ExitCode.OK)


def show_poll(output: Output, report: PollReport, *, json: bool) -> None:
    """One look: its suspects, alerts and lockdowns are data (stdout); trouble is stderr."""
    when = report.started.strftime("%Y-%m-%dT%H:%M:%SZ")
    for error in report.errors:
        output.error(error)
    for warning in report.warnings:
        output.warn(warning)
    alerts = {a.account: a for a in report.alerts}
    locks = {d.account: d for d in report.lockdowns}
    for act in report.suspects:
        alert, lock = alerts.get(act.address), locks.get(act.address)
        if json:
            output.data(
                {
                    "at": when,
                    "account": act.address,
                    "score": round(act.score, 2),
                    "queued": act.queued,
                    "deferred": act.deferred,
                    "bounces": act.bounces,
                    "recipient_domains": len(act.domains),
                    "reasons": act.reasons,
                    "alert": alert.key if alert else None,
                    "alert_error": alert.error if alert else None,
                    "lockdown": lock.result if lock else None,
                }
            )
            continue
        line = f"{when} {act.address}: score {act.score:.1f}: " + "; ".join(act.reasons)
        if alert is not None:
            line += f" -> alert {alert.key}"
            line += f" (not filed: {alert.error})" if alert.error else ""
        if lock is not None:
            line += f" -> lockdown {lock.result}" + (f" ({lock.error})" if lock.error else "")
        output.report(line)
    for skip in report.skipped:
        output.info(f"{skip.account}: {skip.why}")
    output.info(
        f"{when}: {report.messages_seen} queued message(s) on {len(report.mtas)} MTA(s), "
        f"{len(report.suspects)} over the alert score, {report.active_episodes} episode(s) open"
        + (f", {report.log_lines} log line(s)" if report.log_lines else "")
    )
