"""Before ZCS 8.8.7 the send line has no recipients: postfix's nrcpt, joined on Message-ID."""

from __future__ import annotations

from pathlib import Path

from tests.detect.helpers import LEGACY, lineno, settings
from zcomp.detect import ScanInputs, scan

BOB_MSGID = "<2067792254.43080.1460376310131.JavaMail.zimbra@example.com>"


def _zimbra_log(path: Path, nrcpt: int) -> Path:
    path.write_text(
        "Apr 11 14:05:10 mail postfix/smtpd[5120]: 3A1B21C0F10:"
        " client=mail.example.com[192.0.2.10]\n"
        f"Apr 11 14:05:10 mail postfix/cleanup[5122]: 3A1B21C0F10: message-id={BOB_MSGID}\n"
        "Apr 11 14:05:10 mail postfix/qmgr[2231]: 3A1B21C0F10: from=<bob@example.com>, size=1874,"
        f" nrcpt={nrcpt} (queue active)\n"
        "Apr 11 14:05:11 mail postfix/dkimmilter/smtpd[5125]: 4B2C31C0F17:"
        " client=localhost[127.0.0.1]\n"
        f"Apr 11 14:05:11 mail postfix/cleanup[5122]: 4B2C31C0F17: message-id={BOB_MSGID}\n"
        "Apr 11 14:05:11 mail postfix/qmgr[2231]: 4B2C31C0F17: from=<bob@example.com>, size=2350,"
        f" nrcpt={nrcpt} (queue active)\n"
    )
    return path


def test_legacy_send_gets_its_count_from_postfix(tmp_path: Path) -> None:
    mta = _zimbra_log(tmp_path / "zimbra.log", 90)
    result = scan(ScanInputs(mailbox=(LEGACY,), mta=(mta,), year=2016), settings())
    bob = result.suspects[0]
    assert bob.account == "bob@example.com"
    big = bob.signal("big_send")
    assert big is not None
    assert "largest 90" in big.reason and "1 from the Standard (HTML) client" in big.reason
    where = [(Path(e.file).name, e.line) for e in big.evidence]
    assert where == [
        ("mailbox-legacy-7.x-8.8.6.log", lineno(LEGACY, BOB_MSGID)),
        ("zimbra.log", 2),  # the first hop's message-id line
        ("zimbra.log", 3),  # and its qmgr nrcpt line (not the second hop's)
    ]


def test_legacy_send_without_postfix_counts_as_one_message(tmp_path: Path) -> None:
    result = scan(ScanInputs(mailbox=(LEGACY,)), settings())
    assert all("big_send" not in s.rules() for s in result.suspects)
    small = scan(
        ScanInputs(mailbox=(LEGACY,), mta=(_zimbra_log(tmp_path / "z.log", 3),), year=2016),
        settings(),
    )
    assert all("big_send" not in s.rules() for s in small.suspects)
