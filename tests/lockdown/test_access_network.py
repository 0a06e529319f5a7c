"""Network Edition: app-specific passwords and trusted devices revoked, synced devices suspended,
a data source turned off (not deleted) and each one restored, or said not to be restorable."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import Result

from tests.rawjson import admin_token, call
from tests.wiretap import wiretap
from zcomp.sandbox import Sandbox, SandboxOptions, replay_attack

ALICE = "alice@sandbox.test"
ADMIN = "admin@sandbox.test"


@pytest.fixture
def network() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(servers=2, edition="network")) as sb:
        yield sb


def _zcomp(invoke: Callable[..., Result], url: str, *args: str) -> Result:
    return invoke("--url", url, "--admin", ADMIN, *args, env={"ZCOMP_PASSWORD": "sandbox"})


def _as_alice(sb: Sandbox, name: str, ns: str, body: dict[str, Any] | None = None) -> Any:
    reply = call(
        sb.urls[0],
        name,
        ns,
        body or {},
        token=admin_token(sb.urls[0]),
        account_id=sb.account(ALICE).id,
        admin=True,
    )
    assert not isinstance(reply, str), reply
    return reply


def _devices(sb: Sandbox) -> dict[str, int]:
    reply = _as_alice(sb, "GetDeviceStatusRequest", "urn:zimbraSync")
    return {d["id"]: int(d["status"][0]["_content"]) for d in reply.get("device", [])}


def _data_sources(sb: Sandbox) -> dict[str, str]:
    reply = _as_alice(sb, "GetDataSourcesRequest", "urn:zimbraMail")
    return {d["name"]: str(d["isEnabled"]) for d in reply.get("imap", [])}


def test_network_edition_doors_are_closed_and_what_can_come_back_does(
    network: Sandbox, invoke: Callable[..., Result]
) -> None:
    sb = network
    assert _zcomp(invoke, sb.admin_url, "baseline", "capture", ALICE).exit_code == 0
    attack = replay_attack(sb, ALICE)
    assert attack.app_password_name
    # The attacker also pulls an outside mailbox in (its address becomes a From alice may use).
    _as_alice(
        sb,
        "CreateDataSourceRequest",
        "urn:zimbraMail",
        {
            "imap": {
                "name": "drop",
                "l": "1",
                "isEnabled": "1",
                "host": "imap.freemail.test",
                "port": "993",
                "username": "crook",
                "password": "not-kept-anywhere",
                "connectionType": "ssl",
            }
        },
    )
    [device] = _devices(sb)
    assert _devices(sb)[device] == 1

    with wiretap(sb.urls[0]) as tap:
        result = _zcomp(invoke, tap.base_url, "lockdown", ALICE, "--json")
    assert result.exit_code == 0, result.stderr
    [out] = [json.loads(line) for line in result.stdout.splitlines()]
    removed = {i["kind"] for i in out["removed"]}
    assert {"app-password", "trusted-devices", "mobile-device", "data-source", "right"} <= removed
    assert "Note:" not in result.stderr  # Network Edition: nothing to say about what it lacks
    assert len(tap.exchanges) == 4

    apps = _as_alice(sb, "GetAppSpecificPasswordsRequest", "urn:zimbraAccount")
    assert not apps.get("appSpecificPasswords", [{}])[0].get("passwordData")
    trusted = _as_alice(sb, "GetTrustedDevicesRequest", "urn:zimbraAccount")
    assert int(trusted["nOtherDevices"]) == 0
    assert _devices(sb)[device] == 2  # suspended
    assert _data_sources(sb) == {"drop": "0"}  # turned off, kept whole
    # The sendAs to victor came after the baseline: removed this time.
    rights = _as_alice(sb, "GetRightsRequest", "urn:zimbraAccount").get("ace", [])
    assert not [a for a in rights if a["right"] == "sendAs"]

    listing = _zcomp(invoke, sb.admin_url, "restore", out["incident"], "--json")
    rows = {row["kind"]: row for row in map(json.loads, listing.stdout.splitlines())}
    assert rows["app-password"]["option"] is None
    assert "cannot be put back" in rows["app-password"]["not_restorable"]
    assert rows["mobile-device"]["option"] == "--device"
    refused = _zcomp(
        invoke, sb.admin_url, "restore", out["incident"], "--share", f"/Sent:{attack.freemail}"
    )
    assert refused.exit_code == 2 and "never kept" in refused.stderr

    back = _zcomp(
        invoke,
        sb.admin_url,
        "restore",
        out["incident"],
        "--device",
        device,
        "--data-source",
        "drop",
        "--right",
        "sendAs",
        "--json",
    )
    assert back.exit_code == 0, back.stderr
    assert json.loads(back.stdout)["result"] == "restored"
    assert _devices(sb)[device] == 1
    assert _data_sources(sb) == {"drop": "1"}
    rights = _as_alice(sb, "GetRightsRequest", "urn:zimbraAccount").get("ace", [])
    assert [a["d"] for a in rights if a["right"] == "sendAs"] == [attack.accomplice]
