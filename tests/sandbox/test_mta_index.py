"""A queue's scan index shares the live message objects until act() changes one: what a
GetMailQueue shows must still be the queue as it was at the scan, and derived terms must
follow every change to a message."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

from zcomp.sandbox.element import NS_ADMIN, El
from zcomp.sandbox.handlers_queue import get_mail_queue
from zcomp.sandbox.mta import Mta, QueuedMessage

REASON = "Host mx.example said: 421 Try again later"


def _mta(n: int = 3) -> Mta:
    mta = Mta("mta.test", 0)
    for i in range(n):
        mta.enqueue(
            QueuedMessage(
                id=mta.new_id(),
                sender=f"u{i}@sandbox.test",
                recipients=[f"t{i}@x.test", "spam@y.test"],
                arrival=1_700_000_000 + i,
                size=100,
                message_id=f"<{i}@x>",
                reason=REASON,
            )
        )
    return mta


def _view(mta: Mta, queue: str, *, scan: bool) -> El:
    server = SimpleNamespace(name="mta.test", mta=mta)
    world = SimpleNamespace(server_by_name=lambda name: server if name == "mta.test" else None)
    rc: Any = SimpleNamespace(world=world, now_ms=lambda: 1_700_000_000_000)
    req = El("GetMailQueueRequest", NS_ADMIN)
    q = req.add("server", {"name": "mta.test"}).add(
        "queue", {"name": queue, "scan": "1" if scan else "0"}
    )
    q.add("query", {"limit": "10"})
    resp = get_mail_queue(rc, req)
    return resp.children[0].children[0]


def _kinds(q: El) -> dict[str, list[tuple[str, str]]]:
    return {
        qs.attrs["type"]: [(i.attrs["t"], i.attrs["n"]) for i in qs.children] for qs in q.all("qs")
    }


def test_a_scan_keeps_showing_a_message_as_it_was_after_act_changes_it() -> None:
    mta = _mta()
    first = mta.messages()[0]
    before = _view(mta, "deferred", scan=True)
    assert mta.act("hold", [first.id], "") == 1  # straight on the Mta: no unindex
    assert first.queue == "hold"  # the live message changes in place, as before
    after = _view(mta, "deferred", scan=False)
    assert [i.attrs for i in after.all("qi")] == [i.attrs for i in before.all("qi")]
    assert _kinds(after) == _kinds(before)
    indexed, _ = mta.indexed("deferred")
    assert {m.queue for m in indexed} == {"deferred"}
    assert mta.get(first.id) is first


def test_terms_follow_a_message_that_moved_or_changed() -> None:
    mta = _mta(2)
    _view(mta, "deferred", scan=True)
    assert _kinds(_view(mta, "deferred", scan=True))["reason"] == [(REASON.lower(), "2")]
    ids = [m.id for m in mta.messages()]
    mta.act("hold", ids, "deferred")
    held = _kinds(_view(mta, "hold", scan=True))
    assert "reason" not in held  # zmqstat prints a reason for deferred mail only
    mta.act("release", ids, "hold")
    m = mta.messages()[0]
    m.recipients = ["other@z.test"]  # a new list: the terms are made again
    got = _kinds(_view(mta, "deferred", scan=True))
    assert got["reason"] == [(REASON.lower(), "2")]
    assert ("other@z.test", "1") in got["to"]
    assert ("t0@x.test", "1") not in got["to"]


def test_a_copy_does_not_share_derived_terms() -> None:
    mta = _mta(1)
    _view(mta, "deferred", scan=True)
    m = mta.messages()[0]
    assert m.derived
    copy = dataclasses.replace(m, queue="hold")
    assert copy.derived == {}
    assert copy == dataclasses.replace(m, queue="hold")
