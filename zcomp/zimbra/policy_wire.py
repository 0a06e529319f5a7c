"""The SOAP shapes of the requests in zcomp.zimbra.policy; registered with zcomp.zimbra.build
and .parse (imported at the bottom of both).

Shapes per Zimbra's JAXB classes and handlers (store/src/java/com/zimbra/cs/service/admin/):
ModifyCos carries its id as an `<id>` element (ModifyCos.java: getElement), ModifyDomain as an
`id` attribute; GetCos/GetDomain select with `<cos by=>` / `<domain by=>`; every attribute is
`<a n=>`, one element per value.
"""

from __future__ import annotations

from zcomp.zimbra.build import _admin_attrs, _builds
from zcomp.zimbra.model import Domain
from zcomp.zimbra.ns import ADMIN, Element, children, el, flag, sub
from zcomp.zimbra.parse import _parses, _required, attrs_of
from zcomp.zimbra.policy import (
    Cos,
    GetAllConfig,
    GetAllCos,
    GetCos,
    GetDomainEntries,
    GetDomainEntry,
    GlobalConfig,
    ModifyConfig,
    ModifyCos,
    ModifyDomain,
)


@_builds(GetAllConfig)
def _get_all_config(r: GetAllConfig) -> Element:
    return el(ADMIN, "GetAllConfigRequest")


@_parses(GetAllConfig)
def _all_config(r: GetAllConfig, body: Element) -> GlobalConfig:
    return GlobalConfig(attrs_of(body))


@_builds(ModifyConfig)
def _modify_config(r: ModifyConfig) -> Element:
    body = el(ADMIN, "ModifyConfigRequest")
    _admin_attrs(body, r.attrs)
    return body


def _cos(node: Element) -> Cos:
    return Cos(
        id=node.get("id", ""),
        name=node.get("name", ""),
        attrs=attrs_of(node),
        default=flag(node.get("isDefaultCos")),
    )


@_builds(GetAllCos)
def _get_all_cos(r: GetAllCos) -> Element:
    return el(ADMIN, "GetAllCosRequest")


@_parses(GetAllCos)
def _all_cos(r: GetAllCos, body: Element) -> list[Cos]:
    return [_cos(c) for c in children(body, "cos")]


@_builds(GetCos)
def _get_cos(r: GetCos) -> Element:
    body = el(ADMIN, "GetCosRequest")
    sub(body, ADMIN, "cos", {"by": r.by}, r.cos)
    return body


@_builds(ModifyCos)
def _modify_cos(r: ModifyCos) -> Element:
    body = el(ADMIN, "ModifyCosRequest")
    sub(body, ADMIN, "id", text=r.id)
    _admin_attrs(body, r.attrs)
    return body


@_parses(GetCos, ModifyCos)
def _one_cos(r: GetCos | ModifyCos, body: Element) -> Cos:
    return _cos(_required(body, "cos"))


def _domain(node: Element) -> Domain:
    return Domain(node.get("id", ""), node.get("name", ""), attrs_of(node))


@_builds(GetDomainEntries)
def _get_domains(r: GetDomainEntries) -> Element:
    return el(ADMIN, "GetAllDomainsRequest", {"applyConfig": "0"})


@_parses(GetDomainEntries)
def _domains(r: GetDomainEntries, body: Element) -> list[Domain]:
    return [_domain(d) for d in children(body, "domain")]


@_builds(GetDomainEntry)
def _get_domain(r: GetDomainEntry) -> Element:
    body = el(ADMIN, "GetDomainRequest", {"applyConfig": "0"})
    sub(body, ADMIN, "domain", {"by": r.by}, r.domain)
    return body


@_builds(ModifyDomain)
def _modify_domain(r: ModifyDomain) -> Element:
    body = el(ADMIN, "ModifyDomainRequest", {"id": r.id})
    _admin_attrs(body, r.attrs)
    return body


@_parses(GetDomainEntry, ModifyDomain)
def _one_domain(r: GetDomainEntry | ModifyDomain, body: Element) -> Domain:
    return _domain(_required(body, "domain"))
