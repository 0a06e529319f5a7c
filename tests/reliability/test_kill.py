"""kill -9 in the middle of a 30-account batch, at seeded request numbers, then the same command
again: nothing unknown, nothing twice, every account contained with its ticket linked."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.reliability.harness import (
    CONTAINED,
    Zcomp,
    assert_contained_once,
    attack_accounts,
    audit,
    write_list,
)
from tests.reliability.proxy import AFTER, BEFORE, KillSwitch, LossyProxy
from zcomp.sandbox import Sandbox

BATCH = 30
KILLS_PER_SCENARIO = 2
# Request numbers are drawn from the early part of a run (a run of 30 accounts makes about
# 150 requests), so each kill lands while several accounts are mid-way.
EARLIEST, LATEST = 2, 75


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_at_seeded_moments_then_the_same_command_finishes_the_batch(
    sb: Sandbox, tmp_path: Path, seed: int
) -> None:
    names = attack_accounts(sb, BATCH)
    listing = write_list(tmp_path / "accounts.txt", names)
    args = ("--json", "lockdown", "--from", str(listing), "--yes")
    rng = random.Random(seed)
    with LossyProxy(sb.urls[0]) as proxy:
        zc = Zcomp.host(tmp_path, proxy.admin_url, workers=4)
        moments = []
        for _ in range(KILLS_PER_SCENARIO):
            kill = KillSwitch(n=rng.randint(EARLIEST, LATEST), phase=rng.choice([BEFORE, AFTER]))
            proxy.reset()
            killed = zc.run_killed(proxy, kill, *args)
            assert kill.fired, f"run ended before request {kill.n}\n{killed}"
            # What the killed run did report before dying must be true.
            reported = [n for n in names if n.lower() in killed.results()]
            early = audit(sb, reported, killed)
            assert not early.unknown, "\n".join(early.unknown)
            hit = kill.fired_at
            moments.append(f"#{kill.n} {kill.phase} " + ("+".join(hit.names[:3]) if hit else "-"))
        print(f"\n[reliability] seed {seed}: killed at " + "; ".join(moments))
        proxy.reset()
        final = zc.run(*args)
    assert final.returncode == 0, str(final)
    report = audit(sb, names, final)
    assert not report.unknown, "\n".join(report.unknown)
    assert set(report.results.values()) <= CONTAINED - {"contained-ticket-pending"}, report.results
    # Each killed run may have changed the password of the accounts it was containing.
    assert_contained_once(sb, names, [zc], max_password_changes=1 + KILLS_PER_SCENARIO)
