"""Is a client address public? ipaddress.is_private is no help: it counts the documentation
ranges (192.0.2/24, 198.51.100/24, 203.0.113/24) as private, and those are what the samples
use for outside clients. We only exclude addresses that can be our own network."""

from __future__ import annotations

import functools
import ipaddress

_INTERNAL = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
    )
]


_CACHE: dict[str, bool] = {}


def is_public(ip: str) -> bool:
    known = _CACHE.get(ip)
    if known is not None:
        return known
    if len(_CACHE) > 65536:
        _CACHE.clear()
    known = _CACHE[ip] = _classify(ip)
    return known


def _classify(ip: str) -> bool:
    parts = ip.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):  # the common case, no ipaddress
        a, b = int(parts[0]), int(parts[1])
        return not (
            a in (0, 10, 127)
            or (a == 100 and 64 <= b < 128)
            or (a == 169 and b == 254)
            or (a == 172 and 16 <= b < 32)
            or (a == 192 and b == 168)
        )
    return _is_public(ip)


@functools.lru_cache(maxsize=4096)
def _is_public(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not any(addr.version == n.version and addr in n for n in _INTERNAL)
