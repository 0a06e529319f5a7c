"""Admin mail queue requests: GetMailQueueInfo, GetMailQueue, MailQueueAction."""

from __future__ import annotations

import heapq
import itertools
import operator
from collections import Counter
from dataclasses import dataclass

from zcomp.sandbox.element import NS_ADMIN, El, get_bool, get_int
from zcomp.sandbox.engine import RequestContext, handler
from zcomp.sandbox.faults import invalid_request, missing_attr, missing_element
from zcomp.sandbox.mta import QUEUES, QueuedMessage
from zcomp.sandbox.state import ServerState

A = NS_ADMIN


def _server(rc: RequestContext, req: El) -> tuple[El, ServerState]:
    sel = req.child("server")
    if sel is None:
        raise missing_element("server")
    name = sel.get("name")
    if not name:
        raise missing_attr("name")
    s = rc.world.server_by_name(name)
    if s is None:
        # GetMailQueue.java / MailQueueAction.java: INVALID_REQUEST, not NO_SUCH_SERVER.
        raise invalid_request(f"server with name {name} could not be found")
    return sel, s


SUMMARY_CUTOFF = 100  # GetMailQueue.MAIL_QUEUE_SUMMARY_CUTOFF


def _queue_name(el: El | None) -> tuple[str, El]:
    if el is None:
        raise missing_element("queue")
    name = el.get("name") or ""
    if name not in QUEUES:
        raise invalid_request(f"invalid queue name: {name}")
    return name, el


_FIELD_NAMES = ("id", "from", "fromdomain", "to", "todomain", "reason", "addr", "host")
SUMMARY_KINDS = ("reason", "to", "from", "todomain", "fromdomain", "addr", "host")


def _field(m: QueuedMessage, name: str) -> list[str]:
    """One Lucene field RemoteMailQueue indexes; every value but id is lower-cased."""
    if name == "id":
        return [m.id]
    if name == "from":
        return [m.sender.lower()]
    if name == "fromdomain":
        return [m.sender.lower().partition("@")[2]]
    if name == "to":
        return [r.lower() for r in m.recipients]
    if name == "todomain":
        return sorted({r.lower().partition("@")[2] for r in m.recipients})
    if name == "reason":
        # zmqstat (zm-core-utils src/libexec/zmqstat) prints reason= only for the deferred
        # queue, from Postfix's defer log: a held message has none, whoever held it.
        return [m.reason.lower()] if _has_reason(m) else []
    if name == "addr":
        return [m.origin_ip.lower()]
    if name == "host":
        return [m.origin_host.lower()]
    return []


def _has_reason(m: QueuedMessage) -> bool:
    return m.queue == "deferred" and bool(m.reason)


def _fields(m: QueuedMessage) -> dict[str, list[str]]:
    """Every field RemoteMailQueue indexes for the message."""
    return {name: _field(m, name) for name in _FIELD_NAMES}


# Message content -> its distinct non-empty values per summary kind. A scan copies every
# message, so the cache is keyed by what the fields are made of, not by the copy; it only
# saves recomputing them (80-recipient messages made this most of GetMailQueue's cost).
_SummaryTerms = tuple[tuple[str, ...], ...]
_TERMS: dict[tuple[object, ...], _SummaryTerms] = {}
_TERMS_MAX = 20_000


def _summary_terms(m: QueuedMessage) -> _SummaryTerms:
    # Remembered on the message with what they were made of; the recipient list is checked by
    # identity and length (building the 80-recipient key per message per request was the cost).
    stamp = (m.sender, m.reason, m.queue, m.origin_ip, m.origin_host, len(m.recipients))
    mine = m.derived.get("terms")
    if mine is not None and mine[0] == stamp and mine[1] is m.recipients:
        terms: _SummaryTerms = mine[2]
        return terms
    terms = _content_terms(m)
    m.derived["terms"] = (stamp, m.recipients, terms)
    return terms


def _content_terms(m: QueuedMessage) -> _SummaryTerms:
    key = (m.sender, tuple(m.recipients), m.reason, _has_reason(m), m.origin_ip, m.origin_host)
    terms = _TERMS.get(key)
    if terms is None:
        have = _fields(m)
        terms = tuple(tuple(v for v in set(have[kind]) if v) for kind in SUMMARY_KINDS)
        if len(_TERMS) >= _TERMS_MAX:
            _TERMS.clear()  # a bound, not an eviction policy: entries are cheap to recompute
        _TERMS[key] = terms
    return terms


_Ranked = list[tuple[str, list[tuple[str, int]]]]


@dataclass(frozen=True)
class _Tally:
    """The counts of one multiset of per-message terms, and the summaries they rank to.

    Terms objects are one per content (_TERMS), so a queue that gained or lost a few
    messages since the last GetMailQueue is counted from that one's tally, not from scratch.
    The tally holds its terms objects, so their ids cannot be reused while it lives.
    """

    terms: dict[int, _SummaryTerms]  # id -> the object, held
    have: Counter[int]  # id -> how many messages carry these terms
    counts: tuple[Counter[str], ...]  # per kind: value -> messages carrying it (all > 0)
    ranked: _Ranked


_TALLIES: dict[object, _Tally] = {}  # by queue; only a starting point, never trusted blindly


def _summaries(msgs: list[QueuedMessage], place: object = None) -> _Ranked:
    """GetMailQueue's <qs>: per kind, how many messages carry each value, most first (ties in
    Lucene's term order), only the first MAIL_QUEUE_SUMMARY_CUTOFF; kinds with none left out.

    `place` names the queue, so that its last tally is the one counted from.
    """
    terms = {}
    have: Counter[int] = Counter()
    for m in msgs:
        t = _summary_terms(m)
        terms[id(t)] = t
        have[id(t)] += 1
    last = _TALLIES.get(place)
    # Items views compare in C (Counter's == is a Python loop); neither holds zero counts.
    if last is not None and last.have.items() == have.items():
        return last.ranked
    added = have - last.have if last is not None else have
    gone = last.have - have if last is not None else have
    if last is None or added.total() + gone.total() >= len(msgs):
        # Counter over one flat iterable counts in C; each message's values are distinct.
        counts = tuple(
            Counter(itertools.chain.from_iterable(terms[i][k] * n for i, n in have.items()))
            for k in range(len(SUMMARY_KINDS))
        )
    else:
        moved = [c.copy() for c in last.counts]
        for i, n in added.items():
            for k, c in enumerate(moved):
                c.update(terms[i][k] * n)
        for i, n in gone.items():
            for k, c in enumerate(moved):
                c.subtract(last.terms[i][k] * n)
        counts = tuple(+c for c in moved)  # + drops values no message carries any more
    ranked: _Ranked = []
    for kind, c in zip(SUMMARY_KINDS, counts, strict=True):
        if c:
            # nsmallest(n, ...) is sorted(...)[:n] without sorting the whole tail.
            ranked.append((kind, heapq.nsmallest(SUMMARY_CUTOFF, c.items(), key=_rank)))
    if len(_TALLIES) >= 64:
        _TALLIES.clear()  # sandboxes come and go in one process: a bound, not a policy
    _TALLIES[place] = _Tally(terms, have, counts, ranked)
    return ranked


def _rank(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


# One <field> of a query: its name and the values it matches.
_Term = tuple[str, list[str]]


def _terms(query: El) -> list[_Term]:
    """The query's fields, as GetMailQueue.buildLuceneQuery reads them: all of them, before
    any queue is scanned or searched, so a field without name or a match without value is
    refused even when the queue is empty."""
    out: list[_Term] = []
    for fld in query.all("field"):
        name = fld.get("name")
        if name is None:
            raise missing_attr("name")
        values: list[str] = []
        for mt in fld.all("match"):
            value = mt.get("value")
            if value is None:
                raise missing_attr("value")
            values.append(value)
        out.append((name, values))
    return out


def _matches(terms: list[_Term], m: QueuedMessage) -> bool:
    """Exact TermQuery per match (case-sensitive: send values lower-cased), OR within a
    field, AND across fields; a query without fields lists everything."""
    for name, values in terms:
        have = _field(m, name)  # only the fields asked about
        if not any(v in have for v in values):
            return False
    return True


def _search(
    terms: list[_Term], msgs: list[QueuedMessage], offset: int, limit: int
) -> tuple[list[QueuedMessage], int]:
    """RemoteMailQueue.search: the page and the hit count it reports.

    With fields, Lucene's search(query, limit) returns at most `limit` hits, so `hits` is
    capped at limit (and more= is then never true for offset 0): real Zimbra behaviour.
    """
    if not terms:  # no terms: RemoteMailQueue.list0, uncapped
        return msgs[offset : offset + limit], len(msgs)
    found = [m for m in msgs if _matches(terms, m)][: max(limit, 0)]
    return found[offset : offset + limit], len(found)


def _required_query(parent: El) -> El:
    query = parent.child("query")
    if query is None:
        raise missing_element("query")
    return query


@handler(A, "GetMailQueueInfoRequest", "admin")
def get_mail_queue_info(rc: RequestContext, req: El) -> El:
    _, s = _server(rc, req)
    resp = El("GetMailQueueInfoResponse", A)
    srv = resp.add("server", {"name": s.name})
    for name, n in s.mta.counts().items():
        srv.add("queue", {"name": name, "n": str(n)})
    return resp


@handler(A, "GetMailQueueRequest", "admin")
def get_mail_queue(rc: RequestContext, req: El) -> El:
    sel, s = _server(rc, req)
    qname, qel = _queue_name(sel.child("queue"))
    query = _required_query(qel)
    # GetMailQueue.handle's order: offset, limit and the whole query are read (and refused)
    # before the queue is scanned.
    offset = get_int(query, "offset", 0)
    limit = get_int(query, "limit", 30)
    terms = _terms(query)
    if get_bool(qel, "scan") or not s.mta.scanned(qname):
        s.mta.scan(qname, rc.now_ms())  # the sandbox's zmqstat finishes at once
    indexed, scan_time = s.mta.indexed(qname)
    indexed.sort(key=operator.attrgetter("arrival", "id"))
    page, hits = _search(terms, indexed, offset, limit)
    resp = El("GetMailQueueResponse", A)
    q = resp.add("server", {"name": s.name}).add(
        "queue",
        {
            "name": qname,
            "time": str(scan_time),
            "scan": "0",
            "total": str(len(indexed)),  # the whole queue, whatever the query
            "more": "1" if offset + limit < hits else "0",
        },
    )
    for kind, ranked in _summaries(indexed, (id(s.mta), qname)):
        qs = q.add("qs", {"type": kind})
        qs.children.extend([El("qsi", qs.ns, {"n": str(n), "t": text}) for text, n in ranked])
    for m in page:
        item = {
            "id": m.id,
            "from": m.sender.lower(),
            "to": ",".join(r.lower() for r in m.recipients),
            "time": str(int(m.arrival) * 1000),
            "filter": "smtp-amavis:[127.0.0.1]:10026",
            "addr": m.origin_ip,
            "host": m.origin_host.lower(),
            "received": str(int(m.arrival)),
            "size": str(m.size),
        }
        if _has_reason(m):  # GetMailQueue lists only the attributes zmqstat printed
            item["reason"] = m.reason.lower()
        q.add("qi", item)
    return resp


@handler(A, "MailQueueActionRequest", "admin")
def mail_queue_action(rc: RequestContext, req: El) -> El:
    sel, s = _server(rc, req)
    qname, qel = _queue_name(sel.child("queue"))
    action = qel.child("action")
    if action is None:
        raise missing_element("action")
    op = action.get("op") or ""
    if op not in ("hold", "release", "delete", "requeue"):
        raise invalid_request(f"bad op:{op}")
    if not s.mta.scanned(qname):
        s.mta.scan(qname, rc.now_ms())  # a new RemoteMailQueue scans once
    by = action.get("by")
    if by is None:
        raise missing_attr("by")
    if by == "id":
        ids = [i.strip() for i in (action.text or "").split(",") if i.strip()]
    elif by == "query":
        # Matched against the queue's last scan, not the live queue (RemoteMailQueue.search):
        # mail that arrived since that scan is not acted on. Rescan first (GetMailQueue scan=1).
        indexed, _ = s.mta.indexed(qname)
        page, _ = _search(_terms(_required_query(action)), indexed, 0, 2**31 - 1)
        ids = [m.id for m in page]
    else:
        raise invalid_request(f"bad by: {by}")
    s.mta.act(op, ids, qname)
    s.mta.unindex(qname, ids)
    rc.record_write(f"{s.name}:{qname}:{op}")
    return El("MailQueueActionResponse", A)
