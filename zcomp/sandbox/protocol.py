"""Envelopes: parse SOAP 1.1, SOAP 1.2 and Zimbra JSON requests; serialize responses and faults."""

from __future__ import annotations

import enum
import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 - loopback test server; expat guards entity expansion
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from zcomp.sandbox.element import NS_ZIMBRA, El, SharedEl
from zcomp.sandbox.faults import SoapFault, invalid_request, parse_error

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
NS_SOAP_JS = "urn:zimbraSoap"
JSON_FAULT = "JSON-FAULT"  # marker namespace: a fault element rendered in Zimbra's JSON shape


class Proto(enum.Enum):
    SOAP11 = "soap11"
    SOAP12 = "soap12"
    JS = "js"

    @property
    def content_type(self) -> str:
        # SoapJSProtocol.getContentType; Jetty drops the space after ';' as it does for XML.
        return "text/javascript;charset=utf-8" if self is Proto.JS else "text/xml;charset=utf-8"


@dataclass
class Envelope:
    proto: Proto
    header: El | None  # the urn:zimbra <context>, if any
    body: El | None  # the first Body child


def parse(raw: bytes) -> Envelope:
    """Zimbra decides by the first byte: '<' is XML, anything else is JSON."""
    if raw[:1] == b"<":
        return _parse_xml(raw)
    return _parse_json(raw)


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def _from_etree(node: ET.Element) -> El:
    ns, name = _split(node.tag)
    attrs = {_split(k)[1]: v for k, v in node.attrib.items()}
    el = El(name, ns, attrs, [_from_etree(c) for c in node], None)
    text = node.text or ""
    if el.children:
        el.text = text.strip() or None
    else:
        el.text = text
    return el


def _parse_xml(raw: bytes) -> Envelope:
    try:
        root = ET.fromstring(raw)  # noqa: S314 - see import note
    except ET.ParseError as exc:
        raise _ProtoFault(Proto.SOAP12, parse_error(str(exc))) from exc
    ns, name = _split(root.tag)
    if name != "Envelope" or ns not in (SOAP11_NS, SOAP12_NS):
        raise _ProtoFault(Proto.SOAP12, invalid_request("unable to determine SOAP version"))
    proto = Proto.SOAP11 if ns == SOAP11_NS else Proto.SOAP12
    header = body = None
    for part in root:
        pns, pname = _split(part.tag)
        if pns != ns:
            continue
        if pname == "Header":
            for h in part:
                if _split(h.tag) == (NS_ZIMBRA, "context"):
                    header = _from_etree(h)
        elif pname == "Body":
            first = next(iter(part), None)
            body = _from_etree(first) if first is not None else None
    return Envelope(proto, header, body)


def _json_to_el(name: str, value: Any, ns: str | None) -> El:
    if not isinstance(value, dict):
        return El(name, ns, {}, [], _scalar(value))
    el = El(name, value.get("_jsns", ns))
    for key, item in value.items():
        if key == "_jsns":
            continue
        if key == "_content":
            el.text = _scalar(item)
        elif isinstance(item, dict):
            el.children.append(_json_to_el(key, item, el.ns))
        elif isinstance(item, list):
            el.children.extend(_json_to_el(key, sub, el.ns) for sub in item)
        else:
            el.attrs[key] = _scalar(item)
    return el


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    return str(value)


def _parse_json(raw: bytes) -> Envelope:
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _ProtoFault(Proto.JS, parse_error(str(exc))) from exc
    if not isinstance(doc, dict):
        raise _ProtoFault(Proto.JS, parse_error("request is not a JSON object"))
    header = None
    hdr = doc.get("Header")
    if isinstance(hdr, dict) and isinstance(hdr.get("context"), dict):
        header = _json_to_el("context", hdr["context"], NS_ZIMBRA)
    body = None
    b = doc.get("Body")
    if isinstance(b, dict):
        for key, value in b.items():
            if key == "_jsns":
                continue
            body = _json_to_el(key, value, None)
            break
    return Envelope(Proto.JS, header, body)


class _ProtoFault(Exception):
    """A fault found before the protocol could be fully determined."""

    def __init__(self, proto: Proto, fault: SoapFault) -> None:
        super().__init__(fault.message)
        self.proto = proto
        self.fault = fault


ProtoFault = _ProtoFault


# ---- serialization ---------------------------------------------------------------------------


# Zimbra's Element.XMLElement.xmlEncode: &, < and > (and " in attributes) escaped; a character
# XML 1.0 does not allow (most C0 controls, a lone surrogate, U+FFFE/U+FFFF) becomes "?"; tab,
# newline and carriage return are written as they are, so a parser reads them in an attribute
# as spaces (attribute-value normalisation) and a CR in text as LF. An attacker's rule name
# with an ESC in it is "?" to an XML client, never a reply that does not parse.
_NOT_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NOT_XML_CHAR = re.compile(f"[{_NOT_XML}]")
# Most attribute values and texts need no escaping; the replace chains cost more than the rest
# of serialization, so they only run when one of these characters is present.
_ATTR_SPECIAL = re.compile(f'[&<>"{_NOT_XML}]')
_TEXT_SPECIAL = re.compile(f"[&<>{_NOT_XML}]")


def _encode(text: str) -> str:
    return escape(_NOT_XML_CHAR.sub("?", text))


def _quoteattr(value: str) -> str:
    """The quoted attribute value, as xmlEncode(value, true) writes it."""
    if _ATTR_SPECIAL.search(value) is None:
        return '"' + value + '"'
    return '"' + _encode(value).replace('"', "&quot;") + '"'


def _escape(text: str) -> str:
    """Text as xmlEncode(text, false) writes it."""
    if _TEXT_SPECIAL.search(text) is None:
        return text
    return _encode(text)


def _attrs_xml(attrs: dict[str, str]) -> str:
    # One search over all the values: an account's <a n="..."> rarely needs escaping.
    if _ATTR_SPECIAL.search("".join(attrs.values())) is None:
        return "".join([f' {k}="{v}"' for k, v in attrs.items()])
    return "".join([f" {k}={_quoteattr(v)}" for k, v in attrs.items()])


def _xml(el: El, parent_ns: str | None, out: list[str]) -> None:
    ns = el.ns
    if ns in ("SOAP-FAULT", ""):
        _xml_soap(el, out, "")
        return
    name = el.name
    head = "<" + name
    if ns is not None and ns != parent_ns:
        head += " xmlns=" + _quoteattr(ns)
    if el.attrs:
        head += _attrs_xml(el.attrs)
    children, text = el.children, el.text
    if not children:
        # Leaves are most elements (an account's hundreds of <a>): one string each.
        out.append(f"{head}>{_escape(text)}</{name}>" if text else head + "/>")
        return
    out.append(head + ">")
    if text:
        out.append(_escape(text))
    for c in children:
        if c.__class__ is SharedEl and c.ns == ns:
            out.append(c.xml)  # type: ignore[attr-defined]  # checked just above
            continue
        if c.children or c.ns != ns:
            _xml(c, ns, out)
            continue
        if len(c.attrs) != 1:
            # What _xml writes for a childless child in this namespace (GetMailQueue's <qsi>).
            head = "<" + c.name + _attrs_xml(c.attrs) if c.attrs else "<" + c.name
            t = c.text
            out.append(f"{head}>{_escape(t)}</{c.name}>" if t else head + "/>")
            continue
        # What _xml writes for a childless child in this namespace with one attribute, inlined:
        # an account is ~500 <a n="...">value</a>, and the call per child cost more than them.
        ((k, v),) = c.attrs.items()
        v = '"' + v + '"' if _ATTR_SPECIAL.search(v) is None else _quoteattr(v)
        t = c.text
        if t:
            out.append(f"<{c.name} {k}={v}>{_escape(t)}</{c.name}>")
        else:
            out.append(f"<{c.name} {k}={v}/>")
    out.append("</" + name + ">")


def shared_leaf(name: str, ns: str | None, attrs: dict[str, str], text: str | None) -> SharedEl:
    """A leaf many answers share, with its XML and JSON forms written by the code that would
    write them per answer (so they cannot differ)."""
    el = SharedEl(name, ns, attrs, [], text)
    out: list[str] = []
    _xml(el, ns, out)
    el.xml = "".join(out)
    el.js = _json_obj(el, ns)
    return el


def fault_element(proto: Proto, fault: SoapFault, trace: str) -> El:
    """The Fault body element in SOAP 1.1/1.2 shape; JSON faults are built separately."""
    if proto is Proto.JS:
        marker = {"code": fault.code, "message": fault.message, "trace": trace}
        marker["receiver"] = "1" if fault.receivers_fault else "0"
        return El("Fault", JSON_FAULT, marker)
    error = El("Error", NS_ZIMBRA)
    error.add("Code", text=fault.code)
    error.add("Trace", text=trace)
    if proto is Proto.SOAP11:
        f = El("Fault", "SOAP-FAULT")  # placeholder ns replaced by the envelope writer
        f.add("faultcode", text="soap:Server" if fault.receivers_fault else "soap:Client", ns="")
        f.add("faultstring", text=fault.message, ns="")
        f.add("detail", ns="").children.append(error)
        return f
    f = El("Fault", "SOAP-FAULT")
    code = f.add("Code", ns="SOAP-FAULT")
    code.add("Value", text="soap:Receiver" if fault.receivers_fault else "soap:Sender")
    f.add("Reason").add("Text", text=fault.message)
    f.add("Detail").children.append(error)
    return f


def _xml_soap(el: El, out: list[str], env_ns: str) -> None:
    """Write elements in the envelope namespace with the soap: prefix, others plainly."""
    if el.ns == "SOAP-FAULT":
        out.append(f"<soap:{el.name}")
        for k, v in el.attrs.items():
            out.append(f" {k}={_quoteattr(v)}")
        out.append(">")
        if el.text:
            out.append(_escape(el.text))
        for c in el.children:
            _xml_soap(c, out, env_ns)
        out.append(f"</soap:{el.name}>")
    elif el.ns == "":
        out.append(f"<{el.name}>")
        if el.text:
            out.append(_escape(el.text))
        for c in el.children:
            _xml_soap(c, out, env_ns)
        out.append(f"</{el.name}>")
    else:
        _xml(el, None, out)


def serialize(proto: Proto, body: El, context: El | None = None) -> bytes:
    if proto is Proto.JS:
        return _serialize_json(body, context)
    env_ns = SOAP11_NS if proto is Proto.SOAP11 else SOAP12_NS
    out = [f'<soap:Envelope xmlns:soap="{env_ns}"><soap:Header>']
    _xml(context or El("context", NS_ZIMBRA), None, out)
    out.append("</soap:Header><soap:Body>")
    _xml_soap(body, out, env_ns)
    out.append("</soap:Body></soap:Envelope>")
    return "".join(out).encode("utf-8")


def _json_obj(el: El, parent_ns: str | None) -> dict[str, Any]:
    if el.ns == JSON_FAULT:
        fault = SoapFault(el.attrs["code"], el.attrs["message"])
        out = json_fault(fault, el.attrs["trace"])
        if "requestId" in el.attrs:
            out["requestId"] = el.attrs["requestId"]
        return out
    obj: dict[str, Any] = dict(el.attrs)
    if el.text:
        obj["_content"] = el.text
    for c in el.children:
        if c.__class__ is SharedEl and c.ns == el.ns:
            obj.setdefault(c.name, []).append(c.js)  # type: ignore[attr-defined]
            continue
        obj.setdefault(c.name, []).append(_json_obj(c, el.ns))
    if el.ns is not None and el.ns != parent_ns:
        obj["_jsns"] = el.ns
    return obj


def json_fault(fault: SoapFault, trace: str) -> dict[str, Any]:
    return {
        "Code": {"Value": "soap:Receiver" if fault.receivers_fault else "soap:Sender"},
        "Reason": {"Text": fault.message},
        "Detail": {"Error": {"Code": fault.code, "Trace": trace, "_jsns": NS_ZIMBRA}},
    }


def _serialize_json(body: El, context: El | None) -> bytes:
    header = _json_obj(context or El("context", NS_ZIMBRA), None)
    doc = {
        "Header": {"context": header},
        "Body": {body.name: _json_obj(body, None)},
        "_jsns": NS_SOAP_JS,
    }
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")
