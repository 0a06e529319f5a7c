"""What classification says about one item, and what the playbook does with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OK = "ok"
SUSPICIOUS = "suspicious"
MALICIOUS = "malicious"

# Kinds of items, as they appear in --json output and the evidence.
FORWARDING = "forwarding"
LOCAL_DELIVERY = "local-delivery"
ADMIN_FORWARDING = "admin-forwarding"
FILTER = "filter"
OUTGOING_FILTER = "outgoing-filter"
IDENTITY = "identity"
SIGNATURE = "signature"
AUTO_REPLY = "auto-reply"
# What lets someone in without the password (zcomp.core.classify_access).
SHARE = "share"
RIGHT = "right"
DATA_SOURCE = "data-source"
APP_PASSWORD = "app-password"  # noqa: S105 - a kind of finding, not a password
TRUSTED_DEVICES = "trusted-devices"
MOBILE_DEVICE = "mobile-device"


# A fix's verb ("remove the forwarding ...") as the output and ticket say it was done.
_PAST = {
    "revoke": "revoked",
    "suspend": "suspended",
    "remove": "removed",
    "delete": "deleted",
    "restore": "restored",
    "clear": "cleared",
    "reset": "reset",
    "turn": "turned",
    "keep": "kept",
}


def done_wording(fix: str) -> str:
    """ "remove rule x" -> "removed rule x": one wording for every playbook's fixes."""
    verb, _, rest = fix.partition(" ")
    return f"{_PAST.get(verb, verb)} {rest}"


@dataclass
class Finding:
    """One inspected item with its verdict.

    `policy` names the [policy] key that decides its fate; `remove` is the decision after the
    policy was applied (True: the playbook removes/restores it). `item` is the raw value as read
    from Zimbra (kept in the evidence so `restore` can put it back); `key` identifies it.
    """

    kind: str
    key: str
    detail: str
    verdict: str
    reason: str
    policy: str = ""
    remove: bool = False
    item: Any = None
    replacement: Any = None  # what lockdown writes instead (a baseline value), if anything
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def risky(self) -> bool:
        return self.verdict != OK

    def summary(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail, "reason": self.reason}

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "detail": self.detail,
            "verdict": self.verdict,
            "reason": self.reason,
            "policy": self.policy,
            "remove": self.remove,
            "item": self.item,
            "replacement": self.replacement,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            kind=data["kind"],
            key=data["key"],
            detail=data["detail"],
            verdict=data["verdict"],
            reason=data["reason"],
            policy=data.get("policy", ""),
            remove=bool(data.get("remove")),
            item=data.get("item"),
            replacement=data.get("replacement"),
        )
