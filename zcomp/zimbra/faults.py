"""SOAP replies -> the body element, or a typed error (SOAP 1.1 and 1.2 fault shapes)."""

from __future__ import annotations

from lxml import etree

from zcomp.zimbra.errors import (
    LOGIN_FAILURE_CODES,
    ZimbraAuthError,
    ZimbraFault,
    ZimbraProtocolError,
)
from zcomp.zimbra.ns import SOAP11, SOAP12, ZIMBRA, Element, child, children, local, namespace

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def is_fault(node: Element) -> bool:
    return local(node) == "Fault" and namespace(node) in (SOAP11, SOAP12)


def fault_code_and_reason(fault: Element) -> tuple[str, str]:
    """Zimbra's code from Detail/Error/Code; reason from 1.2 Reason/Text or 1.1 faultstring."""
    code = fault.findtext(f".//{{{ZIMBRA}}}Error/{{{ZIMBRA}}}Code")
    reason = fault.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text")
    if reason is None:
        # SOAP 1.1 children are unqualified, but inside <BatchResponse xmlns="urn:zimbra">
        # Zimbra's serializer leaves them in the inherited default namespace: match any.
        reason = fault.findtext("{*}faultstring")
    if code is None:
        # No Zimbra detail: fall back to the SOAP code (soap:Client, soap:Sender ...).
        code = fault.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value") or fault.findtext(
            "{*}faultcode"
        )
    return (code or "soap.FAULT").strip(), (reason or "").strip()


def fault_error(fault: Element, request: str | None, *, login: bool = False) -> ZimbraFault:
    """The typed error for a fault; a refused admin login is a ZimbraAuthError (exit 3)."""
    code, reason = fault_code_and_reason(fault)
    if login and (code in LOGIN_FAILURE_CODES or code.startswith("account.")):
        return ZimbraAuthError(code, reason or "admin login refused", request=request)
    return ZimbraFault(code, reason, request=request)


def _describe(data: bytes, status: int, content_type: str) -> str:
    head = data[:400].decode("utf-8", "replace").lower()
    if "<html" in head or "<!doctype html" in head or "text/html" in content_type.lower():
        title = ""
        start = head.find("<title>")
        if start >= 0:
            title = head[start + 7 : head.find("</title>", start)].strip()[:80]
        what = f"an HTML page{f' ({title!r})' if title else ''}"
        return f"HTTP {status} with {what}, not SOAP (a proxy or the wrong port?)"
    if not data.strip():
        return f"HTTP {status} with an empty body, not SOAP"
    return f"HTTP {status} with a reply that is not a SOAP envelope"


def reply_body(data: bytes, status: int, content_type: str, url: str, request: str) -> Element:
    """The first Body child of a SOAP reply. Raises ZimbraFault for a top-level fault."""
    try:
        root = etree.fromstring(data, _PARSER) if data.strip() else None
    except etree.XMLSyntaxError:
        root = None
    if root is None or local(root) != "Envelope" or namespace(root) not in (SOAP11, SOAP12):
        raise ZimbraProtocolError(f"{url}: {_describe(data, status, content_type)}")
    body = child(root, "Body")
    first = children(body)[0] if body is not None and children(body) else None
    if first is None:
        raise ZimbraProtocolError(f"{url}: HTTP {status} with an empty SOAP Body")
    if is_fault(first):
        raise fault_error(first, request, login=request == "AuthRequest")
    if status >= 400:
        raise ZimbraProtocolError(f"{url}: HTTP {status} without a SOAP fault")
    return first
