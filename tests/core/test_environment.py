"""Directory facts: a failed lookup fails the account instead of guessing."""

from __future__ import annotations

from pathlib import Path

import pytest

from zcomp.config import CliValues, load_settings
from zcomp.core.services import Services
from zcomp.journal import Journal
from zcomp.tickets import make_backend
from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import Domain, Server


def test_a_failed_domain_lookup_is_raised_and_not_cached(tmp_path: Path) -> None:
    settings = load_settings(
        CliValues(url="http://x", admin="a"), {"ZCOMP_STATE_DIR": str(tmp_path)}
    )
    with Journal.open(tmp_path) as journal:
        services = Services(
            client=None,  # type: ignore[arg-type]  # absorb_facts never talks to Zimbra
            journal=journal,
            tickets=make_backend("file", {}, tmp_path),
            settings=settings,
        )
        denied = ZimbraFault("service.PERM_DENIED", "permission denied")
        with pytest.raises(ZimbraFault):
            services.absorb_facts([denied, [Server("s1", "mta1.example.edu")]])
        assert len(services.facts_requests()) == 3  # asked again for the next account
        services.absorb_facts([[Domain("d1", "example.edu")], [Server("s1", "mta1.example.edu")]])
        assert services.facts_requests() == []
        assert services.organisation.is_inside("bob@example.edu")
        assert services.mtas == ["mta1.example.edu"]
