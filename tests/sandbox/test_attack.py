# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""The attack replay plants everything through the user API of a non-home server."""

from __future__ import annotations

from pathlib import Path

from tests.sandbox.rawsoap import ACCOUNT, ADMIN, MAIL, RawSoap
from zcomp.sandbox import Sandbox, SandboxOptions, replay_attack

ALICE = "alice@sandbox.test"


def test_attack_is_visible_to_admin_reads(sandbox2: Sandbox) -> None:
    report = replay_attack(sandbox2, outgoing_redirect=True)
    assert report.server_url == sandbox2.urls[1]
    c = RawSoap(sandbox2.admin_url)
    try:
        c.admin_login()
        got = c.xml(
            f'<GetAccountRequest xmlns="{ADMIN}"><account by="name">{ALICE}</account></GetAccountRequest>'
        ).attrs()
        assert got["zimbraPrefMailForwardingAddress"] == [report.freemail]
        assert got["zimbraPrefMailLocalDeliveryDisabled"] == ["TRUE"]
        assert got["zimbraPrefFromAddress"] == [report.freemail]
        assert got["zimbraPrefReplyToAddress"] == [report.freemail]
        assert got["zimbraPrefMailSignature"] == [report.signature_text]
        assert report.freemail in got["zimbraMailSieveScript"][0]
        acct_hdr = f'<account by="name">{ALICE}</account>'
        rules = c.xml(f'<GetFilterRulesRequest xmlns="{MAIL}"/>', context=acct_hdr).findall(
            f".//{{{MAIL}}}filterRule"
        )
        names = [r.get("name") for r in rules]
        assert names[-2:] == report.rule_names and "Newsletters" in names and "Boss" in names
        out = c.xml(f'<GetOutgoingFilterRulesRequest xmlns="{MAIL}"/>', context=acct_hdr).findall(
            f".//{{{MAIL}}}filterRule"
        )
        assert [r.get("name") for r in out] == report.outgoing_rule_names
        # The spam run sits on mbox2's queue (plus the outgoing-redirect copy), none on mbox1.
        queued = sandbox2.mta(1).messages()
        assert sorted(len(m.recipients) for m in queued) == [1, 81]
        assert all(m.sender == ALICE for m in queued)
        assert sandbox2.mta(0).messages() == []
        # The attacker's token works until someone acts.
        assert (
            c.xml(f'<GetInfoRequest xmlns="{ACCOUNT}" sections="mbox"/>', token=report.token).status
            == 200
        )
    finally:
        c.close()


def test_attack_on_single_server_and_logs(tmp_path: Path) -> None:
    with Sandbox(SandboxOptions(log_dir=tmp_path)) as sb:
        report = replay_attack(sb)
        assert report.server_url == sb.urls[0]
    mailbox = (tmp_path / "mailbox.log").read_text()
    assert "smtp - Sending message to MTA at mbox1.sandbox.test" in mailbox
    assert "nrcpts=81" in mailbox and f"oip={report.attacker_ip};" in mailbox
    assert "ua=ZimbraWebClient - GC122 (Win)/10.1.0_GA_4655;" in mailbox
    assert "soap - ModifyFilterRulesRequest elapsed=" in mailbox
    assert (
        "cmd=Auth; account=alice@sandbox.test; protocol=soap;"
        in (tmp_path / "audit.log").read_text()
    )
    assert "postfix/qmgr" in (tmp_path / "zimbra.log").read_text()
