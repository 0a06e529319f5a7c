"""The file backend: one private ticket file per incident, comments, resolution, config."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from tests.tickets.workers import content, open_tickets
from zcomp.exitcodes import ConfigError, ExitCode
from zcomp.tickets import FileBackend, TicketError, TicketRef, make_backend, render_text

TOKEN = "0_" + "ab12" * 10 + "_6964" + "3d" * 8


@pytest.fixture
def backend(tmp_path: Path) -> FileBackend:
    made = make_backend("file", {}, tmp_path / "state")
    assert isinstance(made, FileBackend)
    return made


def test_open_writes_one_private_file(backend: FileBackend, tmp_path: Path) -> None:
    ref = backend.open(content(42))
    path = tmp_path / "state" / "tickets" / "zcomp-INC000042.md"
    assert ref == TicketRef("file", "INC000042", path.as_uri())
    assert path.read_text(encoding="utf-8") == render_text(content(42))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert backend.find(42) == ref
    assert backend.find(43) is None


def test_open_is_idempotent(backend: FileBackend) -> None:
    first = backend.open(content(42))
    again = backend.open(content(42, title="a different title"))
    assert again == first
    assert "a different title" not in Path(backend.directory, "zcomp-INC000042.md").read_text()
    assert [p.name for p in backend.directory.iterdir()] == ["zcomp-INC000042.md"]


def test_comment_and_resolve_append_once(backend: FileBackend) -> None:
    ref = backend.open(content(42))
    backend.comment(ref, "Customer reached by phone.\n# not a heading")
    assert not backend.is_resolved(ref)
    assert backend.resolve(ref, "Unlocked; new password set by the help desk.") is True
    assert backend.resolve(ref, "again") is True
    text = Path(backend.directory, "zcomp-INC000042.md").read_text()
    assert text.startswith(render_text(content(42)))
    tail = text[len(render_text(content(42))) :]
    lines = tail.splitlines()
    assert lines[1].startswith("## Comment 20") and lines[1].endswith("Z")
    assert "Customer reached by phone." in lines
    assert "\\# not a heading" in lines  # user text cannot pose as a heading
    assert sum(line.startswith("## Resolved ") for line in lines) == 1
    assert "again" not in tail
    assert backend.is_resolved(ref)


def test_comment_on_a_missing_or_foreign_ticket(backend: FileBackend) -> None:
    with pytest.raises(TicketError, match="not found"):
        backend.comment(TicketRef("file", "INC000009"), "x")
    with pytest.raises(TicketError, match="not a file-backend ticket"):
        backend.resolve(TicketRef("rt", "1234"), "x")
    with pytest.raises(TicketError, match="not a file-backend ticket"):
        backend.comment(TicketRef("file", "../../etc/passwd"), "x")


@pytest.mark.parametrize(
    "secret",
    [TOKEN, f"ZM_AUTH_TOKEN={TOKEN}", "new password: Winter2024!", "Password=abc", "password :x"],
)
def test_tripwire_refuses_secrets(backend: FileBackend, secret: str) -> None:
    leaking = content(1)
    leaking.done = [f"reset it, {secret}"]
    with pytest.raises(TicketError) as caught:
        backend.open(leaking)
    assert secret not in caught.value.message
    assert backend.find(1) is None
    assert not backend.directory.exists() or list(backend.directory.iterdir()) == []
    ref = backend.open(content(2))
    before = Path(backend.directory, "zcomp-INC000002.md").read_text()
    with pytest.raises(TicketError):
        backend.comment(ref, secret)
    with pytest.raises(TicketError):
        backend.resolve(ref, secret)
    assert Path(backend.directory, "zcomp-INC000002.md").read_text() == before


def test_harmless_password_wording_passes(backend: FileBackend) -> None:
    ok = content(3)
    ok.next_steps = ["reset the password with zcomp unlock", "the password was scrambled"]
    backend.open(ok)


def test_two_processes_open_one_ticket(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    out = ctx.Queue()
    directory = tmp_path / "tickets"
    procs = [
        ctx.Process(target=open_tickets, args=(str(directory), w, 10, barrier, out))
        for w in range(2)
    ]
    for proc in procs:
        proc.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
        proc.close()
    out.close()
    out.join_thread()
    assert results[0] == results[1]
    names = sorted(p.name for p in directory.iterdir())
    assert names == [f"zcomp-INC{n:06d}.md" for n in range(1, 11)]  # no temp files left
    for name in names:
        text = (directory / name).read_text()
        assert text.count("## What was done") == 1  # one complete ticket, never two mixed


def test_directory_option(tmp_path: Path) -> None:
    absolute = make_backend("file", {"file": {"directory": str(tmp_path / "desk")}}, tmp_path)
    assert isinstance(absolute, FileBackend) and absolute.directory == tmp_path / "desk"
    relative = make_backend("File", {"file": {"directory": "inbox"}}, tmp_path / "state")
    assert isinstance(relative, FileBackend)
    assert relative.directory == tmp_path / "state" / "inbox"
    assert relative.name == "file"


def test_config_errors_name_the_valid_choices(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"'carrier-pigeon' is not a ticket backend \(valid: file"
    ):
        make_backend("carrier-pigeon", {}, tmp_path)
    with pytest.raises(ConfigError, match=r"\[tickets.jira\] url: is required"):
        make_backend("jira", {}, tmp_path)  # named, and checked before anything is filed
    with pytest.raises(
        ConfigError, match=r"\[tickets.file\] unknown option 'dir' \(did you mean 'directory'\?\)"
    ) as caught:
        make_backend("file", {"file": {"dir": "x"}}, tmp_path)
    assert caught.value.exit_code == ExitCode.USAGE
    with pytest.raises(ConfigError, match=r"directory: expected non-empty text"):
        make_backend("file", {"file": {"directory": ""}}, tmp_path)


def test_unusable_directory_is_a_ticket_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(TicketError, match="cannot create"):
        FileBackend(blocker).open(content(1))
