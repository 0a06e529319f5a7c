"""The account owner's side, over raw HTTP (JSON SOAP, as the web client): no zcomp code."""

from __future__ import annotations

from typing import Any

from tests.rawjson import call
from tests.rawjson import user_login as login

__all__ = ["change_password", "login", "token_works", "user_call"]


def user_call(base_url: str, name: str, body: dict[str, Any], token: str | None = None) -> Any:
    """Send one urn:zimbraAccount request; the response dict, or the fault code as a str."""
    return call(base_url, name, "urn:zimbraAccount", body, token=token)


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
