"""The needles decide which mailbox.log lines are parsed at all: every request the rules need
must be found in both forms Zimbra logs it (alone and inside a BatchRequest), and the reads of
the same settings must not be."""

from __future__ import annotations

import pytest

from zcomp.detect.events import Change, Login
from zcomp.detect.mailbox import CHANGES, mailbox_events
from zcomp.detect.sources import Block

_CTX = "[name=alice@example.com;mid=12;oip=198.51.100.20;ua=ZimbraWebClient - GC122 (Win)/9.0.0;]"


def _line(request: str, batch: bool) -> bytes:
    thread = f"[qtp1281060270-1534:https://mail.example.com/service/soap/{request}]"
    soap = f"(batch) {request}" if batch else request
    return f"2024-03-14 10:02:11,660 INFO  {thread} {_CTX} soap - {soap} elapsed=17\n".encode()


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("request_name", sorted(CHANGES))
def test_every_settings_change_is_found(request_name: str, batch: bool) -> None:
    noise = _line("NoOpRequest", batch) * 3
    block = Block("mailbox.log", 1, noise + _line(request_name, batch) + noise)
    events = list(mailbox_events(block, want_rcpts=False))
    assert [(type(e), e.request, e.evidence.line) for e in events if isinstance(e, Change)] == [
        (Change, request_name, 4)
    ]
    assert block.lines == 7


@pytest.mark.parametrize("batch", [False, True])
def test_a_web_login_is_found_and_lookalikes_are_not(batch: bool) -> None:
    lines = [
        _line("AuthRequest", batch),
        _line("DelegateAuthRequest", batch),  # an admin acting as the user: not a login
        _line("GetPrefsRequest", batch),  # reads of settings: not changes
        _line("GetFilterRulesRequest", batch),
        _line("GetIdentitiesRequest", batch),
        _line("GetSignaturesRequest", batch),
    ]
    events = list(mailbox_events(Block("mailbox.log", 10, b"".join(lines)), want_rcpts=False))
    logins = [e for e in events if isinstance(e, Login)]
    assert len(events) == 1 and len(logins) == 1
    assert logins[0].evidence.line == 10 and logins[0].ok and logins[0].ip == "198.51.100.20"
