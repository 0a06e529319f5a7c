"""Classes of service: GetAllCos, GetCos, ModifyCos, CreateCos (urn:zimbraAdmin, admin only).

Shapes per Zimbra's handlers (store/src/java/com/zimbra/cs/service/admin/{GetCos,GetAllCos,
ModifyCos,CreateCos}.java): `<cos name= id= [isDefaultCos="1"]>` with one `<a n=>` per value,
and `c="1"` on the attributes a COS holds for itself (not accountInherited).
"""

from __future__ import annotations

from zcomp.sandbox.common import wanted_set
from zcomp.sandbox.directory import CosEntry
from zcomp.sandbox.element import NS_ADMIN, El
from zcomp.sandbox.engine import RequestContext, handler
from zcomp.sandbox.faults import invalid_request, missing_element, no_such_cos
from zcomp.sandbox.handlers_config import attr_mods, check_classes, modify_entry
from zcomp.sandbox.schema import canonical, info, validate_mods

A = NS_ADMIN


def _resp(req: El) -> El:
    return El(req.name[: -len("Request")] + "Response", A)


def cos_el(rc: RequestContext, parent: El, cos: CosEntry, wanted: set[str] | None = None) -> El:
    """GetCos.encodeCos."""
    el = parent.add("cos", {"name": cos.name, "id": cos.id})
    if cos.id == rc.dir.cos_id:
        el.attrs["isDefaultCos"] = "1"
    # The LDAP entry's own attributes, which the settings map leaves out.
    attrs = {"cn": [cos.name], "objectClass": ["zimbraCOS"], "zimbraId": [cos.id], **cos.attrs}
    for name in sorted(attrs, key=str.lower):
        if wanted is not None and name.lower() not in wanted:
            continue
        i = info(name)
        own = i is None or not i.inherited  # isCosAttr = !isAccountInherited(name)
        for value in attrs[name]:
            a = el.add("a", {"n": name}, value)
            if own:
                a.attrs["c"] = "1"
    return el


def _cos_selector(rc: RequestContext, req: El) -> CosEntry:
    sel = req.child("cos")
    if sel is None:
        raise missing_element("cos")
    by = sel.get("by")
    if by is None:
        from zcomp.sandbox.faults import missing_attr

        raise missing_attr("by")
    if by not in ("id", "name"):
        raise invalid_request(f"unknown key: {by}")  # Key.CosBy.fromString
    key = (sel.text or "").strip()
    cos = rc.dir.find_cos(key, by)
    if cos is None:
        raise no_such_cos(key)
    return cos


@handler(A, "GetAllCosRequest", "admin")
def get_all_cos(rc: RequestContext, req: El) -> El:
    resp = _resp(req)
    with rc.dir.lock:
        for cos in sorted(rc.dir.coses.values(), key=lambda c: c.name):
            cos_el(rc, resp, cos)
    return resp


@handler(A, "GetCosRequest", "admin")
def get_cos(rc: RequestContext, req: El) -> El:
    cos = _cos_selector(rc, req)
    resp = _resp(req)
    cos_el(rc, resp, cos, wanted_set(req.get("attrs")))
    return resp


@handler(A, "ModifyCosRequest", "admin")
def modify_cos(rc: RequestContext, req: El) -> El:
    # ModifyCos reads <id> with getElement: an attribute alone does not do.
    id_el = req.child("id")
    if id_el is None:
        raise missing_element("id")
    cos_id = (id_el.text or "").strip()
    cos = rc.dir.find_cos(cos_id, "id")
    if cos is None:
        raise no_such_cos(cos_id)
    with rc.dir.lock:
        modify_entry(rc, cos.attrs, attr_mods(req), "cos", ("cmd", "ModifyCos"), cos.name)
        rc.dir.cos_changed()
    resp = _resp(req)
    cos_el(rc, resp, cos)
    return resp


@handler(A, "CreateCosRequest", "admin")
def create_cos(rc: RequestContext, req: El) -> El:
    name_el = req.child("name")
    if name_el is None:
        raise missing_element("name")
    name = (name_el.text or "").strip().lower()
    if not name:
        raise invalid_request("missing required element: name")
    mods = attr_mods(req)
    validate_mods(mods, check_immutable=False)
    check_classes(mods, "cos")
    # An empty value removes what was copied from the default COS.
    given = {canonical(k.lstrip("+-")): [v for v in vs if v] for k, vs in mods.items()}
    with rc.dir.lock:
        cos = rc.dir.create_cos(name, given)
    rc.record_write("cos:" + cos.name)
    if rc.world.logs.enabled:
        rc.world.logs.audit(rc.now(), rc.log_ctx(), [("cmd", "CreateCos"), ("name", cos.name)])
    resp = _resp(req)
    cos_el(rc, resp, cos)
    return resp
