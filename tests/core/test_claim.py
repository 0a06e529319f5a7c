"""Who cleans when two zcomps on hosts that share nothing contain an account in the same moment.

The rival is simulated at the exact request where real Zimbra could interleave it: its claim is
written just before this process's containment batch reaches the sandbox, so this process reads
back both claims (the case a sandbox that runs batches one at a time never produces by itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.rawjson import admin_token, call
from tests.reliability.proxy import BEFORE, Exchange, Hook, LossyProxy, Verdict
from zcomp.config import CliValues, load_settings
from zcomp.core.actor import CLAIM_ATTR
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.outcome import Result
from zcomp.core.services import Services
from zcomp.exitcodes import ExitCode
from zcomp.journal import Journal
from zcomp.journal.model import CLOSED
from zcomp.sandbox import Sandbox, replay_attack
from zcomp.tickets import make_backend
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.model import Secret
from zcomp.zimbra.settings import ConnectionSettings

ALICE = "alice@sandbox.test"


@pytest.fixture
def proxy(sandbox: Sandbox) -> Iterator[LossyProxy]:
    with LossyProxy(sandbox.urls[0]) as p:
        yield p


@pytest.fixture
def services(proxy: LossyProxy, state_dir: Path) -> Iterator[Services]:
    client = ZimbraClient(
        ConnectionSettings(
            url=proxy.admin_url,
            admin="admin@sandbox.test",
            password=lambda: Secret("sandbox"),
            token_cache="off",
        )
    )
    settings = load_settings(
        CliValues(url=proxy.admin_url, admin="admin@sandbox.test"),
        env={"ZCOMP_STATE_DIR": str(state_dir)},
    )
    journal = Journal.open(state_dir)
    yield Services(
        client=client,
        journal=journal,
        tickets=make_backend("file", {}, state_dir),
        settings=settings,
    )
    client.close()
    journal.close()


def _rival_claim() -> str:
    """A live claim of a zcomp on another host, with the lowest possible token."""
    until = datetime.now(timezone.utc) + timedelta(minutes=15)
    return f"zcomp-claim 000000000000 until {until:%Y-%m-%dT%H:%M:%SZ} by ops on adm2:0badcafe"


def _set_claims(sandbox: Sandbox, account_id: str, op: str, value: str) -> None:
    result = call(
        sandbox.urls[0],
        "ModifyAccountRequest",
        "urn:zimbraAdmin",
        {"id": account_id, "a": [{"n": f"{op}{CLAIM_ATTR}", "_content": value}]},
        token=admin_token(sandbox.urls[0]),
        admin=True,
    )
    assert not isinstance(result, str), result


def _rival_claims_with_the_containment(sandbox: Sandbox, account_id: str, rival: str) -> Hook:
    fired: list[int] = []

    def hook(exchange: Exchange, at: str) -> Verdict | None:
        if at == BEFORE and not fired and exchange.has("SetPasswordRequest"):
            fired.append(exchange.n)
            _set_claims(sandbox, account_id, "+", rival)
        return None

    return hook


def test_a_rival_that_claimed_in_the_same_moment_cleans_and_this_one_hands_over(
    sandbox: Sandbox, proxy: LossyProxy, services: Services
) -> None:
    replay_attack(sandbox, ALICE)
    alice = sandbox.account(ALICE)
    rival = _rival_claim()
    proxy.hooks.append(_rival_claims_with_the_containment(sandbox, alice.id, rival))

    outcome = lockdown_account(services, ALICE, LockdownOptions())

    assert outcome.result == Result.BUSY, outcome
    assert outcome.error is not None and outcome.error.exit == ExitCode.BUSY
    assert "ops (zcomp on adm2, since " in outcome.error.message, outcome.error.message
    assert "closed as handed over" in outcome.error.message
    # Contained here (harmless twice), not cleaned: the rival cleans.
    assert alice.first("zimbraAccountStatus") == "locked"
    assert alice.first("zimbraPrefMailForwardingAddress")
    # Only the rival's claim is left; the incident here is closed, with what it did journaled.
    assert alice.attrs.get(CLAIM_ATTR, []) == [rival]
    incident = services.journal.incident(outcome.incident or 0)
    assert incident.state == CLOSED and (incident.closed_how or "").startswith("handed over")
    assert {a.kind for a in services.journal.actions(incident.id)} >= {"account-status", "password"}
    assert services.journal.evidence(incident.id) is not None


def test_rivals_that_both_withdraw_leave_the_account_to_the_one_that_claims_again(
    sandbox: Sandbox, proxy: LossyProxy, services: Services
) -> None:
    replay_attack(sandbox, ALICE)
    alice = sandbox.account(ALICE)
    rival = _rival_claim()
    proxy.hooks.append(_rival_claims_with_the_containment(sandbox, alice.id, rival))
    withdrawn: list[int] = []

    def rival_withdraws_too(exchange: Exchange, at: str) -> Verdict | None:
        # The rival saw both claims as well, and withdraws in the same moment as this one.
        if at == BEFORE and not withdrawn and b'"-description"' in exchange.body:
            withdrawn.append(exchange.n)
            _set_claims(sandbox, alice.id, "-", rival)
        return None

    proxy.hooks.append(rival_withdraws_too)

    outcome = lockdown_account(services, ALICE, LockdownOptions())

    assert withdrawn, "this process never withdrew its claim"
    assert outcome.result == Result.CONTAINED, outcome.error
    assert alice.first("zimbraAccountStatus") == "locked"
    assert not alice.first("zimbraPrefMailForwardingAddress")
    assert alice.attrs.get(CLAIM_ATTR, []) == []  # withdrawn with the zimbraNotes line
    # Login and the usual three round trips, plus a withdrawal and a claim (each read back).
    assert outcome.round_trips == 4 + 2, outcome.round_trips
