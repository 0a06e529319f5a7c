"""Global config and domain settings: GetAllConfig, ModifyConfig, ModifyDomain (urn:zimbraAdmin,
admin only). GetConfig, GetDomain and GetAllDomains live in handlers_admin.

Shapes per Zimbra's handlers (store/src/java/com/zimbra/cs/service/admin/{GetAllConfig,
ModifyConfig,ModifyDomain}.java): attributes as `<a n=>`, one element per value; a modify
replaces an attribute's values, an empty value removes it, `+attr`/`-attr` add or remove one
value; the whole request is checked before anything is written (immutable attributes refused).
"""

from __future__ import annotations

from zcomp.sandbox.common import attrs_el
from zcomp.sandbox.directory import DOMAIN
from zcomp.sandbox.element import NS_ADMIN, El
from zcomp.sandbox.engine import RequestContext, handler
from zcomp.sandbox.faults import failure, missing_attr, no_such_domain
from zcomp.sandbox.schema import Mods, apply_mods, info, parse_mods, validate_mods

A = NS_ADMIN


def _resp(req: El) -> El:
    return El(req.name[: -len("Request")] + "Response", A)


def attr_mods(req: El) -> Mods:
    """AdminService.getAttrs: every `<a n=...>` of the request."""
    return parse_mods([(a.attrs.get("n", ""), a.text or "") for a in req.all("a")])


def check_classes(mods: Mods, klass: str) -> None:
    """An attribute the entry's object classes do not allow: LDAP refuses the modify with an
    object class violation, which LdapProvisioning.modifyLdapAttrs reports as service.FAILURE
    (inference from its catch blocks; the LDAP server's message is not reproduced)."""
    for key in mods:
        i = info(key[1:] if key[:1] in "+-" else key)
        if i is not None and i.classes and klass not in i.classes:
            raise failure(f"unable to modify attrs: object class violation: {i.name}")


def modify_entry(
    rc: RequestContext,
    attrs: dict[str, list[str]],
    mods: Mods,
    klass: str,
    cmd: tuple[str, str],
    name: str,
) -> None:
    """prov.modifyAttrs(entry, attrs, checkImmutable=true), then the security log line."""
    validate_mods(mods, check_immutable=True)
    check_classes(mods, klass)
    with rc.dir.lock:
        apply_mods(attrs, mods)
    rc.record_write(f"{klass}:{name}")
    if rc.world.logs.enabled:
        fields = [cmd, ("name", name)] if klass != "globalConfig" else [cmd]
        fields += [(k, ",".join(v)) for k, v in mods.items()]
        rc.world.logs.audit(rc.now(), rc.log_ctx(), fields)


@handler(A, "GetAllConfigRequest", "admin")
def get_all_config(rc: RequestContext, req: El) -> El:
    resp = _resp(req)
    with rc.dir.lock:
        attrs_el(resp, rc.dir.config_attrs)
    return resp


@handler(A, "ModifyConfigRequest", "admin")
def modify_config(rc: RequestContext, req: El) -> El:
    modify_entry(
        rc, rc.dir.config_attrs, attr_mods(req), "globalConfig", ("cmd", "ModifyConfig"), "config"
    )
    return _resp(req)  # ModifyConfigResponse is empty


@handler(A, "ModifyDomainRequest", "admin")
def modify_domain(rc: RequestContext, req: El) -> El:
    domain_id = req.get("id")  # an attribute (or a child element: Element.getAttribute)
    if not domain_id:
        raise missing_attr("id")
    if domain_id.strip() != rc.dir.domain_id:
        raise no_such_domain(domain_id)
    modify_entry(rc, rc.dir.domain_attrs, attr_mods(req), "domain", ("cmd", "ModifyDomain"), DOMAIN)
    resp = _resp(req)
    attrs_el(resp.add("domain", {"name": DOMAIN, "id": rc.dir.domain_id}), rc.dir.domain_attrs)
    return resp
