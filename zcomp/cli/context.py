"""AppContext: what the root command hands every subcommand through ctx.obj."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from zcomp import __version__
from zcomp.config import CliValues, Settings, load_settings
from zcomp.credentials import PasswordSource, Terminal, get_password
from zcomp.exitcodes import ConfigError, UsageError
from zcomp.output import Output
from zcomp.zimbra.model import Secret
from zcomp.zimbra.settings import ConnectionSettings

if TYPE_CHECKING:
    from pathlib import Path

    from zcomp.zimbra.client import ZimbraClient  # type: ignore[import-not-found, unused-ignore]

CONNECT_TIMEOUT_CAP = 10.0  # seconds; a dead host should fail fast even with a long read timeout


class AppContext:
    """Root flags, lazily resolved settings, the Output, and factories for credentials/client.

    Settings load on first use, so `zcomp config init` still works next to a broken file and
    commands that never talk to Zimbra never read it.
    """

    def __init__(
        self,
        *,
        cli_values: CliValues | None = None,
        env: Mapping[str, str] | None = None,
        json: bool = False,
        quiet: bool = False,
        debug: bool = False,
        no_color: bool = False,
        settings: Settings | None = None,
        terminal: Terminal | None = None,
    ) -> None:
        self.cli_values = cli_values or CliValues()
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.json = json
        self.quiet = quiet
        self.debug = debug
        self.no_color = no_color
        self.output = Output(json=json, quiet=quiet, no_color=no_color, env=self.env)
        self.terminal = terminal or Terminal()
        self._settings = settings
        self._password_source: PasswordSource | None = None
        self._cleartext_warned = False
        self.workers: int | None = None  # --workers on the command line; else the config's

    def enable_json(self) -> None:
        """A command-level --json ORs with the root one."""
        self.json = True
        self.output.json = True

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.cli_values, self.env)
        return self._settings

    @property
    def password_source(self) -> PasswordSource:
        if self._password_source is None:
            self._password_source = PasswordSource(
                env=self.env,
                note=self.output.info,
                warn=self.output.warn,
                terminal=self.terminal,
            )
        return self._password_source

    def password(self) -> Secret:
        return get_password(self.settings, self.password_source)

    def connection_settings(
        self, password: Callable[[], Secret] | None = None
    ) -> ConnectionSettings:
        settings = self.settings
        if not settings.url:
            raise UsageError(
                "no Zimbra URL configured: use --url, ZCOMP_URL, or 'url' in the configuration "
                "file (zcomp config init)"
            )
        if not settings.admin:
            raise UsageError(
                "no admin account configured: use --admin, ZCOMP_ADMIN, or 'admin' in the "
                "configuration file"
            )
        if settings.ca_bundle is not None:
            problem = _ca_bundle_problem(settings.ca_bundle)
            if problem:
                raise ConfigError(
                    f"CA bundle {settings.ca_bundle} {problem} "
                    f"({settings.sources.get('ca_bundle')})"
                )
        if settings.insecure:
            self.output.warn(f"TLS verification is OFF for {settings.url} (--insecure)")
        if not self._cleartext_warned and cleartext_to_remote(settings.url):
            self._cleartext_warned = True
            self.output.warn(
                f"{settings.url} is plain http:// to another host: the admin password and "
                "tokens cross the network unencrypted; use https://"
            )
        return ConnectionSettings(
            url=settings.url,
            admin=settings.admin,
            password=password or _once(self.password),
            ca_bundle=settings.ca_bundle,
            insecure=settings.insecure,
            connect_timeout=min(CONNECT_TIMEOUT_CAP, settings.timeout),
            read_timeout=settings.timeout,
            token_cache=_token_cache_mode(settings),
            state_dir=settings.state_dir,
            debug=self.output.debug if self.debug else None,
            user_agent_version=__version__,
        )

    def make_client(self, connection: ConnectionSettings | None = None) -> ZimbraClient:
        from zcomp.zimbra.client import ZimbraClient

        client = ZimbraClient(connection or self.connection_settings())
        # Close the HTTP session when the command's Click context ends.
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.call_on_close(client.close)
        return client


def cleartext_to_remote(url: str) -> bool:
    """An http:// URL whose host is not this machine (127.0.0.0/8, ::1, localhost)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").rstrip(".")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name: it may resolve anywhere


def _token_cache_mode(settings: Settings) -> str:
    # keyring = false means never touch the OS keyring, for tokens too.
    if not settings.keyring and settings.token_cache in ("auto", "keyring"):
        return "file"
    return settings.token_cache


def _ca_bundle_problem(path: Path) -> str | None:
    """Why `path` cannot verify a server, or None. Loaded here as requests would load it, so
    an empty or binary file is one line now, not urllib3's SSLError on every request (exit 4)."""
    import ssl

    if not path.is_file():
        return "not found"
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except ssl.SSLError:
        return "holds no PEM certificate"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return None


def _once(supplier: Callable[[], Secret]) -> Callable[[], Secret]:
    """Ask (file, keyring, prompt) at most once per process, even if the client re-logs in."""
    cached: list[Secret] = []

    def get() -> Secret:
        if not cached:
            cached.append(supplier())
        return cached[0]

    return get


pass_app = click.make_pass_decorator(AppContext)
