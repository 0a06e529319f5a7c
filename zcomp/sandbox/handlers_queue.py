"""Admin mail queue requests: GetMailQueueInfo, GetMailQueue, MailQueueAction."""

from __future__ import annotations

from collections import Counter

from zcomp.sandbox.element import NS_ADMIN, El, get_int
from zcomp.sandbox.engine import RequestContext, handler
from zcomp.sandbox.faults import SoapFault, invalid_request, missing_attr, missing_element
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
        raise SoapFault("account.NO_SUCH_SERVER", f"no such server: {name}")
    return sel, s


def _queue_name(el: El | None) -> tuple[str, El]:
    if el is None:
        raise missing_element("queue")
    name = el.get("name") or ""
    if name not in QUEUES:
        raise invalid_request(f"invalid queue name: {name}")
    return name, el


def _fields(m: QueuedMessage) -> dict[str, list[str]]:
    return {
        "id": [m.id],
        "from": [m.sender],
        "fromdomain": [m.sender.partition("@")[2]],
        "to": list(m.recipients),
        "todomain": sorted({r.partition("@")[2] for r in m.recipients}),
        "reason": [m.reason],
        "addr": [m.origin_ip],
        "host": [m.origin_host],
    }


def _matches(query: El | None, m: QueuedMessage) -> bool:
    if query is None:
        return True
    have = _fields(m)
    for field in query.all("field"):
        name = (field.get("name") or "").lower()
        values = [(mt.get("value") or "").lower() for mt in field.all("match")]
        if not values:
            continue
        if not any(v == x.lower() for v in values for x in have.get(name, [])):
            return False
    return True


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
    qel = sel.child("queue")
    qname, qel = _queue_name(qel)
    query = qel.child("query")
    msgs = [m for m in s.mta.messages(qname) if _matches(query, m)]
    msgs.sort(key=lambda m: (m.arrival, m.id))
    offset = get_int(query, "offset", 0) if query is not None else 0
    limit = get_int(query, "limit", 30) if query is not None else 30
    page = msgs[offset : offset + limit]
    resp = El("GetMailQueueResponse", A)
    q = resp.add("server", {"name": s.name}).add(
        "queue",
        {
            "name": qname,
            "stale": "0",
            "time": str(rc.now_ms()),
            "scan": "0",
            "total": str(len(msgs)),
            "more": "1" if offset + len(page) < len(msgs) else "0",
        },
    )
    for kind in ("reason", "to", "from", "todomain", "fromdomain", "addr", "host"):
        counts: Counter[str] = Counter()
        for m in msgs:
            for v in set(_fields(m)[kind]):
                if v:
                    counts[v] += 1
        qs = q.add("qs", {"type": kind})
        for text, n in counts.most_common():
            qs.add("qsi", {"n": str(n), "t": text})
    for m in page:
        q.add(
            "qi",
            {
                "id": m.id,
                "from": m.sender,
                "to": ",".join(m.recipients),
                "time": str(int(m.arrival * 1000)),
                "filter": "smtp-amavis:[127.0.0.1]:10026",
                "addr": m.origin_ip,
                "host": m.origin_host,
                "reason": m.reason,
                "received": str(int(m.arrival * 1000)),
                "size": str(m.size),
            },
        )
    return resp


@handler(A, "MailQueueActionRequest", "admin")
def mail_queue_action(rc: RequestContext, req: El) -> El:
    sel, s = _server(rc, req)
    qel = sel.child("queue")
    qname, qel = _queue_name(qel)
    action = qel.child("action")
    if action is None:
        raise missing_element("action")
    op = action.get("op") or ""
    if op not in ("hold", "release", "delete", "requeue"):
        raise invalid_request(f"invalid action: {op}")
    by = action.get("by") or ""
    if by == "id":
        ids = [i.strip() for i in (action.text or "").split(",") if i.strip()]
    elif by == "query":
        query = action.child("query")
        ids = [m.id for m in s.mta.messages(qname) if _matches(query, m)]
    else:
        raise invalid_request(f"invalid by: {by}")
    s.mta.act(op, ids, qname)
    rc.record_write(f"{s.name}:{qname}:{op}")
    return El("MailQueueActionResponse", A)
