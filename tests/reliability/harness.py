"""The reliability suite's tools: attacked sandboxes, zcomp as a real subprocess, and readers of
the truth (the account over raw SOAP, the journal, the ticket files, the sandbox's write log).

Nothing here imports zcomp's client or playbooks: zcomp runs as `python -m zcomp` and is judged
by what it leaves behind, read independently.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.rawjson import admin_token, call
from tests.reliability.proxy import Exchange, KillSwitch, LossyProxy
from zcomp.journal import Incident, Journal, JournalError
from zcomp.journal.model import Run as JournalRun
from zcomp.sandbox import Sandbox, bulk_password, replay_attack
from zcomp.sandbox.attack import FREEMAIL, RULE_DISCARD, RULE_REDIRECT, SPAM_SIGNATURE

ADMIN = "admin@sandbox.test"
ADMIN_PASSWORD = "sandbox"
# A liveness guard, not a performance assertion: a zcomp that hangs fails the test with a
# message instead of hanging `make test` forever.
HANG_GUARD_S = 600.0

CONTAINED = frozenset({"contained", "already-contained", "contained-ticket-pending"})
LOCKED_NOT_CLEANED = "locked-not-cleaned"
KNOWN_RESULTS = CONTAINED | {
    LOCKED_NOT_CLEANED,
    "busy",
    "not-started",
    "stopped",
    "failed",
    "skipped",
}
_TICKET_FILE = re.compile(r"zcomp-(INC-[0-9A-Z]{8}|INC\d{6,})\.md")


# ---------------------------------------------------------------- the sandbox side


def set_fault_rate(sb: Sandbox, rate: float) -> None:
    """Change --fault-rate on a running sandbox. The attack is replayed without faults (it is
    the setting, not the subject), zcomp then runs with them, and the truth is read without."""
    for http in sb._http:
        http.fault_rate = rate


def attack_accounts(sb: Sandbox, n: int, prefix: str = "user") -> list[str]:
    """n bulk accounts, each phished: forwarding, redirect + discard rules, spam signature,
    freemail From/Reply-To, and an 80-Bcc message queued."""
    names = sb.add_accounts(n, prefix=prefix)
    for name in names:
        replay_attack(sb, name, bulk_password(prefix))
    return names


def password_changes(sb: Sandbox, name: str) -> int:
    """SetPassword writes the sandbox applied to the account (lost replies included)."""
    target = name.lower()
    return sum(
        1 for w in sb.stats.writes if w.request == "SetPasswordRequest" and w.target == target
    )


def held_messages(sb: Sandbox, name: str, queue: str = "hold") -> int:
    return sum(
        1
        for i in range(len(sb.urls))
        for m in sb.mta(i).messages(queue)
        if m.sender.lower() == name.lower()
    )


@dataclass(frozen=True)
class AccountTruth:
    """What the account really is, read over raw SOAP (not through zcomp)."""

    name: str
    id: str
    status: str
    forwarding: tuple[str, ...]
    local_delivery_disabled: bool
    planted_rules: tuple[str, ...]
    spam_signatures: tuple[str, ...]
    bad_identities: tuple[str, ...]
    must_change: bool
    notes: str

    @property
    def planted(self) -> list[str]:
        """What the attacker left that is still there."""
        left = [f"forwarding to {a}" for a in self.forwarding]
        if self.local_delivery_disabled:
            left.append("local delivery disabled")
        left += [f"rule {r!r}" for r in self.planted_rules]
        left += [f"signature {s!r}" for s in self.spam_signatures]
        left += [f"identity {i!r}" for i in self.bad_identities]
        return left

    @property
    def locked(self) -> bool:
        return self.status == "locked"

    @property
    def clean(self) -> bool:
        return not self.planted

    @property
    def contained(self) -> bool:
        return self.locked and self.clean

    def describe(self) -> str:
        return f"{self.name}: {self.status}, " + (", ".join(self.planted) or "clean")


class TruthReader:
    """One admin login, then GetAccount + the user-side reads for any number of accounts."""

    def __init__(self, sb: Sandbox) -> None:
        self.url = sb.urls[0]
        self.token = admin_token(self.url, ADMIN_PASSWORD)

    def _call(self, name: str, ns: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
        reply = call(self.url, name, ns, body, token=self.token, admin=True, **kw)
        assert not isinstance(reply, str), f"{name}: {reply}"
        return reply

    def read(self, name: str) -> AccountTruth:
        got = self._call(
            "GetAccountRequest", "urn:zimbraAdmin", {"account": {"by": "name", "_content": name}}
        )["account"][0]
        attrs: dict[str, list[str]] = {}
        for a in got.get("a", []):
            attrs.setdefault(a["n"], []).append(a.get("_content", ""))
        aid = str(got["id"])
        holder = self._call("GetFilterRulesRequest", "urn:zimbraMail", account_id=aid).get(
            "filterRules"
        ) or [{}]
        rules = holder[0].get("filterRule", [])
        sigs = self._call("GetSignaturesRequest", "urn:zimbraAccount", account_id=aid).get(
            "signature", []
        )
        idents = self._call("GetIdentitiesRequest", "urn:zimbraAccount", account_id=aid).get(
            "identity", []
        )
        return AccountTruth(
            name=str(got["name"]),
            id=aid,
            status=(attrs.get("zimbraAccountStatus") or ["?"])[0],
            forwarding=tuple(
                v for v in attrs.get("zimbraPrefMailForwardingAddress", []) if FREEMAIL in v
            ),
            local_delivery_disabled=(attrs.get("zimbraPrefMailLocalDeliveryDisabled") or ["FALSE"])[
                0
            ].upper()
            == "TRUE",
            planted_rules=tuple(
                str(r.get("name"))
                for r in rules
                if r.get("name") in (RULE_REDIRECT, RULE_DISCARD) or FREEMAIL in json.dumps(r)
            ),
            spam_signatures=tuple(
                str(s.get("name")) for s in sigs if SPAM_SIGNATURE in json.dumps(s)
            ),
            bad_identities=tuple(
                str(i.get("name"))
                for i in idents
                if FREEMAIL in json.dumps(i) or SPAM_SIGNATURE in json.dumps(i)
            ),
            must_change=(attrs.get("zimbraPasswordMustChange") or ["FALSE"])[0].upper() == "TRUE",
            notes="\n".join(attrs.get("zimbraNotes", [])),
        )

    def read_all(self, names: Iterable[str]) -> dict[str, AccountTruth]:
        return {name: self.read(name) for name in names}


def account_state(sb: Sandbox, name: str) -> AccountTruth:
    return TruthReader(sb).read(name)


# ---------------------------------------------------------------- zcomp as a subprocess


@dataclass(repr=False)
class Run:
    """One finished zcomp process."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    killed_at: Exchange | None = None
    pid: int = 0

    @property
    def lines(self) -> list[dict[str, Any]]:
        """The JSON lines on stdout. A killed process may leave half a line: not counted."""
        complete = self.stdout.split("\n")[:-1] if self.killed_at else self.stdout.splitlines()
        out = []
        for line in complete:
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"stdout line is not JSON: {line!r}\n{self}") from None
        return out

    def by_account(self) -> dict[str, dict[str, Any]]:
        return {str(o["account"]).lower(): o for o in self.lines}

    def results(self) -> dict[str, str]:
        return {a: str(o["result"]) for a, o in self.by_account().items()}

    def __repr__(self) -> str:
        # What an assertion message shows: the command, its status, and the end of each stream.
        return (
            f"$ zcomp {' '.join(self.argv[3:])}\nexit {self.returncode}\n"
            f"stdout (tail):\n{self.stdout[-1500:]}\nstderr (tail):\n{self.stderr[-2000:]}"
        )

    __str__ = __repr__


class Started:
    """A zcomp process running in the background; its pipes are drained by a thread."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        *,
        stdin: str | None,
        on_exit: Sequence[Callable[[], None]] = (),
        kill: KillSwitch | None = None,
    ) -> None:
        self.argv = argv
        self.kill = kill
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if kill is not None:
            kill.arm(self.proc.pid)
        self._out = ("", "")
        self._hung = False
        self._on_exit = list(on_exit)
        self._thread = threading.Thread(target=self._drain, args=(stdin,), daemon=True)
        self._thread.start()

    def _drain(self, stdin: str | None) -> None:
        try:
            self._out = self.proc.communicate(stdin, timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            self._hung = True
            self.proc.kill()
            self._out = self.proc.communicate()
        finally:
            for callback in self._on_exit:
                callback()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self) -> Run:
        self._thread.join()
        run = Run(
            self.argv,
            self.proc.returncode,
            self._out[0],
            self._out[1],
            killed_at=self.kill.fired_at if self.kill is not None else None,
            pid=self.proc.pid,
        )
        if self._hung:
            raise AssertionError(f"zcomp did not exit within {HANG_GUARD_S:.0f}s\n{run}")
        return run


@dataclass
class Zcomp:
    """zcomp as one host runs it: a state dir, a config file, a URL (the sandbox or a proxy)."""

    url: str
    state_dir: Path
    config: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def host(
        cls, root: Path, url: str, *, workers: int = 4, config: str = "", name: str = "host"
    ) -> Zcomp:
        """A fresh host under root/name. The admin token cache is off so that every run logs in
        first: request numbers then mean the same step from one run to the next."""
        home = root / name
        state = home / "state"
        state.mkdir(parents=True)
        path = home / "config.toml"
        path.write_text(f'token_cache = "off"\n\n[lockdown]\nworkers = {workers}\n\n{config}\n')
        return cls(url=url, state_dir=state, config=path)

    def via(self, proxy: LossyProxy) -> Zcomp:
        return dataclasses.replace(self, url=proxy.admin_url)

    def argv(self, *args: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "zcomp",
            "--config",
            str(self.config),
            "--url",
            self.url,
            "--admin",
            ADMIN,
            *args,
        ]

    def env(self) -> dict[str, str]:
        # os.environ already has the per-test HOME, XDG dirs and null keyring (fixtures_env).
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZCOMP_")}
        env.update(ZCOMP_PASSWORD=ADMIN_PASSWORD, ZCOMP_STATE_DIR=str(self.state_dir))
        env.update(self.extra_env)
        return env

    def start(
        self,
        *args: str,
        stdin: str | None = None,
        on_exit: Sequence[Callable[[], None]] = (),
        kill: KillSwitch | None = None,
    ) -> Started:
        return Started(self.argv(*args), self.env(), stdin=stdin, on_exit=on_exit, kill=kill)

    def run(self, *args: str, stdin: str | None = None) -> Run:
        return self.start(*args, stdin=stdin).wait()

    def run_killed(self, proxy: LossyProxy, kill: KillSwitch, *args: str) -> Run:
        """Run through `proxy` (this Zcomp's url must be the proxy's) and SIGKILL the process
        at the kill switch's request; wait until what it had sent is settled at the sandbox."""
        proxy.hooks.append(kill)
        try:
            run = self.start(*args, kill=kill).wait()
        finally:
            proxy.hooks.remove(kill)
        assert proxy.wait_idle(), "requests still in flight at the proxy"
        if kill.fired:
            assert run.returncode == -9, f"expected death by SIGKILL\n{run}"
        return run

    # -- what this host keeps ----------------------------------------------------------------

    def incidents(self) -> list[Incident]:
        with Journal.open(self.state_dir) as journal:
            return journal.incidents(limit=1_000_000)

    def runs(self) -> list[JournalRun]:
        """Every batch run in the journal, oldest first."""
        found: list[JournalRun] = []
        with Journal.open(self.state_dir) as journal:
            while True:
                try:
                    found.append(journal.run(len(found) + 1))
                except JournalError:
                    return found

    def tickets(self, directory: Path | None = None) -> dict[str, Path]:
        return ticket_files(directory or self.state_dir / "tickets")


def ticket_files(directory: Path) -> dict[str, Path]:
    """Ticket files by incident key. Anything else there (but a hidden temporary file a
    killed writer may leave) is a stray ticket and fails the test."""
    if not directory.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        match = _TICKET_FILE.fullmatch(path.name)
        assert match is not None, f"unexpected file among the tickets: {path}"
        found[match.group(1)] = path
    return found


def handed_over(incident: Incident) -> bool:
    """Closed by a zcomp that contained the account in the same moment as another, which
    cleaned it (zcomp.core.actor)."""
    return incident.is_closed and (incident.closed_how or "").startswith("handed over")


def incidents_by_account(incidents: Iterable[Incident]) -> dict[str, list[Incident]]:
    out: dict[str, list[Incident]] = {}
    for incident in incidents:
        out.setdefault(incident.account_name.lower(), []).append(incident)
    return out


def write_list(path: Path, accounts: Sequence[str]) -> Path:
    path.write_text("".join(f"{a}\n" for a in accounts))
    return path


# ---------------------------------------------------------------- judging a batch


@dataclass
class Audit:
    """A batch's reported results against the truth."""

    truths: dict[str, AccountTruth]
    results: dict[str, str]  # account -> result ("missing" when not reported)
    unknown: list[str]  # accounts whose report does not match what they really are

    @property
    def contained(self) -> list[str]:
        return [a for a, t in self.truths.items() if t.contained and self.results[a] in CONTAINED]

    @property
    def locked_not_cleaned(self) -> list[str]:
        return [a for a, t in self.truths.items() if t.locked and not t.clean]

    def figure(self) -> str:
        return f"{len(self.contained)}/{len(self.truths)}"


def audit(sb: Sandbox, accounts: Sequence[str], run: Run) -> Audit:
    """Each account's report must say what it is: contained only when locked and clean, locked-
    not-cleaned whenever locked with something planted left, failed/not-started only when not
    locked. Anything else is an account whose containment the operator cannot know."""
    truths = TruthReader(sb).read_all(accounts)
    reported = run.results()
    results: dict[str, str] = {}
    unknown: list[str] = []
    for name, truth in truths.items():
        result = reported.get(name.lower(), "missing")
        results[name] = result
        if _misreported(result, truth):
            unknown.append(f"{name}: reported {result!r} but {truth.describe()}")
    return Audit(truths, results, unknown)


def _misreported(result: str, truth: AccountTruth) -> bool:
    if result not in KNOWN_RESULTS:
        return True
    if (result in CONTAINED or result == LOCKED_NOT_CLEANED) != truth.locked:
        return True
    # Reporting a clean account as locked-not-cleaned is cautious, not wrong: a re-run checks.
    return result in CONTAINED and not truth.clean


def assert_contained_once(
    sb: Sandbox, accounts: Sequence[str], hosts: Sequence[Zcomp], *, max_password_changes: int = 1
) -> None:
    """Every account locked and clean, with exactly one incident and one ticket across the
    hosts' journals and ticket directories, the ticket linked, and the password changed at
    least once and at most `max_password_changes` times."""
    problems = contained_once_problems(sb, accounts, hosts, max_password_changes)
    assert not problems, "\n".join(problems)


def contained_once_problems(
    sb: Sandbox, accounts: Sequence[str], hosts: Sequence[Zcomp], max_password_changes: int = 1
) -> list[str]:
    """What assert_contained_once asserts, as a list of what is wrong."""
    truths = TruthReader(sb).read_all(accounts)
    problems = [f"not contained: {t.describe()}" for t in truths.values() if not t.contained]
    per_account: dict[str, list[tuple[Zcomp, Incident]]] = {}
    handovers: Counter[str] = Counter()
    for host in hosts:
        tickets = host.tickets()
        incidents = host.incidents()
        ids = {i.key for i in incidents}
        problems += [
            f"{host.state_dir}: ticket {p.name} has no incident"
            for n, p in tickets.items()
            if n not in ids
        ]
        for incident in incidents:
            if handed_over(incident):
                # Contained in the same moment as another zcomp, which cleans it: no ticket.
                handovers[incident.account_name.lower()] += 1
                if incident.key in tickets or incident.ticket_id:
                    problems.append(f"{incident.account_name}: handed over, yet a ticket")
                continue
            per_account.setdefault(incident.account_name.lower(), []).append((host, incident))
            if incident.key not in tickets:
                problems.append(
                    f"{incident.account_name}: incident {incident.key} has no ticket file"
                )
            if incident.ticket_id != incident.key:
                problems.append(
                    f"{incident.account_name}: incident {incident.key} ticket not linked "
                    f"(ticket_id={incident.ticket_id!r})"
                )
    for name in accounts:
        found = per_account.get(name.lower(), [])
        if len(found) != 1:
            problems.append(f"{name}: {len(found)} incidents, expected 1")
        changes = password_changes(sb, name)
        # A zcomp that contained in the same moment as another set a random password too.
        most = max_password_changes + handovers[name.lower()]
        if not 1 <= changes <= most:
            problems.append(f"{name}: password changed {changes} times (expected 1..{most})")
    stray = sorted(set(per_account) - {a.lower() for a in accounts})
    problems += [f"{a}: an incident for an account not in the batch" for a in stray]
    return problems
