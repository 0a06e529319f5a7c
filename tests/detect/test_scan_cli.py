"""`zcomp scan` on the command line: the shared samples, standard input, damaged files, and
--lockdown on the logs a sandbox wrote during an attack replay."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.detect.helpers import SAMPLES
from zcomp.sandbox import Sandbox, SandboxOptions, replay_attack

ADMIN = "admin@sandbox.test"


def _samples() -> list[str]:
    return [
        *("--mailbox-log", str(SAMPLES / "mailbox.log")),
        *("--audit-log", str(SAMPLES / "audit.log")),
        *("--mta-log", str(SAMPLES / "zimbra.log")),
        *("--year", "2024"),
    ]


def test_the_report_ranks_bob_first_with_evidence(invoke: Callable[..., Result]) -> None:
    result = invoke("scan", *_samples())
    assert result.exit_code == 1, result.stderr  # suspects found
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["1", "bob@example.com"]
    assert "mailbox.log:54:" in result.stdout  # the first big HTML-client send
    assert "scanned mailbox 71 lines" in result.stderr
    assert not any(name in result.stdout for name in ("alice@", "carol@"))


def test_json_lines_feed_lockdown_from_stdin(
    invoke: Callable[..., Result], tmp_path: Path, sandbox: Sandbox
) -> None:
    phish = tmp_path / "phish.csv"
    phish.write_text("# known reply-to drops\nreply.desk@freemail.example,reply-to,2024-03-01\n")
    result = invoke("scan", *_samples(), "--phish-list", str(phish), "--json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["account"] == "bob@example.com"
    evidence = rows[0]["signals"][0]["evidence"][0]
    assert evidence["file"].endswith("mailbox.log") and evidence["line"] == 54
    # lockdown --from - takes the lines as they are: every account (these example.com
    # accounts are not on the sandbox, which says so for each, in the order they finish).
    planned = invoke(
        "--url",
        sandbox.admin_url,
        "--admin",
        ADMIN,
        "lockdown",
        "--from",
        "-",
        "--dry-run",
        input=result.stdout,
        env={"ZCOMP_PASSWORD": "sandbox"},
    )
    said = [line.split(":")[0] for line in planned.stdout.splitlines() if ": failed (" in line]
    assert sorted(said) == sorted(r["account"] for r in rows) and len(rows) >= 2


def test_standard_input_and_a_damaged_file(invoke: Callable[..., Result], tmp_path: Path) -> None:
    broken = tmp_path / "mailbox.log.1.gz"
    broken.write_bytes(gzip.compress((SAMPLES / "mailbox.log").read_bytes())[:300])
    piped = invoke(
        "scan",
        "--mailbox-log",
        str(broken),
        "--mailbox-log",
        "-",
        input=(SAMPLES / "mailbox.log").read_text(),
    )
    assert piped.exit_code == 1, piped.stderr
    assert str(broken) in piped.stderr and "Warning:" in piped.stderr
    assert piped.stdout.split()[1] == "bob@example.com"


def test_nothing_to_read_is_a_usage_error(invoke: Callable[..., Result]) -> None:
    result = invoke("scan")
    assert result.exit_code == 2
    assert "give at least one log" in result.stderr
    # The typed confirmation of --lockdown cannot come from stdin when a log does.
    piped = invoke("scan", "--mailbox-log", "x.log", "--mailbox-log", "-", "--lockdown", input="")
    assert piped.exit_code == 2 and "needs --yes" in piped.stderr


def test_a_mistyped_log_path_is_not_an_all_clear(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    typo = tmp_path / "mailbox.lgo"
    result = invoke("scan", "--mailbox-log", str(typo), "--audit-log", str(tmp_path / "no*.log"))
    assert result.exit_code == 2, result.output  # not 0, "no suspect"
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: nothing was scanned: {typo}: cannot read: No such file or directory; "
        f"{tmp_path / 'no*.log'}: no file matches this pattern\n"
    )
    # One readable log among them is a scan: the missing one is a warning.
    empty = tmp_path / "mailbox.log"
    empty.write_text("")
    partial = invoke("scan", "--mailbox-log", str(typo), "--mailbox-log", str(empty))
    assert partial.exit_code == 0 and "Warning:" in partial.stderr


def test_since_not_before_until_is_a_usage_error(invoke: Callable[..., Result]) -> None:
    log = str(SAMPLES / "mailbox.log")
    result = invoke(
        "scan", "--mailbox-log", log, "--since", "2024-03-15", "--until", "2024-03-01T12:00"
    )
    assert result.exit_code == 2, result.output  # not 0, "no suspect": every line was cut
    assert result.stderr == (
        "Error: --since 2024-03-15T00:00:00 is not before --until 2024-03-01T12:00:00: "
        "no line could be scanned\n"
    )


def test_scan_then_lockdown_contains_the_attacked_account(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    with Sandbox(SandboxOptions(log_dir=logs)) as sb:
        attack = replay_attack(sb)
        result = invoke(
            "--url",
            sb.admin_url,
            "--admin",
            ADMIN,
            "scan",
            "--mailbox-log",
            str(logs / "mailbox.log"),
            "--audit-log",
            str(logs / "audit.log"),
            "--lockdown",
            "--yes",
            env={"ZCOMP_PASSWORD": "sandbox"},
        )
        assert result.exit_code == 0, result.stderr
        assert result.stdout.split()[1] == attack.account
        assert f"{attack.account}: contained" in result.stdout
        assert sb.account(attack.account).attrs["zimbraAccountStatus"] == ["locked"]
