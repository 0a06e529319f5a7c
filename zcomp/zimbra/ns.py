"""Namespaces and tiny lxml helpers shared by the request builders and reply parsers."""

from __future__ import annotations

from lxml import etree

ZIMBRA = "urn:zimbra"
ADMIN = "urn:zimbraAdmin"
ACCOUNT = "urn:zimbraAccount"
MAIL = "urn:zimbraMail"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"

Element = etree._Element


def el(ns: str, tag: str, attrs: dict[str, str] | None = None, text: str | None = None) -> Element:
    """A new element in `ns`, declared as the default namespace (Zimbra's own style)."""
    # lxml-stubs do not allow the None (default namespace) key lxml accepts.
    node = etree.Element(f"{{{ns}}}{tag}", nsmap={None: ns})  # type: ignore[dict-item]
    for key, value in (attrs or {}).items():
        node.set(key, value)
    if text is not None:
        node.text = text
    return node


def sub(
    parent: Element, ns: str, tag: str, attrs: dict[str, str] | None = None, text: str | None = None
) -> Element:
    node = etree.SubElement(parent, f"{{{ns}}}{tag}")
    for key, value in (attrs or {}).items():
        node.set(key, value)
    if text is not None:
        node.text = text
    return node


def str_attrs(node: Element) -> dict[str, str]:
    return {str(k): str(v) for k, v in node.attrib.items()}


def local(node: Element) -> str:
    tag = node.tag
    if isinstance(tag, str):  # "{ns}name" or "name": no QName object on the hot path
        return tag.rpartition("}")[2]
    return etree.QName(node).localname  # comments and the like: QName's own error


def namespace(node: Element) -> str | None:
    return etree.QName(node).namespace


def children(node: Element, tag: str | None = None) -> list[Element]:
    """Element children (comments skipped), optionally only those with this local name."""
    # lxml filters in C: "*" is any element, "{*}name" that local name in any or no namespace;
    # comments, processing instructions and entity references never match either.
    return list(node.iterchildren("*" if tag is None else "{*}" + tag))


def child(node: Element, tag: str) -> Element | None:
    return next(node.iterchildren("{*}" + tag), None)


def child_text(node: Element, tag: str) -> str | None:
    found = child(node, tag)
    if found is None:
        return None
    return found.text or ""


def flag(value: str | None, default: bool = False) -> bool:
    """Zimbra boolean attributes: 1/0/true/false (ZmBoolean)."""
    if value is None:
        return default
    return value.strip().lower() in ("1", "true")


def bool_attr(value: bool) -> str:
    return "1" if value else "0"
