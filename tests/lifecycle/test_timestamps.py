"""One timestamp format in every output: UTC, ISO 8601, to the second, with a Z.

Each output of a whole incident (lockdown, history, inspect, baseline show, restore's list,
unlock, --json, the ticket, the evidence, the zimbraNotes marker) is scanned for anything
that looks like a date; every one found must be 2026-11-30T05:37:13Z, nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from click.testing import Result

from zcomp.core.baseline import capture_accounts
from zcomp.core.services import Services
from zcomp.journal.timefmt import from_text, to_text
from zcomp.sandbox import Sandbox, replay_attack
from zcomp.timestamps import restamp, stamp, stamp_ms

ALICE = "alice@sandbox.test"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# Anything that looks like a date, with whatever time, fraction and zone follow it.
DATELIKE = re.compile(
    r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)?(?:Z|[+-]\d\d:?\d\d)?"
)


def stamps_in(text: str) -> list[str]:
    found = DATELIKE.findall(text)
    wrong = [token for token in found if not STAMP.match(token)]
    assert not wrong, f"not in the one format: {wrong} in {text[:2000]!r}"
    return found


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def ok(result: Result, *codes: int) -> Result:
    assert result.exit_code in (codes or (0,)), result.stderr
    stamps_in(result.stderr)
    return result


def test_every_output_shows_one_timestamp_format(
    sandbox: Sandbox,
    no_wait: Services,
    zcomp: Callable[..., Result],
    state_dir: Path,
    tmp_path: Path,
) -> None:
    assert capture_accounts(no_wait, [ALICE]).captured == 1
    replay_attack(sandbox, ALICE)
    locked = ok(zcomp("lockdown", ALICE))
    stamps_in(locked.stdout)
    incident = json.loads(ok(zcomp("--json", "history", ALICE)).stdout)["incident"]

    shown: dict[str, list[str]] = {}  # what was found where: every place has its stamps
    shown["history"] = stamps_in(ok(zcomp("history", ALICE)).stdout)
    history_json = json.loads(ok(zcomp("history", ALICE, "--json")).stdout)
    shown["history --json"] = [s for v in strings(history_json) for s in stamps_in(v)]
    assert STAMP.match(history_json["started_at"]) and STAMP.match(history_json["actions"][0]["at"])
    inspected = json.loads(ok(zcomp("inspect", ALICE, "--json"), 0, 1).stdout)
    shown["inspect --json"] = [s for v in strings(inspected) for s in stamps_in(v)]
    assert STAMP.match(inspected["open_incident"]["started_at"])
    assert STAMP.match(inspected["baseline"])
    shown["inspect"] = stamps_in(ok(zcomp("inspect", ALICE), 0, 1).stdout)
    shown["baseline show"] = stamps_in(ok(zcomp("baseline", "show", ALICE)).stdout)
    baseline = json.loads(ok(zcomp("baseline", "show", ALICE, "--json")).stdout)
    assert STAMP.match(baseline["captured_at"])
    shown["restore"] = stamps_in(ok(zcomp("restore", str(incident))).stdout)
    restorable = ok(zcomp("restore", str(incident), "--json")).stdout.splitlines()
    shown["restore --json"] = [s for line in restorable for s in stamps_in(line)]
    [ticket] = (state_dir / "tickets").iterdir()
    evidence = no_wait.journal.evidence(incident)
    assert evidence is not None
    shown["evidence"] = [s for v in strings(evidence.bundle) for s in stamps_in(v)]

    password = tmp_path / "pw"
    password.write_text("Temp-Handback-2024!\n")
    unlocked = ok(zcomp("unlock", ALICE, "--new-password-file", str(password), minutes=0))
    assert unlocked.stdout.startswith(f"{ALICE}: unlocked (incident {incident}")
    stamps_in(unlocked.stdout)
    shown["ticket"] = stamps_in(ticket.read_text())
    shown["zimbraNotes"] = stamps_in(sandbox.account(ALICE).first("zimbraNotes") or "")

    assert all(shown.values()), {where: found for where, found in shown.items() if not found}


def test_the_helper_and_the_journal_format() -> None:
    from datetime import datetime, timedelta, timezone

    moment = datetime(2026, 11, 30, 5, 37, 13, 654321, tzinfo=timezone.utc)
    assert stamp(moment) == "2026-11-30T05:37:13Z"
    assert stamp(moment.astimezone(timezone(timedelta(hours=-5)))) == "2026-11-30T05:37:13Z"
    assert stamp(moment.replace(tzinfo=None)) == "2026-11-30T05:37:13Z"  # naive: UTC
    assert stamp_ms(1796017033000) == "2026-11-30T05:37:13Z"
    assert restamp("20261130053713Z") == "2026-11-30T05:37:13Z"  # Zimbra's generalized time
    assert restamp("20261130053713.654Z") == "2026-11-30T05:37:13Z"
    assert restamp("2026-11-30T00:37:13.654321-05:00") == "2026-11-30T05:37:13Z"
    assert restamp("2026-11-30T05:37:13Z") == "2026-11-30T05:37:13Z"
    assert restamp("not a time") == "not a time"
    # The journal's stored format is its own, and unchanged.
    assert to_text(moment) == "2026-11-30T05:37:13.654321Z"
    assert from_text(to_text(moment)) == moment
