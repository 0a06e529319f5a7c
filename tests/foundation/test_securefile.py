"""zcomp.securefile and the files written through it (token cache, tickets, evidence).

Every such file is written to an unpredictable temporary name (O_EXCL, O_NOFOLLOW, 0600) and
renamed into place, so a symlink planted where a predictable name would be is never followed.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from zcomp.core.evidence import canonical, write_bundle
from zcomp.securefile import make_private_dirs, write_private
from zcomp.tickets import TicketError
from zcomp.tickets.content import TicketContent
from zcomp.tickets.file_backend import FileBackend
from zcomp.zimbra.model import Secret
from zcomp.zimbra.tokens import FILE_NAME, CachedToken, FileCache

SECRET_TOKEN = "0_5ec7e7_" + b"id=36:secret-admin-token-never-leak;".hex()
ORIGINAL = "the victim's own content\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def leftovers(directory: Path, *keep: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file an attacker would like zcomp to overwrite, or to copy a secret into."""
    path = tmp_path / "victim.txt"
    path.write_text(ORIGINAL)
    return path


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[None]:
    old = os.umask(getattr(request, "param", 0))
    try:
        yield
    finally:
        os.umask(old)


def plant(directory: Path, name: str, victim: Path) -> list[Path]:
    """Symlinks to `victim` at every temporary name a naive writer of `name` might use."""
    pid = os.getpid()
    names = [
        f".{name}.{pid}",  # what the token cache used before
        f".{name}.{pid}.tmp",
        f"{name}.{pid}",
        f"{name}.{pid}.tmp",
        f".{name}.tmp",
        f"{name}.tmp",
        f"{name}.new",
        f"{name}~",
        f".{name}",
        f".{name}.swp",
    ]
    links = []
    for planted in names:
        link = directory / planted
        link.symlink_to(victim)
        links.append(link)
    return links


def untouched(victim: Path, links: list[Path], secret: str) -> None:
    assert victim.read_text() == ORIGINAL
    assert secret not in victim.read_text()
    for link in links:
        assert link.is_symlink() and os.readlink(link) == str(victim)


# ---- the helper ------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0, 0o022, 0o277], indirect=True)
def test_write_private_is_0600_whatever_the_umask(tmp_path: Path, umask: None) -> None:
    path = tmp_path / "file"
    write_private(path, b"data")
    assert path.read_bytes() == b"data" and mode(path) == 0o600
    assert leftovers(tmp_path) == ["file"]


def test_write_private_replaces_a_loose_file_with_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("old")
    os.chmod(path, 0o666)  # noqa: S103 - the loose file being replaced
    write_private(path, b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o600


def test_exclusive_write_never_replaces(tmp_path: Path) -> None:
    path = tmp_path / "ticket"
    write_private(path, b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_private(path, b"second", exclusive=True)
    assert path.read_bytes() == b"first"
    assert leftovers(tmp_path) == ["ticket"]  # the second temporary file was removed


def test_symlink_at_the_final_name(tmp_path: Path, victim: Path) -> None:
    path = tmp_path / "out"
    path.symlink_to(victim)
    with pytest.raises(FileExistsError):
        write_private(path, SECRET_TOKEN.encode(), exclusive=True)  # not through the link
    untouched(victim, [path], SECRET_TOKEN)
    write_private(path, SECRET_TOKEN.encode())  # the link itself is replaced
    assert not path.is_symlink() and mode(path) == 0o600
    assert victim.read_text() == ORIGINAL


def test_a_failed_rename_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "busy"
    path.mkdir()
    (path / "inside").write_text("x")  # a non-empty directory cannot be renamed over
    with pytest.raises(OSError):
        write_private(path, b"data")
    assert leftovers(tmp_path) == ["busy"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    # A real short write: a child process whose file-size limit is smaller than the data.
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from zcomp.securefile import write_private\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "try:\n"
        "    write_private(Path(sys.argv[1]), b'x' * 100_000)\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "big")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "OSError", done.stderr
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022], indirect=True)
def test_make_private_dirs_makes_every_new_level_0700(tmp_path: Path, umask: None) -> None:
    os.chmod(tmp_path, 0o755)  # noqa: S103 - an existing parent, left as it is
    make_private_dirs(tmp_path / "a" / "b" / "c")
    assert mode(tmp_path) == 0o755
    for level in ("a", "a/b", "a/b/c"):
        assert mode(tmp_path / level) == 0o700, level
    make_private_dirs(tmp_path / "a" / "b" / "c")  # already there: fine


# ---- the token cache -------------------------------------------------------------------------


def test_token_cache_does_not_follow_planted_symlinks(tmp_path: Path, victim: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    links = plant(state, FILE_NAME, victim)
    FileCache(state).put("admin@url", CachedToken(Secret(SECRET_TOKEN), 2**62))
    untouched(victim, links, SECRET_TOKEN)
    cache_file = state / FILE_NAME
    assert SECRET_TOKEN in cache_file.read_text() and mode(cache_file) == 0o600
    assert FileCache(state).get("admin@url") is not None
    assert leftovers(state, FILE_NAME, *(link.name for link in links)) == []


def test_token_cache_symlink_at_its_own_name(tmp_path: Path, victim: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / FILE_NAME).symlink_to(victim)
    assert FileCache(state).get("admin@url") is None  # not read through the link
    FileCache(state).put("admin@url", CachedToken(Secret(SECRET_TOKEN), 2**62))
    assert victim.read_text() == ORIGINAL
    assert not (state / FILE_NAME).is_symlink()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file away")
def test_token_cache_owned_by_another_user_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / "state"
    FileCache(state).put("admin@url", CachedToken(Secret(SECRET_TOKEN), 2**62))
    os.chown(state / FILE_NAME, 65534, -1)
    assert FileCache(state).get("admin@url") is None


# ---- tickets ---------------------------------------------------------------------------------


def _content(marker: str) -> TicketContent:
    return TicketContent(
        incident_id=7,
        account="alice@example.edu",
        title="Compromised account alice@example.edu",
        found=[marker],
        done=["account locked"],
        next_steps=["call the user"],
        evidence_sha256="ab" * 32,
        created_at=datetime(2024, 5, 1, 2, 30, tzinfo=timezone.utc),
    )


def test_ticket_does_not_follow_planted_symlinks(tmp_path: Path, victim: Path) -> None:
    tickets = tmp_path / "tickets"
    tickets.mkdir(mode=0o700)
    marker = "planted-forward-to-evil@mail.example"
    name = "zcomp-INC000007.md"
    links = plant(tickets, name, victim)
    backend = FileBackend(tickets)
    ref = backend.open(_content(marker))
    backend.comment(ref, "a comment")
    untouched(victim, links, marker)
    ticket = tickets / name
    assert marker in ticket.read_text() and mode(ticket) == 0o600
    assert leftovers(tickets, name, *(link.name for link in links)) == []


def test_ticket_symlink_at_its_own_name_is_never_written_through(
    tmp_path: Path, victim: Path
) -> None:
    tickets = tmp_path / "tickets"
    tickets.mkdir(mode=0o700)
    (tickets / "zcomp-INC000007.md").symlink_to(victim)
    backend = FileBackend(tickets)
    ref = backend.open(_content("marker"))
    with pytest.raises(TicketError):
        backend.comment(ref, "comment-marker")
    assert victim.read_text() == ORIGINAL


# ---- evidence --------------------------------------------------------------------------------


def test_evidence_does_not_follow_planted_symlinks(tmp_path: Path, victim: Path) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir(mode=0o700)
    name = "alice@example.edu-incident-7.json"
    links = plant(folder, name, victim) + plant(folder, name + ".sha256", victim)
    (folder / name).symlink_to(victim)  # the final names too: replaced, not followed
    (folder / (name + ".sha256")).symlink_to(victim)
    marker = "evidence-marker-from-the-mailbox"
    bundle = {"findings": [marker]}
    sha = hashlib.sha256(canonical(bundle)).hexdigest()
    path = write_bundle(bundle, sha, folder, "alice@example.edu", 7)
    untouched(victim, links, marker)
    assert not path.is_symlink() and marker in path.read_text() and mode(path) == 0o600
    checksum = folder / (name + ".sha256")
    assert not checksum.is_symlink() and mode(checksum) == 0o600
    assert checksum.read_text() == f"{sha}  {name}\n"
    assert leftovers(folder, name, name + ".sha256", *(link.name for link in links)) == []
