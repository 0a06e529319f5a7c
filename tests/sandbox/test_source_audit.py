# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""Behaviour checked against Zimbra's source: passwords, token checks, FlushCache, SendMsg.

Each test names the zm-mailbox file whose behaviour it pins down.
"""

from __future__ import annotations

from tests.sandbox.rawsoap import ACCOUNT, ADMIN, MAIL, RawSoap, token_of
from zcomp.sandbox import Sandbox, demo_password

ALICE = "alice@sandbox.test"
NOOP = f'<NoOpRequest xmlns="{MAIL}"/>'
CHANGE = (
    f'<ChangePasswordRequest xmlns="{ACCOUNT}"><account by="{{by}}">{{name}}</account>'
    "<oldPassword>{old}</oldPassword><password>{new}</password></ChangePasswordRequest>"
)


def _modify(c: RawSoap, acct_id: str, attrs: dict[str, str]) -> str | None:
    body = "".join(f'<a n="{k}">{v}</a>' for k, v in attrs.items())
    return c.xml(
        f'<ModifyAccountRequest xmlns="{ADMIN}" id="{acct_id}">{body}</ModifyAccountRequest>'
    ).fault_code


def _set_password(c: RawSoap, acct_id: str, password: str, extra: str = "") -> str | None:
    r = c.xml(
        f'<SetPasswordRequest xmlns="{ADMIN}" id="{acct_id}" newPassword="{password}">{extra}</SetPasswordRequest>'
    )
    assert r.status == 200, r.raw
    return r.findtext(f"{{{ADMIN}}}message")


def _change(c: RawSoap, old: str, new: str, name: str = ALICE, by: str = "name") -> str | None:
    change = CHANGE.replace("{by}", by).replace("{name}", name)
    r = c.xml(change.format(old=old, new=new), token=None)
    return r.fault_code


# ---- 1. SetPassword (admin/SetPassword.java, LdapProvisioning.setPassword/updateHistory) ------


def test_set_password_history_keeps_n_entries_including_the_replaced_hash(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    alice = sandbox.account(ALICE)
    original = alice.first("userPassword")
    assert _modify(raw_admin, alice.id, {"zimbraPasswordEnforceHistory": "2"}) is None
    _set_password(raw_admin, alice.id, "First-Pass-1")
    _set_password(raw_admin, alice.id, "Second-Pass-2")
    _set_password(raw_admin, alice.id, "Third-Pass-3")
    history = alice.attrs["zimbraPasswordHistory"]
    assert len(history) == 2
    assert all(h.split(":", 1)[0].isdigit() and ":{SSHA512}" in h for h in history)
    assert original not in {h.split(":", 1)[1] for h in history}  # trimmed away


def test_history_keeps_the_newest_hashes_when_set_passwords_come_within_a_millisecond(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    # updateHistory sorts "millis:hash" as strings: only distinct stamps keep that in age order.
    alice = sandbox.account(ALICE)
    _modify(raw_admin, alice.id, {"zimbraPasswordEnforceHistory": "3"})
    hashes = []
    for n in range(12):
        hashes.append(alice.first("userPassword"))
        _set_password(raw_admin, alice.id, f"Rapid-Pass-{n}")
    history = alice.attrs["zimbraPasswordHistory"]
    stamps = [int(h.split(":", 1)[0]) for h in history]
    assert stamps == sorted(set(stamps))
    assert [h.split(":", 1)[1] for h in history] == hashes[-3:]


def test_clock_stamps_strictly_increase(sandbox: Sandbox) -> None:
    stamps = [sandbox.clock.now_ms() for _ in range(2000)]
    assert all(a < b for a, b in zip(stamps, stamps[1:], strict=False))
    assert sandbox.clock.now() * 1000 >= stamps[-1]  # seconds never lag behind a stamp
    sandbox.clock.advance(60)
    assert sandbox.clock.now_ms() >= stamps[-1] + 60_000


def test_set_password_violation_message_and_dry_run_is_ignored(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    alice = sandbox.account(ALICE)
    msg = _set_password(raw_admin, alice.id, "abc", "<dryRun>1</dryRun>")
    assert msg == (
        f"Password violation: account={ALICE}, violation=invalid password: too short."
        "  Password is set successfully."
    )
    # SetPassword.java never reads dryRun: the password really changed.
    assert raw_admin.user_login(ALICE, "abc").status == 200


def test_set_password_message_reports_history_violation(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    alice = sandbox.account(ALICE)
    _modify(raw_admin, alice.id, {"zimbraPasswordEnforceHistory": "3"})
    msg = _set_password(raw_admin, alice.id, demo_password(ALICE))
    assert msg is not None and "violation=password was recently used." in msg


# ---- 2. ChangePassword and Auth (account/ChangePassword.java, LdapProvisioning.authAccount) ----


def test_change_password_checks_only_the_trimmed_history(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    alice = sandbox.account(ALICE)
    phished = demo_password(ALICE)
    _modify(raw_admin, alice.id, {"zimbraPasswordEnforceHistory": "2"})
    _set_password(raw_admin, alice.id, "Scrambled-1")  # history: [phished]
    _set_password(raw_admin, alice.id, "Temporary-2")  # history: [phished, scrambled]
    assert _change(raw_admin, "Temporary-2", "Scrambled-1") == "account.PASSWORD_RECENTLY_USED"
    assert _change(raw_admin, "Temporary-2", "Temporary-2") == "account.PASSWORD_RECENTLY_USED"
    # The new history would be [scrambled, temporary]: the phished password is out of reach.
    assert _change(raw_admin, "Temporary-2", phished) is None


def test_change_password_min_age_and_must_change(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    _set_password(raw_admin, alice.id, "Fresh-Pass-1")  # sets zimbraPasswordModifiedTime
    _modify(raw_admin, alice.id, {"zimbraPasswordMinAge": "1"})
    assert _change(raw_admin, "Fresh-Pass-1", "Other-Pass-2") == "account.PASSWORD_CHANGE_TOO_SOON"
    sandbox.clock.advance(86400 + 60)
    raw_admin.admin_login()  # the 12h admin token expired meanwhile
    assert _change(raw_admin, "Fresh-Pass-1", "Other-Pass-2") is None
    # must-change skips the min-age check, and the change works while must-change is set
    assert _modify(raw_admin, alice.id, {"zimbraPasswordMustChange": "TRUE"}) is None
    assert raw_admin.user_login(ALICE, "Other-Pass-2").fault_code == "account.CHANGE_PASSWORD"
    assert _change(raw_admin, "Other-Pass-2", "Third-Pass-3") is None
    assert alice.first("zimbraPasswordMustChange") is None
    assert raw_admin.user_login(ALICE, "Third-Pass-3").status == 200


def test_change_password_lookup_by_name_only_and_status(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    alice = sandbox.account(ALICE)
    phished = demo_password(ALICE)
    assert (
        _change(raw_admin, phished, "New-Pass-1", name=alice.id, by="id") == "account.AUTH_FAILED"
    )
    _modify(raw_admin, alice.id, {"zimbraAccountStatus": "maintenance"})
    assert _change(raw_admin, phished, "New-Pass-1") == "account.MAINTENANCE_MODE"


def test_login_after_max_age_must_change(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    _set_password(raw_admin, alice.id, "Aging-Pass-1")
    _modify(raw_admin, alice.id, {"zimbraPasswordMaxAge": "30"})
    assert raw_admin.user_login(ALICE, "Aging-Pass-1").status == 200
    sandbox.clock.advance(31 * 86400)
    raw_admin.admin_login()
    assert raw_admin.user_login(ALICE, "Aging-Pass-1").fault_code == "account.CHANGE_PASSWORD"


# ---- 3. Tokens (ZimbraSoapContext, AuthProvider.validateAuthToken) -----------------------------


def test_revoked_token_fails_even_auth_request_unless_voided(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    user = token_of(raw_admin.user_login(ALICE, demo_password(ALICE)))
    r = raw_admin.xml(f'<EndSessionRequest xmlns="{ACCOUNT}" logoff="1"/>', token=user)
    assert r.status == 200
    login = (
        f'<AuthRequest xmlns="{ACCOUNT}"><account by="name">{ALICE}</account>'
        f"<password>{demo_password(ALICE)}</password></AuthRequest>"
    )
    # ZimbraSoapContext rejects the stale header token before any handler runs.
    assert raw_admin.xml(login, token=user).fault_code == "service.AUTH_EXPIRED"
    void = '<authTokenControl voidOnExpired="1"/>'
    assert raw_admin.xml(login, token=user, context=void).status == 200
    assert raw_admin.xml(NOOP, token=user, context=void).fault_code == "service.AUTH_REQUIRED"


def test_delegated_token_needs_an_active_admin(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    r = raw_admin.xml(
        f'<CreateAccountRequest xmlns="{ADMIN}" name="helper@sandbox.test" password="Helper-Pass-1">'
        '<a n="zimbraIsAdminAccount">TRUE</a></CreateAccountRequest>'
    )
    assert r.status == 200, r.raw
    helper = sandbox.account("helper@sandbox.test")
    c = RawSoap(sandbox.admin_url)
    try:
        c.admin_login("helper@sandbox.test", "Helper-Pass-1")
        r = c.xml(
            f'<DelegateAuthRequest xmlns="{ADMIN}"><account by="name">{ALICE}</account></DelegateAuthRequest>'
        )
        delegated = token_of(r, ADMIN)
    finally:
        c.close()
    assert raw_admin.xml(NOOP, token=delegated).status == 200
    _modify(raw_admin, helper.id, {"zimbraIsAdminAccount": "FALSE"})
    r = raw_admin.xml(NOOP, token=delegated)
    assert r.fault_code == "service.PERM_DENIED"
    _modify(raw_admin, helper.id, {"zimbraIsAdminAccount": "TRUE", "zimbraAccountStatus": "locked"})
    assert raw_admin.xml(NOOP, token=delegated).fault_code == "service.AUTH_EXPIRED"


# ---- 6. FlushCache (admin/FlushCache.java, LdapProvisioning.flushCache) ------------------------


def test_flush_cache_type_errors(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    r = raw_admin.xml(
        f'<FlushCacheRequest xmlns="{ADMIN}"><cache type="all"><entry by="id">{alice.id}</entry></cache></FlushCacheRequest>'
    )
    assert r.fault_code == "service.INVALID_REQUEST"
    r = raw_admin.xml(
        f'<FlushCacheRequest xmlns="{ADMIN}"><cache type="account,bogus"/></FlushCacheRequest>'
    )
    assert r.fault_code == "service.INVALID_REQUEST"
    r = raw_admin.xml(
        f'<FlushCacheRequest xmlns="{ADMIN}"><cache type="account, cos"/></FlushCacheRequest>'
    )
    assert r.fault_code == "service.INVALID_REQUEST"  # no trimming after the comma
    r = raw_admin.xml(
        f'<FlushCacheRequest xmlns="{ADMIN}"><cache type="account,cos"/></FlushCacheRequest>'
    )
    assert r.status == 200


# ---- 5. SendMsg (mailbox/MailSender.java) -------------------------------------------------------


def _send(c: RawSoap, token: str, addrs: str) -> str | None:
    return c.xml(
        f'<SendMsgRequest xmlns="{MAIL}"><m su="hi">{addrs}<mp ct="text/plain"><content>x</content></mp></m></SendMsgRequest>',
        token=token,
    ).fault_code


def test_send_msg_envelope_sender_and_no_recipients(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    user = token_of(raw_admin.user_login(ALICE, demo_password(ALICE)))
    assert _send(raw_admin, user, '<e t="f" a="other@sandbox.test"/>') == "mail.SEND_FAILURE"
    before = {m.id for m in sandbox.mta().messages()}
    assert (
        _send(raw_admin, user, '<e t="f" a="boss@freemail.test"/><e t="b" a="x@ext.test"/>') is None
    )
    _modify(raw_admin, alice.id, {"zimbraSmtpRestrictEnvelopeFrom": "FALSE"})
    assert (
        _send(raw_admin, user, '<e t="f" a="boss@freemail.test"/><e t="t" a="y@ext.test"/>') is None
    )
    new = [m for m in sandbox.mta().messages() if m.id not in before]
    restricted = next(m for m in new if m.recipients == ["x@ext.test"])  # Bcc is a recipient
    assert restricted.sender == ALICE
    free = next(m for m in new if m.recipients == ["y@ext.test"])
    assert free.sender == "boss@freemail.test"
