"""build_bundle walks the evidence once; it must equal the two passes it replaced."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from zcomp import __version__
from zcomp.core import evidence
from zcomp.core.evidence import WITHHELD, _plain, build_bundle, withhold_tokens
from zcomp.journal.guard import ZIMBRA_TOKEN
from zcomp.zimbra.model import Account, SessionInfo

TOKEN = "0_" + "ab" * 20 + "_" + "6964"


@dataclass
class Holder:
    account: Account
    notes: tuple[str, ...] = ()
    extra: dict[Any, Any] = field(default_factory=dict)


class Text(str):
    pass


def _parts() -> dict[str, Any]:
    account = Account(
        id="id-" + TOKEN,
        name="a@x.test",
        attrs={
            "zimbraPrefMailForwardingAddress": ["x@evil.test", f"note {TOKEN} end"],
            "userPassword": ["{SSHA}secret"],
            "zimbraAuthTokens": [TOKEN],
            f"k{TOKEN}": ["v"],
            "mail": ["a@x.test"],
            "zimbraNotes": ["short_", "x" * 50, "_" * 50, "1_" + "f" * 40 + "_", "٣" + TOKEN[1:]],
        },
    )
    return {
        "incident": 3,
        "account": account,
        "pre_state": account,
        "nested": {"list": [account, (1, TOKEN), {"t": Text(TOKEN)}], TOKEN: None},
        "mixed_keys": {1: "a", "1": TOKEN, None: [True, 1.5]},
        "holder": Holder(account, ("n", TOKEN), {2: TOKEN}),
        "sessions": [SessionInfo("zid", "a@x.test", "sid", 1, 2, "soap")],
        "held_queue": [],
        "text": Text("plain"),
        "baseline": None,
        TOKEN: "key is a token",
    }


def test_one_walk_equals_plain_then_withhold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "_now", lambda: "2024-01-01T00:00:00Z")
    parts = _parts()
    got = build_bundle(parts)
    want = {
        "format": evidence.FORMAT,
        "zcomp": __version__,
        "captured_at": "2024-01-01T00:00:00Z",
    }
    want.update(withhold_tokens(_plain(parts)))
    assert got == want
    assert json.dumps(got) == json.dumps(want)  # key order too, at every level
    assert got["account"]["attrs"]["zimbraAuthTokens"] == ["(withheld)"]
    assert WITHHELD in got["account"]["id"]
    assert TOKEN not in repr(got)


@pytest.mark.parametrize(
    "text",
    ["", "a", "_" * 60, "x" * 60, TOKEN, f"a{TOKEN}b", "1_" + "a" * 40 + "_", "٣" + TOKEN[1:]],
)
def test_withheld_text_as_the_regex_has_it(text: str) -> None:
    assert withhold_tokens(text) == ZIMBRA_TOKEN.sub(WITHHELD, text)
    assert type(withhold_tokens(Text(text))) is str
