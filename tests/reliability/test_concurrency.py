"""Several zcomp processes on the same accounts at the same moment: one containment each.

Each process talks through its own proxy, whose gate holds its first account lookup until
every process has reached its own (or exited): they then race for real, every run.
"""

from __future__ import annotations

import functools
import random
import socket
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from tests.reliability.harness import (
    Run,
    Started,
    Zcomp,
    assert_contained_once,
    attack_accounts,
    write_list,
)
from tests.reliability.proxy import BEFORE, Gate, Hold, LossyProxy, Seen
from zcomp.sandbox import Sandbox

RESOLVE = "GetAccountRequest"  # the first request that names the account


def _race(sb: Sandbox, hosts: list[Zcomp], argvs: Sequence[tuple[str, ...]]) -> list[Run]:
    """Start one process per host (each through its own proxy), released together."""
    gate = Gate(len(hosts))
    proxies = [LossyProxy(sb.urls[0]).start() for _ in hosts]
    try:
        started: list[Started] = []
        for i, (zc, proxy, args) in enumerate(zip(hosts, proxies, argvs, strict=True)):
            proxy.hooks.append(gate.hook(i, RESOLVE))
            started.append(zc.via(proxy).start(*args, on_exit=[functools.partial(gate.gone, i)]))
        runs = [s.wait() for s in started]
        # The winner at least looked the account up: the gate really held someone.
        assert gate.arrived >= 1, "no process reached the gate"
        return runs
    finally:
        for proxy in proxies:
            proxy.stop()


def _one_contained(runs: list[Run], name: str) -> None:
    results = sorted(r.results().get(name.lower(), "missing") for r in runs)
    print(
        f"\n[reliability] two processes on {name}: {results}, exits {[r.returncode for r in runs]}"
    )
    # Together one containment: the other saw it busy, or found it already contained.
    assert results in (["already-contained", "contained"], ["busy", "contained"]), "\n\n".join(
        map(str, runs)
    )
    for run in runs:
        line = run.by_account()[name.lower()]
        if line["result"] == "busy":
            assert run.returncode == 8, str(run)  # one account, another zcomp is acting on it
            message = str((line.get("error") or {}).get("message", ""))
            others = [str(r.pid) for r in runs if r is not run]
            assert "since" in message and (
                any(pid in message for pid in others) or socket.gethostname() in message
            ), message
        else:
            assert run.returncode == 0, str(run)


def test_two_processes_one_account_one_host(sb: Sandbox, tmp_path: Path) -> None:
    [name] = attack_accounts(sb, 1)
    zc = Zcomp.host(tmp_path, sb.admin_url)
    runs = _race(sb, [zc, zc], [("--json", "lockdown", name)] * 2)
    _one_contained(runs, name)
    assert_contained_once(sb, [name], [zc])


def test_two_processes_one_account_two_hosts_sharing_nothing(sb: Sandbox, tmp_path: Path) -> None:
    [name] = attack_accounts(sb, 1)
    one = Zcomp.host(tmp_path, sb.admin_url, name="host-a")
    two = Zcomp.host(tmp_path, sb.admin_url, name="host-b")
    runs = _race(sb, [one, two], [("--json", "lockdown", name)] * 2)
    _one_contained(runs, name)
    # One incident and one ticket across both journals and both ticket directories.
    assert_contained_once(sb, [name], [one, two])


def test_wait_makes_the_second_process_wait_instead_of_reporting_busy(
    sb: Sandbox, tmp_path: Path
) -> None:
    [name] = attack_accounts(sb, 1)
    zc = Zcomp.host(tmp_path, sb.admin_url)
    with LossyProxy(sb.urls[0]) as first_proxy, LossyProxy(sb.urls[0]) as second_proxy:
        # The first process is frozen just before its containment write: it holds the account.
        hold = Hold("SetPasswordRequest", BEFORE)
        first_proxy.hooks.append(hold)
        first = zc.via(first_proxy).start("--json", "lockdown", name)
        assert hold.reached.wait(timeout=120), "the first process never got to containing"
        seen = Seen(RESOLVE)
        second_proxy.hooks.append(seen)
        second = zc.via(second_proxy).start(
            "--json", "lockdown", name, "--wait", on_exit=[seen.set]
        )
        # Release the first once the second has looked the account up (and so met the holder)
        # or gave up; the timeout only guards a zcomp that waits before any lookup.
        seen.event.wait(timeout=10)
        hold.release()
        runs = [first.wait(), second.wait()]
    assert [r.results().get(name.lower()) for r in runs] == ["contained", "already-contained"], (
        "\n\n".join(map(str, runs))
    )
    assert [r.returncode for r in runs] == [0, 0], "\n\n".join(map(str, runs))
    assert_contained_once(sb, [name], [zc])


def test_eight_processes_on_overlapping_lists(sb: Sandbox, tmp_path: Path) -> None:
    names = attack_accounts(sb, 12)
    rng = random.Random(8)
    lists = [rng.sample(names, 6) for _ in range(8)]
    for name in names:  # every account in at least two lists: they really overlap
        while sum(name in chosen for chosen in lists) < 2:
            chosen = rng.choice([c for c in lists if name not in c])
            chosen.append(name)
    zc = Zcomp.host(tmp_path, sb.admin_url, workers=2)
    argvs = [
        (
            "--json",
            "lockdown",
            "--from",
            str(write_list(tmp_path / f"list{i}.txt", chosen)),
            "--yes",
        )
        for i, chosen in enumerate(lists)
    ]
    runs = _race(sb, [zc] * 8, argvs)
    contained_by: Counter[str] = Counter()
    for run, chosen in zip(runs, lists, strict=True):
        results = run.results()
        assert sorted(results) == sorted(n.lower() for n in chosen), str(run)
        assert set(results.values()) <= {"contained", "already-contained", "busy"}, (
            f"{results}\n{run}"
        )
        contained_by.update(a for a, r in results.items() if r == "contained")
        if "busy" not in results.values():
            assert run.returncode == 0, str(run)
    everything = Counter(r for run in runs for r in run.results().values())
    print(f"\n[reliability] eight processes: {dict(everything)}")
    assert contained_by == Counter(n.lower() for n in names), contained_by
    assert_contained_once(sb, names, [zc])
