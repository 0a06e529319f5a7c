"""Build a real Services (ZimbraClient over HTTP, journal and tickets in a tmp dir)."""

from __future__ import annotations

from pathlib import Path

from zcomp.config import CliValues, Settings, load_settings
from zcomp.core.services import Services
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox
from zcomp.tickets import make_backend
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.model import Secret
from zcomp.zimbra.settings import ConnectionSettings

ADMIN = "admin@sandbox.test"


def settings_for(sb: Sandbox, state: Path) -> Settings:
    return load_settings(
        CliValues(url=sb.admin_url, admin=ADMIN), env={"ZCOMP_STATE_DIR": str(state)}
    )


def make_services(sb: Sandbox, state: Path) -> Services:
    client = ZimbraClient(
        ConnectionSettings(
            url=sb.admin_url,
            admin=ADMIN,
            password=lambda: Secret("sandbox"),
            token_cache="off",
        )
    )
    return Services(
        client=client,
        journal=Journal.open(state),
        tickets=make_backend("file", {}, state),
        settings=settings_for(sb, state),
    )


def close_services(services: Services) -> None:
    services.client.close()  # type: ignore[attr-defined]
    services.journal.close()
