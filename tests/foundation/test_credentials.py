"""The password chain: file, ZCOMP_PASSWORD, keyring, prompt, or exit 3."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fixtures_env import MemoryKeyring
from zcomp.config import CliValues, Settings, load_settings
from zcomp.credentials import (
    KEYRING_SERVICE,
    PasswordSource,
    Terminal,
    forget,
    get_password,
    keyring_username,
)
from zcomp.exitcodes import CredentialError, ExitCode
from zcomp.zimbra.model import Secret
from zcomp.zimbra.tokens import CachedToken, FileCache, KeyringCache, cache_key
from zcomp.zimbra.urls import admin_url

URL = "https://mail.example.edu:7071"
ADMIN = "admin@example.edu"
REPO = Path(__file__).resolve().parents[2]


def settings(**flags: object) -> Settings:
    env = {"ZCOMP_STATE_DIR": os.environ["ZCOMP_STATE_DIR"]}
    return load_settings(CliValues(url=URL, admin=ADMIN, **flags), env)  # type: ignore[arg-type]


class Recorder:
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.prompts: list[str] = []

    def source(
        self, env: dict[str, str] | None = None, tty: bool = False, typed: str = ""
    ) -> PasswordSource:
        def read_secret(prompt: str) -> str:
            self.prompts.append(prompt)
            return typed

        return PasswordSource(
            env=env or {},
            note=self.notes.append,
            warn=self.warnings.append,
            terminal=Terminal(is_interactive=lambda: tty, read_secret=read_secret),
        )


def test_password_file_strips_one_newline_and_warns_when_readable(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text(" s3cret \n\n")
    path.chmod(0o644)
    rec = Recorder()
    secret = get_password(settings(password_file=path), rec.source({"ZCOMP_PASSWORD": "env"}))
    assert secret == Secret(" s3cret \n")
    assert len(rec.warnings) == 1 and "readable by others" in rec.warnings[0]
    assert "s3cret" not in rec.warnings[0]
    path.chmod(0o600)
    rec = Recorder()
    assert get_password(settings(password_file=path), rec.source()).reveal() == " s3cret \n"
    assert rec.warnings == []


def test_password_file_saved_by_a_windows_editor_loses_its_bom(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_bytes(b"\xef\xbb\xbfs3cret\r\n")  # Notepad's UTF-8: a BOM, then CRLF
    path.chmod(0o600)
    assert get_password(settings(password_file=path), Recorder().source()).reveal() == "s3cret"


def test_password_file_problems_exit_3(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="cannot read password file") as caught:
        get_password(settings(password_file=tmp_path / "missing"), Recorder().source())
    assert caught.value.exit_code == ExitCode.AUTH
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(CredentialError, match="is empty"):
        get_password(settings(password_file=empty), Recorder().source())


def test_env_then_keyring(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password(KEYRING_SERVICE, keyring_username(ADMIN, URL), "from-keyring")
    assert get_password(settings(), Recorder().source({"ZCOMP_PASSWORD": "e"})).reveal() == "e"
    assert get_password(settings(), Recorder().source()).reveal() == "from-keyring"


def test_keyring_false_never_reads_keyring(memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    memory_keyring.set_password(KEYRING_SERVICE, keyring_username(ADMIN, URL), "stored")
    config = tmp_path / "c.toml"
    config.write_text("keyring = false\n")
    no_keyring_settings = load_settings(CliValues(config=config, url=URL, admin=ADMIN), {})
    with pytest.raises(CredentialError) as caught:
        get_password(no_keyring_settings, Recorder().source())
    assert "zcomp login" not in str(caught.value)


def test_prompt_only_on_a_terminal() -> None:
    rec = Recorder()
    secret = get_password(settings(), rec.source(tty=True, typed="typed"))
    assert secret.reveal() == "typed"
    assert rec.prompts == [f"Password for {ADMIN} at {URL}: "]


def test_no_source_off_terminal_names_the_ways() -> None:
    with pytest.raises(CredentialError) as caught:
        get_password(settings(), Recorder().source(tty=False))
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.AUTH
    for way in ("--password-file", "ZCOMP_PASSWORD", "zcomp login"):
        assert way in message


@pytest.mark.usefixtures("no_keyring")
def test_headless_keyring_one_note_then_other_sources() -> None:
    rec = Recorder()
    source = rec.source(tty=True, typed="typed")
    assert get_password(settings(), source).reveal() == "typed"
    assert get_password(settings(), source).reveal() == "typed"
    assert len(rec.notes) == 1
    assert rec.notes[0].startswith(
        "OS keyring not available (No recommended backend was available)"
    )
    assert "Error" not in rec.notes[0]  # no internal class names
    assert "\n" not in rec.notes[0] and len(rec.notes[0]) < 160
    with pytest.raises(CredentialError):
        get_password(settings(), rec.source(tty=False))


def seed_tokens(state_dir: Path) -> str:
    """Put a token for ADMIN in both caches the client uses, as the client would."""
    key = cache_key(admin_url(URL), ADMIN)
    entry = CachedToken(Secret("0_abc_00"), expires_ms=2**62)
    FileCache(state_dir).put(key, entry)
    KeyringCache().put(key, entry)
    FileCache(state_dir).put(cache_key(admin_url(URL), "other@example.edu"), entry)
    return key


def test_forget_removes_password_and_tokens(memory_keyring: MemoryKeyring, state_dir: Path) -> None:
    username = keyring_username(ADMIN, URL)
    memory_keyring.set_password(KEYRING_SERVICE, username, "pw")
    key = seed_tokens(state_dir)
    removed = forget(settings())
    assert len(removed) == 3
    assert memory_keyring.entries == {}
    assert FileCache(state_dir).get(key) is None
    # Another admin's cached token is left alone.
    assert FileCache(state_dir).get(cache_key(admin_url(URL), "other@example.edu")) is not None
    assert forget(settings()) == []


@pytest.mark.usefixtures("no_keyring")
def test_forget_without_keyring_still_clears_the_file(state_dir: Path) -> None:
    key = seed_tokens(state_dir)
    removed = forget(settings())
    assert removed == [f"cached auth token from {FileCache(state_dir).path}"]
    assert FileCache(state_dir).get(key) is None


def test_prompt_through_a_real_pty(tmp_path: Path) -> None:
    """getpass on a pseudo-terminal, in a child without a controlling tty (setsid)."""
    script = textwrap.dedent(
        f"""
        from zcomp.config import CliValues, load_settings
        from zcomp.credentials import PasswordSource, get_password
        s = load_settings(CliValues(url={URL!r}, admin={ADMIN!r}, ), {{}})
        secret = get_password(s, PasswordSource(env={{}}))
        open({str(tmp_path / "out")!r}, "w").write(secret.reveal())
        """
    )
    controller, child_side = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "ZCOMP_PASSWORD"}
    env["PYTHONPATH"] = str(REPO)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=child_side,
            stdout=subprocess.DEVNULL,
            stderr=child_side,
            env=env,
            start_new_session=True,
        )
        os.close(child_side)
        child_side = -1
        seen = b""
        while b"Password for" not in seen:
            chunk = os.read(controller, 1024)
            assert chunk, "child closed the terminal before prompting"
            seen += chunk
        os.write(controller, b"pty-secret\n")
        assert proc.wait(timeout=30) == 0
        # Drain what is left so the pty closes cleanly.
        try:
            while os.read(controller, 1024):
                pass
        except OSError:
            pass
    finally:
        if child_side != -1:
            os.close(child_side)
        os.close(controller)
    assert (tmp_path / "out").read_text() == "pty-secret"
    assert b"pty-secret" not in seen  # hidden input: not echoed
