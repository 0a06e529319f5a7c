"""Markers of attacker text in signatures and auto-replies."""

from __future__ import annotations

import re

from zcomp.core.addresses import Organisation, find_addresses, is_freemail

_URL = re.compile(r"(?:https?://|www\.)([A-Za-z0-9.-]+)", re.IGNORECASE)
_KEYWORDS = (
    "click here", "verify your account", "verify your password", "update your account",
    "lottery", "winner", "you have won", "bitcoin", "crypto", "investment opportunity",
    "loan offer", "viagra", "claim your", "prize", "wire transfer", "gift card", "western union",
    "inheritance", "beneficiary", "cheap meds", "casino", "100% free", "act now",
)  # fmt: skip


def spam_markers(text: str, org: Organisation) -> tuple[list[str], bool]:
    """Reasons the text looks planted, and whether they are strong (not just an outside link)."""
    reasons: list[str] = []
    strong = False
    lowered = text.lower()
    hosts = sorted({h.lower().rstrip(".") for h in _URL.findall(text)})
    outside_hosts = [h for h in hosts if not org.is_inside_domain(h.removeprefix("www."))]
    if outside_hosts:
        reasons.append("links to " + ", ".join(outside_hosts[:3]))
    outside_addrs = sorted({a.lower() for a in find_addresses(text) if not org.is_inside(a)})
    if outside_addrs:
        reasons.append("mentions outside address " + ", ".join(outside_addrs[:3]))
        strong = strong or any(is_freemail(a) for a in outside_addrs)
    words = [k for k in _KEYWORDS if k in lowered]
    if words:
        reasons.append("spam wording (" + ", ".join(repr(w) for w in words[:3]) + ")")
        strong = True
    return reasons, strong
