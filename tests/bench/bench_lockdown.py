"""Round trips and wall time of one lockdown on the sandbox (0 ms and 50 ms latency).

Also with a mailbox carrying many rules, signatures and identities: the round-trip count must
not grow with them.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.bench.report import figure
from zcomp.config import CliValues, load_settings
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.services import Services
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox, SandboxOptions, replay_attack
from zcomp.tickets import make_backend
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.model import FilterRule, Node, Secret, Signature
from zcomp.zimbra.operations import CreateIdentity, CreateSignature, ModifyFilterRules
from zcomp.zimbra.settings import ConnectionSettings

ADMIN = "admin@sandbox.test"
VICTIM = "alice@sandbox.test"


def _client(sb: Sandbox) -> ZimbraClient:
    return ZimbraClient(
        ConnectionSettings(
            url=sb.admin_url, admin=ADMIN, password=lambda: Secret("sandbox"), token_cache="off"
        )
    )


def _crowd_mailbox(sb: Sandbox, rules: int, signatures: int, identities: int) -> None:
    with _client(sb) as client:
        account_id = sb.account(VICTIM).id
        benign = [
            FilterRule(
                name=f"benign {i}",
                tests=[
                    Node(
                        "headerTest",
                        {
                            "header": "subject",
                            "stringComparison": "contains",
                            "value": f"project {i}",
                        },
                    )
                ],
                actions=[
                    Node("actionFileInto", {"folderPath": f"Projects/{i}"}),
                    Node("actionStop"),
                ],
            )
            for i in range(rules)
        ]
        client.call(ModifyFilterRules(tuple(benign)), as_account=account_id)
        for i in range(signatures):
            sig = Signature(id=None, name=f"sig {i}", contents={"text/plain": f"Regards, {i}"})
            client.call(CreateSignature(sig), as_account=account_id)
        for i in range(identities):
            attrs = {"zimbraPrefFromAddress": VICTIM, "zimbraPrefFromDisplay": f"Alice {i}"}
            client.call(CreateIdentity(f"persona {i}", attrs), as_account=account_id)


def one_run(
    latency_ms: int, crowd: tuple[int, int, int] | None, *, cached_token: bool = False
) -> tuple[int, float, str, dict[str, int]]:
    with Sandbox(SandboxOptions(servers=2, seed="demo", latency_ms=latency_ms)) as sb:
        if crowd:
            _crowd_mailbox(sb, *crowd)
        replay_attack(sb, VICTIM)
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp)
            settings = load_settings(
                CliValues(url=sb.admin_url, admin=ADMIN), env={"ZCOMP_STATE_DIR": tmp}
            )
            client = _client(sb)
            if cached_token:
                client.login()  # as a token from the cache would: no login in the lockdown
            services = Services(
                client, Journal.open(state), make_backend("file", {}, state), settings
            )
            marks: list[tuple[str, int]] = []
            services.events = lambda _account, step: marks.append((step, client.round_trips))
            started = time.perf_counter()
            outcome = lockdown_account(services, VICTIM, LockdownOptions())
            elapsed = time.perf_counter() - started
            marks.append(("end", client.round_trips))
            client.close()
            services.journal.close()
    phases = {step: marks[i + 1][1] - trips for i, (step, trips) in enumerate(marks[:-1])}
    return outcome.round_trips, elapsed, outcome.result, phases


def main() -> None:
    print("latency  mailbox                          result     round trips  wall time  per step")
    for latency in (0, 50):
        for crowd in (None, (40, 15, 10)):
            label = "demo seed + attack" if crowd is None else "+40 rules, 15 sigs, 10 idents"
            trips, elapsed, result, phases = one_run(latency, crowd)
            steps = " ".join(f"{k}={v}" for k, v in phases.items())
            tag = f"{latency}ms" + ("" if crowd is None else "_crowded")
            what = f"lockdown at {latency} ms" + ("" if crowd is None else ", crowded mailbox")
            figure(f"requests_{tag}", f"{what}: requests", trips, "requests", "<= 4")
            figure(f"wall_{tag}", f"{what}: wall time", elapsed * 1000, "ms")
            print(
                f"{latency:>4} ms  {label:<31}  {result:<9}  {trips:>11}  "
                f"{elapsed * 1000:6.0f} ms  {steps}"
            )
    trips, elapsed, result, phases = one_run(50, None, cached_token=True)
    steps = " ".join(f"{k}={v}" for k, v in phases.items())
    label = "demo seed + attack, cached token"
    figure("requests_cached", "lockdown, cached token: requests", trips, "requests", "<= 3")
    figure("wall_cached", "lockdown at 50 ms, cached token: wall time", elapsed * 1000, "ms")
    print(f"  50 ms  {label:<31}  {result:<9}  {trips:>11}  {elapsed * 1000:6.0f} ms  {steps}")
    print("(round trips include the admin login, in 'resolving', unless the token is cached)")


if __name__ == "__main__":
    main()
