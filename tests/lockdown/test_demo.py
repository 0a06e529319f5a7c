"""`zcomp demo` tells the whole story on the built-in sandbox and exits 0."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from click.testing import Result


def test_demo_runs_the_whole_story(invoke: Callable[..., Result], tmp_path: Path) -> None:
    result = invoke("demo", "--keep", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.stderr
    err = result.stderr
    assert "attack replayed on alice@sandbox.test" in err
    # Everything the attack planted is named, the shares and the right included (lockdown
    # then removes them: the story must have shown them planted).
    [replayed] = [line for line in err.splitlines() if line.startswith("attack replayed")]
    assert "/Inbox shared publicly" in replayed
    assert "/Sent shared with payments.desk.2291@freemail.test" in replayed
    assert "sendAs for victor@sandbox.test" in replayed
    assert err.count("refused with service.AUTH_EXPIRED") == 2  # the attacker, on both servers
    assert "What the help desk must do next" in err
    # The reports go to stdout (inspect's findings, then lockdown's result: they are data);
    # the story is on stderr.
    assert result.stdout.startswith("alice@sandbox.test: malicious")
    assert re.search(r"\nalice@sandbox.test: contained \(incident INC-[0-9A-Z]{8}", result.stdout)
    assert "alice@sandbox.test: contained" not in err
    [ticket] = (tmp_path / "demo" / "tickets").iterdir()
    assert "alice@sandbox.test" in ticket.read_text()


def test_demo_json_is_data_only(invoke: Callable[..., Result]) -> None:
    result = invoke("--json", "demo")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["result"] == "malicious" and records[0]["findings"]  # inspect
    assert records[-1]["result"] == "contained"
