"""Unlock releases or deletes exactly the mail lockdown held: its senders, on its MTAs."""

from __future__ import annotations

import time
from typing import Any

from zcomp.core.services import Services
from zcomp.core.unlock import UnlockOptions, unlock_account
from zcomp.sandbox import Sandbox
from zcomp.sandbox.mta import QueuedMessage
from zcomp.zimbra.model import Secret

ALICE = "alice@sandbox.test"
ALIAS = "a.smith@sandbox.test"  # alice's alias in the demo directory
BOB = "bob@sandbox.test"


def _hold(sb: Sandbox, sender: str) -> str:
    mta = sb.mta()
    msg = QueuedMessage(
        id=mta.new_id(),
        sender=sender,
        recipients=["someone@example.org"],
        arrival=time.time(),
        size=1200,
        message_id=f"<{sender}.{mta.new_id()}@sandbox.test>",
        queue="hold",
    )
    return mta.enqueue(msg).id


def _contained(sb: Sandbox, services: Services, after: dict[str, Any]) -> int:
    """An incident whose lockdown held mail as `after` says (status locked, as lockdown
    leaves it), without depending on which senders today's lockdown journals."""
    entry = sb.account(ALICE)
    entry.attrs["zimbraAccountStatus"] = ["locked"]
    incident = services.journal.start_incident(entry.id, ALICE, reason="test", operator="test")
    services.journal.set_incident_state(incident.id, "contained")
    services.journal.record_action(
        incident.id,
        step="contain",
        kind="mail-queue-hold",
        target=ALICE,
        before=None,
        after=after,
        status="done",
    )
    return incident.id


def _unlock(services: Services) -> Any:
    options = UnlockOptions(new_password=lambda _a: Secret("Temp-Held-Mail-3#"), held_mail="delete")
    return unlock_account(services, ALICE, options)


def test_deletes_mail_from_every_journaled_sender_and_nothing_else(
    sandbox: Sandbox, no_wait: Services
) -> None:
    mta = sandbox.mta().server_name
    incident = _contained(sandbox, no_wait, {"held": 2, "mtas": [mta], "senders": [ALICE, ALIAS]})
    ours = {_hold(sandbox, ALICE), _hold(sandbox, ALIAS)}
    other = _hold(sandbox, BOB)  # held by someone else, for another reason
    sandbox.stats.reset()

    outcome = _unlock(no_wait)

    assert outcome.result == "unlocked", outcome.error
    left = {m.id for m in sandbox.mta().messages("hold")}
    assert left == {other} and not ours & left
    assert sandbox.stats.total("MailQueueActionRequest") == 1  # one per MTA, every sender
    assert outcome.held_messages == 2
    assert outcome.extra["held_senders"] == [ALICE, ALIAS]
    deleted = [a for a in no_wait.journal.actions(incident) if a.kind == "mail-queue-delete"]
    assert len(deleted) == 1
    assert deleted[0].before == {"held": 2}
    assert deleted[0].after == {"mtas": [mta], "senders": [ALICE, ALIAS]}
    assert any("deleted 2 held message(s)" in line for line in outcome.extra["done"])


def test_older_incidents_without_senders_fall_back_to_the_account_name(
    sandbox: Sandbox, no_wait: Services
) -> None:
    _contained(sandbox, no_wait, {"held": 1, "mtas": [sandbox.mta().server_name]})
    _hold(sandbox, ALICE)
    alias = _hold(sandbox, ALIAS)

    outcome = _unlock(no_wait)

    assert outcome.result == "unlocked", outcome.error
    assert {m.id for m in sandbox.mta().messages("hold")} == {alias}
    assert outcome.held_messages == 1


def test_nothing_held_by_lockdown_means_no_queue_action(
    sandbox: Sandbox, no_wait: Services
) -> None:
    entry = sandbox.account(ALICE)
    entry.attrs["zimbraAccountStatus"] = ["locked"]
    no_wait.journal.start_incident(entry.id, ALICE, reason="test", operator="test")
    mine = _hold(sandbox, ALICE)  # not held by zcomp: not zcomp's to delete
    sandbox.stats.reset()

    outcome = _unlock(no_wait)

    assert outcome.result == "unlocked", outcome.error
    assert {m.id for m in sandbox.mta().messages("hold")} == {mine}
    assert sandbox.stats.total("MailQueueActionRequest") == 0
