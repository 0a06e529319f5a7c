"""Auth tokens in Zimbra's shape: {keyVersion}_{hmac}_{hex(data)}, data in BlobMetaData form."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_FIELD = re.compile(r"(\w+)=(\d+):")


@dataclass(frozen=True)
class Token:
    account_id: str
    expires_ms: int
    validity: int  # the account's zimbraAuthTokenValidityValue when issued (-1 when unset)
    token_id: str
    admin: bool = False
    admin_id: str | None = None  # set on DelegateAuth tokens: the admin who asked

    @property
    def delegated(self) -> bool:
        return self.admin_id is not None


class TokenCodec:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def encode(self, token: Token) -> str:
        fields = {
            "id": token.account_id,
            "exp": str(token.expires_ms),
            "vv": str(token.validity),
            "tid": token.token_id,
            "type": "zimbra",
            "version": "2",
        }
        if token.admin:
            fields["admin"] = "1"
        if token.admin_id:
            fields["aid"] = token.admin_id
        data = "".join(f"{k}={len(v)}:{v};" for k, v in fields.items())
        mac = hmac.new(self._secret, data.encode(), hashlib.sha1).hexdigest()
        return f"0_{mac}_{data.encode().hex()}"

    def decode(self, raw: str) -> Token | None:
        """None when malformed or forged: Zimbra then treats the request as unauthenticated."""
        parts = raw.strip().split("_")
        if len(parts) != 3:
            return None
        _, mac, hexdata = parts
        try:
            data = bytes.fromhex(hexdata).decode()
        except ValueError:
            return None
        good = hmac.new(self._secret, data.encode(), hashlib.sha1).hexdigest()
        if not hmac.compare_digest(good, mac):
            return None
        fields = _parse_blob(data)
        if fields is None or "id" not in fields or "exp" not in fields:
            return None
        try:
            return Token(
                account_id=fields["id"],
                expires_ms=int(fields["exp"]),
                validity=int(fields.get("vv", "-1")),
                token_id=fields.get("tid", ""),
                admin=fields.get("admin") == "1",
                admin_id=fields.get("aid"),
            )
        except ValueError:
            return None


def _parse_blob(data: str) -> dict[str, str] | None:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        m = _FIELD.match(data, pos)
        if not m:
            return None
        length = int(m.group(2))
        start = m.end()
        value = data[start : start + length]
        if data[start + length : start + length + 1] != ";":
            return None
        out[m.group(1)] = value
        pos = start + length + 1
    return out
