"""What a backend that cannot be asked (email, webhook) remembers having sent, per incident.

An SMTP server or a webhook endpoint gives no way to look a ticket up again, so `find` answers
from a small JSON record, <state_dir>/tickets/<backend>/<key>.json (0600, written atomically by
securefile.write_private). The record is written *before* the first attempt ("sending"), so an
attempt whose outcome is unknown is remembered and retried with the same identity (Message-ID,
Idempotency-Key), and it says "sent" only once the server confirmed it. A lock file per incident
serialises the workers of one host (two workers never both send the first mail).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zcomp.securefile import FILE_MODE, O_NOFOLLOW, make_private_dirs, write_private
from zcomp.tickets.errors import TicketError
from zcomp.tickets.http import TicketUnreachable

try:  # advisory locking serialises the workers of one host (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SENDING = "sending"  # an attempt began; whether the server took it is unknown
FAILED = "failed"  # the last attempt was certainly not accepted
SENT = "sent"  # the server confirmed it
STATES = (SENDING, FAILED, SENT)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(key: str) -> str:
    """`key` as a file name and a Message-ID local part: letters, digits, '.', '_' and '-'
    only (the key is opaque; today's keys pass through unchanged)."""
    return _UNSAFE.sub("-", key).lstrip(".") or "-"


@dataclass
class SentRecord:
    key: str  # idempotency_key(incident_id)
    ref_id: str  # the TicketRef.id handed out (a Message-ID, or the key)
    incident: str  # incident_key(incident_id), for follow-ups
    account: str
    title: str  # the title line: the mail's subject, the webhook's {title}
    started: str  # when the first attempt began (the open mail keeps this Date on a resend)
    state: str = SENDING
    comments: int = 0  # follow-ups the server confirmed
    resolved: bool = False


class SentRecords:
    """The records of one backend, one file per incident."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{safe_name(key)}.json"

    def load(self, key: str) -> SentRecord | None:
        path = self.path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TicketError(f"cannot read {path}: {exc.strerror or exc}") from None
        return _parse(raw, path)

    def save(self, record: SentRecord) -> None:
        path = self.path(record.key)
        data = json.dumps(dataclasses.asdict(record), indent=2, sort_keys=True) + "\n"
        try:
            make_private_dirs(self.directory)
            write_private(path, data.encode("utf-8"))
        except OSError as exc:
            raise TicketError(f"cannot write {path}: {exc.strerror or exc}") from None

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold the incident's lock (a sibling `.lock` file) while deciding and sending."""
        path = self.directory / f"{safe_name(key)}.lock"
        try:
            make_private_dirs(self.directory)
            # Never through a symlink: the lock file is one this backend created itself.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | O_NOFOLLOW, FILE_MODE)
        except OSError as exc:
            raise TicketError(f"cannot lock {path}: {exc.strerror or exc}") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def send_first(
    records: SentRecords,
    key: str,
    new: Callable[[], SentRecord],
    send: Callable[[SentRecord], None],
    *,
    resending: Callable[[SentRecord], None],
) -> SentRecord:
    """The incident's opening message, sent at most once per confirmed success.

    Under the incident's lock: a record that says "sent" is the answer (another worker, or an
    earlier run, sent it). Otherwise the record is saved as "sending" *before* `send` runs, then
    "sent" on success, "failed" when the failure is certain (nothing accepted), and left
    "sending" when the server may have taken it (TicketUnreachable.maybe_applied): the next
    attempt then sends again with the same identity, after `resending(record)` has said so.
    """
    with records.locked(key):
        record = records.load(key)
        if record is not None and record.state == SENT:
            return record
        if record is None:
            record = new()
        elif record.state == SENDING:
            resending(record)
        record.state = SENDING
        records.save(record)
        try:
            send(record)
        except TicketUnreachable as exc:
            if not exc.maybe_applied:
                record.state = FAILED
                records.save(record)
            raise
        except TicketError:
            record.state = FAILED
            records.save(record)
            raise
        record.state = SENT
        records.save(record)
        return record


def _parse(raw: bytes, path: Path) -> SentRecord:
    damaged = f"the local ticket record {path} is damaged"
    try:
        fields = json.loads(raw)
    except ValueError:
        raise TicketError(f"{damaged} (not JSON): move it aside to send the ticket again") from None
    expected = {f.name: f.type for f in dataclasses.fields(SentRecord)}
    if not isinstance(fields, dict) or set(fields) != set(expected):
        raise TicketError(f"{damaged} (unexpected fields): move it aside to send it again")
    for name, kind in expected.items():
        value = fields[name]
        ok = {"str": isinstance(value, str), "int": type(value) is int, "bool": type(value) is bool}
        if not ok.get(str(kind), False):
            raise TicketError(f"{damaged} ({name} is not a {kind}): move it aside")
    record = SentRecord(**fields)
    if record.state not in STATES:
        raise TicketError(f"{damaged} (state {record.state!r}): move it aside")
    return record
