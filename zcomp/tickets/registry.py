"""Choosing a ticket backend by name from the configuration ([tickets] backend = "file")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from zcomp.exitcodes import ConfigError
from zcomp.tickets.backend import TicketBackend
from zcomp.tickets.file_backend import FileBackend

# Designed for, not yet shipped: the interface fits them (see backend.py).
PLANNED_BACKENDS = ("email", "rt", "jira", "servicenow", "zendesk", "webhook")
DEFAULT_BACKEND = "file"


def _file_backend(options: Mapping[str, Any], state_dir: Path) -> TicketBackend:
    _refuse_unknown_options("file", options, {"directory"})
    directory = options.get("directory")
    if directory is None:
        return FileBackend(Path(state_dir) / "tickets")
    if not isinstance(directory, (str, Path)) or not str(directory).strip():
        raise ConfigError("[tickets.file] directory must be a non-empty path")
    path = Path(directory).expanduser()
    # A relative directory is taken relative to the state dir, not wherever zcomp was started.
    return FileBackend(path if path.is_absolute() else Path(state_dir) / path)


_FACTORIES: dict[str, Callable[[Mapping[str, Any], Path], TicketBackend]] = {
    "file": _file_backend,
}


def available_backends() -> list[str]:
    return sorted(_FACTORIES)


def _refuse_unknown_options(name: str, options: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"[tickets.{name}] unknown option {unknown[0]!r} (valid: {', '.join(sorted(known))})"
        )


def make_backend(
    backend: str, options: Mapping[str, Mapping[str, Any]], state_dir: Path
) -> TicketBackend:
    """The backend named in the config; `options` holds each backend's [tickets.<name>] table."""
    name = backend.strip().lower()
    factory = _FACTORIES.get(name)
    valid = ", ".join(available_backends())
    if factory is not None:
        section = options.get(name) or {}
        if not isinstance(section, Mapping):
            raise ConfigError(f"[tickets.{name}] must be a table")
        return factory(section, Path(state_dir))
    if name in PLANNED_BACKENDS:
        raise ConfigError(
            f"[tickets] backend = {backend!r} is not available in this zcomp yet"
            f" (available: {valid})"
        )
    raise ConfigError(f"[tickets] backend = {backend!r} is not a ticket backend (valid: {valid})")
