"""Classification: the verdict, the reason and the decision for every kind of planted item."""

from __future__ import annotations

import dataclasses

import pytest

from zcomp.config import Policy
from zcomp.core import findings as F
from zcomp.core.addresses import Organisation
from zcomp.core.classify import (
    classify_account,
    classify_forwarding,
    classify_rule,
    classify_signature,
)
from zcomp.core.snapshot import Baseline, MailboxState
from zcomp.zimbra.model import Account, FilterRule, Identity, Node, Signature

ORG = Organisation.of(["example.edu"])
POLICY = Policy()


def account(**attrs: str | list[str]) -> Account:
    values = {k: v if isinstance(v, list) else [v] for k, v in attrs.items()}
    return Account(id="id-1", name="ann@example.edu", attrs=values)


def rule(*actions: Node, name: str | None = "r", tests: list[Node] | None = None) -> FilterRule:
    return FilterRule(name=name, tests=tests or [Node("trueTest")], actions=list(actions))


def test_outside_forwarding_is_removed_and_inside_addresses_kept() -> None:
    acct = account(zimbraPrefMailForwardingAddress="bob@example.edu, drop@gmail.com")
    [f] = classify_forwarding(acct, ORG, POLICY)
    assert (f.verdict, f.remove, f.replacement) == (F.MALICIOUS, True, "bob@example.edu")
    assert "drop@gmail.com is outside the organisation (freemail)" in f.reason


def test_subdomains_of_the_organisation_are_inside() -> None:
    acct = account(zimbraPrefMailForwardingAddress="me@mail.example.edu")
    [f] = classify_forwarding(acct, ORG, POLICY)
    assert f.verdict == F.OK and not f.remove


def test_local_delivery_off_is_turned_back_on_when_no_forwarding_remains() -> None:
    acct = account(
        zimbraPrefMailForwardingAddress="drop@gmail.com", zimbraPrefMailLocalDeliveryDisabled="TRUE"
    )
    forwarding, local = classify_forwarding(acct, ORG, POLICY)
    assert forwarding.remove and local.remove and local.replacement == "FALSE"
    # Even when the policy only reports local delivery: dropping every message is never kept.
    report = dataclasses.replace(POLICY, local_delivery_disabled="report")
    assert classify_forwarding(acct, ORG, report)[1].remove


def test_local_delivery_off_with_internal_forwarding_is_only_suspicious_kept() -> None:
    acct = account(
        zimbraPrefMailForwardingAddress="new@example.edu",
        zimbraPrefMailLocalDeliveryDisabled="TRUE",
    )
    _forwarding, local = classify_forwarding(acct, ORG, POLICY)
    assert local.verdict == F.SUSPICIOUS and not local.remove


def test_admin_forwarding_is_reported_not_removed_by_default() -> None:
    acct = account(zimbraMailForwardingAddress=["archive@example.edu", "x@partner.org"])
    [f] = classify_forwarding(acct, ORG, POLICY)
    assert f.kind == F.ADMIN_FORWARDING and f.verdict == F.MALICIOUS and not f.remove
    tight = dataclasses.replace(POLICY, admin_forwarding="remove")
    [f] = classify_forwarding(acct, ORG, tight)
    assert f.remove and f.replacement == ["x@partner.org"]


@pytest.mark.parametrize(
    ("action", "policy_key"),
    [
        (Node("actionRedirect", {"a": "drop@gmail.com"}), "filter_redirect"),
        (Node("actionRedirect", {"a": "drop@gmail.com", "copy": "1"}), "filter_redirect"),
        (Node("actionNotify", {"a": "x@evil.test", "su": "fw"}), "filter_redirect"),
        (Node("actionDiscard"), "filter_discard"),
        (Node("actionReject", text="go away"), "filter_reject"),
        (Node("actionFileInto", {"folderPath": "/Trash"}), "filter_hide"),
        (Node("actionFileInto", {"folderPath": "Junk"}), "filter_hide"),
    ],
)
def test_dangerous_rule_actions_are_removed(action: Node, policy_key: str) -> None:
    f = classify_rule(rule(action), 0, outgoing=False, org=ORG, policy=POLICY)
    assert (f.verdict, f.remove, f.policy) == (F.MALICIOUS, True, policy_key)


@pytest.mark.parametrize(
    "action",
    [
        Node("actionRedirect", {"a": "team@example.edu"}),
        Node("actionFileInto", {"folderPath": "Newsletters"}),
        Node("actionFlag", {"flagName": "flagged"}),
        Node("actionTag", {"tagName": "boss"}),
        Node("actionKeep"),
    ],
)
def test_benign_rule_actions_are_kept(action: Node) -> None:
    f = classify_rule(rule(action), 0, outgoing=False, org=ORG, policy=POLICY)
    assert (f.verdict, f.remove) == (F.OK, False)


def test_a_rule_known_from_the_baseline_is_kept_and_reported() -> None:
    own = rule(Node("actionRedirect", {"a": "me@gmail.com", "copy": "1"}), name="timesheets")
    baseline = Baseline(captured_at="2026-01-01T00:00:00Z", rules=[own])
    f = classify_rule(own, 0, outgoing=False, org=ORG, policy=POLICY, baseline=baseline)
    assert (f.verdict, f.remove) == (F.SUSPICIOUS, False)
    assert "baseline" in f.reason
    changed = rule(Node("actionRedirect", {"a": "thief@gmail.com"}), name="timesheets")
    f = classify_rule(changed, 0, outgoing=False, org=ORG, policy=POLICY, baseline=baseline)
    assert f.remove


def test_nested_rule_actions_count() -> None:
    nested = FilterRule(name=None, actions=[Node("actionDiscard")])
    outer = FilterRule(name="n", tests=[Node("trueTest")], actions=[], nested=nested)
    f = classify_rule(outer, 2, outgoing=False, org=ORG, policy=POLICY)
    assert f.remove and f.key == "n"


def test_policy_report_keeps_and_ignore_hides() -> None:
    discard = rule(Node("actionDiscard"))
    report = dataclasses.replace(POLICY, filter_discard="report")
    f = classify_rule(discard, 0, outgoing=False, org=ORG, policy=report)
    assert f.verdict == F.MALICIOUS and not f.remove
    ignore = dataclasses.replace(POLICY, filter_discard="ignore")
    f = classify_rule(discard, 0, outgoing=False, org=ORG, policy=ignore)
    assert f.verdict == F.OK


def test_identity_pointing_outside_is_reset() -> None:
    acct = account(zimbraMailAlias="a.n@example.edu")
    default = Identity(
        id=acct.id,
        name="DEFAULT",
        attrs={
            "zimbraPrefFromAddress": ["pay@gmail.com"],
            "zimbraPrefReplyToAddress": ["a.n@example.edu"],
        },
    )
    mailbox = MailboxState(identities=[default])
    [f] = classify_account(acct, mailbox, ORG, POLICY)
    assert f.kind == F.IDENTITY and f.remove
    assert f.replacement == {"attrs": {"zimbraPrefFromAddress": "", "zimbraPrefFromDisplay": ""}}


def test_an_extra_identity_not_in_the_baseline_is_deleted() -> None:
    acct = account()
    extra = Identity(id="i2", name="billing", attrs={"zimbraPrefFromAddress": ["x@evil.test"]})
    [f] = classify_account(acct, MailboxState(identities=[extra]), ORG, POLICY)
    assert f.replacement == {"delete": True}


def test_signature_with_spam_is_deleted_without_a_baseline() -> None:
    sig = Signature("s1", "main", {"text/plain": "Verify your account at http://x.evil.test"})
    f = classify_signature(sig, ORG, POLICY, None)
    assert (f.verdict, f.replacement) == (F.MALICIOUS, {"delete": True})


def test_only_the_planted_part_of_a_signature_is_cleared() -> None:
    sig = Signature(
        "s1", "main", {"text/plain": "Click here: http://x.evil.test", "text/html": "<b>Ann</b>"}
    )
    f = classify_signature(sig, ORG, POLICY, None)
    assert f.remove and f.replacement == {
        "restore": {"id": "s1", "name": "main", "contents": {"text/plain": ""}, "cid": None}
    }


def test_a_changed_signature_is_restored_from_the_baseline() -> None:
    before = Signature("s1", "main", {"text/plain": "Ann, Library"})
    now = Signature("s1", "main", {"text/plain": "Cheap meds", "text/html": "<i>meds</i>"})
    baseline = Baseline(captured_at="2026-01-01T00:00:00Z", signatures=[before])
    f = classify_signature(now, ORG, POLICY, baseline)
    assert f.remove and f.replacement is not None
    restored = f.replacement["restore"]["contents"]
    assert restored == {"text/plain": "Ann, Library", "text/html": ""}
    same = classify_signature(before, ORG, POLICY, baseline)
    assert same.verdict == F.OK


def test_signature_with_only_an_inside_link_is_fine() -> None:
    sig = Signature("s1", "main", {"text/plain": "Ann -- https://www.example.edu/library"})
    assert classify_signature(sig, ORG, POLICY, None).verdict == F.OK


def test_auto_reply_with_a_phishing_link_is_turned_off_and_a_plain_one_kept() -> None:
    phishing = account(
        zimbraPrefOutOfOfficeReplyEnabled="TRUE",
        zimbraPrefOutOfOfficeReply="Please re-validate at http://login.evil.test",
    )
    [f] = classify_account(phishing, MailboxState(), ORG, POLICY)
    assert f.kind == F.AUTO_REPLY and f.remove and f.replacement == "FALSE"
    holiday = account(
        zimbraPrefOutOfOfficeReplyEnabled="TRUE", zimbraPrefOutOfOfficeReply="Back on Monday."
    )
    [f] = classify_account(holiday, MailboxState(), ORG, POLICY)
    assert f.verdict == F.OK and not f.remove
