"""Raw Zimbra JSON SOAP calls for tests (urllib, no zcomp code): an independent second opinion."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

ADMIN = "admin@sandbox.test"


def call(
    base_url: str,
    name: str,
    ns: str,
    body: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    account_id: str | None = None,
    admin: bool = False,
) -> Any:
    """The response object, or the fault code (a str) when Zimbra answered with a fault."""
    context: dict[str, Any] = {"_jsns": "urn:zimbra", "nosession": {}}
    if token:
        context["authToken"] = token
    if account_id:
        context["account"] = {"by": "id", "_content": account_id}
    doc = {"Header": {"context": context}, "Body": {name: {"_jsns": ns, **(body or {})}}}
    path = "/service/admin/soap/" if admin else "/service/soap/"
    request = urllib.request.Request(  # noqa: S310 - loopback sandbox URL
        base_url.rstrip("/") + path,
        data=json.dumps(doc).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            payload = json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            payload = json.loads(err.read())
    result = payload["Body"]
    if "Fault" in result:
        return str(result["Fault"]["Detail"]["Error"]["Code"])
    return result[name.replace("Request", "Response")]


def admin_token(base_url: str, password: str = "sandbox") -> str:
    reply = call(
        base_url,
        "AuthRequest",
        "urn:zimbraAdmin",
        {"name": ADMIN, "password": password},
        admin=True,
    )
    assert not isinstance(reply, str), reply
    return str(reply["authToken"][0]["_content"])


def user_login(base_url: str, account: str, password: str) -> Any:
    """The token, or the fault code."""
    reply = call(
        base_url,
        "AuthRequest",
        "urn:zimbraAccount",
        {"account": {"by": "name", "_content": account}, "password": password},
    )
    return reply if isinstance(reply, str) else reply["authToken"][0]["_content"]


def strip_index(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: strip_index(v) for k, v in node.items() if k != "index"}
    if isinstance(node, list):
        return [strip_index(v) for v in node]
    return node


class MailboxReader:
    """Reads one account's user-side settings with the admin token and the account header."""

    def __init__(self, base_url: str, account_id: str) -> None:
        self.base = base_url
        self.account_id = account_id
        self.token = admin_token(base_url)

    def _call(self, name: str, ns: str) -> Any:
        reply = call(self.base, name, ns, token=self.token, account_id=self.account_id, admin=True)
        assert not isinstance(reply, str), f"{name}: {reply}"
        return reply

    def rules(self, outgoing: bool = False) -> list[dict[str, Any]]:
        name = "GetOutgoingFilterRulesRequest" if outgoing else "GetFilterRulesRequest"
        holder = self._call(name, "urn:zimbraMail").get("filterRules") or [{}]
        return [strip_index(r) for r in holder[0].get("filterRule", [])]

    def signatures(self) -> list[dict[str, Any]]:
        return list(self._call("GetSignaturesRequest", "urn:zimbraAccount").get("signature", []))

    def identities(self) -> list[dict[str, Any]]:
        return list(self._call("GetIdentitiesRequest", "urn:zimbraAccount").get("identity", []))
