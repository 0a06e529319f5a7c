"""What outlives the password, end to end over the recording proxy on two servers: shares (public,
guest, internal), a right granted to an account the attacker holds, restore of a named share,
and a lockdown whose request count does not grow with the folders."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

from tests.rawjson import admin_token, call
from tests.wiretap import wiretap
from zcomp.sandbox import Sandbox, replay_attack

ALICE = "alice@sandbox.test"
BOB = "bob@sandbox.test"
ADMIN = "admin@sandbox.test"
MAIL = "urn:zimbraMail"


def _zcomp(invoke: Callable[..., Result], url: str, *args: str) -> Result:
    return invoke("--url", url, "--admin", ADMIN, *args, env={"ZCOMP_PASSWORD": "sandbox"})


def _json_lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _get(url: str, auth: tuple[str, str] | None = None) -> int:
    """The HTTP status of a GET (a share's public or guest URL), as an outsider sees it."""
    request = urllib.request.Request(url)  # noqa: S310 - loopback sandbox URL
    if auth is not None:
        pair = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {pair}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as err:
        with err:
            return int(err.code)


def _folders(sb: Sandbox, account: str) -> dict[str, dict[str, Any]]:
    """Every folder of the account by path, as Zimbra's GetFolder answers (raw JSON)."""
    reply = call(
        sb.urls[0],
        "GetFolderRequest",
        MAIL,
        {},
        token=admin_token(sb.urls[0]),
        account_id=sb.account(account).id,
        admin=True,
    )
    assert not isinstance(reply, str), reply
    found: dict[str, dict[str, Any]] = {}

    def walk(folder: dict[str, Any]) -> None:
        found[folder.get("absFolderPath", "/")] = folder
        for sub in folder.get("folder", []):
            walk(sub)

    for top in reply["folder"]:
        walk(top)
    return found


def _grants(folder: dict[str, Any]) -> list[dict[str, Any]]:
    acl = folder.get("acl") or [{}]
    grants: list[dict[str, Any]] = (acl[0] if isinstance(acl, list) else acl).get("grant", [])
    return grants


def _rights(sb: Sandbox, account: str) -> list[dict[str, Any]]:
    reply = call(
        sb.urls[0],
        "GetRightsRequest",
        "urn:zimbraAccount",
        {},
        token=admin_token(sb.urls[0]),
        account_id=sb.account(account).id,
        admin=True,
    )
    assert not isinstance(reply, str), reply
    aces: list[dict[str, Any]] = reply.get("ace", [])
    return aces


def _set_status(sb: Sandbox, account: str, status: str) -> None:
    """As an admin would (and unlock does): the status, then every server's cache flushed."""
    token = admin_token(sb.urls[0])
    account_id = sb.account(account).id
    reply = call(
        sb.urls[0],
        "ModifyAccountRequest",
        "urn:zimbraAdmin",
        {"id": account_id, "a": [{"n": "zimbraAccountStatus", "_content": status}]},
        token=token,
        admin=True,
    )
    assert not isinstance(reply, str), reply
    flushed = call(
        sb.urls[0],
        "FlushCacheRequest",
        "urn:zimbraAdmin",
        {
            "cache": {
                "type": "account",
                "allServers": "1",
                "entry": [{"by": "id", "_content": account_id}],
            }
        },
        token=token,
        admin=True,
    )
    assert not isinstance(flushed, str), flushed


def test_lockdown_shuts_every_door_and_keeps_the_owners_share(
    sandbox2: Sandbox, invoke: Callable[..., Result], state_dir: Path
) -> None:
    sb = sandbox2
    # A baseline first, as an admin would: the benign share with bob predates the incident.
    captured = _zcomp(invoke, sb.admin_url, "baseline", "capture", ALICE)
    assert captured.exit_code == 0, captured.stderr
    projects_before = _folders(sb, ALICE)["/Projects"]
    assert [g["d"] for g in _grants(projects_before)] == [BOB]

    attack = replay_attack(sb, ALICE)
    public = f"{sb.urls[1]}/service/home/{ALICE}/Inbox?fmt=json"
    guest = f"{sb.urls[1]}/service/home/{ALICE}/Sent?fmt=json"
    guest_login = (attack.freemail, attack.guest_password)
    assert _get(public) == 200
    assert _get(guest, guest_login) == 200
    assert any(a["right"] == "sendAs" for a in _rights(sb, ALICE))

    with wiretap(sb.urls[0]) as tap:
        result = _zcomp(invoke, tap.base_url, "--debug", "lockdown", ALICE, "--json")
    assert result.exit_code == 0, result.stderr
    [out] = _json_lines(result)
    assert out["result"] == "contained"
    removed = {(i["kind"], i["detail"]) for i in out["removed"]}
    assert ("share", "share of /Inbox with public (read)") in removed
    assert ("share", f"share of /Sent with {attack.freemail} (read)") in removed
    assert ("right", f"right sendAs for {attack.accomplice}") in removed
    kept = {(i["kind"], i["detail"]): i["reason"] for i in out["kept"]}
    assert "predates the incident" in kept[("share", f"share of /Projects with {BOB} (read)")]
    # Login, resolve, contain + snapshot, clean: the shares cost no round trip of their own.
    assert len(tap.exchanges) == 4

    # Locked: the public and guest URLs are shut; the grants and the right are gone too, so
    # they stay shut when the account is active again.
    assert _get(public) == 401
    assert _get(guest, guest_login) == 401
    _set_status(sb, ALICE, "active")
    assert _get(public) == 401
    assert _get(guest, guest_login) == 401
    folders = _folders(sb, ALICE)
    assert _grants(folders["/Inbox"]) == [] and _grants(folders["/Sent"]) == []
    assert not any(a["right"] == "sendAs" for a in _rights(sb, ALICE))
    # The owner's share, byte for byte as it was.
    assert json.dumps(folders["/Projects"], sort_keys=True) == json.dumps(
        projects_before, sort_keys=True
    )
    # The guest's password crossed the wire in GetFolder: never in anything zcomp wrote.
    places = [result.stdout, result.stderr]
    places += [p.read_bytes().decode(errors="replace") for p in state_dir.rglob("*") if p.is_file()]
    assert all(attack.guest_password not in text for text in places)

    # restore: the listing names what comes back and what cannot; a named share comes back.
    listing = _zcomp(invoke, sb.admin_url, "restore", out["incident"])
    assert listing.exit_code == 0, listing.stderr
    assert "--share /Inbox:public" in listing.stdout
    assert "cannot be put back" in listing.stdout  # the guest share: its password was not kept
    back = _zcomp(invoke, sb.admin_url, "restore", out["incident"], "--share", "/Inbox:public")
    assert back.exit_code == 0, back.stderr
    assert "malicious today" in back.stderr  # named, so restored, with a warning
    assert _get(public) == 200
    assert [g["gt"] for g in _grants(_folders(sb, ALICE)["/Inbox"])] == ["pub"]


def test_lockdown_requests_do_not_grow_with_folders(
    sandbox2: Sandbox, invoke: Callable[..., Result]
) -> None:
    sb = sandbox2
    token = admin_token(sb.urls[0])
    counts = []
    for account, folders in ((ALICE, 0), (BOB, 40)):
        account_id = sb.account(account).id
        for n in range(folders):
            made = call(
                sb.urls[0],
                "CreateFolderRequest",
                MAIL,
                {"folder": {"name": f"f{n}", "l": "1"}},
                token=token,
                account_id=account_id,
                admin=True,
            )
            assert not isinstance(made, str), made
            shared = call(
                sb.urls[0],
                "FolderActionRequest",
                MAIL,
                {
                    "action": {
                        "op": "grant",
                        "id": made["folder"][0]["id"],
                        "grant": {"gt": "pub", "perm": "r"},
                    }
                },
                token=token,
                account_id=account_id,
                admin=True,
            )
            assert not isinstance(shared, str), shared
        with wiretap(sb.urls[0]) as tap:
            result = _zcomp(invoke, tap.base_url, "lockdown", account, "--json")
        assert result.exit_code == 0, result.stderr
        [out] = _json_lines(result)
        assert len([i for i in out["removed"] if i["kind"] == "share"]) >= folders
        counts.append(len(tap.exchanges))
    assert counts[0] == counts[1] == 4, counts
