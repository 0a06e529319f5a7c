"""A full account answer is built from elements shared per COS rendering: it must be exactly
what sorting the account's merged attributes makes, and follow every COS change."""

from __future__ import annotations

import copy
import random

from zcomp.sandbox import Sandbox
from zcomp.sandbox.common import account_attrs, account_el, attrs_el
from zcomp.sandbox.directory import AccountEntry, ChildEntry, Directory
from zcomp.sandbox.element import NS_ADMIN, El
from zcomp.sandbox.protocol import Proto, serialize

Shape = tuple[str, str | None, dict[str, str], str | None, list[object]]


def _shape(el: El) -> Shape:
    return (el.name, el.ns, el.attrs, el.text, [_shape(c) for c in el.children])


def _fast(d: Directory, entry: AccountEntry) -> El:
    resp = El("GetAccountResponse", NS_ADMIN)
    account_el(resp, d, entry)
    return resp


def _reference(d: Directory, entry: AccountEntry) -> El:
    resp = El("GetAccountResponse", NS_ADMIN)
    el = resp.add("account", {"name": entry.name, "id": entry.id})
    attrs_el(el, account_attrs(d, entry, True))
    return resp


def _same(d: Directory, entry: AccountEntry) -> None:
    fast, ref = _fast(d, entry), _reference(d, entry)
    assert _shape(fast) == _shape(ref)
    for proto in Proto:
        assert serialize(proto, fast) == serialize(proto, ref)


def test_own_values_sort_in_among_the_inherited_ones(sandbox: Sandbox) -> None:
    d = sandbox.directory
    inherited = sorted(d.cos_inherited())
    rng = random.Random(5)
    for i in range(40):
        name = sandbox.add_accounts(1, prefix=f"r{i}x")[0]
        entry = d.get(name)
        for other in rng.sample(inherited, rng.randrange(0, 12)):
            pick = rng.randrange(4)
            if pick == 0:
                entry.attrs[other] = []  # present but empty: hides the COS value
            elif pick == 1:
                entry.attrs[other.upper()] = ["shouty"]  # sorts with the inherited name
            else:
                entry.attrs[other] = [f"v{i}", f"w{i}"][: pick - 1]
        entry.attrs["userPassword"] = ["{SSHA512}secret"]
        entry.attrs["aaa"] = ["first"]
        entry.attrs["zzzz"] = ["&<>\"'\n"]
        _same(d, entry)


def test_a_cos_change_is_seen_even_written_straight_into_the_directory(
    sandbox: Sandbox,
) -> None:
    d = sandbox.directory
    entry = d.get(sandbox.add_accounts(1, prefix="cos")[0])
    _same(d, entry)
    name = next(iter(d.cos_inherited()))
    d.cos_inherited()[name].append("appended in place &<>\"'\n\t")
    _same(d, entry)
    assert "appended in place" in serialize(Proto.SOAP12, _fast(d, entry)).decode()
    d.cos_attrs["zimbraPrefLocale"] = ["de"]
    d.cos_changed()
    _same(d, entry)
    assert b'<a n="zimbraPrefLocale">de</a>' in serialize(Proto.SOAP12, _fast(d, entry))
    del d.cos_attrs["zimbraPrefLocale"]
    d.cos_changed()
    _same(d, entry)
    assert b'n="zimbraPrefLocale"' not in serialize(Proto.SOAP12, _fast(d, entry))


def test_inherited_names_differing_only_in_case_fall_back(sandbox: Sandbox) -> None:
    d = sandbox.directory
    entry = d.get(sandbox.add_accounts(1, prefix="case")[0])
    d.cos_inherited()["ZIMBRAPREFLOCALE"] = ["xx"]
    d.cos_inherited()["zimbraPrefLocale"] = ["yy"]
    _same(d, entry)


def test_answers_do_not_share_what_they_change(sandbox: Sandbox) -> None:
    d = sandbox.directory
    entry = d.get(sandbox.add_accounts(1, prefix="iso")[0])
    first = _fast(d, entry)
    before = serialize(Proto.JS, first)
    first.children[0].attrs["requestId"] = "1"  # what a batch does to an answer
    first.children[0].children.append(El("extra", NS_ADMIN))
    assert serialize(Proto.JS, _fast(d, entry)) == before


def test_a_cache_snapshot_is_a_deep_copy(sandbox: Sandbox) -> None:
    entry = sandbox.account("alice@sandbox.test")
    entry.signatures["s"] = ChildEntry("s", "sig", {"zimbraSignatureName": ["sig"]})
    entry.identities["i"] = ChildEntry("i", "id", {"zimbraPrefIdentityName": ["id"]})
    entry.data_sources["d"] = ChildEntry("d", "ds", {"zimbraDataSourceName": ["ds"]})
    snap = entry.snapshot()
    assert snap == copy.deepcopy(entry)
    snap.attrs["mail"].append("changed")
    for kind in ("signatures", "identities", "data_sources"):
        child = next(iter(getattr(snap, kind).values()))
        next(iter(child.attrs.values())).append("changed")
        child.name = "changed"
    assert snap != entry
    assert entry == copy.deepcopy(sandbox.account("alice@sandbox.test"))
    assert "changed" not in repr(entry)
