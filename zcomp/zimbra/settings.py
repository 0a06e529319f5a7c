"""How to reach and authenticate to Zimbra: built by zcomp.config, consumed by ZimbraClient."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zcomp.zimbra.model import Secret


@dataclass
class ConnectionSettings:
    url: str  # https://host:7071 or the full .../service/admin/soap/ URL
    admin: str  # admin account name, e.g. admin@example.edu
    password: Callable[[], Secret]  # called only when a login round trip is needed
    ca_bundle: Path | None = None
    insecure: bool = False
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    token_cache: str = "auto"  # noqa: S105 - a mode: auto | keyring | file | off
    state_dir: Path | None = None  # where the 0600 token-cache file lives
    debug: Callable[[str], None] | None = None  # receives redacted SOAP exchanges
    user_agent_version: str = "0.1.0"
    retries: int = 2  # extra attempts for read-only requests on connection errors/service.FAILURE
