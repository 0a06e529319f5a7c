"""The shared sample logs: every planted fact is found with its evidence line."""

from __future__ import annotations

from pathlib import Path

from tests.detect.helpers import (
    AUDIT,
    MAILBOX,
    MTA,
    PHISH,
    by_account,
    lineno,
    sample_inputs,
    settings,
)
from zcomp.detect import DetectSettings, LogKind, ScanInputs, Suspect, load_phish_list, scan


def _lines(s: Suspect, rule: str) -> set[tuple[str, int]]:
    sig = s.signal(rule)
    assert sig is not None, f"{s.account} lacks {rule}: {sorted(s.rules())}"
    return {(Path(e.file).name, e.line) for e in sig.evidence}


def test_bob_ranked_first_with_the_planted_facts() -> None:
    result = scan(sample_inputs(), settings())
    assert result.warnings == []
    bob = result.suspects[0]
    assert bob.account == "bob@example.com"
    # the three big Standard-client sends (74, 68, 81 recipients)
    sends = {
        ("mailbox.log", lineno(MAILBOX, t))
        for t in ("03:14:52,103", "03:15:40,551", "03:16:02,884")
    }
    assert _lines(bob, "big_send") == sends
    big = bob.signal("big_send")
    assert big is not None and "3 from the Standard (HTML) client" in big.reason
    assert "largest 81" in big.reason
    # a big send from the HTML client weighs html_client_weight times a plain one
    plain = scan(sample_inputs(), settings(html_client_weight=1.0))
    plain_big = plain.suspects[0].signal("big_send")
    assert plain_big is not None and big.weight == 2 * plain_big.weight
    # the night-time burst, webmail and SMTP-AUTH together (74+68+81+50+50)
    night = bob.signal("night_burst")
    assert night is not None and night.reason.startswith("323 recipients")
    assert ("mailbox.log", lineno(MAILBOX, "03:14:52,103")) in _lines(bob, "night_burst")
    # ModifyIdentity right after the login from the new address 203.0.113.77
    assert _lines(bob, "new_ip_change") == {
        ("audit.log", lineno(AUDIT, "03:12:40,968")),
        ("mailbox.log", lineno(MAILBOX, "03:13:30,866")),
    }
    change = bob.signal("new_ip_change")
    assert change is not None and "203.0.113.77" in change.reason
    # 142+ recipients within a minute
    assert "rate_minute" in bob.rules()
    # SMTP-AUTH first hop from 203.0.113.200, counted once (not per queue hop)
    assert _lines(bob, "smtp_auth") == {
        ("zimbra.log", lineno(MTA, "1D7F41A1120: client=")),
        ("zimbra.log", lineno(MTA, "1D7F41A1120: from=<bob")),
    }
    assert _lines(bob, "refused_send") == {("mailbox.log", lineno(MAILBOX, "Failed to send"))}
    assert _lines(bob, "remote_reject") == {("zimbra.log", lineno(MTA, "unusual rate"))}


def test_erin_brute_force_dave_phish_reply_nobody_else() -> None:
    result = scan(sample_inputs(), settings())
    found = by_account(result.suspects)
    assert set(found) == {"bob@example.com", "erin@example.com", "dave@example.com"}
    erin = found["erin@example.com"]
    fails = erin.signal("failed_logins")
    assert fails is not None and fails.reason.startswith("8 failed logins")
    assert ("audit.log", lineno(AUDIT, "01:05:11,332")) in _lines(erin, "failed_logins")
    assert _lines(erin, "lockout") == {("audit.log", lineno(AUDIT, "lockout due to"))}
    dave = found["dave@example.com"]
    assert dave.rules() == {"phish_reply"}
    assert _lines(dave, "phish_reply") == {("mailbox.log", lineno(MAILBOX, "to=" + PHISH))}
    reply = dave.signal("phish_reply")
    assert reply is not None and reply.reason.startswith("replied to")
    assert [s.account for s in result.suspects][0] == "bob@example.com"


def test_without_a_phish_list_dave_is_quiet_and_allow_list_hides_bob() -> None:
    found = by_account(scan(sample_inputs(), DetectSettings()).suspects)
    assert "dave@example.com" not in found
    hidden = scan(sample_inputs(), settings(allow=frozenset({"Bob@Example.com"})))
    assert "bob@example.com" not in by_account(hidden.suspects)


def test_phish_list_file_formats(tmp_path: Path) -> None:
    path = tmp_path / "phish.csv"
    path.write_text(
        "# reported phishing reply-to addresses\n"
        "address,type,date\n"
        f"{PHISH.upper()},reply-to,2024-03-14\n"
        "<billing@bad.example> # angle brackets and a comment\n"
        "@evil.example\n"
        "\n"
    )
    phish = load_phish_list(path)
    assert phish == frozenset({PHISH, "billing@bad.example", "@evil.example"})
    found = by_account(scan(sample_inputs(), DetectSettings(phish_list=phish)).suspects)
    assert "dave@example.com" in found
    domain_only = DetectSettings(phish_list=frozenset({"@phish.example.net"}))
    assert "dave@example.com" in by_account(scan(sample_inputs(), domain_only).suspects)


def test_stats_count_every_line_and_byte() -> None:
    result = scan(sample_inputs(), settings())
    for kind, path in ((LogKind.MAILBOX, MAILBOX), (LogKind.AUDIT, AUDIT), (LogKind.MTA, MTA)):
        stats = result.stats.kinds[kind]
        assert stats.files == 1
        assert stats.bytes == path.stat().st_size
        assert stats.lines == len(path.read_bytes().splitlines())
    assert result.stats.seconds > 0


def test_each_log_alone() -> None:
    mailbox_only = by_account(scan(ScanInputs(mailbox=(MAILBOX,)), settings()).suspects)
    assert list(mailbox_only)[0] == "bob@example.com"
    # the login comes from the JSP login page's `(batch) AuthRequest elapsed=` line
    assert _lines(mailbox_only["bob@example.com"], "new_ip_change") == {
        ("mailbox.log", lineno(MAILBOX, "03:12:41,007")),
        ("mailbox.log", lineno(MAILBOX, "03:13:30,866")),
    }
    audit_only = by_account(scan(ScanInputs(audit=(AUDIT,)), settings()).suspects)
    assert set(audit_only) == {"erin@example.com"}
    # zimbra.log alone: webmail first hops count by envelope sender at half weight, so alice's
    # one mail to a 118-member list stays quiet while bob's night-time bulk does not
    mta_only = scan(ScanInputs(mta=(MTA,), year=2024), settings()).suspects
    assert [s.account for s in mta_only] == ["bob@example.com"]
    assert {"big_send", "night_burst", "rate_minute"} <= mta_only[0].rules()


def test_bad_night_window_is_refused_early() -> None:
    import pytest

    with pytest.raises(ValueError, match="not a time of day"):
        DetectSettings(night_start="25:00")


def test_since_until_window() -> None:
    import datetime as dt

    late = scan(sample_inputs(), settings(), since=dt.datetime(2024, 3, 15, 9, 0))
    assert [s.account for s in late.suspects] == ["dave@example.com"]
    early = scan(sample_inputs(), settings(), until=dt.datetime(2024, 3, 15, 2, 0))
    assert [s.account for s in early.suspects] == ["erin@example.com"]
