"""Sandbox: start N Zimbra-compatible servers sharing one directory; the public entry point."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from types import TracebackType

# Importing the handler modules registers them with the engine.
from zcomp.sandbox import (  # noqa: F401
    handlers_account,
    handlers_admin,
    handlers_admin_filters,
    handlers_config,
    handlers_cos,
    handlers_datasources,
    handlers_folders,
    handlers_mail,
    handlers_network,
    handlers_queue,
    handlers_rights,
    signatures,
)
from zcomp.sandbox.cache import AccountCache
from zcomp.sandbox.clock import Clock
from zcomp.sandbox.directory import DOMAIN, AccountEntry, Directory
from zcomp.sandbox.logs import LogWriter
from zcomp.sandbox.mta import Mta
from zcomp.sandbox.passwords import hash_password
from zcomp.sandbox.seed import demo_password, seed_admin, seed_demo, seed_mailboxes, stable_id
from zcomp.sandbox.server import SoapHttpServer
from zcomp.sandbox.state import ServerState, Stats, World
from zcomp.sandbox.tokens import TokenCodec

__all__ = ["Sandbox", "SandboxOptions", "demo_password"]


@dataclass
class SandboxOptions:
    host: str = "127.0.0.1"
    port: int = 0
    servers: int = 1
    seed: str = "demo"  # "demo" | "none"
    latency_ms: int = 0
    fault_rate: float = 0.0
    log_dir: str | os.PathLike[str] | None = None
    zimbra_version: str = "10.1.0"
    admin_password: str = "sandbox"  # noqa: S105 - the documented sandbox default
    random_seed: int = 0
    edition: str = "foss"  # "foss" | "network": Network Edition requests exist only on network

    def validate(self) -> None:
        if self.servers < 1 or self.servers > 16:
            raise ValueError("servers must be between 1 and 16")
        if self.seed not in ("demo", "none"):
            raise ValueError("seed must be 'demo' or 'none'")
        if self.latency_ms < 0:
            raise ValueError("latency-ms must not be negative")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault-rate must be between 0 and 1")
        if not 0 <= self.port <= 65535 or (self.port and self.port + self.servers - 1 > 65535):
            raise ValueError("port out of range")
        parts = self.zimbra_version.split(".")
        if len(parts) < 2 or not all(p.isdigit() for p in parts):
            raise ValueError("zimbra-version must look like 10.1.0 or 8.8.15")
        if self.edition not in ("foss", "network"):
            raise ValueError("edition must be 'foss' or 'network'")


class Sandbox:
    def __init__(self, options: SandboxOptions | None = None) -> None:
        self.options = options or SandboxOptions()
        self.options.validate()
        self.clock = Clock()
        self.directory = Directory(self.clock)
        self.stats = Stats()
        self.world = World(
            version=self.options.zimbra_version,
            directory=self.directory,
            clock=self.clock,
            codec=TokenCodec(),
            logs=LogWriter(self.options.log_dir),
            stats=self.stats,
            rng=random.Random(self.options.random_seed),
            edition=self.options.edition,
        )
        self._http: list[SoapHttpServer] = []

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> Sandbox:
        opts = self.options
        try:
            for i in range(opts.servers):
                name = f"mbox{i + 1}.{DOMAIN}"
                port = opts.port + i if opts.port else 0
                state = ServerState(
                    index=i,
                    name=name,
                    id=stable_id("server:" + name),
                    cache=AccountCache(self.directory, self.clock),
                    mta=Mta(name, i),
                )
                http = SoapHttpServer(
                    (opts.host, port), self.world, state, opts.latency_ms, opts.fault_rate
                )
                self._http.append(http)
                host, real_port = http.server_address[:2]
                state.base_url = f"http://{_url_host(str(host))}:{real_port}"
                entry = self.directory.add_server(name, int(real_port))
                state.id = entry.id
                self.world.servers.append(state)
            seed_admin(self.directory, opts.admin_password)
            if opts.seed == "demo":
                seed_demo(self.directory, self.server_names)
                seed_mailboxes(
                    self.world.mailboxes, self.directory, opts.edition, self.clock.now_ms()
                )
            for http in self._http:
                http.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        servers, self._http = self._http, []
        for http in servers:
            if http._thread is not None:
                http.stop()
            else:
                http.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- views ------------------------------------------------------------------------------

    @property
    def urls(self) -> list[str]:
        return [s.base_url for s in self.world.servers]

    @property
    def admin_url(self) -> str:
        return self.urls[0] + "/service/admin/soap/"

    def user_url(self, index: int = 0) -> str:
        return self.urls[index] + "/service/soap/"

    @property
    def server_names(self) -> list[str]:
        return [s.name for s in self.world.servers]

    def mta(self, index: int = 0) -> Mta:
        return self.world.servers[index].mta

    def account(self, name: str) -> AccountEntry:
        return self.directory.get(name)

    def add_accounts(self, n: int, prefix: str = "user") -> list[str]:
        """Bulk-create plain accounts (one shared password hash keeps this fast)."""
        hashed = hash_password(f"{prefix}-password", b"bulk-salt")
        names = []
        width = max(4, len(str(n)))
        for i in range(n):
            name = f"{prefix}{i:0{width}d}@{DOMAIN}"
            self.directory.create_account(
                name, None, {"displayName": [f"{prefix} {i}"]}, password_hash=hashed
            )
            names.append(name)
        return names


def bulk_password(prefix: str = "user") -> str:
    """The password of accounts made by Sandbox.add_accounts(prefix=...)."""
    return f"{prefix}-password"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
