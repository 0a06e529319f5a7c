"""Auto-lockdown (off by default, only above the stricter score) and accounts zcomp already
contained (never alerted nor locked again; the mail it held is not new activity)."""

from __future__ import annotations

from pathlib import Path

from tests.watch.conftest import MakeWatcher
from tests.watch.helpers import ALICE, BOB, FakeClock, flood, lockdown_tickets, watch_tickets
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.outcome import Result
from zcomp.core.services import Services
from zcomp.sandbox import Sandbox


def status(sandbox: Sandbox, name: str) -> str | None:
    return sandbox.account(name).first("zimbraAccountStatus")


def test_auto_lockdown_is_off_by_default(
    sandbox: Sandbox, make_watcher: MakeWatcher, state_dir: Path
) -> None:
    flood(sandbox, BOB, 300, domains=80)  # score 6: far over the lockdown score
    report = make_watcher().poll()
    assert [a.account for a in report.alerts] == [BOB]
    assert report.lockdowns == []
    assert status(sandbox, BOB) == "active"
    assert "auto-lockdown is off" in watch_tickets(state_dir)[0].read_text()


def test_auto_lockdown_locks_only_above_the_stricter_score(
    sandbox: Sandbox, make_watcher: MakeWatcher, state_dir: Path, clock: FakeClock
) -> None:
    flood(sandbox, ALICE, 60, domains=30)  # score 2.4: alert only
    flood(sandbox, BOB, 200, domains=80)  # score 8: locked
    watcher = make_watcher(auto_lockdown=True, lockdown_score=3.0)

    report = watcher.poll()

    assert report.ok, report.errors
    assert [(d.account, d.result) for d in report.lockdowns] == [(BOB, str(Result.CONTAINED))]
    assert report.lockdowns[0].incident
    assert status(sandbox, BOB) == "locked" and status(sandbox, ALICE) == "active"
    # Alice gets the watch alert; Bob's notice is lockdown's own ticket, not a second one.
    assert [a.account for a in report.alerts] == [ALICE]
    assert len(watch_tickets(state_dir)) == 1
    (locked_ticket,) = lockdown_tickets(state_dir)
    assert "watch: 200 messages queued" in locked_ticket.read_text()
    assert "under the auto-lockdown score 3.0" in watch_tickets(state_dir)[0].read_text()

    clock.advance(60)
    again = watcher.poll()  # Bob's mail is held now, and he is contained
    assert again.lockdowns == [] and again.alerts == []
    assert all(s.account != BOB or "already contained" in s.why for s in again.skipped)


def test_an_account_zcomp_already_contained_is_neither_alerted_nor_locked(
    sandbox: Sandbox, services: Services, make_watcher: MakeWatcher, state_dir: Path
) -> None:
    outcome = lockdown_account(services, BOB, LockdownOptions(reason="phished"))
    assert outcome.result == Result.CONTAINED
    flood(sandbox, BOB, 200, domains=80)  # an SMTP session opened before the lockdown

    report = make_watcher(auto_lockdown=True).poll()

    assert report.alerts == [] and report.lockdowns == []
    (skip,) = report.skipped
    assert skip.account == BOB and skip.why.startswith(
        f"already contained by zcomp (incident {outcome.incident}"
    )
    assert watch_tickets(state_dir) == []


def test_an_account_locked_outside_zcomp_is_not_alerted(
    sandbox: Sandbox, make_watcher: MakeWatcher
) -> None:
    sandbox.account(BOB).attrs["zimbraAccountStatus"] = ["locked"]
    flood(sandbox, BOB, 200)
    report = make_watcher().poll()
    assert report.alerts == []
    assert [(s.account, s.why) for s in report.skipped] == [(BOB, "already locked")]


def test_mail_zcomp_held_is_not_new_activity_after_the_unlock(
    sandbox: Sandbox, services: Services, make_watcher: MakeWatcher, clock: FakeClock
) -> None:
    flood(sandbox, BOB, 200, domains=80)
    outcome = lockdown_account(services, BOB, LockdownOptions(reason="phished"))
    assert outcome.result == Result.CONTAINED
    assert len(sandbox.mta(0).messages("hold")) == 200
    # Handed back (the held mail stays on hold until an admin drops or releases it).
    incident = services.journal.open_incident(sandbox.account(BOB).id)
    assert incident is not None
    services.journal.close_incident(incident.id, how="unlocked")
    sandbox.account(BOB).attrs["zimbraAccountStatus"] = ["active"]
    sandbox.clock.advance(5)

    watcher = make_watcher()
    report = watcher.poll()
    assert report.ok, report.errors
    assert report.alerts == [] and report.suspects == []

    flood(sandbox, BOB, 60, queue="hold")  # held since, by someone else (a Postfix rule)
    clock.advance(60)
    report = watcher.poll()
    assert [a.account for a in report.alerts] == [BOB]
    assert report.suspects[0].on_hold == 60
