# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""Tokens, logins, account status and the per-server cache (zimbra-soap.md §2.1, §2.5, §2.9, §6.1)."""

from __future__ import annotations

import pytest

from tests.sandbox.rawsoap import ACCOUNT, ADMIN, MAIL, RawSoap, token_of
from zcomp.sandbox import Sandbox, SandboxOptions, demo_password

ALICE = "alice@sandbox.test"
NOOP = f'<NoOpRequest xmlns="{MAIL}"/>'


def _modify(c: RawSoap, acct_id: str, attrs: dict[str, str]) -> str | None:
    body = "".join(f'<a n="{k}">{v}</a>' for k, v in attrs.items())
    return c.xml(
        f'<ModifyAccountRequest xmlns="{ADMIN}" id="{acct_id}">{body}</ModifyAccountRequest>'
    ).fault_code


@pytest.mark.parametrize(
    ("version", "code"),
    [
        ("8.8.15", "account.AUTH_FAILED"),
        ("9.0.0", "account.AUTH_FAILED"),
        ("10.1.0", "service.PERM_DENIED"),
    ],
)
def test_admin_auth_unknown_account_by_version(version: str, code: str) -> None:
    with Sandbox(SandboxOptions(seed="none", zimbra_version=version)) as sb:
        c = RawSoap(sb.admin_url)
        try:
            r = c.xml(
                f'<AuthRequest xmlns="{ADMIN}" name="ghost@sandbox.test" password="x"/>', token=None
            )
            assert r.fault_code == code
            r = c.xml(
                f'<AuthRequest xmlns="{ADMIN}" name="admin@sandbox.test" password="wrong"/>',
                token=None,
            )
            assert r.fault_code == "account.AUTH_FAILED"
            assert (
                c.xml(
                    f'<AuthRequest xmlns="{ADMIN}" name="admin" password="sandbox"/>', token=None
                ).status
                == 200
            )
        finally:
            c.close()


def test_admin_auth_non_admin_and_user_token_on_admin_request(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        r = c.xml(
            f'<AuthRequest xmlns="{ADMIN}" name="{ALICE}" password="{demo_password(ALICE)}"/>',
            token=None,
        )
        assert r.fault_code == "service.PERM_DENIED"
        user_tok = token_of(c.user_login(ALICE, demo_password(ALICE)))
        r = c.xml(
            f'<GetAccountRequest xmlns="{ADMIN}"><account by="name">{ALICE}</account></GetAccountRequest>',
            token=user_tok,
        )
        assert r.fault_code == "service.PERM_DENIED"
        text = r.body.findtext(".//{http://www.w3.org/2003/05/soap-envelope}Text")
        assert text == "permission denied: need adequate admin token"
    finally:
        c.close()


def test_lock_kills_user_token_not_delegated(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    user_tok = token_of(raw_admin.user_login(ALICE, demo_password(ALICE)))
    r = raw_admin.xml(
        f'<DelegateAuthRequest xmlns="{ADMIN}" duration="600"><account by="id">{alice.id}</account></DelegateAuthRequest>'
    )
    assert r.findtext(f"{{{ADMIN}}}lifetime") == "600000"
    delegated = token_of(r, ADMIN)
    assert raw_admin.xml(NOOP, token=user_tok).status == 200
    assert _modify(raw_admin, alice.id, {"zimbraAccountStatus": "locked"}) is None
    assert raw_admin.xml(NOOP, token=user_tok).fault_code == "service.AUTH_EXPIRED"
    assert raw_admin.xml(NOOP, token=delegated).status == 200
    assert raw_admin.user_login(ALICE, demo_password(ALICE)).fault_code == "account.AUTH_FAILED"
    assert _modify(raw_admin, alice.id, {"zimbraAccountStatus": "maintenance"}) is None
    assert raw_admin.xml(NOOP, token=delegated).fault_code == "service.AUTH_EXPIRED"
    assert (
        raw_admin.user_login(ALICE, demo_password(ALICE)).fault_code == "account.MAINTENANCE_MODE"
    )


def test_validity_bump_kills_every_older_token(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    user_tok = token_of(raw_admin.user_login(ALICE, demo_password(ALICE)))
    delegated = token_of(
        raw_admin.xml(
            f'<DelegateAuthRequest xmlns="{ADMIN}"><account by="name">{ALICE}</account></DelegateAuthRequest>'
        ),
        ADMIN,
    )
    assert _modify(raw_admin, alice.id, {"zimbraAuthTokenValidityValue": "1"}) is None
    for tok in (user_tok, delegated):
        assert raw_admin.xml(NOOP, token=tok).fault_code == "service.AUTH_EXPIRED"
    fresh = token_of(raw_admin.user_login(ALICE, demo_password(ALICE)))
    assert raw_admin.xml(NOOP, token=fresh).status == 200


def test_set_password_semantics(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    old_tok = token_of(raw_admin.user_login(ALICE, demo_password(ALICE)))
    assert (
        _modify(
            raw_admin,
            alice.id,
            {"zimbraPasswordMustChange": "TRUE", "zimbraPasswordEnforceHistory": "3"},
        )
        is None
    )
    r = raw_admin.xml(f'<SetPasswordRequest xmlns="{ADMIN}" id="{alice.id}" newPassword="x"/>')
    assert r.status == 200
    assert "too short" in (r.findtext(f"{{{ADMIN}}}message") or "")
    assert alice.first("zimbraAuthTokenValidityValue") == "0"  # unset (-1) + 1
    assert alice.first("zimbraPasswordMustChange") is None
    assert len(alice.attrs["zimbraPasswordHistory"]) == 1
    assert raw_admin.xml(NOOP, token=old_tok).fault_code == "service.AUTH_EXPIRED"
    assert raw_admin.user_login(ALICE, "x").status == 200
    r = raw_admin.xml(
        f'<SetPasswordRequest xmlns="{ADMIN}"><id>nope</id><newPassword>Abcdef12</newPassword></SetPasswordRequest>'
    )
    assert r.fault_code == "account.NO_SUCH_ACCOUNT"


def test_validity_wraps_at_int_max(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    assert _modify(raw_admin, alice.id, {"zimbraAuthTokenValidityValue": str(2**31 - 1)}) is None
    raw_admin.xml(
        f'<SetPasswordRequest xmlns="{ADMIN}" id="{alice.id}" newPassword="Sandbox-123"/>'
    )
    assert alice.first("zimbraAuthTokenValidityValue") == "0"


def test_must_change_and_change_password_history(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    grace = "grace@sandbox.test"
    assert raw_admin.user_login(grace, demo_password(grace)).fault_code == "account.CHANGE_PASSWORD"
    _modify(raw_admin, sandbox.account(grace).id, {"zimbraPasswordEnforceHistory": "2"})
    change = (
        f'<ChangePasswordRequest xmlns="{ACCOUNT}"><account by="name">{grace}</account>'
        f"<oldPassword>{{old}}</oldPassword><password>{{new}}</password></ChangePasswordRequest>"
    )
    r = raw_admin.xml(change.format(old=demo_password(grace), new=demo_password(grace)), token=None)
    assert r.fault_code == "account.PASSWORD_RECENTLY_USED"
    r = raw_admin.xml(change.format(old=demo_password(grace), new="abc"), token=None)
    assert r.fault_code == "account.INVALID_PASSWORD"
    r = raw_admin.xml(change.format(old="wrong", new="Fresh-Pass-1"), token=None)
    assert r.fault_code == "account.AUTH_FAILED"
    r = raw_admin.xml(change.format(old=demo_password(grace), new="Fresh-Pass-1"), token=None)
    assert r.status == 200
    assert raw_admin.user_login(grace, "Fresh-Pass-1").status == 200


def test_expiry_with_clock(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    r = raw_admin.xml(
        f'<DelegateAuthRequest xmlns="{ADMIN}" duration="60"><account by="name">{ALICE}</account></DelegateAuthRequest>'
    )
    tok = token_of(r, ADMIN)
    sandbox.clock.advance(61)
    assert raw_admin.xml(NOOP, token=tok).fault_code == "service.AUTH_EXPIRED"
    ctx = '<authTokenControl voidOnExpired="1"/>'
    assert raw_admin.xml(NOOP, token=tok, context=ctx).fault_code == "service.AUTH_REQUIRED"


def test_account_header_harvesting(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    bob_tok = token_of(raw_admin.user_login("bob@sandbox.test", demo_password("bob@sandbox.test")))
    ghost = '<account by="name">ghost@sandbox.test</account>'
    assert raw_admin.xml(NOOP, context=ghost).fault_code == "account.NO_SUCH_ACCOUNT"
    assert raw_admin.xml(NOOP, token=bob_tok, context=ghost).fault_code == "service.PERM_DENIED"
    other = f'<account by="name">{ALICE}</account>'
    assert raw_admin.xml(NOOP, token=bob_tok, context=other).fault_code == "service.PERM_DENIED"
    # Admin + account header works even on a locked account.
    alice = sandbox.account(ALICE)
    _modify(raw_admin, alice.id, {"zimbraAccountStatus": "locked"})
    r = raw_admin.xml(
        f'<GetPrefsRequest xmlns="{ACCOUNT}"/>', context=f'<account by="id">{alice.id}</account>'
    )
    assert r.status == 200


def test_cache_per_server_and_flush(sandbox2: Sandbox) -> None:
    admin = RawSoap(sandbox2.admin_url)
    other = RawSoap(sandbox2.urls[1] + "/service/soap/")
    try:
        admin.admin_login()
        tok = token_of(other.user_login(ALICE, demo_password(ALICE)))
        alice = sandbox2.account(ALICE)
        _modify(admin, alice.id, {"zimbraAccountStatus": "locked"})
        assert other.xml(NOOP, token=tok).status == 200  # mbox2 still has the old entry cached
        assert other.user_login(ALICE, demo_password(ALICE)).status == 200
        flush = f'<FlushCacheRequest xmlns="{ADMIN}"><cache type="account"><entry by="id">{alice.id}</entry></cache></FlushCacheRequest>'
        assert admin.xml(flush).status == 200  # only mbox1
        assert other.xml(NOOP, token=tok).status == 200
        assert (
            admin.xml(flush.replace('type="account"', 'type="account" allServers="1"')).status
            == 200
        )
        assert other.xml(NOOP, token=tok).fault_code == "service.AUTH_EXPIRED"
    finally:
        admin.close()
        other.close()


def test_cache_expires_after_15_minutes(sandbox2: Sandbox) -> None:
    admin = RawSoap(sandbox2.admin_url)
    other = RawSoap(sandbox2.urls[1] + "/service/soap/")
    try:
        admin.admin_login()
        tok = token_of(other.user_login(ALICE, demo_password(ALICE)))
        _modify(admin, sandbox2.account(ALICE).id, {"zimbraAccountStatus": "locked"})
        sandbox2.clock.advance(14 * 60)
        assert other.xml(NOOP, token=tok).status == 200
        sandbox2.clock.advance(61)
        assert other.xml(NOOP, token=tok).fault_code == "service.AUTH_EXPIRED"
    finally:
        admin.close()
        other.close()


def test_end_session_all(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    r = raw_admin.xml(
        f'<AuthRequest xmlns="{ACCOUNT}"><account by="name">{ALICE}</account><password>{demo_password(ALICE)}</password></AuthRequest>',
        token=None,
        context="<session/>",
    )
    with_session = token_of(r)
    without = token_of(raw_admin.user_login(ALICE, demo_password(ALICE)))
    sessions = raw_admin.xml(f'<GetSessionsRequest xmlns="{ADMIN}" type="soap"/>')
    assert sessions.body.get("total") == "1"
    assert (
        raw_admin.xml(f'<EndSessionRequest xmlns="{ACCOUNT}" all="1"/>', token=without).status
        == 200
    )
    assert raw_admin.xml(NOOP, token=with_session).fault_code == "service.AUTH_EXPIRED"
    assert raw_admin.xml(NOOP, token=without).status == 200
