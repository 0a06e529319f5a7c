"""GetMailQueue summaries and queries against a plain restatement of what Zimbra computes.

The handler caches per-message terms and ranks with a heap; these tests pin that it answers
exactly what the straightforward computation does (counts per message, ranked by count then
term, cut at 100 per field), on queues with ties, duplicates, empty values and mixed case.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest

from zcomp.sandbox.element import NS_ADMIN, El
from zcomp.sandbox.faults import SoapFault
from zcomp.sandbox.handlers_queue import SUMMARY_CUTOFF, _search, _terms, get_mail_queue
from zcomp.sandbox.mta import Mta, QueuedMessage

KINDS = ("reason", "to", "from", "todomain", "fromdomain", "addr", "host")


def _reference_fields(m: QueuedMessage) -> dict[str, list[str]]:
    recipients = [r.lower() for r in m.recipients]
    return {
        "id": [m.id],
        "from": [m.sender.lower()],
        "fromdomain": [m.sender.lower().partition("@")[2]],
        "to": recipients,
        "todomain": sorted({r.partition("@")[2] for r in recipients}),
        "reason": [m.reason.lower()] if m.queue == "deferred" else [],  # zmqstat: deferred only
        "addr": [m.origin_ip.lower()],
        "host": [m.origin_host.lower()],
    }


def _reference_summaries(msgs: list[QueuedMessage]) -> list[tuple[str, list[tuple[str, str]]]]:
    out = []
    fields = [_reference_fields(m) for m in msgs]
    for kind in KINDS:
        counts: Counter[str] = Counter()
        for have in fields:
            counts.update(v for v in set(have[kind]) if v)
        if counts:
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            out.append((kind, [(str(n), t) for t, n in ranked[:SUMMARY_CUTOFF]]))
    return out


def _reference_matches(query: El, m: QueuedMessage) -> bool:
    have = _reference_fields(m)
    for fld in query.all("field"):
        values = [mt.get("value") for mt in fld.all("match")]
        if not any(v in have.get(fld.get("name") or "", []) for v in values):
            return False
    return True


def _queue(rng: random.Random, n: int) -> Mta:
    mta = Mta("mta.test", 0)
    for i in range(n):
        sender = rng.choice(["Alice@A.test", "bob@b.test", f"u{i % 37}@Spam{i % 5}.test", ""])
        recipients = [
            rng.choice([f"T{j}@V{j % 7}.test", f"t{j}@v{j % 7}.test", "", "x@"])
            for j in range(rng.randrange(0, 150))
        ]
        mta.enqueue(
            QueuedMessage(
                id=mta.new_id(),
                sender=sender,
                recipients=recipients,
                arrival=1_700_000_000 + rng.randrange(0, 50),
                size=100 + i,
                message_id=f"<{i}@x>",
                reason=rng.choice(["", "Connection refused", "connection REFUSED"]),
                origin_ip=rng.choice(["127.0.0.1", "10.0.0.1"]),
                origin_host=rng.choice(["", "Mx.Test", "mx.test"]),
                queue=rng.choice(["deferred", "hold"]),
            )
        )
    return mta


def _request(queue: str, query: El) -> El:
    req = El("GetMailQueueRequest", NS_ADMIN)
    q = req.add("server", {"name": "mta.test"}).add("queue", {"name": queue, "scan": "1"})
    q.children.append(query)
    return req


def _context(mta: Mta) -> Any:
    server = SimpleNamespace(name="mta.test", mta=mta)
    world = SimpleNamespace(server_by_name=lambda name: server if name == "mta.test" else None)
    return SimpleNamespace(world=world, now_ms=lambda: 1_700_000_000_000)


def _query(matches: dict[str, list[str]], limit: int = 30, offset: int = 0) -> El:
    query = El("query", NS_ADMIN, {"limit": str(limit), "offset": str(offset)})
    for name, values in matches.items():
        fld = query.add("field", {"name": name})
        for v in values:
            fld.add("match", {"value": v})
    return query


@pytest.mark.parametrize("seed", range(6))
def test_summaries_and_pages_match_the_plain_computation(seed: int) -> None:
    rng = random.Random(seed)
    mta = _queue(rng, rng.choice([0, 1, 40, 300]))
    rc = _context(mta)
    for queue in ("deferred", "hold"):
        for matches in ({}, {"from": ["alice@a.test", "bob@b.test"]}, {"todomain": ["v3.test"]}):
            resp = get_mail_queue(rc, _request(queue, _query(matches, limit=25, offset=5)))
            q = resp.children[0].children[0]
            indexed, _ = mta.indexed(queue)
            indexed.sort(key=lambda m: (m.arrival, m.id))
            got = [
                (qs.attrs["type"], [(i.attrs["n"], i.attrs["t"]) for i in qs.children])
                for qs in q.all("qs")
            ]
            assert got == _reference_summaries(indexed)
            # With fields, Lucene's hits are capped at the limit; without, every message is
            # listed (RemoteMailQueue.list0).
            found = [m for m in indexed if _reference_matches(_query(matches), m)]
            if matches:
                found = found[:25]
            assert [i.attrs["id"] for i in q.all("qi")] == [m.id for m in found[5:30]]
            assert q.attrs["more"] == ("1" if len(found) > 30 else "0")


def test_query_fields_are_checked_as_before() -> None:
    mta = _queue(random.Random(1), 20)
    mta.scan("deferred", 0)
    indexed, _ = mta.indexed("deferred")
    unknown = _query({"nosuchfield": ["x"]})
    assert _search(_terms(unknown), indexed, 0, 100) == ([], 0)
    by_id = _query({"id": [indexed[0].id.lower(), indexed[1].id]})
    assert _search(_terms(by_id), indexed, 0, 100) == ([indexed[1]], 1)
    nameless = _query({})
    nameless.add("field").add("match", {"value": "x"})
    with pytest.raises(SoapFault):
        _terms(nameless)
    valueless = _query({"from": []})
    valueless.child("field").add("match")  # type: ignore[union-attr]
    with pytest.raises(SoapFault):
        _terms(valueless)


def test_summaries_follow_a_changing_queue() -> None:
    """Each answer is counted from the last one's tally: still exactly the plain count."""
    rng = random.Random(7)
    mta = _queue(rng, 120)
    rc = _context(mta)
    for step in range(40):
        live = mta.messages()
        if live and step % 3 == 0:
            picked = rng.sample(live, min(len(live), rng.randrange(1, 4)))
            mta.act("hold", [m.id for m in picked], "")
        elif live and step % 3 == 1:
            mta.act("delete", [rng.choice(live).id], "")
        if step % 5 == 0:
            extra = _queue(rng, rng.randrange(1, 6))
            for m in extra.messages():
                mta.enqueue(m)
        if step % 7 == 0:
            mta.enqueue(dataclasses.replace(rng.choice(mta.messages()), id=mta.new_id()))
        for queue in ("hold", "deferred"):
            resp = get_mail_queue(rc, _request(queue, _query({})))
            q = resp.children[0].children[0]
            indexed, _ = mta.indexed(queue)
            got = [
                (qs.attrs["type"], [(i.attrs["n"], i.attrs["t"]) for i in qs.children])
                for qs in q.all("qs")
            ]
            assert got == _reference_summaries(indexed), (step, queue)
