"""Batches through an unreliable network: the sandbox's own --fault-rate (faults injected before
a request is handled, so nothing applies), and a proxy that loses replies after the sandbox
applied the request. The first-run figures are printed (`pytest -s` shows them)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.reliability.harness import (
    CONTAINED,
    LOCKED_NOT_CLEANED,
    Audit,
    Run,
    Zcomp,
    assert_contained_once,
    attack_accounts,
    audit,
    incidents_by_account,
    password_changes,
    set_fault_rate,
    write_list,
)
from tests.reliability.proxy import LossyProxy
from zcomp.sandbox import Sandbox, SandboxOptions

FAULT_BATCH = 200
LOST_REPLY_BATCH = 30


def _lockdown_args(listing: Path) -> tuple[str, ...]:
    return ("--json", "lockdown", "--from", str(listing), "--yes")


def _figures(label: str, report: Audit, run: Run) -> None:
    counts = Counter(report.results.values())
    print(
        f"\n[reliability] {label}: first run contained {report.figure()}"
        f" (results {dict(sorted(counts.items()))}, exit {run.returncode})"
    )


def _check_report(zc: Zcomp, report: Audit, run: Run) -> None:
    """No account whose containment is unknown; every account locked with something planted
    left is locked-not-cleaned in the output and in the journal (run results, incident)."""
    assert not report.unknown, "accounts reported wrongly:\n" + "\n".join(report.unknown)
    runs = zc.runs()
    assert runs, "the batch run is not in the journal"
    journaled = {a.lower(): r for a, r in runs[-1].results.items()}
    incidents = incidents_by_account(zc.incidents())
    for name in report.locked_not_cleaned:
        assert journaled.get(name.lower()) == LOCKED_NOT_CLEANED, (name, journaled.get(name))
        states = [i.state for i in incidents.get(name.lower(), [])]
        assert states and "contained" not in states, (name, states)
    done = all(r in CONTAINED for r in report.results.values())
    if done:
        pending = any(r == "contained-ticket-pending" for r in report.results.values())
        assert run.returncode == (7 if pending else 0), str(run)
    else:
        assert run.returncode == 6, str(run)


def _containing_runs(runs: list[Run], name: str) -> int:
    """Runs that did contain the account (locked it), as opposed to verifying it."""
    return sum(
        1
        for run in runs
        if run.results().get(name.lower())
        in {"contained", "contained-ticket-pending", LOCKED_NOT_CLEANED}
    )


def test_fault_rate_batches_first_run_figures(tmp_path: Path) -> None:
    """fault_rate=0.1: every account contained on the first run; 0.3: at least 95% on the
    first run, the rest on the second. 200 accounts each, 4 workers."""
    with (
        Sandbox(SandboxOptions(servers=1, seed="demo")) as low,
        Sandbox(SandboxOptions(servers=1, seed="demo")) as high,
    ):
        batches = [(low, 0.1), (high, 0.3)]
        names = {sb: attack_accounts(sb, FAULT_BATCH) for sb, _ in batches}
        hosts = {
            sb: Zcomp.host(tmp_path, sb.admin_url, name=f"rate-{rate}") for sb, rate in batches
        }
        listings = {
            sb: write_list(tmp_path / f"rate-{rate}.txt", names[sb]) for sb, rate in batches
        }
        for sb, rate in batches:
            set_fault_rate(sb, rate)
        # Both batches at once: each is bound by its retry back-offs, not by the CPU.
        started = [hosts[sb].start(*_lockdown_args(listings[sb])) for sb, _ in batches]
        runs = {sb: s.wait() for (sb, _), s in zip(batches, started, strict=True)}
        for sb, _ in batches:
            set_fault_rate(sb, 0.0)
        reports = {sb: audit(sb, names[sb], runs[sb]) for sb, _ in batches}
        for sb, rate in batches:
            _figures(f"fault_rate={rate}, {FAULT_BATCH} accounts, 4 workers", reports[sb], runs[sb])

        _check_report(hosts[low], reports[low], runs[low])
        assert len(reports[low].contained) == FAULT_BATCH, reports[low].figure()
        # Faults come before the sandbox handles a request: nothing needs sending twice.
        assert_contained_once(low, names[low], [hosts[low]], max_password_changes=1)

        _check_report(hosts[high], reports[high], runs[high])
        assert len(reports[high].contained) >= 0.95 * FAULT_BATCH, reports[high].figure()
        set_fault_rate(high, 0.3)
        second = hosts[high].run(*_lockdown_args(listings[high]))
        set_fault_rate(high, 0.0)
        again = audit(high, names[high], second)
        print(f"[reliability] fault_rate=0.3: after the second run contained {again.figure()}")
        _check_report(hosts[high], again, second)
        assert len(again.contained) == FAULT_BATCH, again.figure()
        assert_contained_once(high, names[high], [hosts[high]], max_password_changes=1)


def test_lost_replies_never_leave_an_account_unknown_or_twice_scrambled(
    sb: Sandbox, tmp_path: Path
) -> None:
    names = attack_accounts(sb, LOST_REPLY_BATCH)
    listing = write_list(tmp_path / "accounts.txt", names)
    with LossyProxy(sb.urls[0], drop_rate=0.3, seed=30) as proxy:
        zc = Zcomp.host(tmp_path, proxy.admin_url)
        first = zc.run(*_lockdown_args(listing))
        lost_first = len(proxy.dropped)
        report = audit(sb, names, first)
        _figures(
            f"30% of replies lost ({lost_first} of {proxy.requests}), {LOST_REPLY_BATCH} accounts",
            report,
            first,
        )
        # Above all: nothing locked but still forwarding without saying so.
        _check_report(zc, report, first)
        proxy.reset()
        second = zc.run(*_lockdown_args(listing))
    again = audit(sb, names, second)
    print(f"[reliability] lost replies: after the second run contained {again.figure()}")
    _check_report(zc, again, second)
    assert len(again.contained) == LOST_REPLY_BATCH, again.figure()
    assert_contained_once(sb, names, [zc], max_password_changes=2)
    # A write is re-sent only when a read-back shows it did not apply: the password is set
    # once per run that contained the account, never twice in one run.
    over = {
        n: (password_changes(sb, n), _containing_runs([first, second], n))
        for n in names
        if password_changes(sb, n) > max(1, _containing_runs([first, second], n))
    }
    once = sum(1 for n in names if password_changes(sb, n) == 1)
    print(f"[reliability] lost replies: password set exactly once for {once}/{len(names)}")
    assert not over, f"password changes (made, runs that contained) {over}"
