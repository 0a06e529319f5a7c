"""Lockdown end to end: two mailbox servers, the attack replayed on the non-home server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

from tests.rawjson import MailboxReader, admin_token, call, user_login
from tests.watch.helpers import flood
from tests.wiretap import wiretap
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox, demo_password, replay_attack

ALICE = "alice@sandbox.test"
ADMIN = "admin@sandbox.test"
PLANTED = {".", ".."}


def _lockdown(invoke: Callable[..., Result], url: str, *args: str) -> Result:
    return invoke("--url", url, "--admin", ADMIN, *args, env={"ZCOMP_PASSWORD": "sandbox"})


def _json_lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _admin_modify(sandbox: Sandbox, account: str, attr: str, value: str) -> None:
    """What another admin or script does behind zcomp's back (raw JSON, not zcomp's client)."""
    reply = call(
        sandbox.urls[0],
        "ModifyAccountRequest",
        "urn:zimbraAdmin",
        {"id": sandbox.account(account).id, "a": [{"n": attr, "_content": value}]},
        token=admin_token(sandbox.urls[0]),
        admin=True,
    )
    assert not isinstance(reply, str), reply


def _named(rule: dict[str, Any]) -> dict[str, Any]:
    # Zimbra saves a rule written back without a name as "null" (the attacker's UI did that).
    return {**rule, "name": rule.get("name", "null")}


def test_lockdown_ends_the_attack_and_keeps_everything_benign(
    sandbox2: Sandbox, invoke: Callable[..., Result], state_dir: Path, tmp_path: Path
) -> None:
    sb = sandbox2
    alice = sb.account(ALICE)
    reader = MailboxReader(sb.urls[0], alice.id)
    rules_before, sigs_before, idents_before = (
        reader.rules(),
        reader.signatures(),
        reader.identities(),
    )

    attack = replay_attack(sb, ALICE, outgoing_redirect=True)
    assert attack.server_url == sb.urls[1]  # the non-home server
    assert reader.rules(outgoing=True)  # a copy of every sent message goes to the attacker
    assert call(attack.server_url, "GetInfoRequest", "urn:zimbraAccount", token=attack.token) != (
        "service.AUTH_EXPIRED"
    )

    evidence_dir = tmp_path / "evidence"
    with wiretap(sb.urls[0]) as tap:
        result = _lockdown(
            invoke,
            tap.base_url,
            "--debug",
            "lockdown",
            ALICE,
            "--json",
            "--evidence-dir",
            str(evidence_dir),
        )
    assert result.exit_code == 0, result.stderr
    [out] = _json_lines(result)
    assert out["result"] == "contained"
    assert out["ticket"]["backend"] == "file"
    removed = {(item["kind"], item["detail"].split(":")[0]) for item in out["removed"]}
    assert {kind for kind, _ in removed} == {
        "forwarding",
        "local-delivery",
        "filter",
        "outgoing-filter",
        "identity",
        "signature",
        "share",  # the public Inbox and the guest share of Sent
    }
    assert {("filter", 'rule "."'), ("filter", 'rule ".."')} <= removed
    # No baseline says whether the sendAs to a colleague predates the incident: reported, kept.
    [send_as] = [i for i in out["kept"] if i["kind"] == "right"]
    assert attack.accomplice in send_as["detail"] and "no baseline" in send_as["reason"]
    assert all(item["reason"] for item in out["removed"] + out["kept"])

    # The attacker's session on the non-home server is dead, the phished password is useless.
    for url in sb.urls:
        assert call(url, "GetInfoRequest", "urn:zimbraAccount", token=attack.token) == (
            "service.AUTH_EXPIRED"
        )
        assert user_login(url, ALICE, demo_password(ALICE)) == "account.AUTH_FAILED"

    # Planted items are gone; benign ones are exactly as they were.
    assert reader.rules() == [_named(r) for r in rules_before]
    assert reader.rules(outgoing=True) == []

    # The attacker replaced only the plain-text part of "Alice Smith": that part is cleared
    # (no baseline to restore it from), the owner's HTML part is kept as it was.
    def own_parts(sig: dict[str, Any]) -> dict[str, Any]:
        if sig["name"] != "Alice Smith":
            return sig
        return {**sig, "content": [c for c in sig["content"] if c["type"] == "text/html"]}

    assert reader.signatures() == [own_parts(s) for s in sigs_before]
    idents_after = {i["name"]: i for i in reader.identities()}
    for ident in idents_before:
        if ident["name"] != "DEFAULT":
            assert idents_after[ident["name"]] == ident
    default_attrs = {a["name"]: a.get("_content") for a in idents_after["DEFAULT"]["a"]}
    assert default_attrs.get("zimbraPrefFromAddress") == ALICE
    assert attack.freemail not in json.dumps(idents_after)
    attrs = sb.account(ALICE).attrs
    assert "zimbraPrefMailForwardingAddress" not in attrs
    assert attrs.get("zimbraPrefMailLocalDeliveryDisabled", ["FALSE"]) == ["FALSE"]
    assert attrs["zimbraAccountStatus"] == ["locked"]
    assert int(attrs["zimbraPasswordEnforceHistory"][0]) >= 10
    assert "[zcomp] locked" in attrs["zimbraNotes"][0]

    # The queued spam (80 Bcc) sits in the hold queue of the MTA it was sent through.
    spam = [m for m in sb.mta(1).messages() if m.sender == ALICE]
    assert spam and all(m.queue == "hold" for m in spam)
    assert max(len(m.recipients) for m in spam) >= 80
    assert out["held"] == len(spam)

    # One ticket; the journal holds the evidence, and the file copy has the same hash.
    tickets = list((state_dir / "tickets").iterdir())
    assert len(tickets) == 1
    with Journal.open(state_dir) as journal:
        incident = journal.incident(out["incident"])
        evidence = journal.evidence(incident.id)
        actions = journal.actions(incident.id)
    assert evidence is not None and evidence.sha256 == out["evidence_sha256"]
    assert any(f["remove"] for f in evidence.bundle["findings"])
    assert {a.kind for a in actions} >= {"account-status", "password", "flush-cache", "filter"}
    [bundle_file] = evidence_dir.glob("*.json")
    assert hashlib.sha256(bundle_file.read_bytes()).hexdigest() == out["evidence_sha256"]

    # No password or token anywhere zcomp writes: stdout, stderr (--debug), journal, evidence,
    # ticket. (The sandbox admin password is the word "sandbox", which every address contains.)
    new_passwords = tap.secret_values("newPassword")
    assert len(new_passwords) == 1 and len(new_passwords[0]) >= 20
    secrets = (tap.secrets() - {"sandbox"}) | {attack.token, demo_password(ALICE)}
    secrets.add(attack.guest_password)  # GetFolder answers it in clear
    places: dict[str, bytes] = {"stdout": result.stdout.encode(), "stderr": result.stderr.encode()}
    for path in [*state_dir.glob("journal*"), *evidence_dir.iterdir(), *tickets]:
        places[str(path)] = path.read_bytes()
    assert "<authToken>" in result.stderr  # --debug really showed the exchange, redacted
    for secret in secrets:
        for where, data in places.items():
            assert secret.encode() not in data, f"a secret leaked into {where}"

    # Round trips: login, resolve, contain (with the claim and the snapshot), clean.
    assert len(tap.exchanges) == 4, len(tap.exchanges)
    assert out["round_trips"] == len(tap.exchanges)

    # A second run verifies, changes nothing, files no second ticket.
    writes = len(sb.stats.writes)
    again = _lockdown(invoke, sb.admin_url, "lockdown", ALICE, "--json")
    assert again.exit_code == 0, again.stderr
    [second] = _json_lines(again)
    assert second["result"] == "already-contained"
    assert second["incident"] == out["incident"]
    assert second["ticket"]["id"] == out["ticket"]["id"]
    assert len(sb.stats.writes) == writes
    assert len(list((state_dir / "tickets").iterdir())) == 1

    # An SMTP session opened before the lockdown keeps sending (no SOAP request ends it): a
    # third run holds what it queued since, journaled under the same incident.
    queued_since = flood(sb, ALICE, count=3, queue="active")
    third = _lockdown(invoke, sb.admin_url, "lockdown", ALICE, "--json")
    assert third.exit_code == 0, third.stderr
    [after] = _json_lines(third)
    assert after["result"] == "already-contained" and after["incident"] == out["incident"]
    assert {m.id for m in sb.mta().messages("hold")} >= set(queued_since)
    assert not [m for m in sb.mta().messages("active") if m.sender == ALICE]
    with Journal.open(state_dir) as journal:
        holds = [
            a
            for a in journal.actions(journal.incidents(limit=1)[0].id)
            if a.kind == "mail-queue-hold" and "queued since the lockdown" in a.detail
        ]
    assert [a.status for a in holds] == ["done"]


def test_dry_run_changes_nothing(sandbox: Sandbox, invoke: Callable[..., Result]) -> None:
    replay_attack(sandbox, ALICE)
    writes = len(sandbox.stats.writes)
    result = _lockdown(invoke, sandbox.admin_url, "lockdown", ALICE, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    [out] = _json_lines(result)
    assert out["result"] == "planned"
    assert any("random password" in step for step in out["plan"])
    assert any(step.startswith('remove rule "."') for step in out["plan"])
    assert any(step.startswith("revoke the share of /Inbox with public") for step in out["plan"])
    assert len(sandbox.stats.writes) == writes
    assert sandbox.account(ALICE).attrs["zimbraAccountStatus"] == ["active"]


def test_protected_accounts_are_refused_without_force(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    writes = len(sandbox.stats.writes)
    result = _lockdown(invoke, sandbox.admin_url, "lockdown", ADMIN, "--json")
    assert result.exit_code == 1
    [out] = _json_lines(result)
    assert out["result"] == "skipped"
    assert out["error"]["code"] == "protected"
    assert "--force" in out["error"]["message"]
    assert len(sandbox.stats.writes) == writes


def test_batch_continues_past_failures_and_exits_6(
    sandbox: Sandbox, invoke: Callable[..., Result], tmp_path: Path, state_dir: Path
) -> None:
    names = ["bob@sandbox.test", "nobody@sandbox.test", "carol@sandbox.test"]
    for name in (names[0], names[2]):
        replay_attack(sandbox, name)
    listing = tmp_path / "accounts.csv"
    listing.write_text("account,reason\n" + "\n".join(f"{n},spam" for n in names) + "\n")
    result = _lockdown(invoke, sandbox.admin_url, "lockdown", "--from", str(listing), "--json")
    assert result.exit_code == 6, result.stderr
    by_account = {o["account"]: o for o in _json_lines(result)}
    assert by_account["bob@sandbox.test"]["result"] == "contained"
    assert by_account["carol@sandbox.test"]["result"] == "contained"
    assert by_account["nobody@sandbox.test"]["result"] == "failed"
    assert by_account["nobody@sandbox.test"]["error"]["code"] == "account.NO_SUCH_ACCOUNT"
    with Journal.open(state_dir) as journal:  # the batch run and each result are on record
        assert journal.unfinished_runs() == []
        run = journal.run(1)
    assert run.command == "lockdown" and run.accounts == names
    assert run.results == {o["account"]: o["result"] for o in by_account.values()}
    # Re-running the same batch (a resumed run) verifies the contained ones.
    again = _lockdown(invoke, sandbox.admin_url, "lockdown", "--from", str(listing), "--json")
    results = {o["account"]: o["result"] for o in _json_lines(again)}
    assert results["bob@sandbox.test"] == results["carol@sandbox.test"] == "already-contained"


def test_an_interrupted_incident_is_resumed_not_duplicated(
    sandbox: Sandbox, invoke: Callable[..., Result], state_dir: Path
) -> None:
    replay_attack(sandbox, ALICE)
    alice = sandbox.account(ALICE)
    with Journal.open(state_dir) as journal:
        first = journal.start_incident(alice.id, ALICE, reason="killed run", operator="test")
    result = _lockdown(invoke, sandbox.admin_url, "lockdown", ALICE, "--json")
    assert result.exit_code == 0, result.stderr
    [out] = _json_lines(result)
    assert out["result"] == "contained"
    assert out["incident"] == first.key
    assert any("resuming" in w for w in out["warnings"])


def test_human_output_names_every_removed_item(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    replay_attack(sandbox, ALICE)
    result = _lockdown(invoke, sandbox.admin_url, "lockdown", ALICE)
    assert result.exit_code == 0, result.stderr
    # The account's result and what was removed are the report: stdout. The steps as they
    # happen are for the person watching: stderr.
    assert result.stdout.startswith(f"{ALICE}: contained (incident ")
    for text in ('rule "."', 'rule ".."', "forwarding to", 'signature "Alice Smith"'):
        assert text in result.stdout
    assert f"{ALICE}: resolving" in result.stderr and "  removed:" not in result.stderr


def test_a_refused_admin_login_stops_a_batch_after_one_attempt(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    accounts = ["bob@sandbox.test", "carol@sandbox.test", "dave@sandbox.test"]
    result = invoke(
        "--url",
        sandbox.admin_url,
        "--admin",
        ADMIN,
        "lockdown",
        *accounts,
        env={"ZCOMP_PASSWORD": "not-the-password"},
    )
    assert result.exit_code == 3, result.stderr
    assert "account.AUTH_FAILED" in result.stderr or "PERM_DENIED" in result.stderr
    assert sandbox.stats.total("AuthRequest") == 1  # not once per account or per worker
    assert sandbox.stats.writes == []


def test_risky_settings_that_come_back_are_cleaned_under_the_same_incident(
    sandbox: Sandbox, invoke: Callable[..., Result], state_dir: Path
) -> None:
    replay_attack(sandbox, ALICE)
    first = _lockdown(invoke, sandbox.admin_url, "lockdown", ALICE, "--json")
    [out] = _json_lines(first)
    # Someone (an admin script, a delegated session) puts a forward back on the locked account.
    _admin_modify(sandbox, ALICE, "zimbraPrefMailForwardingAddress", "drop@gmail.com")
    again = _lockdown(invoke, sandbox.admin_url, "lockdown", ALICE, "--json")
    assert again.exit_code == 0, again.stderr
    [second] = _json_lines(again)
    assert second["result"] == "contained"
    assert second["incident"] == out["incident"]
    assert any("came back" in w for w in second["warnings"])
    assert [r["kind"] for r in second["removed"]] == ["forwarding"]
    assert "zimbraPrefMailForwardingAddress" not in sandbox.account(ALICE).attrs
    [ticket] = (state_dir / "tickets").iterdir()
    assert "drop@gmail.com" in ticket.read_text()  # commented on the same ticket


def test_a_resumed_run_still_tells_the_help_desk_what_the_first_run_found(
    sandbox: Sandbox, invoke: Callable[..., Result], state_dir: Path
) -> None:
    """The first run was killed after its snapshot and part of its cleaning."""
    replay_attack(sandbox, ALICE)
    alice = sandbox.account(ALICE)
    planted_rule = {
        "kind": "filter",
        "key": "..",
        "detail": 'rule "..": discard',
        "verdict": "malicious",
        "reason": "discards matching mail (never stored)",
        "policy": "filter_discard",
        "remove": True,
        "item": {
            "name": "..",
            "active": True,
            "condition": "anyof",
            "tests": [{"tag": "trueTest"}],
            "actions": [{"tag": "actionDiscard"}],
        },
        "replacement": None,
    }
    with Journal.open(state_dir) as journal:
        incident = journal.start_incident(alice.id, ALICE, reason="killed run", operator="t")
        journal.store_evidence(incident.id, {"findings": [planted_rule]})
    # What the killed run had already removed: the discard rule.
    reader = MailboxReader(sandbox.urls[0], alice.id)
    kept = [r for r in reader.rules() if r.get("name") != ".."]
    reply = call(
        sandbox.urls[0],
        "ModifyFilterRulesRequest",
        "urn:zimbraMail",
        {"filterRules": [{"filterRule": kept}]},
        token=reader.token,
        account_id=alice.id,
        admin=True,
    )
    assert not isinstance(reply, str), reply
    result = _lockdown(invoke, sandbox.admin_url, "lockdown", ALICE, "--json")
    assert result.exit_code == 0, result.stderr
    [ticket] = (state_dir / "tickets").iterdir()
    text = ticket.read_text()
    assert 'rule "..": discard' in text and "interrupted run" in text


def test_mail_is_held_for_the_account_and_its_aliases_only(
    sandbox: Sandbox, invoke: Callable[..., Result], state_dir: Path
) -> None:
    replay_attack(sandbox, ALICE)
    result = _lockdown(invoke, sandbox.admin_url, "lockdown", ALICE, "--json")
    [out] = _json_lines(result)
    with Journal.open(state_dir) as journal:
        bundle = journal.evidence(out["incident"])
        holds = [a for a in journal.actions(out["incident"]) if a.kind == "mail-queue-hold"]
    assert bundle is not None
    senders = bundle.bundle["held_senders"]
    assert senders == [ALICE, "a.smith@sandbox.test"]
    assert "billing@sandbox.test" not in senders  # a shared allowed From address
    assert holds[0].after["senders"] == senders and holds[0].status == "done"


def test_a_large_batch_needs_yes_when_nobody_can_confirm(
    sandbox: Sandbox, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[lockdown]\nconfirm_threshold = 2\n")
    names = ["bob@sandbox.test", "carol@sandbox.test", "dave@sandbox.test"]
    args = ["--config", str(config), "--url", sandbox.admin_url, "--admin", ADMIN, "lockdown"]
    refused = invoke(*args, *names, env={"ZCOMP_PASSWORD": "sandbox"})
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    assert sandbox.stats.writes == []
    accepted = invoke(*args, *names, "--yes", "--json", env={"ZCOMP_PASSWORD": "sandbox"})
    assert accepted.exit_code == 0, accepted.stderr
    assert {o["result"] for o in _json_lines(accepted)} == {"contained"}


def test_full_admin_notes_are_kept_and_do_not_block_cleaning(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    replay_attack(sandbox, ALICE)
    notes = "Contract ends 2027; ask HR before any change. " * 22  # ~1,000 of 1,024 characters
    _admin_modify(sandbox, ALICE, "zimbraNotes", notes)
    result = _lockdown(invoke, sandbox.admin_url, "lockdown", ALICE, "--json")
    assert result.exit_code == 0, result.stderr
    [out] = _json_lines(result)
    assert out["result"] == "contained"
    assert any("zimbraNotes is full" in w for w in out["warnings"])
    attrs = sandbox.account(ALICE).attrs
    assert attrs["zimbraNotes"] == [notes]
    assert "zimbraPrefMailForwardingAddress" not in attrs


def test_token_shaped_attacker_text_is_withheld_not_fatal(
    sandbox: Sandbox, invoke: Callable[..., Result], state_dir: Path
) -> None:
    """Attacker-controlled text that looks like a Zimbra auth token (or is one) is withheld
    from the journal, evidence and ticket instead of tripping their secret guard."""
    shaped = "0_" + "ab" * 20 + "_69643d33363a"
    alice = sandbox.account(ALICE)
    reader = MailboxReader(sandbox.urls[0], alice.id)
    reply = call(
        sandbox.urls[0],
        "CreateSignatureRequest",
        "urn:zimbraAccount",
        {
            "signature": {
                "name": "promo",
                "content": [
                    {"type": "text/plain", "_content": f"Click here http://x.evil.test/?s={shaped}"}
                ],
            }
        },
        token=reader.token,
        account_id=alice.id,
        admin=True,
    )
    assert not isinstance(reply, str), reply
    result = _lockdown(invoke, sandbox.admin_url, "lockdown", ALICE, "--json")
    assert result.exit_code == 0, result.stderr
    [out] = _json_lines(result)
    assert out["result"] == "contained"
    assert any(r["detail"] == 'signature "promo"' for r in out["removed"])
    for path in [*state_dir.glob("journal*"), *(state_dir / "tickets").iterdir()]:
        assert shaped.encode() not in path.read_bytes(), path
    with Journal.open(state_dir) as journal:
        evidence = journal.evidence(out["incident"])
    assert evidence is not None and "token-shaped text withheld" in json.dumps(evidence.bundle)
