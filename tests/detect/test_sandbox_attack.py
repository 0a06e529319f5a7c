"""Logs written by the sandbox during an attack replay: the attacked account comes first."""

from __future__ import annotations

from pathlib import Path

from zcomp.detect import DetectSettings, ScanInputs, Scanner, scan
from zcomp.sandbox import Sandbox, SandboxOptions
from zcomp.sandbox.attack import replay_attack


def test_attacked_account_ranked_first(tmp_path: Path) -> None:
    with Sandbox(SandboxOptions(log_dir=tmp_path)) as sb:
        report = replay_attack(sb)
    inputs = ScanInputs(mailbox=(tmp_path,), audit=(tmp_path,), mta=(tmp_path,))
    result = scan(inputs, DetectSettings())
    assert result.warnings == []
    top = result.suspects[0]
    assert top.account == report.account
    # 80 Bcc + the account itself in one SendMsg, and the settings the crew changes right
    # after logging in from its address (forwarding prefs, filters, identity, signature)
    assert {"big_send", "new_ip_change"} <= top.rules()
    change = top.signal("new_ip_change")
    assert change is not None and report.attacker_ip in change.reason
    texts = [e.text for e in change.evidence]
    assert any("cmd=Auth" in t or "AuthRequest" in t for t in texts)
    assert any("ModifyPrefsRequest" in t for t in texts)
    big = top.signal("big_send")
    assert big is not None and "nrcpts=81" in big.evidence[0].text
    # the sandbox's zimbra.log first hop is the same message: not counted a second time
    assert "largest 81" in big.reason and big.reason.startswith("1 message")


def test_attack_seen_live_by_a_fed_scanner(tmp_path: Path) -> None:
    """What `zcomp watch` does: lines handed over as the files grow."""
    scanner = Scanner(DetectSettings())
    offsets: dict[Path, int] = {}
    lines: dict[Path, int] = {}

    def follow() -> None:
        for name, kind in (
            ("audit.log", "audit"),
            ("mailbox.log", "mailbox"),
            ("zimbra.log", "mta"),
        ):
            path = tmp_path / name
            if not path.exists():
                continue
            with open(path, "rb") as fh:
                fh.seek(offsets.get(path, 0))
                data = fh.read()
            complete = data[: data.rfind(b"\n") + 1]
            offsets[path] = offsets.get(path, 0) + len(complete)
            for line in complete.splitlines():
                lines[path] = lines.get(path, 0) + 1
                scanner.feed(kind, str(path), lines[path], line)

    with Sandbox(SandboxOptions(log_dir=tmp_path)) as sb:
        follow()
        report = replay_attack(sb)
        follow()
    assert scanner.suspects()[0].account == report.account
