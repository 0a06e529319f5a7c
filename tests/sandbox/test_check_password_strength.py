# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""CheckPasswordStrengthRequest as Zimbra answers it (admin/CheckPasswordStrength.java,
LdapProvisioning.checkPasswordStrength): rules, their order, their words, and nothing changed."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

import pytest

from tests.sandbox.rawsoap import ADMIN, S12, RawSoap, XmlReply, js_fault_code, token_of
from zcomp.sandbox import Sandbox, demo_password

ALICE = "alice@sandbox.test"


def _check(c: RawSoap, acct_id: str, password: str, *, context: str = "") -> XmlReply:
    return c.xml(
        f'<CheckPasswordStrengthRequest xmlns="{ADMIN}" id="{acct_id}">'
        f"<password>{escape(password)}</password></CheckPasswordStrengthRequest>",
        context=context,
    )


def _reason(reply: XmlReply) -> str | None:
    return reply.body.findtext(f"{{{S12}}}Reason/{{{S12}}}Text")


@pytest.mark.parametrize(
    ("policy", "password", "reason"),
    [
        ({"zimbraPasswordMinLength": "12"}, "Short-pw-1", "invalid password: too short"),
        ({"zimbraPasswordMaxLength": "8"}, "Much-too-long-1", "invalid password: too long"),
        (
            {"zimbraFeatureAllowUsernameInPassword": "FALSE"},
            "I-am-ALICE-77",
            "invalid password: password contains username",
        ),
        (
            {"zimbraPasswordBlockCommonEnabled": "TRUE"},
            "password",
            "invalid password: too common",
        ),
        (
            {"zimbraPasswordAllowedChars": "[a-z-]"},
            "only-lower-Then",
            "invalid password: T is not an allowed character",
        ),
        (
            {"zimbraPasswordMinUpperCaseChars": "2"},
            "One-upper-only",
            "invalid password: not enough upper case characters",
        ),
        (
            {"zimbraPasswordMinLowerCaseChars": "3"},
            "ALL-UPPER-AB",
            "invalid password: not enough lower case characters",
        ),
        (
            {"zimbraPasswordMinNumericChars": "2"},
            "one-digit-1",
            "invalid password: not enough numeric characters",
        ),
        (
            {"zimbraPasswordMinPunctuationChars": "3"},
            "two-dashes-x",
            "invalid password: not enough punctuation characters",
        ),
        (
            {"zimbraPasswordMinAlphaChars": "5"},
            "12-34-abc",
            "invalid password: not enough alpha characters",
        ),
        (
            {"zimbraPasswordMinDigitsOrPuncs": "3"},
            "letters-only",
            "invalid password: not enough numeric or punctuation characters",
        ),
        # With its own punctuation list, any other character counts as alpha (not punctuation).
        (
            {
                "zimbraPasswordAllowedPunctuationChars": "[!]",
                "zimbraPasswordMinPunctuationChars": "1",
            },
            "dash-is-alpha",
            "invalid password: not enough punctuation characters",
        ),
        # Zimbra's order: the length first, whatever else is wrong.
        (
            {"zimbraPasswordMinLength": "20", "zimbraPasswordMinUpperCaseChars": "3"},
            "short",
            "invalid password: too short",
        ),
    ],
)
def test_each_rule_is_refused_with_zimbras_words(
    raw_admin: RawSoap, sandbox: Sandbox, policy: dict[str, str], password: str, reason: str
) -> None:
    alice = sandbox.account(ALICE)
    for name, value in policy.items():
        alice.attrs[name] = [value]
    before = {k: list(v) for k, v in alice.attrs.items()}
    sandbox.stats.reset()

    reply = _check(raw_admin, alice.id, password)

    assert reply.status == 500
    assert reply.fault_code == "account.INVALID_PASSWORD"
    assert _reason(reply) == reason
    assert alice.attrs == before and sandbox.stats.writes == []


def test_an_invalid_regex_is_refused_as_zimbra_does(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    alice.attrs["zimbraPasswordAllowedChars"] = ["[a-z"]
    reply = _check(raw_admin, alice.id, "anything-at-all")
    assert reply.fault_code == "account.INVALID_PASSWORD"
    assert (_reason(reply) or "").startswith(
        "invalid password: zimbraPasswordAllowedChars is not valid regex: "
    )


def test_a_password_that_fits_gets_an_empty_response_and_changes_nothing(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    alice = sandbox.account(ALICE)
    for name, value in {
        "zimbraPasswordMinLength": "10",
        "zimbraPasswordMinUpperCaseChars": "1",
        "zimbraPasswordMinNumericChars": "1",
        "zimbraPasswordMinPunctuationChars": "1",
        "zimbraPasswordAllowedPunctuationChars": "[-!]",
    }.items():
        alice.attrs[name] = [value]
    before = {k: list(v) for k, v in alice.attrs.items()}
    sandbox.stats.reset()

    element = _check(raw_admin, alice.id, "Tomav-Rikel-47")
    attribute = raw_admin.xml(
        f'<CheckPasswordStrengthRequest xmlns="{ADMIN}" id="{alice.id}" password={quoteattr("Tomav-Rikel-47")}/>'
    )

    for reply in (element, attribute):
        assert reply.status == 200, reply.raw
        assert reply.body.tag == f"{{{ADMIN}}}CheckPasswordStrengthResponse"
        assert len(reply.body) == 0
    assert alice.attrs == before and sandbox.stats.writes == []


def test_only_strength_is_checked_not_history_or_minimum_age(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    """checkPasswordStrength alone: the current (so most recently used) password passes, and so
    does a change the minimum age would forbid; SetPassword's dry run reports both."""
    alice = sandbox.account(ALICE)
    alice.attrs["zimbraPasswordEnforceHistory"] = ["5"]
    alice.attrs["zimbraPasswordMinAge"] = ["10"]
    alice.attrs["zimbraPasswordModifiedTime"] = ["20990101000000Z"]
    assert _check(raw_admin, alice.id, demo_password(ALICE)).status == 200


def test_the_policy_comes_from_the_cos_unless_the_account_has_its_own(
    raw_admin: RawSoap, sandbox: Sandbox
) -> None:
    alice = sandbox.account(ALICE)
    sandbox.directory.cos_attrs["zimbraPasswordMinLength"] = ["16"]
    assert _reason(_check(raw_admin, alice.id, "Fifteen-chars-1")) == "invalid password: too short"
    alice.attrs["zimbraPasswordMinLength"] = ["8"]
    assert _check(raw_admin, alice.id, "Fifteen-chars-1").status == 200


def test_request_errors(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    no_id = raw_admin.xml(f'<CheckPasswordStrengthRequest xmlns="{ADMIN}" password="x"/>')
    assert no_id.fault_code == "service.INVALID_REQUEST"
    assert _reason(no_id) == "invalid request: missing required attribute: id"
    # id and password are both read before the account is looked up.
    no_pw = raw_admin.xml(f'<CheckPasswordStrengthRequest xmlns="{ADMIN}" id="no-such-id"/>')
    assert _reason(no_pw) == "invalid request: missing required attribute: password"
    unknown = _check(raw_admin, "no-such-id", "Whatever-1")
    assert unknown.fault_code == "account.NO_SUCH_ACCOUNT"
    assert _reason(unknown) == "no such account: no-such-id"
    # An admin request: a user's token is not enough, and the user endpoint does not know it.
    user = RawSoap(sandbox.user_url())
    try:
        token = token_of(user.user_login(ALICE, demo_password(ALICE)))
        admin_side = RawSoap(sandbox.admin_url)
        try:
            refused = admin_side.xml(
                f'<CheckPasswordStrengthRequest xmlns="{ADMIN}" id="{alice.id}" password="Whatever-1"/>',
                token=token,
            )
            assert refused.fault_code == "service.PERM_DENIED"
        finally:
            admin_side.close()
        user.token = token
        unknown_doc = user.xml(
            f'<CheckPasswordStrengthRequest xmlns="{ADMIN}" id="{alice.id}" password="Whatever-1"/>'
        )
        assert unknown_doc.fault_code == "service.UNKNOWN_DOCUMENT"
    finally:
        user.close()


def test_in_a_batch_for_the_account_as_zcomp_sends_it(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    """Unlock's re-check: user-side reads for the account (<account by="id"> header) and the
    admin check in one BatchRequest; the header does not get in the admin request's way."""
    alice = sandbox.account(ALICE)
    alice.attrs["zimbraPasswordMinLength"] = ["12"]
    reply = raw_admin.xml(
        '<BatchRequest xmlns="urn:zimbra" onerror="continue">'
        '<GetPrefsRequest xmlns="urn:zimbraAccount" requestId="1"/>'
        f'<CheckPasswordStrengthRequest xmlns="{ADMIN}" requestId="2" id="{alice.id}"><password>short-1</password></CheckPasswordStrengthRequest>'
        f'<CheckPasswordStrengthRequest xmlns="{ADMIN}" requestId="3" id="{alice.id}"><password>Long-enough-pw-1</password></CheckPasswordStrengthRequest>'
        "</BatchRequest>",
        context=f'<account by="id">{alice.id}</account>',
    )
    assert reply.status == 200, reply.raw
    by_id = {node.get("requestId"): node for node in reply.body}
    assert by_id["1"].tag.endswith("GetPrefsResponse")
    assert by_id["2"].tag == f"{{{S12}}}Fault"
    assert by_id["2"].findtext(".//{urn:zimbra}Code") == "account.INVALID_PASSWORD"
    assert by_id["3"].tag == f"{{{ADMIN}}}CheckPasswordStrengthResponse"


def test_json_form(raw_admin: RawSoap, sandbox: Sandbox) -> None:
    alice = sandbox.account(ALICE)
    alice.attrs["zimbraPasswordMinNumericChars"] = ["1"]
    status, doc = raw_admin.js(
        "CheckPasswordStrengthRequest", ADMIN, {"id": alice.id, "password": "no-digits-here"}
    )
    assert status == 500 and js_fault_code(doc) == "account.INVALID_PASSWORD"
    status, doc = raw_admin.js(
        "CheckPasswordStrengthRequest", ADMIN, {"id": alice.id, "password": "one-digit-1"}
    )
    assert status == 200 and "CheckPasswordStrengthResponse" in doc["Body"]
