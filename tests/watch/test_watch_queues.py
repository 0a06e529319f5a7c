"""`zcomp watch` against sandbox queues filling up: one alert per account per episode."""

from __future__ import annotations

from pathlib import Path

from tests.watch.conftest import MakeWatcher
from tests.watch.helpers import (
    ALICE,
    BOB,
    FakeClock,
    bounce_flood,
    drain,
    flood,
    watch_tickets,
)
from zcomp.sandbox import Sandbox, replay_attack


def test_a_filling_queue_raises_one_alert(
    sandbox: Sandbox, make_watcher: MakeWatcher, state_dir: Path
) -> None:
    ids = flood(sandbox, ALICE, 60, domains=30)
    watcher = make_watcher()

    report = watcher.poll()

    assert report.ok, report.errors
    assert report.mtas == sandbox.server_names
    assert report.queues_read == 4
    assert [a.account for a in report.alerts] == [ALICE]
    alert = report.alerts[0]
    assert alert.ticket is not None and alert.error is None
    assert alert.key.startswith("WATCH-")
    (ticket,) = watch_tickets(state_dir)
    text = ticket.read_text()
    assert ALICE in text
    assert "60 messages queued (threshold 50)" in text
    assert "30 recipient domains (threshold 20)" in text
    assert "60 deferred (threshold 25)" in text
    assert ids[0] in text  # a queued message id as evidence
    assert f"zcomp lockdown {ALICE}" in text
    suspect = report.suspects[0]
    assert suspect.address == ALICE and suspect.queued == 60 and suspect.score == 2.4
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "active"  # alert only


def test_a_second_poll_and_a_restart_raise_no_second_alert(
    sandbox: Sandbox, make_watcher: MakeWatcher, state_dir: Path, clock: FakeClock
) -> None:
    flood(sandbox, ALICE, 60)
    first = make_watcher()
    assert len(first.poll().alerts) == 1

    flood(sandbox, ALICE, 40)  # still going
    clock.advance(60)
    again = first.poll()
    assert again.alerts == [] and again.suspects[0].queued == 100
    first.close()

    clock.advance(60)
    restarted = make_watcher()  # a new process on the same state dir
    report = restarted.poll()
    assert report.ok, report.errors
    assert report.alerts == []
    assert report.active_episodes == 1
    assert len(watch_tickets(state_dir)) == 1


def test_a_new_episode_after_the_quiet_period_raises_a_new_alert(
    sandbox: Sandbox, make_watcher: MakeWatcher, state_dir: Path, clock: FakeClock
) -> None:
    watcher = make_watcher(quiet_period_s=3600)
    flood(sandbox, ALICE, 60)
    assert len(watcher.poll().alerts) == 1

    drain(sandbox, ALICE)
    clock.advance(60)
    assert watcher.poll().episodes_ended == []  # the quiet period starts
    clock.advance(1800)
    watcher.poll()
    flood(sandbox, ALICE, 60)  # back before the quiet period is over: the same episode
    clock.advance(60)
    assert watcher.poll().alerts == []

    drain(sandbox, ALICE)
    clock.advance(60)
    watcher.poll()
    clock.advance(3600)
    ended = watcher.poll()
    assert ended.episodes_ended == [ALICE]
    assert ended.active_episodes == 0

    flood(sandbox, ALICE, 60)
    clock.advance(60)
    report = watcher.poll()
    assert [a.account for a in report.alerts] == [ALICE]
    tickets = watch_tickets(state_dir)
    assert len(tickets) == 2  # a new episode, a new key


def test_quiet_time_does_not_run_while_the_watch_is_stopped(
    sandbox: Sandbox, make_watcher: MakeWatcher, clock: FakeClock
) -> None:
    watcher = make_watcher(quiet_period_s=3600)
    flood(sandbox, ALICE, 60)
    watcher.poll()
    drain(sandbox, ALICE)
    clock.advance(60)
    watcher.poll()  # under since now
    watcher.close()

    clock.advance(2 * 3600)  # nobody was looking
    restarted = make_watcher(quiet_period_s=3600)
    assert restarted.poll().episodes_ended == []
    flood(sandbox, ALICE, 60)
    clock.advance(60)
    assert restarted.poll().alerts == []  # still the same episode


def test_senders_under_every_threshold_are_not_alerted(
    sandbox: Sandbox, make_watcher: MakeWatcher, state_dir: Path
) -> None:
    flood(sandbox, ALICE, 20, domains=10)
    report = make_watcher().poll()
    assert report.ok and report.alerts == [] and report.suspects == []
    assert watch_tickets(state_dir) == []


def test_allowed_senders_are_never_alerted(
    sandbox: Sandbox, make_watcher: MakeWatcher, state_dir: Path
) -> None:
    flood(sandbox, ALICE, 80)
    flood(sandbox, BOB, 80)
    first = make_watcher(allow=(ALICE.upper(),))
    report = first.poll()
    assert [a.account for a in report.alerts] == [BOB]
    assert [s.account for s in report.skipped] == [ALICE]
    first.close()

    (state_dir / "watch-state.json").unlink()  # forget bob's alert: only the allow list decides
    report = make_watcher(allow=("@sandbox.test",)).poll()
    assert report.alerts == [] and len(report.skipped) == 2


def test_mail_sent_under_an_alias_counts_for_the_account(
    sandbox: Sandbox, make_watcher: MakeWatcher
) -> None:
    flood(sandbox, "a.smith@sandbox.test", 40, domains=10)
    flood(sandbox, ALICE, 40, domains=10)
    flood(sandbox, "a.smith@sandbox.test", 20, domains=10, queue="active")
    report = make_watcher(queued_messages=50, recipient_domains=0, deferred_messages=0).poll()
    assert [a.account for a in report.alerts] == [ALICE]
    (suspect,) = report.suspects
    assert suspect.address == ALICE
    assert suspect.queued == 100 and suspect.aliases == {"a.smith@sandbox.test"}


def test_outside_senders_and_unknown_local_senders_are_not_alerted(
    sandbox: Sandbox, make_watcher: MakeWatcher
) -> None:
    flood(sandbox, "newsletter@bulk.example", 200)
    flood(sandbox, "nobody@sandbox.test", 200)
    report = make_watcher().poll()
    assert report.ok, report.errors
    assert report.alerts == []
    assert [(s.account, s.why) for s in report.skipped] == [
        ("nobody@sandbox.test", "not an account (a list, or forged)")
    ]


def test_bounces_piling_up_for_an_account_raise_an_alert(
    sandbox: Sandbox, make_watcher: MakeWatcher
) -> None:
    bounce_flood(sandbox, BOB, 30)
    report = make_watcher().poll()
    assert [a.account for a in report.alerts] == [BOB]
    assert report.suspects[0].reasons == ["30 bounces queued to it (threshold 20)"]


def test_a_replayed_attack_is_seen_in_the_queue(
    sandbox: Sandbox, make_watcher: MakeWatcher, state_dir: Path
) -> None:
    """The real attack path: SendMsg with 80 Bcc over 7 domains (and a copy to itself)."""
    replay_attack(sandbox, ALICE, bcc_count=80)
    report = make_watcher(recipient_domains=5).poll()
    assert [a.account for a in report.alerts] == [ALICE]
    assert "8 recipient domains (threshold 5)" in watch_tickets(state_dir)[0].read_text()


def test_the_queue_summaries_count_the_whole_queue_not_the_page(
    sandbox: Sandbox, make_watcher: MakeWatcher
) -> None:
    """Zimbra's <qs type="from"> counts every message of the queue, not just the page listed."""
    flood(sandbox, ALICE, 120, domains=5)
    report = make_watcher(page_size=30, queued_messages=50).poll()
    assert [a.account for a in report.alerts] == [ALICE]
    assert report.suspects[0].queued == 120 and report.suspects[0].deferred == 120
