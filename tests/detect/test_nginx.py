"""nginx.access.log: Standard-client sends joined to the account by client address (§4)."""

from __future__ import annotations

from pathlib import Path

from tests.detect.helpers import AUDIT, NGINX, lineno, sample_inputs, settings
from zcomp.detect import LogKind, ScanInputs, Scanner, scan
from zcomp.detect.events import WebAction
from zcomp.detect.model import Evidence
from zcomp.detect.nginx import LOGIN, SEND, parse
from zcomp.detect.webjoin import SESSION_TTL, WAIT_TTL, WebJoin

_UA = b'"-" "Mozilla/5.0" "192.0.2.10:8443" "192.0.2.10:443"'


def _line(peer: str, when: str, method: str, path: str, status: int) -> bytes:
    return (
        f'{peer} - - [{when} +0100]  "{method} https://mail.example.com{path} HTTP/1.1" '
        f"{status} 100 "
    ).encode() + _UA


def test_the_two_request_shapes_and_nothing_else() -> None:
    login = parse(_line("203.0.113.77:5160", "15/Mar/2024:03:12:40", "POST", "/", 302), "f", 1)
    assert login is not None and login.action == LOGIN and login.ip == "203.0.113.77"
    send = _line(
        "2001:db8::25:61012", "15/Mar/2024:03:14:52", "POST", "/h/search?action=compose", 200
    )
    sent = parse(send, "f", 2)
    # IPv6 peers are printed without brackets: the port is split off at the last colon
    assert sent is not None and sent.action == SEND and sent.ip == "2001:db8::25"
    assert sent.ts - login.ts == 132  # wall clock of the log, zone dropped like the other logs
    for other in (
        _line("203.0.113.77:1", "15/Mar/2024:03:12:40", "POST", "/", 200),  # AJAX login
        _line("203.0.113.77:1", "15/Mar/2024:03:12:40", "GET", "/h/search?action=compose", 200),
        _line("203.0.113.77:1", "15/Mar/2024:03:12:40", "POST", "/service/soap/SendMsg", 200),
        b"garbage line\n",
    ):
        assert parse(other, "f", 3) is None


def test_bob_html_sends_from_the_proxy_log_with_its_lines() -> None:
    result = scan(sample_inputs(), settings())
    assert result.warnings == []
    bob = result.suspects[0]
    signal = bob.signal("html_sends")
    assert signal is not None
    assert signal.reason == "3 sends from the Standard (HTML) client at 203.0.113.77 within 10 min"
    # compose POSTs only: not the GET of the compose page, not the login
    assert {(Path(e.file).name, e.line) for e in signal.evidence} == {
        ("nginx.access.log", n) for n in (27, 28, 29)
    }
    # alice (AJAX) and carol (Modern) send through /service/soap: never html_sends
    for other in result.suspects[1:]:
        assert other.signal("html_sends") is None
    assert result.stats.kinds[LogKind.NGINX].lines > 0


def test_proxy_line_waits_for_the_login_logged_just_after_it() -> None:
    # nginx logs whole seconds, audit.log milliseconds: the 03:12:40 POST / sorts before the
    # 03:12:40,968 login that names the account; the compose lines then find it at once.
    nginx = NGINX.read_bytes().splitlines(keepends=True)
    n = lineno(AUDIT, "03:12:40,968")
    low = Scanner(settings(html_sends=1, min_score=1.0), year=2024)
    for number in (22, 27):
        low.feed(LogKind.NGINX, str(NGINX), number, nginx[number - 1])
    low.feed(LogKind.AUDIT, str(AUDIT), n, AUDIT.read_bytes().splitlines()[n - 1])
    # the compose line came before any login named the address: it waited and was claimed
    assert [s.account for s in low.suspects()] == ["bob@example.com"]


def test_without_a_log_naming_accounts_nothing_is_attributed() -> None:
    result = scan(ScanInputs(nginx=(NGINX,)), settings(min_score=0.1))
    assert result.suspects == []
    off = scan(sample_inputs(), settings(html_sends=0))
    assert off.suspects[0].signal("html_sends") is None


def test_join_is_bounded_and_forgets() -> None:
    join = WebJoin()
    ev = Evidence("f", 1, "x")
    assert join.owner("10.0.0.5", "a@x", 0.0) == []  # an internal address owns nothing
    join.owner("203.0.113.5", "a@x", 0.0)
    assert join.action(WebAction(60.0, "203.0.113.5", SEND, ev)) == "a@x"
    # a session older than SESSION_TTL no longer owns the address: the line waits, then expires
    late = WebAction(SESSION_TTL + 61.0, "203.0.113.5", SEND, ev)
    assert join.action(late) is None and len(join) == 2
    join.expire(late.ts + WAIT_TTL + 1)
    assert len(join) == 1
    for i in range(20_000):
        join.action(WebAction(late.ts + WAIT_TTL + 2, f"198.51.{i // 250}.{i % 250}", SEND, ev))
    assert len(join) <= 1 + 10_000
