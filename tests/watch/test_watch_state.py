"""The watch state file: episodes survive a restart, stay bounded, never silently vanish."""

from __future__ import annotations

from pathlib import Path

from zcomp.core.watch_state import WatchState, episode_key


def test_episodes_round_trip_and_quiet_time_pauses_while_stopped(tmp_path: Path) -> None:
    state = WatchState.load(tmp_path, 1000.0)
    ep = state.start("Alice@Sandbox.test", 1000.0, 2.5)
    ep.under_since = 1500.0
    state.save(1600.0)
    assert (tmp_path / "watch-state.json").stat().st_mode & 0o777 == 0o600

    again = WatchState.load(tmp_path, 1600.0 + 7200)
    loaded = again.active("alice@sandbox.test")
    assert loaded is not None and loaded.key == ep.key and loaded.peak == 2.5
    assert loaded.under_since == 1500.0 + 7200  # the two hours nobody watched do not count


def test_the_key_is_stable_and_safe(tmp_path: Path) -> None:
    key = episode_key("alice@sandbox.test", 1714564800.0)
    assert key == episode_key("ALICE@sandbox.test", 1714564800.0)
    assert key.startswith("WATCH-20240501T120000-") and key.replace("-", "").isalnum()


def test_prune_keeps_the_file_bounded(tmp_path: Path) -> None:
    state = WatchState.load(tmp_path, 0.0)
    for i in range(20):
        state.start(f"user{i}@x.test", float(i), 1.0)
    for i in range(10):
        state.end(f"user{i}@x.test", 100.0 + i, "quiet")
    assert state.prune(200.0, keep_ended_s=95.0, max_entries=100) == 5  # ended before 105
    assert state.prune(200.0, keep_ended_s=1e9, max_entries=12) == 3  # ended ones go first
    assert len(state.episodes) == 12
    assert sum(ep.active for ep in state.episodes.values()) == 10
