"""--debug redaction of secret attribute VALUES (password hashes, tokens), XML and JSON."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result

from zcomp.sandbox import Sandbox
from zcomp.zimbra.redact import MASK, SECRET_ATTRS, redact

ALICE = "alice@sandbox.test"
HASH = "{SSHA512}c2VjcmV0LWhhc2gtdmFsdWU="


@pytest.mark.parametrize("name", sorted(SECRET_ATTRS))
def test_secret_attribute_values_are_masked_in_xml(name: str) -> None:
    text = (
        f'<account name="a"><a n="{name}">{HASH}</a><ns0:a n="{name}" pd="1">tok-2</ns0:a>'
        f'<x:a n=\'{name}\'>v3</x:a><a n="+{name}">v4</a><a n="{name.lower()}">v5</a>'
        '<a n="displayName">Alice</a></account>'
    )
    out = redact(text)
    for secret in (HASH, "tok-2", "v3", "v4", "v5"):
        assert secret not in out
    assert out.count(MASK) == 5
    assert '<a n="displayName">Alice</a>' in out


@pytest.mark.parametrize("name", sorted(SECRET_ATTRS))
def test_secret_attribute_values_are_masked_in_json(name: str) -> None:
    text = (
        '{"account":[{"name":"a","a":['
        '{"n":"displayName","_content":"brace { and quote \\" kept"},'
        f'{{"n":"{name}","_content":"{HASH}"}},'
        f'{{"_content":"reversed-{HASH}","n":"{name}"}},'
        f'{{"n" : "{name}", "_content" : "spaced"}},'
        '{"n":"cn","_content":"keep"}]}]}'
    )
    out = redact(text)
    assert HASH not in out and "spaced" not in out
    assert 'brace { and quote \\" kept' in out and '"keep"' in out


def test_an_empty_secret_attribute_does_not_swallow_the_next_one() -> None:
    out = redact('<a n="userPassword"/><a n="displayName">Alice</a>')
    assert out == '<a n="userPassword"/><a n="displayName">Alice</a>'


def test_debug_inspect_shows_no_password_history(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    sandbox.account(ALICE).attrs["zimbraPasswordHistory"] = [f"1700000000000:{HASH}"]
    result = invoke(
        "--debug",
        "--url",
        sandbox.admin_url,
        "--admin",
        "admin@sandbox.test",
        "inspect",
        ALICE,
        env={"ZCOMP_PASSWORD": "sandbox"},
    )
    assert 'n="zimbraPasswordHistory">' in result.stderr  # the exchange really was shown
    assert "SSHA512" not in result.stderr and "c2VjcmV0" not in result.stderr
    assert "SSHA512" not in result.stdout
