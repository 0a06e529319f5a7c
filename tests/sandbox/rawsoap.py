"""A deliberately raw SOAP/JSON client for conformance tests (http.client, no zcomp code)."""

from __future__ import annotations

import http.client
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
Z = "{urn:zimbra}"
ADMIN = "urn:zimbraAdmin"
ACCOUNT = "urn:zimbraAccount"
MAIL = "urn:zimbraMail"
ADMIN_NAME = "admin@sandbox.test"
ADMIN_PASSWORD = "sandbox"


@dataclass
class XmlReply:
    status: int
    content_type: str
    raw: bytes
    root: ET.Element

    @property
    def body(self) -> ET.Element:
        for part in self.root:
            if part.tag.endswith("}Body"):
                return part[0]
        raise AssertionError("no Body")

    @property
    def fault_code(self) -> str | None:
        code = self.body.find(f".//{Z}Error/{Z}Code")
        return code.text if code is not None and self.body.tag.endswith("}Fault") else None

    def find(self, path: str) -> ET.Element | None:
        return self.body.find(path)

    def findtext(self, path: str) -> str | None:
        return self.body.findtext(path)

    def findall(self, path: str) -> list[ET.Element]:
        return self.body.findall(path)

    def attrs(self, ns: str = ADMIN) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for a in self.body.iter(f"{{{ns}}}a"):
            out.setdefault(a.get("n") or a.get("name") or "", []).append(a.text or "")
        return out


class RawSoap:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.path = parts.path
        self.conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=10
        )
        self.token: str | None = None

    def close(self) -> None:
        self.conn.close()

    def post(
        self, raw: bytes, headers: dict[str, str] | None = None, path: str | None = None
    ) -> tuple[int, str, bytes]:
        hdrs = {"Content-Type": "text/xml; charset=utf-8", **(headers or {})}
        self.conn.request("POST", path or self.path, body=raw, headers=hdrs)
        resp = self.conn.getresponse()
        return resp.status, resp.getheader("Content-Type") or "", resp.read()

    def xml(
        self,
        body: str,
        *,
        token: str | None | bool = True,
        soap: str = "12",
        context: str = "",
        headers: dict[str, str] | None = None,
        path: str | None = None,
    ) -> XmlReply:
        tok = self.token if token is True else (token or None)
        ctx = f"<authToken>{tok}</authToken>" if tok else ""
        env = S12 if soap == "12" else S11
        raw = (
            f'<soap:Envelope xmlns:soap="{env}"><soap:Header>'
            f'<context xmlns="urn:zimbra">{ctx}{context}'
            f"</context></soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
        )
        status, ctype, data = self.post(raw.encode(), headers, path)
        return XmlReply(status, ctype, data, ET.fromstring(data))  # noqa: S314 - our own test server

    def js(
        self,
        name: str,
        ns: str,
        body: dict[str, Any],
        *,
        token: str | None | bool = True,
        context: dict[str, Any] | None = None,
        path: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        tok = self.token if token is True else (token or None)
        ctx: dict[str, Any] = {"_jsns": "urn:zimbra", **(context or {})}
        if tok:
            ctx["authToken"] = tok
        doc = {"Header": {"context": ctx}, "Body": {name: {"_jsns": ns, **body}}}
        status, _, data = self.post(
            json.dumps(doc).encode(), {"Content-Type": "application/json"}, path
        )
        return status, json.loads(data)

    def admin_login(self, name: str = ADMIN_NAME, password: str = ADMIN_PASSWORD) -> str:
        r = self.xml(
            f'<AuthRequest xmlns="{ADMIN}"><name>{name}</name>'
            f"<password>{password}</password></AuthRequest>",
            token=None,
        )
        assert r.status == 200, r.raw
        tok = r.find(f"{{{ADMIN}}}authToken")
        assert tok is not None and tok.text
        self.token = tok.text
        return tok.text

    def user_login(self, name: str, password: str) -> XmlReply:
        return self.xml(
            f'<AuthRequest xmlns="{ACCOUNT}"><account by="name">{name}</account>'
            f"<password>{password}</password></AuthRequest>",
            token=None,
        )


def token_of(reply: XmlReply, ns: str = ACCOUNT) -> str:
    el = reply.find(f"{{{ns}}}authToken")
    assert el is not None and el.text, reply.raw
    return el.text


def js_fault_code(doc: dict[str, Any]) -> str | None:
    fault = doc["Body"].get("Fault")
    return fault["Detail"]["Error"]["Code"] if fault else None
