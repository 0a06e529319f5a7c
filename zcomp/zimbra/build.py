"""Request dataclasses -> the body element Zimbra expects (shapes per soap-admin.txt/soap.txt).

Attribute form is used where Zimbra's JAXB classes use attributes; both forms are accepted
(Element.getAttribute / JaxbUtil fixup). Secrets go in child elements so redaction is simple.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zcomp.zimbra import operations as rq
from zcomp.zimbra.filters import rules_to_xml
from zcomp.zimbra.model import Secret
from zcomp.zimbra.ns import ACCOUNT, ADMIN, MAIL, Element, bool_attr, el, sub

Builder = Callable[[Any], Element]
_BUILDERS: dict[type, Builder] = {}


def _builds(kind: type) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        _BUILDERS[kind] = fn
        return fn

    return register


def build(request: rq.Request[Any]) -> Element:
    try:
        builder = _BUILDERS[type(request)]
    except KeyError:
        raise TypeError(f"no SOAP shape for {type(request).__name__}") from None
    return builder(request)


def auth_request(name: str, password: Secret) -> Element:
    body = el(ADMIN, "AuthRequest")
    sub(body, ADMIN, "name", text=name)
    sub(body, ADMIN, "password", text=password.reveal())
    return body


def _values(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _admin_attrs(body: Element, changes: rq.AttrChanges) -> None:
    for name, value in changes.items():
        for one in _values(value):
            sub(body, ADMIN, "a", {"n": name}, one)


def _named_attrs(body: Element, ns: str, changes: rq.AttrChanges) -> None:
    for name, value in changes.items():
        for one in _values(value):
            sub(body, ns, "a", {"name": name}, one)


@_builds(rq.GetAccount)
def _get_account(r: rq.GetAccount) -> Element:
    body = el(ADMIN, "GetAccountRequest", {"applyCos": bool_attr(r.apply_cos)})
    if r.attrs is not None:
        body.set("attrs", ",".join(r.attrs))
    sub(body, ADMIN, "account", {"by": r.by}, r.account)
    return body


@_builds(rq.GetAccountInfo)
def _get_account_info(r: rq.GetAccountInfo) -> Element:
    body = el(ADMIN, "GetAccountInfoRequest")
    sub(body, ADMIN, "account", {"by": r.by}, r.account)
    return body


@_builds(rq.ModifyAccount)
def _modify_account(r: rq.ModifyAccount) -> Element:
    body = el(ADMIN, "ModifyAccountRequest", {"id": r.id})
    _admin_attrs(body, r.attrs)
    return body


@_builds(rq.SetPassword)
def _set_password(r: rq.SetPassword) -> Element:
    body = el(ADMIN, "SetPasswordRequest", {"id": r.id})
    sub(body, ADMIN, "newPassword", text=r.new_password.reveal())
    return body


@_builds(rq.CheckPasswordStrength)
def _check_password_strength(r: rq.CheckPasswordStrength) -> Element:
    # Zimbra reads id and password with Element.getAttribute, which takes a child element too.
    body = el(ADMIN, "CheckPasswordStrengthRequest", {"id": r.id})
    sub(body, ADMIN, "password", text=r.password.reveal())
    return body


@_builds(rq.DelegateAuth)
def _delegate_auth(r: rq.DelegateAuth) -> Element:
    body = el(ADMIN, "DelegateAuthRequest", {"duration": str(r.duration_s)})
    sub(body, ADMIN, "account", {"by": r.by}, r.account)
    return body


@_builds(rq.FlushCache)
def _flush_cache(r: rq.FlushCache) -> Element:
    body = el(ADMIN, "FlushCacheRequest")
    cache = sub(
        body, ADMIN, "cache", {"type": ",".join(r.types), "allServers": bool_attr(r.all_servers)}
    )
    for entry in r.ids:
        sub(cache, ADMIN, "entry", {"by": "id"}, entry)
    return body


@_builds(rq.GetSessions)
def _get_sessions(r: rq.GetSessions) -> Element:
    attrs = {"type": r.type, "refresh": "1", "limit": str(r.limit), "offset": str(r.offset)}
    return el(ADMIN, "GetSessionsRequest", attrs)


@_builds(rq.GetAllServers)
def _get_all_servers(r: rq.GetAllServers) -> Element:
    body = el(ADMIN, "GetAllServersRequest")
    if r.service:
        body.set("service", r.service)
    return body


@_builds(rq.SearchDirectory)
def _search_directory(r: rq.SearchDirectory) -> Element:
    body = el(
        ADMIN,
        "SearchDirectoryRequest",
        {"query": r.query, "limit": str(r.limit), "offset": str(r.offset), "types": r.types},
    )
    if r.attrs is not None:
        body.set("attrs", ",".join(r.attrs))
    if r.domain:
        body.set("domain", r.domain)
    if r.sort_by:
        body.set("sortBy", r.sort_by)
    return body


@_builds(rq.GetDomain)
def _get_domain(r: rq.GetDomain) -> Element:
    body = el(ADMIN, "GetDomainRequest")
    sub(body, ADMIN, "domain", {"by": r.by}, r.name)
    return body


@_builds(rq.GetAllDomains)
def _get_all_domains(r: rq.GetAllDomains) -> Element:
    return el(ADMIN, "GetAllDomainsRequest")


@_builds(rq.GetConfig)
def _get_config(r: rq.GetConfig) -> Element:
    body = el(ADMIN, "GetConfigRequest")
    sub(body, ADMIN, "a", {"n": r.attr})
    return body


def _senders(sender: str | None, senders: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(s.lower() for s in ((sender,) if sender else ()) + senders))


def _queue_query(parent: Element, senders: list[str], attrs: dict[str, str]) -> None:
    query = sub(parent, ADMIN, "query", attrs)
    if senders:
        # RemoteMailQueue indexes addresses lower-cased; each match is an exact term, and the
        # matches of one field are OR'd (GetMailQueue.buildLuceneQuery).
        field = sub(query, ADMIN, "field", {"name": "from"})
        for sender in senders:
            sub(field, ADMIN, "match", {"value": sender})


@_builds(rq.GetMailQueue)
def _get_mail_queue(r: rq.GetMailQueue) -> Element:
    body = el(ADMIN, "GetMailQueueRequest")
    server = sub(body, ADMIN, "server", {"name": r.server})
    # scan=1: the MTA queue is re-read now (an incident needs fresh data, and a later
    # MailQueueAction by query runs against this scan's index). <query> is required
    # (GetMailQueue.java getElement), even when it has no field.
    queue = sub(server, ADMIN, "queue", {"name": r.queue})
    if r.scan:
        queue.set("scan", "1")
    if r.wait_s is not None:
        queue.set("wait", str(r.wait_s))
    _queue_query(
        queue, _senders(r.sender, r.senders), {"limit": str(r.limit), "offset": str(r.offset)}
    )
    return body


@_builds(rq.MailQueueAction)
def _mail_queue_action(r: rq.MailQueueAction) -> Element:
    senders = _senders(r.sender, r.senders)
    if bool(r.ids) == bool(senders):
        raise ValueError("MailQueueAction needs exactly one of ids or senders")
    body = el(ADMIN, "MailQueueActionRequest")
    server = sub(body, ADMIN, "server", {"name": r.server})
    queue = sub(server, ADMIN, "queue", {"name": r.queue})
    if r.ids:
        sub(queue, ADMIN, "action", {"op": r.op, "by": "id"}, ",".join(r.ids))
    else:
        action = sub(queue, ADMIN, "action", {"op": r.op, "by": "query"})
        _queue_query(action, senders, {})
    return body


def _admin_filter_op(verb: str, outgoing: bool) -> str:
    return f"{verb}{'Outgoing' if outgoing else ''}FilterRulesRequest"


@_builds(rq.AdminGetFilterRules)
def _admin_get_filters(r: rq.AdminGetFilterRules) -> Element:
    body = el(ADMIN, _admin_filter_op("Get", r.outgoing), {"type": r.when})
    sub(body, ADMIN, "account", {"by": r.by}, r.account)
    return body


@_builds(rq.AdminModifyFilterRules)
def _admin_modify_filters(r: rq.AdminModifyFilterRules) -> Element:
    body = el(ADMIN, _admin_filter_op("Modify", r.outgoing), {"type": r.when})
    sub(body, ADMIN, "account", {"by": r.by}, r.account)
    rules_to_xml(body, ADMIN, r.rules)
    return body


@_builds(rq.GetInfo)
def _get_info(r: rq.GetInfo) -> Element:
    return el(ACCOUNT, "GetInfoRequest", {"sections": r.sections})


@_builds(rq.GetPrefs)
def _get_prefs(r: rq.GetPrefs) -> Element:
    body = el(ACCOUNT, "GetPrefsRequest")
    for name in r.names:
        sub(body, ACCOUNT, "pref", {"name": name})
    return body


@_builds(rq.ModifyPrefs)
def _modify_prefs(r: rq.ModifyPrefs) -> Element:
    body = el(ACCOUNT, "ModifyPrefsRequest")
    for name, value in r.prefs.items():
        for one in _values(value):
            sub(body, ACCOUNT, "pref", {"name": name}, one)
    return body


@_builds(rq.GetFilterRules)
def _get_filters(r: rq.GetFilterRules) -> Element:
    return el(MAIL, "GetOutgoingFilterRulesRequest" if r.outgoing else "GetFilterRulesRequest")


@_builds(rq.ModifyFilterRules)
def _modify_filters(r: rq.ModifyFilterRules) -> Element:
    tag = "ModifyOutgoingFilterRulesRequest" if r.outgoing else "ModifyFilterRulesRequest"
    body = el(MAIL, tag)
    rules_to_xml(body, MAIL, r.rules)
    return body


@_builds(rq.GetSignatures)
def _get_signatures(r: rq.GetSignatures) -> Element:
    return el(ACCOUNT, "GetSignaturesRequest")


def _signature(body: Element, sig_id: str | None, name: str | None) -> Element:
    attrs = {}
    if sig_id:
        attrs["id"] = sig_id
    if name:
        attrs["name"] = name
    return sub(body, ACCOUNT, "signature", attrs)


@_builds(rq.CreateSignature)
def _create_signature(r: rq.CreateSignature) -> Element:
    body = el(ACCOUNT, "CreateSignatureRequest")
    sig = _signature(body, r.signature.id, r.signature.name)
    for mime, text in r.signature.contents.items():
        sub(sig, ACCOUNT, "content", {"type": mime}, text)
    if r.signature.cid is not None:
        sub(sig, ACCOUNT, "cid", text=r.signature.cid)
    return body


@_builds(rq.ModifySignature)
def _modify_signature(r: rq.ModifySignature) -> Element:
    if not r.signature.id:
        raise ValueError("ModifySignature needs the signature id")
    body = el(ACCOUNT, "ModifySignatureRequest")
    # No name: sending one would rename the signature.
    sig = _signature(body, r.signature.id, None)
    for mime, text in r.signature.contents.items():
        sub(sig, ACCOUNT, "content", {"type": mime}, text)
    return body


@_builds(rq.DeleteSignature)
def _delete_signature(r: rq.DeleteSignature) -> Element:
    body = el(ACCOUNT, "DeleteSignatureRequest")
    _signature(body, r.id, None if r.id else r.name)
    return body


@_builds(rq.GetIdentities)
def _get_identities(r: rq.GetIdentities) -> Element:
    return el(ACCOUNT, "GetIdentitiesRequest")


def _identity(body: Element, ident_id: str | None, name: str | None) -> Element:
    attrs = {}
    if ident_id:
        attrs["id"] = ident_id
    elif name:
        attrs["name"] = name
    return sub(body, ACCOUNT, "identity", attrs)


@_builds(rq.CreateIdentity)
def _create_identity(r: rq.CreateIdentity) -> Element:
    body = el(ACCOUNT, "CreateIdentityRequest")
    ident = sub(body, ACCOUNT, "identity", {"name": r.name})
    _named_attrs(ident, ACCOUNT, r.attrs)
    return body


@_builds(rq.ModifyIdentity)
def _modify_identity(r: rq.ModifyIdentity) -> Element:
    body = el(ACCOUNT, "ModifyIdentityRequest")
    _named_attrs(_identity(body, r.id, r.name), ACCOUNT, r.attrs)
    return body


@_builds(rq.DeleteIdentity)
def _delete_identity(r: rq.DeleteIdentity) -> Element:
    body = el(ACCOUNT, "DeleteIdentityRequest")
    _identity(body, r.id, r.name)
    return body


@_builds(rq.NoOp)
def _noop(r: rq.NoOp) -> Element:
    return el(MAIL, "NoOpRequest")


# The shapes of zcomp.zimbra.access's and .policy's requests register themselves on import.
from zcomp.zimbra import access_wire, policy_wire  # noqa: E402, F401
