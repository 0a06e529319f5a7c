"""The tail -F follower on real files: appends, rotation by rename, truncation, late files."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from zcomp.core.follow import Follower, Line


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as out:
        out.write(data)


def lines(follower: Follower) -> list[Line]:
    return list(follower.poll())


def test_it_starts_at_the_end_and_gives_complete_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"one\ntwo\nthree is being writ")
    with Follower([log]) as follower:
        assert lines(follower) == []
        append(log, b"ten\nfour\nfi")
        name = str(log)
        assert lines(follower) == [(name, 3, b"three is being written"), (name, 4, b"four")]
        assert lines(follower) == []
        append(log, b"ve\r\n")
        assert lines(follower) == [(name, 5, b"five")]


def test_from_start_reads_what_is_there(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"a\nb\n")
    with Follower([log], from_start=True) as follower:
        assert [n for _, n, _ in lines(follower)] == [1, 2]


def test_rotation_by_rename_loses_nothing(tmp_path: Path) -> None:
    log = tmp_path / "zimbra.log"
    log.write_bytes(b"")
    with Follower([log]) as follower:
        append(log, b"before 1\nbefore 2\n")
        assert [t for _, _, t in lines(follower)] == [b"before 1", b"before 2"]
        append(log, b"last of the old\nunfinished")
        os.rename(log, tmp_path / "zimbra.log.1")
        # The writer keeps its old descriptor a moment longer (until logrotate's HUP).
        append(tmp_path / "zimbra.log.1", b" line\n")
        assert [t for _, _, t in lines(follower)] == [b"last of the old", b"unfinished line"]
        log.write_bytes(b"new 1\nnew 2\n")
        got = lines(follower)
        assert got == [(str(log), 1, b"new 1"), (str(log), 2, b"new 2")]
        append(log, b"new 3\n")
        assert lines(follower) == [(str(log), 3, b"new 3")]


def test_a_rotated_file_ending_without_a_newline_gives_its_last_line(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"")
    with Follower([log]) as follower:
        append(log, b"complete\ncut short")
        assert [t for _, _, t in lines(follower)] == [b"complete"]
        os.rename(log, tmp_path / "audit.log.1")
        log.write_bytes(b"fresh\n")
        assert [t for _, _, t in lines(follower)] == [b"cut short", b"fresh"]


def test_truncation_in_place_starts_again_from_the_top(tmp_path: Path) -> None:
    log = tmp_path / "mailbox.log"
    log.write_bytes(b"x" * 100 + b"\n")
    with Follower([log]) as follower:
        append(log, b"one\ntwo\n")
        assert [n for _, n, _ in lines(follower)] == [2, 3]
        with log.open("r+b") as out:  # copytruncate
            out.truncate(0)
        append(log, b"after\n")
        assert lines(follower) == [(str(log), 1, b"after")]


def test_a_missing_file_is_read_from_its_start_when_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    with Follower([log]) as follower:
        assert lines(follower) == []
        assert "later.log" in follower.problems()[str(log)]
        log.write_bytes(b"first\nsecond\n")
        assert [t for _, _, t in lines(follower)] == [b"first", b"second"]
        assert follower.problems() == {}


def test_the_path_gone_for_a_while_keeps_the_old_file(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    log.write_bytes(b"")
    with Follower([log]) as follower:
        os.rename(log, tmp_path / "m.log.1")
        append(tmp_path / "m.log.1", b"late line\n")
        assert [t for _, _, t in lines(follower)] == [b"late line"]
        assert lines(follower) == []


def test_several_files_and_an_overlong_line(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(b"")
    b.write_bytes(b"")
    with Follower([a, b], max_line=16, chunk=8) as follower:
        append(a, b"short\n" + b"L" * 40 + b"\nafter\n")
        append(b, b"b1\n")
        assert lines(follower) == [
            (str(a), 1, b"short"),
            (str(a), 2, b"L" * 16),  # cut at max_line; the rest of it skipped
            (str(a), 3, b"after"),
            (str(b), 1, b"b1"),
        ]


def test_a_backlog_is_spread_over_passes(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_bytes(b"")
    with Follower([log], chunk=64, max_pass_bytes=128) as follower:
        append(log, b"".join(b"line %03d\n" % i for i in range(100)))  # 900 bytes
        first = lines(follower)
        assert 0 < len(first) < 100
        rest: list[Line] = []
        while batch := lines(follower):
            rest += batch
        assert [n for _, n, _ in first + rest] == list(range(1, 101))


def test_follow_stops_when_asked(tmp_path: Path) -> None:
    log = tmp_path / "f.log"
    log.write_bytes(b"")
    stop = threading.Event()
    got: list[Line] = []
    with Follower([log], poll_s=0.01) as follower:

        def reader() -> None:
            for line in follower.follow(stop):
                got.append(line)
                if len(got) == 2:
                    stop.set()

        thread = threading.Thread(target=reader)
        thread.start()
        append(log, b"1\n")
        append(log, b"2\n3\n")
        thread.join(5)
        assert not thread.is_alive()
        assert [t for _, _, t in got] == [b"1", b"2"]
