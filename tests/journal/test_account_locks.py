"""One actor per account on one journal, and pending ticket operations that are never lost."""

from __future__ import annotations

import os

from zcomp.journal import Journal


def _alive(pid: int) -> bool:
    return pid == os.getpid()


def test_two_threads_of_one_process_are_two_actors(journal: Journal) -> None:
    pid = os.getpid()
    assert journal.acquire_account("id-1", holder="a [t1]", host="h", pid=pid, alive=_alive) is None
    other = journal.acquire_account("id-1", holder="a [t2]", host="h", pid=pid, alive=_alive)
    assert other is not None and other.holder == "a [t1]" and other.pid == pid
    # Only the holder releases it.
    journal.release_account("id-1", holder="a [t2]", host="h", pid=pid)
    assert journal.acquire_account("id-1", holder="a [t2]", host="h", pid=pid, alive=_alive)
    journal.release_account("id-1", holder="a [t1]", host="h", pid=pid)
    assert journal.acquire_account("id-1", holder="a [t2]", host="h", pid=pid, alive=_alive) is None


def test_a_killed_holder_on_this_host_is_replaced(journal: Journal) -> None:
    assert journal.acquire_account("id-1", holder="x", host="h", pid=999999, alive=_alive) is None
    # pid 999999 is not alive here: its row is taken over.
    assert (
        journal.acquire_account("id-1", holder="y", host="h", pid=os.getpid(), alive=_alive) is None
    )


def test_a_holder_on_another_host_is_never_judged_by_its_pid(journal: Journal) -> None:
    assert journal.acquire_account("id-1", holder="x", host="other", pid=1, alive=_alive) is None
    held = journal.acquire_account("id-1", holder="y", host="h", pid=os.getpid(), alive=_alive)
    assert held is not None and held.host == "other"


def test_linking_a_ticket_clears_only_the_operation_that_was_done(journal: Journal) -> None:
    incident = journal.start_incident("id-1", "a@x", reason="r", operator="o")
    first = {"op": "open", "content": {"title": "t"}}
    journal.set_ticket_pending(incident.id, first)
    # Meanwhile an unlock queued its comment and resolution.
    second = {"op": "comment", "text": "unlocked", "resolve": "closed"}
    journal.set_ticket_pending(incident.id, second)

    journal.set_ticket(incident.id, "file", "INC000001", done=first)

    after = journal.incident(incident.id)
    assert after.ticket_id == "INC000001" and after.ticket_pending == second
    journal.set_ticket(incident.id, "file", "INC000001", done=second)
    assert journal.incident(incident.id).ticket_pending is None
    assert journal.pending_tickets() == []
