"""A reader that goes away (`| head -1`), a ticket desk that fails and recovers, and a reason
that carries a password: none of them may leave an account half-done or a ticket twice."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from tests.reliability.harness import (
    TruthReader,
    Zcomp,
    account_state,
    assert_contained_once,
    attack_accounts,
    incidents_by_account,
    ticket_files,
)
from zcomp.sandbox import Sandbox


def _piped(zc: Zcomp, *args: str) -> tuple[int, str, str]:
    """`zcomp ARGS | head -1` in a real shell; zcomp's own exit status, head's output."""
    script = shlex.join(zc.argv(*args)) + ' | head -1; exit "${PIPESTATUS[0]}"'
    done = subprocess.run(
        ["bash", "-c", script],
        env=zc.env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,  # hang guard only
    )
    return done.returncode, done.stdout, done.stderr


def test_lockdown_piped_into_head_leaves_the_account_locked_and_cleaned(
    sb: Sandbox, host: Zcomp
) -> None:
    human, single, *batch = attack_accounts(sb, 5)
    for args in (("lockdown", human), ("--json", "lockdown", single)):
        status, out, err = _piped(host, *args)
        truth = account_state(sb, args[-1])
        assert truth.contained, f"{truth.describe()}\nexit {status}\n{err}"
        assert status == 0, err
    assert json.loads(out)["result"] == "contained"

    # A batch: head leaves after the first line, while other accounts are still being done.
    _piped(host, "--json", "lockdown", *batch, "--yes")
    incidents = incidents_by_account(host.incidents())
    assert [i.state for i in incidents[human.lower()]] == ["contained"]
    assert [i.state for i in incidents[single.lower()]] == ["contained"]
    reader = TruthReader(sb)
    for name in batch:
        truth = reader.read(name)
        found = incidents.get(name.lower(), [])
        if truth.status == "active" and len(truth.planted) == 6 and not found:
            continue  # never started: untouched, and the journal says nothing
        assert truth.contained, truth.describe()
        assert [i.state for i in found] == ["contained"], (name, found)


def test_a_failing_ticket_desk_then_ticket_retry_files_each_ticket_once(
    sb: Sandbox, tmp_path: Path
) -> None:
    first, second = attack_accounts(sb, 2)
    desk = tmp_path / "desk"
    zc = Zcomp.host(
        tmp_path, sb.admin_url, config=f"[tickets.file]\ndirectory = {json.dumps(str(desk))}\n"
    )
    # Root ignores file modes, so a mode cannot break the desk: a file where its directory goes.
    desk.write_text("not a directory\n")
    run = zc.run("--json", "lockdown", first, second, "--yes")
    assert run.returncode == 7, str(run)  # all contained, tickets pending
    for name in (first, second):
        line = run.by_account()[name.lower()]
        assert (line["result"], line["ticket"]) == ("contained-ticket-pending", None), line
    incidents = {i.account_name.lower(): i for i in zc.incidents()}
    assert [incidents[n.lower()].ticket_id for n in (first, second)] == [None, None]
    for name in (first, second):
        assert account_state(sb, name).contained

    desk.unlink()  # the desk is back
    one = incidents[first.lower()]
    retry = zc.run("--json", "ticket", "retry", one.key)
    assert retry.returncode == 0, str(retry)
    assert set(ticket_files(desk)) == {one.key}
    linked = {i.account_name.lower(): i.ticket_id for i in zc.incidents()}
    assert linked == {first.lower(): one.key, second.lower(): None}

    retry = zc.run("--json", "ticket", "retry")  # every pending one
    assert retry.returncode == 0, str(retry)
    tickets = ticket_files(desk)
    assert set(tickets) == {i.key for i in incidents.values()}
    assert all(first in p.read_text() or second in p.read_text() for p in tickets.values())
    contents = {n: p.read_bytes() for n, p in tickets.items()}

    retry = zc.run("--json", "ticket", "retry")  # nothing pending: nothing new
    assert retry.returncode == 0, str(retry)
    assert {n: p.read_bytes() for n, p in ticket_files(desk).items()} == contents
    again = zc.run("--json", "lockdown", first, second, "--yes")
    assert set(again.results().values()) == {"already-contained"}, str(again)
    assert {n: p.read_bytes() for n, p in ticket_files(desk).items()} == contents
    for incident in zc.incidents():
        assert incident.ticket_id == incident.key, incident


def test_a_password_in_the_reason_blocks_nothing_and_stays_out_of_the_ticket(
    sb: Sandbox, host: Zcomp
) -> None:
    [name] = attack_accounts(sb, 1)
    reason = "owner typed password: hunter2 into the phishing page"
    run = host.run("--json", "lockdown", name, "--reason", reason)
    assert run.returncode == 0, str(run)
    line = run.by_account()[name.lower()]
    assert line["result"] == "contained" and line["ticket"] is not None, line
    [ticket] = host.tickets().values()
    assert "hunter2" not in ticket.read_text()
    assert_contained_once(sb, [name], [host])
