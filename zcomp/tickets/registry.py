"""Choosing a ticket backend by name from the configuration ([tickets] backend = "file")."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zcomp.config import TICKET_BACKENDS as BACKENDS
from zcomp.exitcodes import ConfigError
from zcomp.tickets.backend import TicketBackend
from zcomp.tickets.file_backend import FileBackend
from zcomp.tickets.options import Options

DEFAULT_BACKEND = "file"
# Every backend in BACKENDS but `file` is a module zcomp.tickets.backends.<name> with
# `make(options: Options, context: BackendContext) -> TicketBackend`, imported only when chosen.


@dataclass
class BackendContext:
    state_dir: Path
    debug: Callable[[str], None] | None = None
    warn: Callable[[str], None] = field(default=lambda _text: None)


def _file_backend(options: Options, context: BackendContext) -> TicketBackend:
    directory = options.text("directory")
    options.done()
    if directory is None:
        return FileBackend(Path(context.state_dir) / "tickets")
    path = Path(directory).expanduser()
    # A relative directory is taken relative to the state dir, not wherever zcomp was started.
    return FileBackend(path if path.is_absolute() else Path(context.state_dir) / path)


def _factory(name: str) -> Callable[[Options, BackendContext], TicketBackend] | None:
    if name == "file":
        return _file_backend
    if name not in BACKENDS:
        return None
    try:
        module = importlib.import_module(f"zcomp.tickets.backends.{name}")
    except ModuleNotFoundError:
        return None
    make: Callable[[Options, BackendContext], TicketBackend] = module.make
    return make


def available_backends() -> list[str]:
    return [name for name in BACKENDS if _factory(name) is not None]


def make_backend(
    backend: str,
    options: Mapping[str, Mapping[str, Any]],
    state_dir: Path,
    *,
    debug: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> TicketBackend:
    """The backend named in the config; `options` holds each backend's [tickets.<name>] table.
    Every setting is checked here (secrets read), so a command that files tickets fails at
    start-up, in one line, rather than at its first ticket."""
    name = backend.strip().lower()
    factory = _factory(name)
    if factory is None:
        valid = ", ".join(available_backends())
        raise ConfigError(
            f"[tickets] backend = {backend!r} is not a ticket backend (valid: {valid})"
        )
    section = options.get(name) or {}
    if not isinstance(section, Mapping):
        raise ConfigError(f"[tickets.{name}] must be a table")
    context = BackendContext(Path(state_dir), debug, warn or (lambda _text: None))
    return factory(Options(name, section, warn=context.warn), context)
