"""attrs_differ: how every account write is read back (lockdown, unlock, restore)."""

from __future__ import annotations

from zcomp.core.contain import attrs_differ
from zcomp.zimbra.model import Account


def _account(**attrs: list[str]) -> Account:
    return Account("id-1", "a@x", dict(attrs))


def test_added_values_given_as_a_list_are_found() -> None:
    got = _account(zimbraMailForwardingAddress=["in@x", "ext@y"])
    assert attrs_differ(got, {"+zimbraMailForwardingAddress": ["ext@y"]}) is None
    assert attrs_differ(got, {"+zimbraMailForwardingAddress": ["ext@y", "no@z"]}) == (
        "zimbraMailForwardingAddress lacks ['no@z']"
    )


def test_removed_values_and_replaced_values() -> None:
    got = _account(zimbraMailForwardingAddress=["in@x"], zimbraAccountStatus=["locked"])
    assert attrs_differ(got, {"-zimbraMailForwardingAddress": ["ext@y"]}) is None
    assert attrs_differ(got, {"-zimbraMailForwardingAddress": "in@x"}) is not None
    assert attrs_differ(got, {"zimbraAccountStatus": "locked"}) is None
    assert attrs_differ(got, {"zimbraAccountStatus": "active"}) == (
        "zimbraAccountStatus is ['locked']"
    )
    assert attrs_differ(got, {"zimbraPrefMailForwardingAddress": ""}) is None
