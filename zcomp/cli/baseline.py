"""zcomp baseline capture|show: known-good settings lockdown restores from."""

from __future__ import annotations

import sys

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import accounts_options, clean_account_argument, json_option
from zcomp.cli.runtime import Runtime
from zcomp.exitcodes import ExitCode, UsageError


@click.group()
def baseline() -> None:
    """Record or show known-good signatures, identities, forwarding and filter scripts."""


@baseline.command()
@accounts_options(required=False)
@click.option("--all", "everything", is_flag=True, help="Every account of the directory.")
@click.option(
    "--accept-risky",
    is_flag=True,
    help="Named accounts only: record settings lockdown would remove (you vouch they are the "
    "owner's own, e.g. a redirect to a personal address), so lockdown keeps exactly those.",
)
@json_option
@pass_app
def capture(app: AppContext, accounts: list[str], everything: bool, accept_risky: bool) -> None:
    """Record the current settings of ACCOUNT... (with their full signature, identity and
    filter-rule lists) or of --all accounts (directory attributes, in pages of 500). Accounts
    with an open incident, or with settings lockdown would remove, are skipped and listed
    (--accept-risky records the latter for named accounts).

    Exit status: 1 when an account failed, or a named account was skipped."""
    from zcomp.core.baseline import capture_accounts, capture_all

    if everything == bool(accounts):
        raise UsageError("name accounts (or --from FILE), or use --all; not both")
    if everything and accept_risky:
        raise UsageError("--accept-risky vouches for named accounts only, not --all")
    with Runtime(app, notes=False) as runtime:
        env = runtime.make_services()
        report = (
            capture_all(env)
            if everything
            else capture_accounts(env, accounts, accept_risky=accept_risky)
        )
    out = app.output
    if app.json:
        out.data(report.to_json())
    else:
        out.success(
            f"baseline recorded for {report.captured} account(s) in {report.seconds:.1f}s "
            f"({report.round_trips} round trip(s), {report.rate:.0f} accounts/s)"
        )
        for item in report.skipped:
            out.warn(f"skipped {item['account']}: {item['reason']}")
        for item in report.vouched:
            out.warn(f"recorded as you asked (--accept-risky) {item['account']}: {item['reason']}")
        for item in report.failed:
            out.error(f"{item['account']}: {item['reason']}")
    # A named account left unrecorded is a request not done (`capture alice && ...` must not
    # go on); --all skips contained and risky accounts by design, and lists them.
    not_done = report.failed or (accounts and report.skipped)
    sys.exit(int(ExitCode.FAILURE if not_done else ExitCode.OK))


@baseline.command()
@click.argument("account", callback=clean_account_argument)
@json_option
@pass_app
def show(app: AppContext, account: str) -> None:
    """Print the newest baseline of ACCOUNT."""
    from zcomp.core.baseline import latest_baseline

    with Runtime(app, notes=False) as runtime:
        shown = latest_baseline(runtime.make_services(), account)
    out = app.output
    if shown is None:
        out.error(f"no baseline recorded for {account}: run `zcomp baseline capture {account}`")
        sys.exit(int(ExitCode.FAILURE))
    if app.json:
        out.data(
            {"account": shown.account, "captured_at": shown.captured_at, "baseline": shown.data}
        )
        return
    # The baseline is the command's report: stdout.
    out.report(f"{shown.account}: baseline of {shown.captured_at}")
    attrs = shown.data.get("attrs", {})
    out.report_table(["attribute", "value"], [[k, "; ".join(v)] for k, v in sorted(attrs.items())])
    for sig in shown.data.get("signatures") or []:
        text = " | ".join(f"{k}: {v}" for k, v in sorted(sig.get("contents", {}).items()))
        out.report(f"  signature {sig.get('name')!r} ({sig.get('id')}): {text}")
    for ident in shown.data.get("identities") or []:
        out.report(f"  identity {ident.get('name')!r} ({ident.get('id')})")
