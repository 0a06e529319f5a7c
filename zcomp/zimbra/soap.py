"""The only module that imports zeep: WSDL loading, envelope building, HTTP transport.

zeep builds every envelope from zcomp's own WSDL (wsdl/zcomp.wsdl, parsed once per process);
the body's content comes from `build` as lxml and rides in the open (xsd:any) types. Replies
are read by `faults.reply_body` so that HTML pages, empty bodies and both SOAP fault shapes get
one clear error each, which zeep's own reply handling cannot tell apart.
"""

from __future__ import annotations

import copy
import os
import re
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

import requests
import zeep
from lxml import etree
from zeep.wsdl import Document

from zcomp.zimbra.errors import (
    ZimbraConnectionError,
    ZimbraTimeout,
    ZimbraTLSError,
)
from zcomp.zimbra.ns import ACCOUNT, ADMIN, MAIL, ZIMBRA, Element, local, namespace
from zcomp.zimbra.redact import redact

BINDING = "{urn:zcomp:wsdl}ZimbraBinding"
_PREFIX = {ZIMBRA: "zimbra", ADMIN: "admin", ACCOUNT: "account", MAIL: "mail"}

_document: Document | None = None
_document_lock = threading.Lock()


def wsdl_document() -> Document:
    """zcomp.wsdl parsed once per process (parsing is most of zeep's start-up cost)."""
    global _document
    with _document_lock:
        if _document is None:
            ref = resources.files("zcomp.zimbra.wsdl").joinpath("zcomp.wsdl")
            with resources.as_file(ref) as path:
                # The loader transport only reads a local file: no network, no session use.
                loader = zeep.Transport()
                try:
                    _document = Document(  # zeep annotates transport as a class; it is an instance
                        str(path),
                        loader,  # type: ignore[arg-type]
                        settings=zeep.Settings(strict=True),
                    )
                finally:
                    loader.session.close()
        return _document


def operation_name(body: Element) -> str:
    ns = namespace(body) or ""
    name = local(body)
    if ns not in _PREFIX or not name.endswith("Request"):
        raise ValueError(f"{body.tag} is not an operation of zcomp.wsdl")
    return f"{_PREFIX[ns]}.{name[: -len('Request')]}"


class ZimbraTransport(zeep.Transport):  # type: ignore[misc]
    """zeep Transport that passes verify and (connect, read) timeouts on every POST.

    requests lets REQUESTS_CA_BUNDLE override a Session's verify unless verify is passed per
    call, so the configured CA bundle always wins here.
    """

    def __init__(
        self, session: requests.Session, verify: bool | str, timeout: tuple[float, float]
    ) -> None:
        super().__init__(session=session, timeout=timeout[0] + timeout[1])
        self.verify = verify
        self.call_timeout = timeout

    def post(
        self,
        address: str,
        message: bytes,
        headers: dict[str, str],
        *,
        extra_read_s: float = 0.0,
    ) -> requests.Response:
        connect, read = self.call_timeout
        return self.session.post(
            address,
            data=message,
            headers=headers,
            timeout=(connect, read + extra_read_s),
            verify=self.verify,
        )


def _reason(exc: BaseException) -> str:
    """The innermost useful words of a requests/urllib3 exception, on one line."""
    text = str(exc)
    for pattern in (
        r"\[SSL[^\]]*\]\s*([^()'\"]+)",
        r"(certificate verify failed[^()'\"]*)",
        r"(Connection refused)",
        r"(Name or service not known|Temporary failure in name resolution)",
        r"(Read timed out)",
        r"(timed out)",
        r"(RemoteDisconnected\([^)]*\))",
        r"(Connection reset by peer)",
    ):
        found = re.search(pattern, text)
        if found:
            return found.group(1).strip().rstrip(".")
    return " ".join(text.split())[:160]


# What OpenSSL says when the "TLS" server answers in plain HTTP (1.1: wrong version number,
# 3.2+: record layer failure; older or other builds: unknown protocol, packet length too long).
_PLAIN_HTTP_SIGNS = (
    "wrong version number",
    "record layer failure",
    "unknown protocol",
    "packet length too long",
)


def tls_failure(url: str, reason: str) -> str:
    """The one-line TLS error, with a hint when the port evidently speaks plain HTTP."""
    text = f"{url}: TLS failure: {reason}"
    if any(sign in reason.lower() for sign in _PLAIN_HTTP_SIGNS):
        text += " (does this port speak plain HTTP? try http:// or the right port)"
    return text


class SoapChannel:
    """One endpoint, one pooled requests.Session, envelopes built by zeep."""

    def __init__(
        self,
        url: str,
        *,
        verify: bool | str,
        timeout: tuple[float, float],
        user_agent: str,
        debug: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.debug = debug
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        # What requests reads from the environment on every call (proxy variables, ~/.netrc,
        # the CA bundle variables: measured, 0.4 ms a request) is read once for the endpoint.
        # The same variables count; ~/.netrc is never sent to Zimbra.
        self.session.trust_env = False
        proxies = requests.utils.get_environ_proxies(url)  # NO_PROXY applied for this URL
        self.session.proxies.update({k: v for k, v in proxies.items() if k != "no"})
        if verify is True:
            verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            )
        if verify is False:
            import urllib3

            # The admin asked for --insecure explicitly; the CLI says so loudly once.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.transport = ZimbraTransport(self.session, verify, timeout)
        self.transport.session.headers["User-Agent"] = user_agent
        self.client = zeep.Client(wsdl=wsdl_document(), transport=self.transport)
        self.service = self.client.create_service(BINDING, url)

    def envelope(self, body: Element, header: Element) -> tuple[bytes, str]:
        """The serialized envelope and its SOAPAction. `body` is left untouched."""
        op = operation_name(body)
        kwargs: dict[str, Any] = {
            "_value_1": [copy.deepcopy(c) for c in body if isinstance(c.tag, str)],
            "_soapheaders": [copy.deepcopy(header)],
        }
        if body.attrib:
            kwargs["_attr_1"] = dict(body.attrib)
        node = self.client.create_message(self.service, op, **kwargs)
        # No XML declaration or BOM: Zimbra sniffs the first byte to pick XML over JSON.
        payload = etree.tostring(node, encoding="utf-8")
        return payload, f"{namespace(body)}/{op.split('.', 1)[1]}"

    def post(
        self, payload: bytes, action: str, *, extra_read_s: float = 0.0
    ) -> tuple[int, str, bytes]:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
        if self.debug is not None:
            self.debug(redact(f"> POST {self.url}\n{payload.decode('utf-8', 'replace')}"))
        try:
            reply = self.transport.post(self.url, payload, headers, extra_read_s=extra_read_s)
            data = reply.content
        except requests.exceptions.SSLError as exc:
            raise ZimbraTLSError(tls_failure(self.url, _reason(exc))) from None
        except requests.exceptions.Timeout as exc:
            raise ZimbraTimeout(f"{self.url}: timed out ({_reason(exc)})") from None
        except requests.exceptions.RequestException as exc:
            raise ZimbraConnectionError(f"{self.url}: cannot connect: {_reason(exc)}") from None
        content_type = reply.headers.get("Content-Type", "")
        if self.debug is not None:
            text = data.decode("utf-8", "replace")
            self.debug(redact(f"< HTTP {reply.status_code} {content_type}\n{text}"))
        return reply.status_code, content_type, data

    def close(self) -> None:
        self.session.close()
