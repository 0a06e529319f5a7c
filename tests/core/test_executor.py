"""The change executor against the sandbox over HTTP, through a proxy that loses replies.

Each test makes one thing go wrong at one exact request, so what the executor must do is known:
read back before re-sending, count a change someone else made as done, stop an ordered list at
a refused change, and say exactly what it could not confirm within its budget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rawjson import admin_token, call
from tests.reliability.harness import password_changes
from tests.reliability.proxy import AFTER, BEFORE, Exchange, LossyProxy, Verdict
from zcomp.config import CliValues, load_settings
from zcomp.core.change import Change, Status
from zcomp.core.executor import Budget, Executor
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.outcome import Result
from zcomp.core.services import Services
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox, replay_attack
from zcomp.tickets import make_backend
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.model import Secret
from zcomp.zimbra.operations import GetAccount, ModifyAccount, SetPassword
from zcomp.zimbra.settings import ConnectionSettings

ALICE = "alice@sandbox.test"


@pytest.fixture
def proxy(sandbox: Sandbox) -> Iterator[LossyProxy]:
    with LossyProxy(sandbox.urls[0]) as p:
        yield p


@pytest.fixture
def services(proxy: LossyProxy, state_dir: Path) -> Iterator[Services]:
    url = proxy.admin_url
    client = ZimbraClient(
        ConnectionSettings(
            url=url,
            admin="admin@sandbox.test",
            password=lambda: Secret("sandbox"),
            token_cache="off",
            retries=0,  # the executor's own retries are under test
        )
    )
    settings = load_settings(
        CliValues(url=url, admin="admin@sandbox.test"), env={"ZCOMP_STATE_DIR": str(state_dir)}
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


def _drop_first(name: str, phase: str = AFTER) -> object:
    """A hook losing the reply to the first request that carries `name` (once)."""
    fired: list[int] = []

    def hook(exchange: Exchange, at: str) -> Verdict | None:
        if at == phase and not fired and exchange.has(name):
            fired.append(exchange.n)
            return Verdict.DROP
        return None

    return hook


def test_a_lost_containment_reply_is_read_back_and_not_sent_again(
    sandbox: Sandbox, proxy: LossyProxy, services: Services
) -> None:
    replay_attack(sandbox, ALICE)
    proxy.hooks.append(_drop_first("SetPasswordRequest"))  # type: ignore[arg-type]

    outcome = lockdown_account(services, ALICE, LockdownOptions())

    assert outcome.result == Result.CONTAINED, outcome.error
    assert [e.n for e in proxy.dropped], "the hook never fired"
    # The sandbox applied the batch whose reply was lost; the read-back said so.
    assert password_changes(sandbox, ALICE) == 1
    actions = services.journal.actions(outcome.incident or 0)
    [password] = [a for a in actions if a.kind == "password"]
    assert password.status == "done" and "reply was lost" in password.detail
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"


def test_a_change_someone_else_made_meanwhile_is_done_not_failed(
    sandbox: Sandbox, proxy: LossyProxy, services: Services
) -> None:
    replay_attack(sandbox, ALICE)
    alice = sandbox.account(ALICE)
    token = admin_token(sandbox.urls[0])

    fired: list[int] = []

    def other_admin_first(exchange: Exchange, at: str) -> Verdict | None:
        # Just before zcomp's forwarding removal reaches Zimbra, another admin removes it.
        if (
            at == BEFORE
            and not fired
            and exchange.has("ModifyAccountRequest")
            and b"zimbraPrefMailLocalDeliveryDisabled" in exchange.body
        ):
            fired.append(exchange.n)
            call(
                sandbox.urls[0],
                "ModifyAccountRequest",
                "urn:zimbraAdmin",
                {
                    "id": alice.id,
                    "a": [
                        {"n": "zimbraPrefMailForwardingAddress", "_content": ""},
                        {"n": "zimbraPrefMailLocalDeliveryDisabled", "_content": "FALSE"},
                    ],
                },
                token=token,
                admin=True,
            )
            return Verdict.DROP  # and zcomp never hears back about its own write
        return None

    proxy.hooks.append(other_admin_first)

    outcome = lockdown_account(services, ALICE, LockdownOptions())

    assert outcome.result == Result.CONTAINED, outcome.error
    assert fired, "the hook never fired"
    assert not alice.first("zimbraPrefMailForwardingAddress")
    actions = services.journal.actions(outcome.incident or 0)
    [forwarding] = [a for a in actions if a.step == "clean" and "Forwarding" in a.target]
    assert forwarding.status == "done" and "in place" in forwarding.detail


def test_an_ordered_list_stops_at_a_refused_change(sandbox: Sandbox, services: Services) -> None:
    alice = sandbox.account(ALICE)
    before = alice.first("zimbraAuthTokenValidityValue")
    executor = Executor(services)
    read = GetAccount(alice.id, by="id", attrs=("zimbraAuthTokenValidityValue",))
    refused = Change(
        request=ModifyAccount(alice.id, {"zimbraNoSuchAttribute": "x"}),
        step="test",
        kind="bad",
        target=ALICE,
        before=None,
        after=None,
        plan="set an attribute Zimbra does not know",
        done="set it",
    )
    password = Change(
        request=SetPassword(alice.id, Secret("Never-Sent-1")),
        step="test",
        kind="password",
        target=ALICE,
        before=None,
        after=None,
        plan="set a password",
        done="set a password",
        read=read,
        check=lambda got: (
            None if got.get("zimbraAuthTokenValidityValue") != before else "unchanged"
        ),
    )

    applied = executor.apply([refused, password], ordered=True)

    first, second = applied.applied
    assert first.status is Status.FAILED and "INVALID_ATTR_NAME" in first.problem
    assert second.status is Status.NOT_RUN and "earlier change failed" in second.problem
    assert password_changes(sandbox, ALICE) == 0


def test_what_the_budget_could_not_confirm_is_said_exactly(
    sandbox: Sandbox, proxy: LossyProxy, services: Services
) -> None:
    alice = sandbox.account(ALICE)
    services.client.login()  # type: ignore[attr-defined]
    proxy.drop_rate = 1.0  # from now on every reply is lost, every request applied
    clock = [0.0]
    executor = Executor(
        services,
        Budget(
            seconds=1.0,
            clock=lambda: clock[0],
            sleep=lambda s: clock.__setitem__(0, clock[0] + s),
        ),
    )
    read = GetAccount(alice.id, by="id", attrs=("zimbraNotes",))
    note = Change(
        request=ModifyAccount(alice.id, {"zimbraNotes": "written"}),
        step="test",
        kind="notes",
        target=ALICE,
        before=None,
        after="written",
        plan="write a note",
        done="wrote a note",
        read=read,
        check=lambda got: None if got.get("zimbraNotes") == "written" else "no note",
    )

    applied = executor.apply([note])

    [item] = applied.applied
    assert item.status is Status.FAILED
    assert "may or may not have applied" in item.problem
    # It did apply (the replies were lost, not the requests): "unknown" is the honest answer.
    assert alice.first("zimbraNotes") == "written"


def test_a_claim_that_cannot_be_written_never_stops_containment(
    sandbox: Sandbox, proxy: LossyProxy, services: Services
) -> None:
    replay_attack(sandbox, ALICE)
    _refusals_settle_fast(services)

    def refuse_claims(exchange: Exchange, at: str) -> Verdict | None:
        # Zimbra refuses the claim, and only the claim (as for an admin without the right to
        # write `description`): it rides in the containment batch, which must go on.
        if at == BEFORE:
            exchange.body = exchange.body.replace(b'n="+description"', b'n="+zimbraNoSuchAttr"')
        return None

    proxy.hooks.append(refuse_claims)

    outcome = lockdown_account(services, ALICE, LockdownOptions())

    assert outcome.result == Result.CONTAINED, outcome.error
    assert any("could not claim" in w for w in outcome.warnings), outcome.warnings
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"
    assert not sandbox.account(ALICE).first("zimbraPrefMailForwardingAddress")


def test_a_password_history_zimbra_refuses_never_keeps_the_account_unlocked(
    sandbox: Sandbox, proxy: LossyProxy, services: Services
) -> None:
    replay_attack(sandbox, ALICE)
    _refusals_settle_fast(services)
    validity = sandbox.account(ALICE).first("zimbraAuthTokenValidityValue")

    def refuse_history(exchange: Exchange, at: str) -> Verdict | None:
        # Zimbra refuses the history value (a delegated admin without the right to it, a COS
        # constraint): it applies a ModifyAccount whole or not at all, so the lock is its own.
        if at == BEFORE:
            exchange.body = exchange.body.replace(
                b'n="zimbraPasswordEnforceHistory">10<', b'n="zimbraPasswordEnforceHistory">ten<'
            )
        return None

    proxy.hooks.append(refuse_history)

    outcome = lockdown_account(services, ALICE, LockdownOptions())

    assert outcome.result == Result.CONTAINED, outcome.error
    assert any("zimbraPasswordEnforceHistory" in w for w in outcome.warnings), outcome.warnings
    alice = sandbox.account(ALICE)
    assert alice.first("zimbraAccountStatus") == "locked"
    assert alice.first("zimbraAuthTokenValidityValue") != validity  # the password was scrambled
    assert not alice.first("zimbraPrefMailForwardingAddress")
    kinds = {a.kind: a.status for a in services.journal.actions(outcome.incident or "")}
    assert kinds["account-status"] == "done" and kinds["password"] == "done"
    assert kinds["password-history"] == "failed"


def _refusals_settle_fast(services: Services) -> None:
    """A refusal is final, but the budget bounds how long its read-backs are waited for."""
    services.settings = dataclasses.replace(
        services.settings,
        lockdown=dataclasses.replace(services.settings.lockdown, retry_budget=1.0),
    )
