"""Admin mail queue requests: GetMailQueueInfo, GetMailQueue, MailQueueAction."""

from __future__ import annotations

from collections import Counter

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


def _fields(m: QueuedMessage) -> dict[str, list[str]]:
    """The Lucene fields RemoteMailQueue indexes; every value but id is lower-cased."""
    recipients = [r.lower() for r in m.recipients]
    return {
        "id": [m.id],
        "from": [m.sender.lower()],
        "fromdomain": [m.sender.lower().partition("@")[2]],
        "to": recipients,
        "todomain": sorted({r.partition("@")[2] for r in recipients}),
        "reason": [m.reason.lower()],
        "addr": [m.origin_ip.lower()],
        "host": [m.origin_host.lower()],
    }


def _matches(query: El, m: QueuedMessage) -> bool:
    """Exact TermQuery per match (case-sensitive: send values lower-cased), OR within a
    field, AND across fields; a query without fields lists everything."""
    have = _fields(m)
    for fld in query.all("field"):
        name = fld.get("name")
        if name is None:
            raise missing_attr("name")
        values = [mt.get("value") for mt in fld.all("match")]
        if any(v is None for v in values):
            raise missing_attr("value")
        if not any(v in have.get(name, []) for v in values):
            return False
    return True


def _search(
    query: El, msgs: list[QueuedMessage], offset: int, limit: int
) -> tuple[list[QueuedMessage], int]:
    """RemoteMailQueue.search: the page and the hit count it reports.

    With fields, Lucene's search(query, limit) returns at most `limit` hits, so `hits` is
    capped at limit (and more= is then never true for offset 0): real Zimbra behaviour.
    """
    if not query.all("field"):
        return msgs[offset : offset + limit], len(msgs)
    found = [m for m in msgs if _matches(query, m)][: max(limit, 0)]
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
    if get_bool(qel, "scan") or not s.mta.scanned(qname):
        s.mta.scan(qname, rc.now_ms())  # the sandbox's zmqstat finishes at once
    indexed, scan_time = s.mta.indexed(qname)
    indexed.sort(key=lambda m: (m.arrival, m.id))
    offset = get_int(query, "offset", 0)
    limit = get_int(query, "limit", 30)
    page, hits = _search(query, indexed, offset, limit)
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
    fields = [_fields(m) for m in indexed]  # once per message, not once per summary
    for kind in ("reason", "to", "from", "todomain", "fromdomain", "addr", "host"):
        counts: Counter[str] = Counter()
        for have in fields:
            counts.update(v for v in set(have[kind]) if v)
        if not counts:
            continue
        qs = q.add("qs", {"type": kind})
        # GetMailQueue.java: by count, descending (ties in Lucene's term order), and only the
        # first MAIL_QUEUE_SUMMARY_CUTOFF of each.
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        for text, n in ranked[:SUMMARY_CUTOFF]:
            qs.add("qsi", {"n": str(n), "t": text})
    for m in page:
        q.add(
            "qi",
            {
                "id": m.id,
                "from": m.sender.lower(),
                "to": ",".join(r.lower() for r in m.recipients),
                "time": str(int(m.arrival) * 1000),
                "filter": "smtp-amavis:[127.0.0.1]:10026",
                "addr": m.origin_ip,
                "host": m.origin_host.lower(),
                "reason": m.reason.lower(),
                "received": str(int(m.arrival)),
                "size": str(m.size),
            },
        )
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
        page, _ = _search(_required_query(action), indexed, 0, 2**31 - 1)
        ids = [m.id for m in page]
    else:
        raise invalid_request(f"bad by: {by}")
    s.mta.act(op, ids, qname)
    s.mta.unindex(qname, ids)
    rc.record_write(f"{s.name}:{qname}:{op}")
    return El("MailQueueActionResponse", A)
