"""Inputs: rotated and gzipped sets read oldest first, broken files, stdin."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

from tests.detect.helpers import (
    AUDIT,
    MAILBOX,
    MTA,
    NGINX,
    by_account,
    data_lines,
    sample_inputs,
    settings,
    write_gz,
)
from zcomp.detect import LogKind, ScanInputs, scan
from zcomp.detect.sources import expand, read_blocks, rotation_key


def _split_by_day(path: Path, marker: bytes) -> tuple[bytes, bytes]:
    """(lines of 3/14, lines of 3/15) of a sample, by the date marker of the 14th."""
    lines = data_lines(path)
    # the date leads log4j and syslog lines; nginx's follows the client address
    first = b"".join(ln for ln in lines if marker in ln[:48])
    rest = b"".join(ln for ln in lines if marker not in ln[:48])
    return first, rest


def _signature(result_suspects: list) -> list[tuple[str, float, list[str]]]:  # type: ignore[type-arg]
    return [(s.account, s.score, sorted(s.rules())) for s in result_suspects]


def test_rotation_order_by_name() -> None:
    names = [
        "mailbox.log",
        "mailbox.log.2024-03-14",
        "mailbox.log.2024-03-13.gz",
        "zimbra.log",
        "zimbra.log.1.gz",
        "zimbra.log.2.gz",
    ]
    mbx = sorted((n for n in names if n.startswith("mailbox")), key=rotation_key)
    assert mbx == ["mailbox.log.2024-03-13.gz", "mailbox.log.2024-03-14", "mailbox.log"]
    mta = sorted((n for n in names if n.startswith("zimbra")), key=rotation_key)
    assert mta == ["zimbra.log.2.gz", "zimbra.log.1.gz", "zimbra.log"]
    dated = sorted(
        ["zimbra.log", "zimbra.log-20240314.gz", "zimbra.log-20240313.gz"], key=rotation_key
    )
    assert dated == ["zimbra.log-20240313.gz", "zimbra.log-20240314.gz", "zimbra.log"]


def test_rotated_gzipped_directory_scans_like_the_whole_files(tmp_path: Path) -> None:
    old_m, new_m = _split_by_day(MAILBOX, b"2024-03-14")
    old_a, new_a = _split_by_day(AUDIT, b"2024-03-14")
    old_z, new_z = _split_by_day(MTA, b"Mar 14")
    old_n, new_n = _split_by_day(NGINX, b"14/Mar/2024")
    logs = tmp_path / "log"
    logs.mkdir()
    write_gz(logs / "mailbox.log.2024-03-14.gz", old_m)
    (logs / "mailbox.log").write_bytes(new_m)
    (logs / "audit.log.2024-03-14").write_bytes(old_a)  # rotated, not compressed
    (logs / "audit.log").write_bytes(new_a)
    write_gz(logs / "zimbra.log.1.gz", old_z)
    (logs / "zimbra.log").write_bytes(new_z)
    write_gz(logs / "nginx.access.log.1.gz", old_n)  # zmlogrotate: daily, compressed
    (logs / "nginx.access.log").write_bytes(new_n)
    (logs / "unrelated.txt").write_text("not a log\n")
    files = expand(LogKind.MAILBOX, [logs], lambda w: None)
    assert [Path(f).name for f in files] == ["mailbox.log.2024-03-14.gz", "mailbox.log"]
    rotated = scan(
        ScanInputs(mailbox=(logs,), audit=(logs,), mta=(logs,), nginx=(logs,), year=2024),
        settings(),
    )
    whole = scan(sample_inputs(), settings())
    assert rotated.warnings == []
    assert _signature(rotated.suspects) == _signature(whole.suspects)
    assert rotated.stats.kinds[LogKind.MAILBOX].files == 2
    assert rotated.stats.kinds[LogKind.MAILBOX].bytes == len(old_m) + len(new_m)
    # evidence names the rotated file it came from, with its line number there
    alice_first = [s for s in rotated.suspects if s.account == "bob@example.com"][0]
    big = alice_first.signal("big_send")
    assert big is not None and {Path(e.file).name for e in big.evidence} == {"mailbox.log"}


def test_gzip_detected_by_magic_not_name(tmp_path: Path) -> None:
    disguised = write_gz(tmp_path / "zimbra.log-20240315", MTA.read_bytes())
    plain_named_gz = tmp_path / "mailbox.log.2024-03-15.gz"
    plain_named_gz.write_bytes(MAILBOX.read_bytes())
    result = scan(
        ScanInputs(mailbox=(plain_named_gz,), audit=(AUDIT,), mta=(disguised,)), settings()
    )
    assert result.warnings == []
    assert result.suspects[0].account == "bob@example.com"
    assert "smtp_auth" in result.suspects[0].rules()  # the zimbra.log content was read


def test_glob_input(tmp_path: Path) -> None:
    (tmp_path / "mailbox.log").write_bytes(MAILBOX.read_bytes())
    result = scan(ScanInputs(mailbox=(str(tmp_path / "mailbox.log*"),)), settings())
    assert result.suspects[0].account == "bob@example.com"
    missing = scan(ScanInputs(mailbox=(str(tmp_path / "nothing*"),)), settings())
    assert len(missing.warnings) == 1 and "nothing*" in missing.warnings[0].file


def test_truncated_gzip_warns_once_and_the_rest_is_scanned(tmp_path: Path) -> None:
    packed = gzip.compress(MTA.read_bytes() * 20)
    broken = tmp_path / "zimbra.log.1.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    result = scan(
        ScanInputs(mailbox=(MAILBOX,), audit=(AUDIT,), mta=(broken, MTA), year=2024), settings()
    )
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert warning.file == str(broken) and "truncated or corrupt gzip" in warning.message
    assert result.suspects[0].account == "bob@example.com"
    # the readable part of the broken file and all of zimbra.log were read
    assert result.stats.kinds[LogKind.MTA].lines > len(MTA.read_bytes().splitlines())


def test_binary_garbage_and_unreadable_files_warn_and_are_skipped(tmp_path: Path) -> None:
    garbage = tmp_path / "mailbox.log.2024-03-13"
    garbage.write_bytes(os.urandom(200_000).replace(b"\x1f\x8b", b"xx") + b"\x00" * 10)
    missing = tmp_path / "audit.log.2024-03-13"
    result = scan(
        ScanInputs(mailbox=(garbage, MAILBOX), audit=(missing, AUDIT), mta=(MTA,)), settings()
    )
    assert sorted(w.file for w in result.warnings) == sorted([str(garbage), str(missing)])
    by_file = {w.file: w.message for w in result.warnings}
    assert "binary" in by_file[str(garbage)]
    assert "cannot read" in by_file[str(missing)]
    assert set(by_account(result.suspects)) == {
        "bob@example.com",
        "erin@example.com",
        "dave@example.com",
    }


def test_blocks_keep_line_numbers_across_chunks(tmp_path: Path) -> None:
    from zcomp.detect import sources

    big = tmp_path / "mailbox.log"
    lines = [
        f"2024-03-15 00:00:00,000 INFO  [t] [] misc - line {i}\n".encode() for i in range(5000)
    ]
    big.write_bytes(b"".join(lines) + b"last line without newline")
    saved = sources.CHUNK
    sources.CHUNK = 4096  # many blocks, cut mid-line
    try:
        blocks = list(read_blocks(str(big), lambda w: None))
    finally:
        sources.CHUNK = saved
    assert len(blocks) > 10
    seen = []
    for block in blocks:
        for i, line in enumerate(block.data.splitlines()):
            seen.append((block.first_line + i, line))
    assert seen[0] == (1, lines[0].rstrip())
    assert seen[4321] == (4322, lines[4321].rstrip())
    assert seen[-1] == (5001, b"last line without newline")


def test_stdin(tmp_path: Path) -> None:
    code = (
        "from zcomp.detect import ScanInputs, DetectSettings, scan\n"
        "r = scan(ScanInputs(mailbox=('-',)), DetectSettings())\n"
        "print(r.suspects[0].account, r.suspects[0].signals[0].evidence[0].file,"
        " r.suspects[0].signals[0].evidence[0].line, len(r.warnings))\n"
    )
    for data in (MAILBOX.read_bytes(), gzip.compress(MAILBOX.read_bytes())):
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=data,
            capture_output=True,
            check=True,
            cwd=Path(__file__).parents[2],
        )
        account, file, line, warnings = done.stdout.decode().split()
        assert (account, file, warnings) == ("bob@example.com", "<stdin>", "0")
        assert MAILBOX.read_bytes().splitlines()[int(line) - 1].startswith(b"2024-03-15 03:1")
