"""Fixtures for the lifecycle tests: a demo sandbox and a real Services over HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.lifecycle.envs import ADMIN, close_services, make_services
from zcomp.core.services import Services
from zcomp.sandbox import Sandbox


@pytest.fixture
def services(sandbox: Sandbox, state_dir: Path) -> Iterator[Services]:
    """Journal and tickets in the same state dir the CLI uses (ZCOMP_STATE_DIR)."""
    made = make_services(sandbox, state_dir)
    try:
        yield made
    finally:
        close_services(made)


@pytest.fixture
def no_wait(services: Services) -> Services:
    """The same Services with [unlock] min_locked_minutes = 0."""
    services.settings = dataclasses.replace(
        services.settings,
        unlock=dataclasses.replace(services.settings.unlock, min_locked_minutes=0),
    )
    return services


@pytest.fixture
def zcomp(invoke: Callable[..., Result], sandbox: Sandbox, tmp_path: Path) -> Callable[..., Result]:
    """Run the CLI against the sandbox; `minutes=` writes [unlock] min_locked_minutes."""

    def run(*args: str, input: str | None = None, minutes: int | None = None) -> Result:
        root = ["--url", sandbox.admin_url, "--admin", ADMIN]
        if minutes is not None:
            config = tmp_path / "config.toml"
            config.write_text(f"[unlock]\nmin_locked_minutes = {minutes}\n")
            root += ["--config", str(config)]
        return invoke(*root, *args, input=input, env={"ZCOMP_PASSWORD": "sandbox"})

    return run
