"""Configuration: find the TOML file, validate it, and resolve every value with its source.

Precedence per value: flag > environment > file (profile over top level) > default.
Pure: no Click, no rich. `load_settings` is the whole public surface besides the dataclasses.
"""

from __future__ import annotations

import difflib
import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zcomp.core.watch_settings import WatchSettings
from zcomp.detect.settings import DetectSettings
from zcomp.exitcodes import ConfigError
from zcomp.guard.settings import GuardSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

# The system-wide file. Tests redirect this constant so the machine's file never leaks in.
SYSTEM_CONFIG_PATH = Path("/etc/zcomp/config.toml")
CONFIG_FILE_NAME = "config.toml"

POLICY_CHOICES = ("remove", "report", "ignore")
TOKEN_CACHE_CHOICES = ("auto", "keyring", "file", "off")
# The ticket backends, by name: here (not in zcomp.tickets) so that validating a configuration
# does not import the ticket layer; zcomp.tickets.registry uses this list.
TICKET_BACKENDS = (
    "file",
    "email",
    "rt",
    "znuny",
    "zammad",
    "jira",
    "servicenow",
    "zendesk",
    "webhook",
)

ENV_CONFIG = "ZCOMP_CONFIG"
ENV_PROFILE = "ZCOMP_PROFILE"
ENV_URL = "ZCOMP_URL"
ENV_ADMIN = "ZCOMP_ADMIN"
ENV_STATE_DIR = "ZCOMP_STATE_DIR"
ENV_PASSWORD = "ZCOMP_PASSWORD"  # noqa: S105 - a variable name; read by zcomp.credentials only


@dataclass(frozen=True)
class CliValues:
    """The root command's flags; None means "not given on the command line"."""

    config: Path | None = None
    profile: str | None = None
    url: str | None = None
    admin: str | None = None
    password_file: Path | None = None
    ca_bundle: Path | None = None
    insecure: bool | None = None
    timeout: float | None = None


# A request timeout in seconds: a day is already more than any Zimbra request takes, and
# beyond about 9e9 the socket layer refuses the value (OverflowError on every request).
MAX_TIMEOUT_S = 86_400

# An "integer" attribute's maximum in Zimbra (a Java int).
ZIMBRA_INT_MAX = 2_147_483_647

# Each worker holds an HTTP session and a thread; Zimbra's own SOAP thread pool is the real
# limit, and more than this only queues on it.
MAX_WORKERS = 64


@dataclass(frozen=True)
class LockdownSettings:
    protected: tuple[str, ...] = ()
    internal_domains: tuple[str, ...] = ()
    confirm_threshold: int = 10
    workers: int = 4
    # Seconds one account may spend retrying transient failures (lost replies, faults, resets).
    retry_budget: float = 120.0


@dataclass(frozen=True)
class UnlockSettings:
    min_locked_minutes: int = 60
    password_history: int = 10


@dataclass(frozen=True)
class Policy:
    forwarding: str = "remove"
    local_delivery_disabled: str = "remove"
    admin_forwarding: str = "report"
    filter_redirect: str = "remove"
    filter_discard: str = "remove"
    filter_reject: str = "remove"
    filter_hide: str = "remove"
    identity: str = "remove"
    signature: str = "remove"
    auto_reply: str = "remove"
    share_public: str = "remove"
    share_outside: str = "remove"
    share_internal: str = "remove"
    right_outside: str = "remove"
    right_internal: str = "remove"
    data_source: str = "remove"
    app_passwords: str = "remove"
    trusted_devices: str = "remove"
    mobile_devices: str = "remove"


@dataclass(frozen=True)
class TicketSettings:
    backend: str = "file"
    # A file with the ticket text's template (zcomp.tickets.render), instead of the built-in.
    template: Path | None = None
    # Per-backend subtables, raw, for backends built later ([tickets.file] is validated).
    options: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    url: str | None
    admin: str | None
    password_file: Path | None
    ca_bundle: Path | None
    insecure: bool
    timeout: float
    token_cache: str
    keyring: bool
    state_dir: Path
    profile: str | None
    config_path: Path | None
    lockdown: LockdownSettings = field(default_factory=LockdownSettings)
    unlock: UnlockSettings = field(default_factory=UnlockSettings)
    policy: Policy = field(default_factory=Policy)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    detect: DetectSettings = field(default_factory=DetectSettings)
    guard: GuardSettings = field(default_factory=GuardSettings)
    # "url", "lockdown.workers"... -> "flag" | "env ZCOMP_URL" | "file P [profiles.x]" | "default"
    sources: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- validation of single values

Validator = Callable[[Any], Any]


class _BadValue(Exception):
    """Raised by a validator; the caller adds the file and key."""


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _BadValue("expected a non-empty string")
    return value.strip()


def _path(value: Any) -> Path:
    return Path(os.path.expanduser(_string(value)))


def _optional_path(value: Any) -> Path | None:
    if isinstance(value, str) and value == "":
        return None
    return _path(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _BadValue("expected true or false")
    return value


def _positive_number(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise _BadValue("expected a finite number > 0")
    return float(value)


def _timeout(value: Any) -> float:
    seconds = _positive_number(value)
    if seconds > MAX_TIMEOUT_S:
        raise _BadValue(f"expected a number of seconds > 0 and at most {MAX_TIMEOUT_S:,} (a day)")
    return seconds


def _int_at_least(minimum: int) -> Validator:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _BadValue(f"expected a whole number >= {minimum}")
        return value

    return check


def _int_between(low: int, high: int) -> Validator:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _BadValue(f"expected a whole number from {low} to {high}")
        return value

    return check


def _choice(choices: tuple[str, ...]) -> Validator:
    def check(value: Any) -> str:
        if value not in choices:
            raise _BadValue("expected one of " + ", ".join(repr(c) for c in choices))
        return str(value)

    return check


def _string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _BadValue("expected a list of non-empty strings")
    return tuple(v.strip().lower() for v in value)


def _string_set(value: Any) -> frozenset[str]:
    return frozenset(_string_list(value))


def _country_codes(value: Any) -> frozenset[str]:
    codes = _string_list(value)
    if not all(len(c) == 2 and c.isascii() and c.isalpha() for c in codes):
        raise _BadValue('expected a list of two-letter ISO country codes, e.g. ["DE", "AT"]')
    return frozenset(c.upper() for c in codes)


def _time_of_day(value: Any) -> str:
    text = _string(value)
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise _BadValue('expected a time of day "HH:MM"')
    if not (int(hours) < 24 and int(minutes) < 60):
        raise _BadValue('expected a time of day "HH:MM" from 00:00 to 23:59')
    return f"{int(hours):02d}:{minutes}"


CONNECTION_KEYS: dict[str, Validator] = {
    "url": _string,
    "admin": _string,
    "password_file": _path,
    "ca_bundle": _path,
    "insecure": _bool,
    "timeout": _timeout,
    "token_cache": _choice(TOKEN_CACHE_CHOICES),
    "keyring": _bool,
    "state_dir": _path,
}

SECTION_KEYS: dict[str, dict[str, Validator]] = {
    "lockdown": {
        "protected": _string_list,
        "internal_domains": _string_list,
        "confirm_threshold": _int_at_least(0),
        "workers": _int_between(1, MAX_WORKERS),
        "retry_budget": _positive_number,
    },
    "unlock": {
        "min_locked_minutes": _int_at_least(0),
        # Zimbra keeps N entries, the password being replaced among them; after the phish come
        # lockdown's random password(s) and unlock's temporary one, so N < 5 lets the phished
        # password drop out of the history before the owner picks a new one.
        # Above Zimbra's integer maximum, lockdown's ModifyAccount is refused
        # (INVALID_ATTR_VALUE) and the account is not even locked.
        "password_history": _int_between(5, ZIMBRA_INT_MAX),
    },
    "policy": {name: _choice(POLICY_CHOICES) for name in Policy.__dataclass_fields__},
    "detect": {
        "big_send": _int_at_least(1),
        "html_client_weight": _positive_number,
        "html_sends": _int_at_least(0),  # 0 turns the signal off
        "html_window_minutes": _int_at_least(1),
        "per_minute": _int_at_least(1),
        "per_hour": _int_at_least(1),
        "new_ip_changes": _bool,
        "new_ip_minutes": _int_at_least(1),
        "login_ips": _int_at_least(2),
        "login_window_minutes": _int_at_least(1),
        "geoip_db": lambda value: str(_path(value)),
        "login_countries": _int_at_least(2),
        "home_countries": _country_codes,
        "failed_logins": _int_at_least(1),
        "night_start": _time_of_day,
        "night_end": _time_of_day,
        "night_rcpts": _int_at_least(1),
        "allow": _string_set,
        "servers": _string_set,
        "min_score": _positive_number,
    },
    "watch": {
        "poll_interval_s": _positive_number,
        "queued_messages": _int_at_least(0),  # 0 turns the measure off
        "recipient_domains": _int_at_least(0),
        "deferred_messages": _int_at_least(0),
        "bounces": _int_at_least(0),
        "alert_score": _positive_number,
        "lockdown_score": _positive_number,
        "auto_lockdown": _bool,
        "quiet_period_s": _positive_number,
        "allow": _string_list,
    },
    "guard": {
        "listen": _string,
        "bulk_recipients": _int_at_least(0),  # 0 turns the rule off
        "bulk_clients": _string_list,
        "rate_recipients": _int_at_least(0),
        "rate_window_s": _positive_number,
        "allow": _string_list,
        "mailbox_servers": _string_list,
        "contained_ttl_s": _positive_number,
        "contained_timeout_s": _timeout,
        "contained_max_age_s": _positive_number,
        "hold_contained": _bool,
        "alert_window_s": _positive_number,
        "auto_lockdown": _bool,
        "lockdown_after_holds": _int_at_least(1),
    },
}

TICKETS_FILE_KEYS: dict[str, Validator] = {"directory": _optional_path}

CONNECTION_DEFAULTS: dict[str, Any] = {
    "url": None,
    "admin": None,
    "password_file": None,
    "ca_bundle": None,
    "insecure": False,
    "timeout": 30.0,
    "token_cache": "auto",
    "keyring": True,
    "state_dir": None,  # platformdirs user_state_dir, computed at load time
}


# ---------------------------------------------------------------- reading the file


@dataclass
class _Layer:
    """Validated values of one table of the file plus the label used in `sources`."""

    label: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class _ParsedFile:
    path: Path
    default_profile: str | None
    top: dict[str, _Layer]  # "connection", "lockdown", "unlock", "policy", "tickets"
    profiles: dict[str, dict[str, _Layer]]
    ticket_options: dict[str, dict[str, dict[str, Any]]]  # scope ("" or profile) -> backend -> raw


def did_you_mean(typed: str, known: list[str]) -> str:
    """The suffix ` (did you mean 'x'?)` for the known name a mistyped one most likely meant:
    a close spelling, or else the only known name it abbreviates (`dir` for `directory`: too
    unlike it for difflib); "" rather than a guess."""
    hint = difflib.get_close_matches(typed, known, n=1, cutoff=0.6)
    if not hint and len(typed) >= 3:  # `d` or `di` abbreviates too much to say which
        hint = [name for name in known if name.startswith(typed)]
    return f" (did you mean '{hint[0]}'?)" if len(hint) == 1 else ""


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {message}")

    def unknown(self, dotted: str, key: str, allowed: list[str]) -> ConfigError:
        return self.error(f"unknown key '{dotted}'{did_you_mean(key, allowed)}")

    def value(self, dotted: str, validator: Validator, raw: Any) -> Any:
        try:
            return validator(raw)
        except _BadValue as exc:
            raise self.error(f"bad value for '{dotted}': {exc}, got {raw!r}") from None

    def table(self, dotted: str, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.error(f"'{dotted}' must be a table ([{dotted}])")
        return raw

    def section(self, prefix: str, name: str, raw: Any, label: str) -> _Layer:
        dotted = f"{prefix}{name}"
        schema = SECTION_KEYS[name]
        layer = _Layer(label)
        for key, value in self.table(dotted, raw).items():
            if key not in schema:
                raise self.unknown(f"{dotted}.{key}", key, list(schema))
            layer.values[key] = self.value(f"{dotted}.{key}", schema[key], value)
        return layer

    def tickets(
        self, prefix: str, raw: Any, label: str
    ) -> tuple[_Layer, dict[str, dict[str, Any]]]:
        dotted = f"{prefix}tickets"
        layer = _Layer(label)
        options: dict[str, dict[str, Any]] = {}
        allowed = ["backend", "template", *TICKET_BACKENDS]
        for key, value in self.table(dotted, raw).items():
            if key == "backend":
                layer.values["backend"] = self.value(
                    f"{dotted}.backend", _choice(TICKET_BACKENDS), value
                )
            elif key == "template":
                layer.values["template"] = self.value(f"{dotted}.template", _path, value)
            elif key in TICKET_BACKENDS:
                sub = dict(self.table(f"{dotted}.{key}", value))
                if key == "file":
                    for sub_key, sub_value in sub.items():
                        if sub_key not in TICKETS_FILE_KEYS:
                            raise self.unknown(
                                f"{dotted}.file.{sub_key}", sub_key, list(TICKETS_FILE_KEYS)
                            )
                        self.value(
                            f"{dotted}.file.{sub_key}", TICKETS_FILE_KEYS[sub_key], sub_value
                        )
                options[key] = sub
            else:
                raise self.unknown(f"{dotted}.{key}", key, allowed)
        return layer, options

    def scope(
        self, prefix: str, raw: dict[str, Any], label: str, extra: list[str]
    ) -> tuple[dict[str, _Layer], dict[str, dict[str, Any]]]:
        """One scope: the top level (extra = default_profile, profiles) or one profile."""
        layers = {"connection": _Layer(label)}
        ticket_options: dict[str, dict[str, Any]] = {}
        allowed = [*CONNECTION_KEYS, *SECTION_KEYS, "tickets", *extra]
        for key, value in raw.items():
            if key in extra:
                continue
            if key in CONNECTION_KEYS:
                layers["connection"].values[key] = self.value(
                    f"{prefix}{key}", CONNECTION_KEYS[key], value
                )
            elif key in SECTION_KEYS:
                section_label = f"{label.rstrip(']')}.{key}]" if prefix else f"{label} [{key}]"
                layers[key] = self.section(prefix, key, value, section_label)
            elif key == "tickets":
                section_label = f"{label.rstrip(']')}.tickets]" if prefix else f"{label} [tickets]"
                layers["tickets"], ticket_options = self.tickets(prefix, value, section_label)
            else:
                raise self.unknown(f"{prefix}{key}", key, allowed)
        return layers, ticket_options

    def parse(self) -> _ParsedFile:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise self.error(f"cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise self.error("not UTF-8 text") from None
        try:
            # Windows editors start UTF-8 text with a BOM, which tomllib calls an invalid
            # statement at line 1, column 1.
            raw = tomllib.loads(text.removeprefix("\ufeff"))
        except tomllib.TOMLDecodeError as exc:
            raise self.error(f"not valid TOML: {exc}") from None

        label = f"file {self.path}"
        top, top_tickets = self.scope("", raw, label, ["default_profile", "profiles"])
        default_profile = None
        if "default_profile" in raw:
            default_profile = self.value("default_profile", _string, raw["default_profile"])
        profiles: dict[str, dict[str, _Layer]] = {}
        ticket_options = {"": top_tickets}
        for name, body in self.table("profiles", raw.get("profiles", {})).items():
            prefix = f"profiles.{name}."
            table = self.table(f"profiles.{name}", body)
            profiles[name], ticket_options[name] = self.scope(
                prefix, table, f"{label} [profiles.{name}]", []
            )
        return _ParsedFile(self.path, default_profile, top, profiles, ticket_options)


# ---------------------------------------------------------------- finding the file


def user_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("zcomp")) / CONFIG_FILE_NAME


def default_state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("zcomp"))


def find_config_file(cli: CliValues, env: Mapping[str, str]) -> tuple[Path | None, str]:
    """--config, $ZCOMP_CONFIG, the user config dir, /etc/zcomp/config.toml; first found wins.

    An explicitly named file (flag or environment) that does not exist is an error, not a skip.
    """
    if cli.config is not None:
        if not cli.config.is_file():
            raise ConfigError(f"{cli.config}: configuration file not found (--config)")
        return cli.config, "flag"
    named = env.get(ENV_CONFIG, "").strip()
    if named:
        path = Path(os.path.expanduser(named))
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found (${ENV_CONFIG})")
        return path, f"env {ENV_CONFIG}"
    for candidate, source in (
        (user_config_path(), "user config dir"),
        (SYSTEM_CONFIG_PATH, "system"),
    ):
        if candidate.is_file():
            return candidate, source
    return None, "none found"


# ---------------------------------------------------------------- resolving


def _select_profile(
    cli: CliValues, env: Mapping[str, str], parsed: _ParsedFile | None
) -> tuple[str | None, str]:
    if cli.profile:
        name, origin = cli.profile, "--profile"
    elif env.get(ENV_PROFILE, "").strip():
        name, origin = env[ENV_PROFILE].strip(), f"${ENV_PROFILE}"
    elif parsed is not None and parsed.default_profile:
        name, origin = parsed.default_profile, f"{parsed.path}: default_profile"
    else:
        return None, "default"
    if parsed is None:
        raise ConfigError(f"profile '{name}' ({origin}) asked for, but no configuration file found")
    if name not in parsed.profiles:
        known = sorted(parsed.profiles)
        suggestion = did_you_mean(name, known)
        listing = ", ".join(known) if known else "none defined"
        raise ConfigError(
            f"{parsed.path}: no profile '{name}' ({origin}){suggestion}; profiles: {listing}"
        )
    if origin == "--profile":
        source = "flag"
    elif origin.startswith("$"):
        source = f"env {ENV_PROFILE}"
    else:
        source = f"file {parsed.path}"
    return name, source


def _file_layers(parsed: _ParsedFile | None, profile: str | None, table: str) -> list[_Layer]:
    """Layers of one table, most specific first."""
    if parsed is None:
        return []
    layers = []
    if profile is not None and table in parsed.profiles[profile]:
        layers.append(parsed.profiles[profile][table])
    if table in parsed.top:
        layers.append(parsed.top[table])
    return layers


def _lookup(layers: list[_Layer], key: str, default: Any) -> tuple[Any, str]:
    for layer in layers:
        if key in layer.values:
            return layer.values[key], layer.label
    return default, "default"


def load_settings(cli: CliValues, env: Mapping[str, str]) -> Settings:
    path, path_source = find_config_file(cli, env)
    parsed = _Reader(path).parse() if path is not None else None
    profile, profile_source = _select_profile(cli, env, parsed)
    sources: dict[str, str] = {"config_path": path_source, "profile": profile_source}

    flags: dict[str, Any] = {
        "url": cli.url,
        "admin": cli.admin,
        "password_file": cli.password_file,
        "ca_bundle": cli.ca_bundle,
        "insecure": cli.insecure,
        "timeout": cli.timeout,
    }
    environment = {"url": ENV_URL, "admin": ENV_ADMIN, "state_dir": ENV_STATE_DIR}
    connection_layers = _file_layers(parsed, profile, "connection")
    resolved: dict[str, Any] = {}
    for key, default in CONNECTION_DEFAULTS.items():
        env_name = environment.get(key)
        if flags.get(key) is not None:
            value, source = flags[key], "flag"
            if key == "timeout" and not 0 < value <= MAX_TIMEOUT_S:
                raise ConfigError(
                    f"--timeout must be > 0 and at most {MAX_TIMEOUT_S:,} seconds (a day), "
                    f"got {value:g}"
                )
        elif env_name and env.get(env_name, "").strip():
            raw = env[env_name].strip()
            value = Path(os.path.expanduser(raw)) if key == "state_dir" else raw
            source = f"env {env_name}"
        else:
            value, source = _lookup(connection_layers, key, default)
        resolved[key] = value
        sources[key] = source
    if resolved["state_dir"] is None:
        resolved["state_dir"] = default_state_dir()

    sections: dict[str, dict[str, Any]] = {}
    for table, schema in SECTION_KEYS.items():
        layers = _file_layers(parsed, profile, table)
        sections[table] = {}
        for key in schema:
            value, source = _lookup(layers, key, None)
            if value is not None:
                sections[table][key] = value
            sources[f"{table}.{key}"] = source

    ticket_layers = _file_layers(parsed, profile, "tickets")
    backend, sources["tickets.backend"] = _lookup(ticket_layers, "backend", "file")
    template, sources["tickets.template"] = _lookup(ticket_layers, "template", None)
    ticket_options: dict[str, dict[str, Any]] = {}
    if parsed is not None:
        # Profile subtables replace the top-level subtable of the same backend, key by key.
        for scope in ("", profile or ""):
            where = f"profiles.{scope}.tickets" if scope else "tickets"
            for name, sub in parsed.ticket_options.get(scope, {}).items():
                ticket_options.setdefault(name, {}).update(sub)
                for key in sub:  # config show names the file and table, as for other keys
                    sources[f"tickets.{name}.{key}"] = f"file {parsed.path} [{where}.{name}]"

    if resolved["url"]:
        from zcomp.zimbra.urls import admin_url

        admin_url(str(resolved["url"]))  # a URL that cannot work: one line, before any account
    return Settings(
        url=resolved["url"],
        admin=resolved["admin"],
        password_file=resolved["password_file"],
        ca_bundle=resolved["ca_bundle"],
        insecure=bool(resolved["insecure"]),
        timeout=float(resolved["timeout"]),
        token_cache=str(resolved["token_cache"]),
        keyring=bool(resolved["keyring"]),
        state_dir=resolved["state_dir"],
        profile=profile,
        config_path=path,
        lockdown=LockdownSettings(**sections["lockdown"]),
        unlock=UnlockSettings(**sections["unlock"]),
        policy=Policy(**sections["policy"]),
        tickets=TicketSettings(backend=backend, template=template, options=ticket_options),
        watch=_watch_settings(sections["watch"], path),
        detect=DetectSettings(**sections["detect"]),
        guard=_guard_settings(sections["guard"], path),
        sources=sources,
    )


def _watch_settings(values: dict[str, Any], path: Path | None) -> WatchSettings:
    try:
        return WatchSettings(**values)
    except ValueError as exc:  # a rule across keys: lockdown_score below alert_score
        raise ConfigError(f"{path or 'configuration'}: [watch]: {exc}") from None


def _guard_settings(values: dict[str, Any], path: Path | None) -> GuardSettings:
    try:
        return GuardSettings(**values)
    except ValueError as exc:  # a client name, a listen address, a rule across keys
        raise ConfigError(f"{path or 'configuration'}: [guard]: {exc}") from None


def validate_file(path: Path) -> None:
    """Parse and validate one file (used by tests and by `config init` on what it wrote)."""
    _Reader(path).parse()


# What `zcomp config init` writes: every key, commented, with its default.
EXAMPLE_CONFIG = """\
# zcomp configuration. Every key is optional; commented lines show the defaults.
# Precedence per value: command-line flag > environment (ZCOMP_*) > this file > default.
# Keys at the top level are defaults for every profile; a profile overrides them.
# Never put a password here: point password_file at a 0600 file, or run `zcomp login`.

# default_profile = "prod"          # used when neither --profile nor ZCOMP_PROFILE is given

# url = "https://mail.example.edu:7071"   # admin port, or the full .../service/admin/soap/ URL
# admin = "admin@example.edu"
# password_file = "~/.config/zcomp/password"
# ca_bundle = "/etc/ssl/certs/zimbra-ca.pem"
# insecure = false                  # true turns TLS verification off (loudly)
# timeout = 30                      # seconds, > 0
# token_cache = "auto"              # auto | keyring | file | off
# keyring = true                    # false: never touch the OS keyring
# state_dir = "/var/lib/zcomp"      # journal, tickets, token cache (default: user state dir)

# [profiles.prod]
# url = "https://mail.example.edu:7071"
# admin = "admin@example.edu"
# password_file = "/root/.config/zcomp/password"
#
# [profiles.prod.lockdown]          # any section below may also be set per profile
# workers = 8

[lockdown]
# protected = ["ceo@example.edu"]   # refused unless --force (besides admins and system accounts)
# internal_domains = []             # extra domains counted as the organisation's
# confirm_threshold = 10            # batch size above which typed confirmation is asked
# workers = 4
# retry_budget = 120                # seconds an account may spend retrying transient failures

[unlock]
# min_locked_minutes = 60
# password_history = 10             # zimbraPasswordEnforceHistory raised to at least this (>= 5)

[policy]                            # each: "remove" | "report" | "ignore"
# forwarding = "remove"             # zimbraPrefMailForwardingAddress outside the organisation
# local_delivery_disabled = "remove"
# admin_forwarding = "report"       # zimbraMailForwardingAddress (admin-set)
# filter_redirect = "remove"        # redirect/notify to outside addresses
# filter_discard = "remove"
# filter_reject = "remove"
# filter_hide = "remove"            # file into Trash/Junk, mark read
# identity = "remove"               # From/Reply-To outside the account's own addresses
# signature = "remove"
# auto_reply = "remove"
# share_public = "remove"           # a folder shared with everyone (public URL) or by access key
# share_outside = "remove"          # shared with a guest or anyone outside the organisation
# share_internal = "remove"         # shared inside since the baseline (no baseline: reported)
# right_outside = "remove"          # sendAs, sendOnBehalfOf, loginAs... to anyone outside
# right_internal = "remove"         # ...to a colleague since the baseline (no baseline: reported)
# data_source = "remove"            # an outside account pulled in since the baseline: turned off
# app_passwords = "remove"          # Network Edition: revoked (they outlive the password)
# trusted_devices = "remove"        # Network Edition: revoked (they skip the second factor)
# mobile_devices = "remove"         # Network Edition: synced devices suspended

[detect]                            # zcomp scan (and watch's followed logs)
# big_send = 50                     # envelope recipients that make one message a big send
# html_client_weight = 2.0          # a big send from the Standard (HTML) client weighs more
# html_sends = 3                    # Standard-client sends in nginx.access.log (0: off) ...
# html_window_minutes = 10          # ... within this many minutes
# per_minute = 100                  # recipients per sender in a sliding minute
# per_hour = 500                    # ... and in a sliding hour
# new_ip_changes = true             # settings changed after a login from a new address
# new_ip_minutes = 60
# login_ips = 5                     # distinct login addresses within the login window
# login_window_minutes = 60
# geoip_db = "/var/lib/GeoIP/GeoLite2-Country.mmdb"  # offline countries (unset: no country rules)
# login_countries = 3               # distinct login countries within the login window
# home_countries = []               # e.g. ["DE", "AT"]: a login from elsewhere is a signal
# failed_logins = 5
# night_start = "00:00"             # local log time; may wrap midnight
# night_end = "05:00"
# night_rcpts = 20                  # recipients within an hour of night that make a burst
# allow = []                        # accounts never reported: bulk senders, list owners, help desk
# servers = []                      # your own servers' and admin hosts' addresses
# min_score = 3.0                   # lowest score reported

[watch]                             # zcomp watch: per-sender thresholds over the MTA queues
# poll_interval_s = 60
# queued_messages = 50              # messages queued from one sender (0 turns a measure off)
# recipient_domains = 20            # distinct recipient domains of those messages
# deferred_messages = 25            # of them deferred by remote MTAs
# bounces = 20                      # bounces queued back to the account
# alert_score = 1.0                 # each measure over its threshold scores 1.0: one alert
# lockdown_score = 3.0              # with --auto-lockdown (or auto_lockdown = true)
# auto_lockdown = false
# quiet_period_s = 3600             # under the alert score this long ends an episode
# allow = []                        # senders never alerted: addresses or "@domain"

[guard]                             # zcomp guard serve: the milter on Zimbra's MTA
# listen = "inet:127.0.0.1:10029"   # or "unix:/path"; Postfix: smtpd_milters = the same
# bulk_recipients = 50              # hold a message with more recipients (0: off) ...
# bulk_clients = ["standard"]       # ... from these: standard | ajax | modern | smtp-auth | other
# rate_recipients = 500             # hold once a sender would go over this (0: off) ...
# rate_window_s = 3600              # ... within this window
# allow = []                        # senders never held by those rules: addresses or "@domain"
# mailbox_servers = []              # mailbox server addresses: only their X-Mailer counts
# contained_ttl_s = 10              # contained accounts read from Zimbra this often
# contained_timeout_s = 5
# contained_max_age_s = 60          # older than this (Zimbra down): not checked, mail accepted
# hold_contained = true             # hold all mail of accounts zcomp contained
# alert_window_s = 3600             # one alert per sender per window
# auto_lockdown = false
# lockdown_after_holds = 3          # with auto_lockdown: holds within alert_window_s

[tickets]
# backend = "file"                  # file | email | rt | jira | servicenow | zendesk | webhook

[tickets.file]
# directory = ""                    # default: <state_dir>/tickets
"""
