"""`zcomp guard serve` behind a real Postfix (Debian's postfix, a private instance).

Run by `make test-integration`, which starts Postfix with tests/integration/postfix/start.sh
(smtpd_milters = the guard's port, milter_default_action = accept, relayhost = a local sink)
and passes its ports in ZCOMP_POSTFIX_* variables. Without them every test FAILS: a missing
Postfix is an error to see, never a skip. The guard runs as a subprocess (`python -m zcomp
guard serve`), reading contained accounts from the sandbox over HTTP.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.watch.helpers import ALICE, BOB, CAROL, close_services, make_services
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.outcome import Result
from zcomp.sandbox import Sandbox

# Read at import: the autouse isolation fixture removes ZCOMP_* variables before each test.
NAMES = (
    "ZCOMP_POSTFIX_CONFIG",
    "ZCOMP_POSTFIX_SMTP_PORT",
    "ZCOMP_POSTFIX_SINK_PORT",
    "ZCOMP_POSTFIX_GUARD_PORT",
    "ZCOMP_POSTFIX_LOG",
)
ENV = {name: os.environ.get(name, "") for name in NAMES}
MISSING = [name for name, value in ENV.items() if not value]
STANDARD = "Zimbra 8.8.15_GA_4308 (zclient/8.8.15_GA_4308)"
AJAX = "Zimbra 10.0.6_GA_4585 (ZimbraWebClient - GC121 (Win)/10.0.6_GA_4585)"


@pytest.fixture(autouse=True)
def _postfix_is_running() -> None:
    if MISSING:
        pytest.fail(
            f"{', '.join(MISSING)} not set: run through tests/integration/postfix/run.sh "
            "(make test-integration), which starts a private Postfix"
        )


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


# ---------------------------------------------------------------- the sink and the guard


class Sink:
    """The relayhost: a real SMTP server keeping what Postfix delivers."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def delivered(self, message_id: str) -> set[str] | None:
        """Every recipient the message reached (Postfix splits big envelopes into several
        deliveries: default_destination_recipient_limit)."""
        with self.lock:
            got = {
                rcpt
                for _sender, rcpts, content in self.received
                if message_id.encode() in content
                for rcpt in rcpts
            }
        return got or None


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    handler = Sink()
    controller = Controller(
        handler, hostname="127.0.0.1", port=int(ENV["ZCOMP_POSTFIX_SINK_PORT"] or 0)
    )
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


class GuardProcess:
    def __init__(self, sandbox: Sandbox, state: Path, config: Path) -> None:
        env = {
            **os.environ,
            "ZCOMP_URL": sandbox.admin_url,
            "ZCOMP_ADMIN": "admin@sandbox.test",
            "ZCOMP_PASSWORD": "sandbox",
            "ZCOMP_STATE_DIR": str(state),
            "ZCOMP_CONFIG": str(config),
        }
        listen = f"inet:127.0.0.1:{ENV['ZCOMP_POSTFIX_GUARD_PORT']}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zcomp", "guard", "serve", "--listen", listen],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_for(
            lambda: any("listening on" in line for line in self.lines) or self.proc.poll(),
            30,
            "the guard to listen",
        )
        assert self.proc.poll() is None, "".join(self.lines)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self._done(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self._done(30)

    def _done(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code


@pytest.fixture
def start_guard(
    sandbox: Sandbox, tmp_path: Path, sink: Sink
) -> Iterator[Callable[[], GuardProcess]]:
    config = tmp_path / "config.toml"
    config.write_text(
        'keyring = false\ntoken_cache = "off"\n[guard]\ncontained_ttl_s = 1\n'
        "contained_max_age_s = 30\n"
    )
    made: list[GuardProcess] = []

    def start() -> GuardProcess:
        guard = GuardProcess(sandbox, tmp_path / "state", config)
        made.append(guard)
        return guard

    yield start
    for guard in made:
        code = guard.stop()
        assert code in (0, -signal.SIGKILL), "".join(guard.lines)
    _postfix("postsuper", "-d", "ALL")  # the next test starts with empty queues


# ---------------------------------------------------------------- Postfix


def _postfix(command: str, *args: str) -> str:
    done = subprocess.run(
        [command, "-c", ENV["ZCOMP_POSTFIX_CONFIG"], *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{command} {args}: {done.stderr}"
    return done.stdout


def queued() -> dict[str, dict[str, Any]]:
    """postqueue -j: queue id -> its record (queue_name: hold, deferred, active...)."""
    return {
        entry["queue_id"]: entry
        for entry in map(json.loads, _postfix("postqueue", "-j").splitlines())
    }


def send(sender: str, recipients: int, *, mailer: str | None = None) -> tuple[str, str]:
    """One message through Postfix's smtpd: (queue id, Message-ID)."""
    msg = EmailMessage()
    message_id = f"<{time.monotonic_ns()}@zcomp.test>"
    msg["From"], msg["To"], msg["Subject"] = sender, "undisclosed-recipients:;", "Invoice"
    msg["Message-ID"] = message_id
    if mailer:
        msg["X-Mailer"] = mailer
    msg.set_content("Please see the attached invoice.\n")
    rcpts = [f"victim{i}@example.net" for i in range(recipients)]
    with smtplib.SMTP("127.0.0.1", int(ENV["ZCOMP_POSTFIX_SMTP_PORT"]), timeout=60) as smtp:
        smtp.ehlo("mailbox1.zcomp.test")
        code, _ = smtp.mail(sender)
        assert code == 250
        for rcpt in rcpts:
            assert smtp.rcpt(rcpt)[0] == 250
        code, reply = smtp.data(msg.as_bytes())
    assert code == 250, reply
    queue_id = reply.decode().rsplit(" ", 1)[-1]  # "2.0.0 Ok: queued as 4XyZ..."
    return queue_id, message_id


def held(queue_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = wait_for(
        lambda: (e := queued().get(queue_id)) and e["queue_name"] == "hold" and e,
        30,
        f"{queue_id} in the hold queue",
    )
    return entry


def delivered(sink: Sink, message_id: str, count: int) -> set[str]:
    rcpts: set[str] = wait_for(
        lambda: len(got := sink.delivered(message_id) or set()) >= count and got,
        60,
        f"{message_id} at the sink for {count} recipient(s)",
    )
    return rcpts


# ---------------------------------------------------------------- the tests


def test_51_from_the_standard_client_land_in_the_hold_queue_with_the_reason(
    start_guard: Callable[[], GuardProcess], sink: Sink
) -> None:
    guard = start_guard()
    queue_id, message_id = send(ALICE, 51, mailer=STANDARD)
    entry = held(queue_id)
    assert entry["sender"] == ALICE and len(entry["recipients"]) == 51
    headers = _postfix("postcat", "-hq", queue_id)
    assert "X-Zcomp-Guard: held (bulk): 51 recipients from the standard client" in headers
    maillog = Path(ENV["ZCOMP_POSTFIX_LOG"]).read_text()
    # Postfix logs the hold but not the milter's reason: the header above is where it lives.
    assert f"{queue_id}: milter-hold: END-OF-MESSAGE" in maillog
    assert "milter triggers HOLD action" in maillog
    assert sink.delivered(message_id) is None
    assert any(f"held {queue_id} from {ALICE}" in line for line in guard.lines)


def test_50_recipients_or_51_from_the_ajax_client_are_delivered(
    start_guard: Callable[[], GuardProcess], sink: Sink
) -> None:
    start_guard()
    _fifty, fifty_id = send(ALICE, 50, mailer=STANDARD)
    _ajax, ajax_id = send(ALICE, 51, mailer=AJAX)
    assert len(delivered(sink, fifty_id, 50)) == 50
    assert len(delivered(sink, ajax_id, 51)) == 51
    assert not any(e["queue_name"] == "hold" for e in queued().values())


def test_a_contained_accounts_envelope_sender_is_held(
    start_guard: Callable[[], GuardProcess], sandbox: Sandbox, tmp_path: Path, sink: Sink
) -> None:
    env = make_services(sandbox.admin_url, tmp_path / "admin")
    try:
        outcome = lockdown_account(env, BOB, LockdownOptions(reason="phished"))
        assert outcome.result == Result.CONTAINED, outcome
    finally:
        close_services(env)
    start_guard()  # reads the contained accounts before it serves
    queue_id, _ = send(BOB, 1)
    held(queue_id)
    headers = _postfix("postcat", "-hq", queue_id)
    assert "X-Zcomp-Guard: held (contained)" in headers
    _other, other_id = send(CAROL, 1)
    delivered(sink, other_id, 1)


def test_a_killed_milter_lets_mail_through(
    start_guard: Callable[[], GuardProcess], sink: Sink
) -> None:
    guard = start_guard()
    guard.kill()
    _queue_id, message_id = send(ALICE, 51, mailer=STANDARD)  # would be held by a live guard
    assert len(delivered(sink, message_id, 51)) == 51
    maillog = Path(ENV["ZCOMP_POSTFIX_LOG"]).read_text()
    assert "connect to Milter service" in maillog
