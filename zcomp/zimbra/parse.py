"""Reply body elements -> the model dataclasses each Request[T] promises.

Parsing is by local name and tolerant: elements and attributes a newer Zimbra adds are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zcomp.zimbra import operations as rq
from zcomp.zimbra.filters import rules_from_xml
from zcomp.zimbra.model import (
    Account,
    AccountInfo,
    Attrs,
    AuthResult,
    Domain,
    Identity,
    Info,
    Modified,
    QueueMessage,
    QueueSummary,
    SearchPage,
    Secret,
    Server,
    SessionInfo,
    SetPasswordResult,
    Signature,
    first,
)
from zcomp.zimbra.ns import Element, child, child_text, children, flag, str_attrs

Parser = Callable[[Any, Element], Any]
_PARSERS: dict[type, Parser] = {}


def _parses(*kinds: type) -> Callable[[Parser], Parser]:
    def register(fn: Parser) -> Parser:
        for kind in kinds:
            _PARSERS[kind] = fn
        return fn

    return register


def parse(request: rq.Request[Any], body: Element) -> Any:
    parser = _PARSERS.get(type(request))
    return None if parser is None else parser(request, body)


def attrs_of(node: Element, key: str = "n", tag: str = "a") -> Attrs:
    found: Attrs = {}
    # A GetAccount reply carries hundreds of <a>: lxml's C tag filter, and no list per setdefault.
    for a in node.iterchildren("{*}" + tag):
        name = a.get(key)
        if name is not None:
            values = found.get(name)
            if values is None:
                found[name] = [a.text or ""]
            else:
                values.append(a.text or "")
    return found


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _entry(node: Element) -> tuple[str, str, Attrs]:
    return node.get("id", ""), node.get("name", ""), attrs_of(node)


def _required(body: Element, tag: str) -> Element:
    found = child(body, tag)
    if found is None:
        from zcomp.zimbra.errors import ZimbraProtocolError

        raise ZimbraProtocolError(f"<{tag}> missing in Zimbra's {body.tag}")
    return found


def auth_result(body: Element) -> AuthResult:
    token = child_text(body, "authToken")
    if not token:
        from zcomp.zimbra.errors import ZimbraProtocolError

        raise ZimbraProtocolError("AuthResponse without an authToken")
    return AuthResult(token=Secret(token), lifetime_ms=_int(child_text(body, "lifetime")))


@_parses(rq.GetAccount)
def _account(r: Any, body: Element) -> Account:
    return Account(*_entry(_required(body, "account")))


@_parses(rq.ModifyAccount)
def _modified(r: Any, body: Element) -> Modified:
    account = _required(body, "account")
    return Modified(account.get("id", ""), account.get("name", ""))


@_parses(rq.GetAccountInfo)
def _account_info(r: Any, body: Element) -> AccountInfo:
    attrs = attrs_of(body)
    return AccountInfo(
        id=(attrs.get("zimbraId") or [""])[0],
        name=child_text(body, "name") or "",
        mail_host=first(attrs, "zimbraMailHost"),
        soap_urls=[u.text or "" for u in children(body, "soapURL")],
        admin_soap_url=child_text(body, "adminSoapURL"),
    )


@_parses(rq.SetPassword)
def _set_password(r: Any, body: Element) -> SetPasswordResult:
    return SetPasswordResult(message=child_text(body, "message"))


@_parses(rq.DelegateAuth)
def _delegate(r: Any, body: Element) -> AuthResult:
    return auth_result(body)


@_parses(rq.GetSessions)
def _sessions(r: rq.GetSessions, body: Element) -> list[SessionInfo]:
    return [
        SessionInfo(
            account_id=s.get("zid", ""),
            account_name=s.get("name", s.get("zid", "")),
            session_id=s.get("sid", ""),
            created_ms=_int(s.get("cd")),
            accessed_ms=_int(s.get("ld")),
            type=r.type,
        )
        for s in body.iter("{*}s")
    ]


@_parses(rq.GetAllServers)
def _servers(r: Any, body: Element) -> list[Server]:
    return [Server(*_entry(s)) for s in children(body, "server")]


@_parses(rq.SearchDirectory)
def _search(r: Any, body: Element) -> SearchPage:
    accounts = [Account(*_entry(a)) for a in children(body, "account")]
    total = _int(body.get("searchTotal"), len(accounts))
    return SearchPage(accounts=accounts, more=flag(body.get("more")), total=total)


@_parses(rq.GetDomain)
def _domain(r: Any, body: Element) -> Domain:
    return Domain(*_entry(_required(body, "domain")))


@_parses(rq.GetAllDomains)
def _domains(r: Any, body: Element) -> list[Domain]:
    return [Domain(*_entry(d)) for d in children(body, "domain")]


@_parses(rq.GetConfig)
def _config(r: rq.GetConfig, body: Element) -> list[str]:
    return attrs_of(body).get(r.attr, [])


@_parses(rq.GetMailQueue)
def _queue(r: rq.GetMailQueue, body: Element) -> QueueSummary:
    server = child(body, "server")
    queue = child(server, "queue") if server is not None else None
    if server is None or queue is None:
        return QueueSummary(server=r.server, queue=r.queue, total=0)
    messages = [
        QueueMessage(
            id=qi.get("id", ""),
            sender=qi.get("from", ""),
            recipients=[t.strip() for t in qi.get("to", "").split(",") if t.strip()],
            received=qi.get("time"),
            attrs=str_attrs(qi),
        )
        for qi in children(queue, "qi")
    ]
    total, more = _int(queue.get("total")), flag(queue.get("more"))
    if r.sender or r.senders:
        # Zimbra's total= counts the whole queue, not the query's hits; and a query's hits
        # are capped at `limit` by Lucene, so its more= stays 0 (RemoteMailQueue.search0).
        # What came back is the count; a full page means "at least".
        total = r.offset + len(messages)
        more = len(messages) >= r.limit > 0
    summaries = {
        qs.get("type", ""): {qsi.get("t", ""): _int(qsi.get("n")) for qsi in children(qs, "qsi")}
        for qs in children(queue, "qs")
    }
    return QueueSummary(
        server=server.get("name", r.server),
        queue=queue.get("name", r.queue),
        total=total,
        messages=messages,
        more=more,
        scanning=flag(queue.get("scan")),
        summaries=summaries,
    )


@_parses(rq.AdminGetFilterRules, rq.GetFilterRules)
def _filters(r: Any, body: Element) -> Any:
    return rules_from_xml(body)


def _signature(node: Element) -> Signature:
    return Signature(
        id=node.get("id"),
        name=node.get("name", ""),
        contents={c.get("type", "text/plain"): c.text or "" for c in children(node, "content")},
        cid=child_text(node, "cid"),
    )


def _identity(node: Element) -> Identity:
    return Identity(
        id=node.get("id", ""), name=node.get("name", ""), attrs=attrs_of(node, key="name")
    )


@_parses(rq.GetSignatures)
def _signatures(r: Any, body: Element) -> list[Signature]:
    return [_signature(s) for s in children(body, "signature")]


@_parses(rq.CreateSignature)
def _created_signature(r: rq.CreateSignature, body: Element) -> Signature:
    made = _signature(_required(body, "signature"))
    return Signature(
        id=made.id,
        name=made.name or r.signature.name,
        contents=made.contents or dict(r.signature.contents),
        cid=made.cid if made.cid is not None else r.signature.cid,
    )


@_parses(rq.GetIdentities)
def _identities(r: Any, body: Element) -> list[Identity]:
    return [_identity(i) for i in children(body, "identity")]


@_parses(rq.CreateIdentity)
def _created_identity(r: Any, body: Element) -> Identity:
    return _identity(_required(body, "identity"))


@_parses(rq.GetPrefs)
def _prefs(r: Any, body: Element) -> Attrs:
    return attrs_of(body, key="name", tag="pref")


@_parses(rq.GetInfo)
def _info(r: Any, body: Element) -> Info:
    attrs_el, prefs_el = child(body, "attrs"), child(body, "prefs")
    idents_el, sigs_el = child(body, "identities"), child(body, "signatures")
    return Info(
        id=child_text(body, "id") or "",
        name=child_text(body, "name") or "",
        attrs=attrs_of(attrs_el, key="name", tag="attr") if attrs_el is not None else {},
        prefs=attrs_of(prefs_el, key="name", tag="pref") if prefs_el is not None else {},
        identities=[_identity(i) for i in children(idents_el, "identity")]
        if idents_el is not None
        else [],
        signatures=[_signature(s) for s in children(sigs_el, "signature")]
        if sigs_el is not None
        else [],
    )


# The shapes of zcomp.zimbra.access's and .policy's requests register themselves on import.
from zcomp.zimbra import access_wire, policy_wire  # noqa: E402, F401
