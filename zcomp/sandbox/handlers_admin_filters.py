"""Admin Get/Modify(Outgoing)FilterRules: admin before/after scripts, never the user's rules."""

from __future__ import annotations

from zcomp.sandbox.directory import DOMAIN
from zcomp.sandbox.element import NS_ADMIN, El
from zcomp.sandbox.engine import RequestContext, handler
from zcomp.sandbox.faults import invalid_request, no_such_account, no_such_domain
from zcomp.sandbox.filters import normalize_rules, render_rules, to_sieve

A = NS_ADMIN
Attrs = dict[str, list[str]]


def _script_attr(req: El, outgoing: bool) -> tuple[str, str]:
    kind = req.get("type")
    if not kind:
        raise invalid_request("Type must be provided in request")
    if kind not in ("before", "after"):
        raise invalid_request(f"Invalid type: {kind}")
    middle = "Outgoing" if outgoing else ""
    return kind, f"zimbraAdmin{middle}SieveScript{kind.capitalize()}"


def _selected(rc: RequestContext, req: El) -> tuple[El, Attrs]:
    for tag in ("account", "domain", "cos", "server"):
        sel = req.child(tag)
        if sel is None:
            continue
        key = (sel.text or "").strip()
        by = sel.get("by", "name") or "name"
        if tag == "account":
            entry = rc.dir.find(key, "id" if by == "id" else "name")
            if entry is None:
                raise no_such_account(key)
            return El(tag, A, {"by": by}, [], key), entry.attrs
        if tag == "domain":
            if key.lower() not in (DOMAIN, rc.dir.domain_id):
                raise no_such_domain(key)
            return El(tag, A, {"by": by}, [], key), rc.dir.domain_attrs
        if tag == "cos":
            return El(tag, A, {"by": by}, [], key), rc.dir.cos_attrs
        for s in rc.dir.servers:
            if key in (s.name, s.id):
                return El(tag, A, {"by": by}, [], key), s.attrs
        raise invalid_request(f"no such server: {key}")
    raise invalid_request("Selector not provided.")


def _get(rc: RequestContext, req: El, outgoing: bool) -> El:
    kind, attr = _script_attr(req, outgoing)
    sel, attrs = _selected(rc, req)
    script = (attrs.get(attr) or [""])[0]
    rules = rc.dir.sieve_memo.get(script, []) if script else []
    resp = El(req.name.replace("Request", "Response"), A, {"type": kind})
    resp.children.append(sel)
    resp.children.append(render_rules(rules, A))
    return resp


def _modify(rc: RequestContext, req: El, outgoing: bool) -> El:
    _, attr = _script_attr(req, outgoing)
    _, attrs = _selected(rc, req)
    rules = normalize_rules(
        req.child("filterRules"), version=rc.world.version, admin=True, strict_ns=True
    )
    if rules:
        script = to_sieve(rules)
        rc.dir.sieve_memo[script] = rules
        attrs[attr] = [script]
    else:
        attrs.pop(attr, None)
    rc.record_write(attr)
    return El(req.name.replace("Request", "Response"), A)


@handler(A, "GetFilterRulesRequest", "admin")
def get_rules(rc: RequestContext, req: El) -> El:
    return _get(rc, req, False)


@handler(A, "GetOutgoingFilterRulesRequest", "admin")
def get_out_rules(rc: RequestContext, req: El) -> El:
    return _get(rc, req, True)


@handler(A, "ModifyFilterRulesRequest", "admin")
def modify_rules(rc: RequestContext, req: El) -> El:
    return _modify(rc, req, False)


@handler(A, "ModifyOutgoingFilterRulesRequest", "admin")
def modify_out_rules(rc: RequestContext, req: El) -> El:
    return _modify(rc, req, True)
