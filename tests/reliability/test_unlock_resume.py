"""Unlock killed at each of its requests, then the same command again: it finishes, and the
owner's temporary password is set once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.rawjson import user_login
from tests.reliability.harness import (
    Run,
    TruthReader,
    Zcomp,
    attack_accounts,
    held_messages,
    incidents_by_account,
    password_changes,
    write_list,
)
from tests.reliability.proxy import AFTER, BEFORE, KillSwitch, LossyProxy
from zcomp.sandbox import Sandbox
from zcomp.tickets.file_backend import RESOLVED_HEADING

TEMP = "Temp-Handback-2024!"


def _unlock_args(name: str, password_file: Path) -> tuple[str, ...]:
    return (
        "--json",
        "unlock",
        name,
        "--force",
        "--new-password-file",
        str(password_file),
        "--release-held",
    )


def _killed_then_resumed(
    sb: Sandbox, host: Zcomp, name: str, n: int, phase: str, password_file: Path
) -> Run:
    """Unlock killed at request n (its own proxy numbers its requests), then run again."""
    with LossyProxy(sb.urls[0]) as proxy:
        zc = host.via(proxy)
        kill = KillSwitch(n=n, phase=phase)
        killed = zc.run_killed(proxy, kill, *_unlock_args(name, password_file))
        assert kill.fired, f"{name}: unlock ended before request {n}\n{killed}"
        proxy.reset()
        return zc.run(*_unlock_args(name, password_file))


def test_unlock_killed_at_each_step_then_resumed(sb: Sandbox, tmp_path: Path) -> None:
    password_file = tmp_path / "temporary-password"
    password_file.write_text(TEMP + "\n")
    zc = Zcomp.host(tmp_path, sb.admin_url)
    # One clean unlock through the proxy tells how many requests an unlock makes.
    [probe] = attack_accounts(sb, 1, prefix="probe")
    assert zc.run("--json", "lockdown", probe).returncode == 0
    with LossyProxy(sb.urls[0]) as proxy:
        measured = zc.via(proxy).run(*_unlock_args(probe, password_file))
    assert measured.returncode == 0, str(measured)
    steps = [(e.n, "+".join(e.names[:3])) for e in proxy.log()]
    print(f"\n[reliability] unlock requests: {steps}")
    moments = [(n, phase) for n, _ in steps for phase in (BEFORE, AFTER)]

    names = attack_accounts(sb, len(moments))
    listing = write_list(tmp_path / "accounts.txt", names)
    assert zc.run("--json", "lockdown", "--from", str(listing), "--yes").returncode == 0
    held = {n: held_messages(sb, n) for n in names}
    assert all(held.values()), held
    # One account per moment, several at once: each has its own proxy and request numbers.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(_killed_then_resumed, sb, zc, name, n, phase, password_file)
            for name, (n, phase) in zip(names, moments, strict=True)
        }
        resumed = {name: future.result() for name, future in futures.items()}

    incidents = incidents_by_account(zc.incidents())
    tickets = zc.tickets()
    reader = TruthReader(sb)
    problems = []
    for name, (n, phase) in zip(names, moments, strict=True):
        where = f"{name} (killed at request {n} {phase})"
        run = resumed[name]
        line = run.by_account().get(name.lower(), {})
        if run.returncode != 0 or line.get("result") != "unlocked":
            problems.append(f"{where}: resumed run {line.get('result')!r}\n{run}")
            continue
        if "recently used" in (run.stdout + run.stderr).lower():
            problems.append(f"{where}: the password was refused as recently used")
        truth = reader.read(name)
        if truth.status != "active" or not truth.clean or not truth.must_change:
            problems.append(f"{where}: {truth.describe()}, must change {truth.must_change}")
        [incident] = incidents[name.lower()]
        if incident.state != "closed" or incident.closed_how != "unlocked":
            problems.append(f"{where}: incident {incident.key} {incident.state}")
        text = tickets[incident.key].read_text()
        resolutions = sum(row.startswith(RESOLVED_HEADING) for row in text.splitlines())
        if resolutions != 1:
            problems.append(f"{where}: ticket resolved {resolutions} times")
        # Lockdown's random password, then the owner's temporary one: once.
        if password_changes(sb, name) != 2:
            problems.append(f"{where}: password set {password_changes(sb, name)} times")
        if user_login(sb.urls[0], name, TEMP) != "account.CHANGE_PASSWORD":
            problems.append(f"{where}: the temporary password is not the one in effect")
        if held_messages(sb, name) or not held_messages(sb, name, "deferred"):
            problems.append(f"{where}: held mail not released")
    assert not problems, "\n".join(problems)


def test_release_held_on_an_account_zcomp_already_unlocked(sb: Sandbox, host: Zcomp) -> None:
    [name] = attack_accounts(sb, 1)
    assert host.run("--json", "lockdown", name).returncode == 0
    password_file = host.state_dir.parent / "temporary-password"
    password_file.write_text(TEMP)
    unlocked = host.run(
        "--json", "unlock", name, "--force", "--new-password-file", str(password_file)
    )
    assert unlocked.returncode == 0, str(unlocked)
    assert held_messages(sb, name) >= 1  # kept on hold (neither --release-held nor --delete-held)
    changes = password_changes(sb, name)

    release = host.run("--json", "unlock", name, "--release-held")
    assert release.returncode == 0, str(release)
    assert held_messages(sb, name) == 0
    assert held_messages(sb, name, "deferred") >= 1  # released for delivery, not deleted
    assert password_changes(sb, name) == changes
    assert TruthReader(sb).read(name).status == "active"
