"""`zcomp guard review` against the sandbox: list, release, delete, journaled; the reason
comes from Zimbra only when Zimbra reports one (never for the hold queue), else from the
guard's journal."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.reliability.proxy import AFTER, Exchange, LossyProxy, Verdict
from tests.watch.helpers import ALICE, BOB
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox
from zcomp.sandbox.mta import QueuedMessage

ADMIN = "admin@sandbox.test"


def _hold(sb: Sandbox, sender: str, recipients: int, **extra: str) -> str:
    box = sb.mta(0)
    msg = QueuedMessage(
        id=box.new_id(),
        sender=sender,
        recipients=[f"r{i}@example.net" for i in range(recipients)],
        arrival=sb.clock.now(),
        size=4096,
        message_id=f"<{time.monotonic_ns()}@sandbox.test>",
        reason="what Postfix's defer log said before",
        queue="hold",
    )
    return box.enqueue(msg).id


def _review(invoke: Callable[..., Result], sb: Sandbox, *args: str) -> Result:
    root = ["--url", sb.admin_url, "--admin", ADMIN]
    return invoke(*root, "guard", "review", *args, env={"ZCOMP_PASSWORD": "sandbox"})


def _record(state_dir: Path, sb: Sandbox, qid: str, sender: str, reason: str) -> None:
    with Journal.open(state_dir) as journal:
        journal.record_guard_event(
            "hold",
            server=sb.mta(0).server_name,
            queue_id=qid,
            sender=sender,
            rule="bulk",
            reason=reason,
        )


def test_review_lists_held_mail_with_the_reason_only_the_guard_knows(
    sandbox: Sandbox, invoke: Callable[..., Result], state_dir: Path
) -> None:
    known = _hold(sandbox, ALICE, 60)
    unknown = _hold(sandbox, BOB, 2)
    _record(state_dir, sandbox, known, ALICE, "60 recipients from the standard client")
    result = _review(invoke, sandbox, "--json")
    assert result.exit_code == 0, result.stderr
    rows = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows[known]["reason"] == "60 recipients from the standard client"
    assert rows[known]["reason_from"] == "guard journal" and rows[known]["rule"] == "bulk"
    assert rows[known]["recipients"] == 60 and rows[known]["sender"] == ALICE
    # Zimbra reports no reason for the hold queue (zmqstat reads reasons for deferred only).
    assert rows[unknown]["reason"] is None and rows[unknown]["reason_from"] is None
    assert "2 message(s) on hold on 1 MTA(s)" in result.stderr

    text = _review(invoke, sandbox, "--sender", BOB)
    assert text.exit_code == 0
    assert text.stdout.strip().endswith(f"{unknown} {BOB} 2 rcpt: reason not reported by Zimbra")


def test_release_by_id_and_delete_by_sender_are_journaled(
    sandbox: Sandbox, invoke: Callable[..., Result], state_dir: Path
) -> None:
    a1, a2 = _hold(sandbox, ALICE, 60), _hold(sandbox, ALICE, 70)
    b1 = _hold(sandbox, BOB, 3)
    released = _review(invoke, sandbox, "--id", b1, "--release")
    assert released.exit_code == 0, released.stderr
    assert f"{b1} {BOB}" in released.stdout and "-> released" in released.stdout
    box = sandbox.mta(0)
    assert box.get(b1) is not None and box.get(b1).queue == "deferred"  # type: ignore[union-attr]

    dry = _review(invoke, sandbox, "--sender", ALICE, "--delete", "--dry-run")
    assert dry.exit_code == 0 and dry.stdout.count("would delete") == 2
    assert box.get(a1) is not None

    deleted = _review(invoke, sandbox, "--sender", ALICE, "--delete", "--json")
    assert deleted.exit_code == 0, deleted.stderr
    assert {json.loads(r)["result"] for r in deleted.stdout.splitlines()} == {"deleted"}
    assert box.get(a1) is None and box.get(a2) is None

    with Journal.open(state_dir) as journal:
        events = journal.guard_events()
    # Each message journaled as planned before anything was sent, then with its verdict,
    # taken from reading the hold queue back.
    order = [a1, a2]
    assert [(e.kind, e.queue_id) for e in reversed(events)] == [
        ("release-planned", b1),
        ("release", b1),
        *sorted([("delete-planned", a1), ("delete-planned", a2)], key=lambda e: order.index(e[1])),
        *sorted([("delete", a1), ("delete", a2)], key=lambda e: order.index(e[1])),
    ]
    assert all(e.operator.endswith(f"as {ADMIN}") for e in events)


def test_acting_on_everything_needs_all(sandbox: Sandbox, invoke: Callable[..., Result]) -> None:
    _hold(sandbox, ALICE, 60)
    refused = _review(invoke, sandbox, "--delete")
    assert refused.exit_code == 2
    assert "--delete needs --sender, --id or --all" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = _review(invoke, sandbox, "--delete", "--all")
    assert done.exit_code == 0 and "1 message(s) deleted" in done.stderr


def test_an_unknown_id_is_said_and_nothing_is_done(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    result = _review(invoke, sandbox, "--id", "DEADBEEF00", "--release")
    assert result.exit_code == 0
    assert "DEADBEEF00: not on hold" in result.stderr and result.stdout == ""


def test_a_release_whose_reply_is_lost_is_read_back_not_sent_again(
    sandbox: Sandbox, invoke: Callable[..., Result], state_dir: Path
) -> None:
    # The MTA released the message, the reply never came: the hold queue read back says it is
    # done, and MailQueueAction is not sent a second time.
    qid = _hold(sandbox, BOB, 3)
    lost: list[int] = []

    def drop_first_action(exchange: Exchange, at: str) -> Verdict | None:
        if at == AFTER and not lost and exchange.has("MailQueueActionRequest"):
            lost.append(exchange.n)
            return Verdict.DROP
        return None

    with LossyProxy(sandbox.urls[0]) as proxy:
        proxy.hooks.append(drop_first_action)
        root = ["--url", proxy.admin_url, "--admin", ADMIN]
        result = invoke(
            *root, "guard", "review", "--id", qid, "--release", env={"ZCOMP_PASSWORD": "sandbox"}
        )
        sent = sum(e.has("MailQueueActionRequest") for e in proxy.exchanges)
    assert lost and result.exit_code == 0, result.stderr
    assert sent == 1
    assert sandbox.mta(0).get(qid).queue == "deferred"  # type: ignore[union-attr]
    with Journal.open(state_dir) as journal:
        kinds = [e.kind for e in reversed(journal.guard_events())]
    assert kinds == ["release-planned", "release"]
