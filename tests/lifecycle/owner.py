"""The account owner's side, over raw HTTP (JSON SOAP, as the web client): no zcomp code."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def user_call(base_url: str, name: str, body: dict[str, Any], token: str | None = None) -> Any:
    """Send one urn:zimbraAccount request; the response dict, or the fault code as a str."""
    context: dict[str, Any] = {"_jsns": "urn:zimbra", "nosession": {}}
    if token:
        context["authToken"] = token
    doc = {"Header": {"context": context}, "Body": {name: {"_jsns": "urn:zimbraAccount", **body}}}
    request = urllib.request.Request(  # noqa: S310 - loopback sandbox URL
        base_url.rstrip("/") + "/service/soap/",
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


def login(base_url: str, account: str, password: str) -> Any:
    """The auth token (str starting with a digit) or the fault code."""
    reply = user_call(
        base_url,
        "AuthRequest",
        {"account": {"by": "name", "_content": account}, "password": password},
    )
    return reply if isinstance(reply, str) else reply["authToken"][0]["_content"]


def change_password(base_url: str, account: str, old: str, new: str) -> str | None:
    """None when the change worked, else the fault code."""
    reply = user_call(
        base_url,
        "ChangePasswordRequest",
        {"account": {"by": "name", "_content": account}, "oldPassword": old, "password": new},
    )
    return reply if isinstance(reply, str) else None


def token_works(base_url: str, token: str) -> bool:
    return not isinstance(user_call(base_url, "GetInfoRequest", {"sections": "mbox"}, token), str)
