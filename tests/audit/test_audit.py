"""zcomp audit over HTTP against the sandbox: a weak and a strong class of service, a weak
domain and weak global settings; reported, applied, journaled, read back, restored."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.sandbox.rawsoap import ADMIN, RawSoap
from zcomp.audit.audit import read_settings
from zcomp.audit.rules import RULES
from zcomp.journal import Journal
from zcomp.journal import audit as journal_audit
from zcomp.sandbox import Sandbox
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.model import Secret
from zcomp.zimbra.settings import ConnectionSettings

ADMIN_NAME = "admin@sandbox.test"
DEFAULT_COS_ID = "e00428a1-0c00-11d9-836a-000d93afea2a"
A = f"{{{ADMIN}}}"
WEAK_COS = {
    "zimbraAllowAnyFromAddress": "TRUE",
    "zimbraSmtpRestrictEnvelopeFrom": "FALSE",
    "zimbraPasswordLockoutEnabled": "FALSE",
    "zimbraPasswordLockoutMaxFailures": "50",
}
WEAK_GLOBAL = {
    "zimbraAuthTokenValidityValueEnabled": "FALSE",
    "zimbraMtaMyNetworks": "127.0.0.0/8 [::1]/128 10.0.0.0/8",
}


def _strong_values() -> dict[str, str]:
    """A value no rule finds weak, for every COS rule (its own fix)."""
    return {r.attr: (r.fix(r.default) or ("",))[0] for r in RULES if "cos" in r.places}


def _attrs(values: dict[str, str]) -> str:
    return "".join(f'<a n="{k}">{v}</a>' for k, v in values.items())


@pytest.fixture
def raw(sandbox: Sandbox) -> Iterator[RawSoap]:
    """Sets up the deployment: default and "strong" COS strong, "weak" COS weak, the domain
    allowing public shares, the global config without token revocation and with a /8 relay."""
    client = RawSoap(sandbox.admin_url)
    client.admin_login()
    strong = _strong_values()
    ok = client.xml(
        f'<ModifyCosRequest xmlns="{ADMIN}"><id>{DEFAULT_COS_ID}</id>{_attrs(strong)}'
        "</ModifyCosRequest>"
    )
    assert ok.status == 200, ok.raw
    for name, values in (("strong", strong), ("weak", {**strong, **WEAK_COS})):
        made = client.xml(
            f'<CreateCosRequest xmlns="{ADMIN}"><name>{name}</name>{_attrs(values)}'
            "</CreateCosRequest>"
        )
        assert made.status == 200, made.raw
    domain = client.xml(f'<GetAllDomainsRequest xmlns="{ADMIN}"/>').find(f"{A}domain")
    assert domain is not None
    ok = client.xml(
        f'<ModifyDomainRequest xmlns="{ADMIN}" id="{domain.get("id")}">'
        '<a n="zimbraPublicSharingEnabled">TRUE</a></ModifyDomainRequest>'
    )
    assert ok.status == 200, ok.raw
    ok = client.xml(
        f'<ModifyConfigRequest xmlns="{ADMIN}">{_attrs(WEAK_GLOBAL)}</ModifyConfigRequest>'
    )
    assert ok.status == 200, ok.raw
    sandbox.stats.reset()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def zcomp(invoke: Callable[..., Result], sandbox: Sandbox) -> Callable[..., Result]:
    def run(*args: str, input: str | None = None) -> Result:
        root = ["--url", sandbox.admin_url, "--admin", ADMIN_NAME]
        return invoke(*root, *args, input=input, env={"ZCOMP_PASSWORD": "sandbox"})

    return run


EXPECTED = {
    ("cos", "weak", "zimbraAllowAnyFromAddress"),
    ("cos", "weak", "zimbraSmtpRestrictEnvelopeFrom"),
    ("cos", "weak", "zimbraPasswordLockoutEnabled"),
    ("cos", "weak", "zimbraPasswordLockoutMaxFailures"),
    ("domain", "sandbox.test", "zimbraPublicSharingEnabled"),
    ("global", None, "zimbraAuthTokenValidityValueEnabled"),
    ("global", None, "zimbraMtaMyNetworks"),
    ("global", None, "zimbraMtaSmtpdSenderLoginMaps"),
    ("global", None, "zimbraMtaSmtpdSenderRestrictions"),
}


def _json_lines(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _cos(raw: RawSoap, name: str) -> dict[str, list[str]]:
    return raw.xml(
        f'<GetCosRequest xmlns="{ADMIN}"><cos by="name">{name}</cos></GetCosRequest>'
    ).attrs()


def _snapshot(raw: RawSoap) -> dict[str, dict[str, list[str]]]:
    domain = raw.xml(f'<GetAllDomainsRequest xmlns="{ADMIN}"/>').attrs()
    config = raw.xml(f'<GetAllConfigRequest xmlns="{ADMIN}"/>').attrs()
    return {
        "weak": _cos(raw, "weak"),
        "strong": _cos(raw, "strong"),
        "default": _cos(raw, "default"),
        "domain": domain,
        "global": config,
    }


def test_report_table(raw: RawSoap, zcomp: Callable[..., Result]) -> None:
    result = zcomp("audit")
    assert result.exit_code == 1, result.stderr  # weak settings found, as inspect's status
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["severity", "scope", "attribute", "current", "recommended", "why"]
    row = next(line for line in lines if "zimbraAllowAnyFromAddress" in line)
    assert re.search(r"^high\s+cos weak\s+zimbraAllowAnyFromAddress\s+TRUE\s+FALSE\s+users", row)
    assert "cos strong" not in result.stdout and "cos default" not in result.stdout
    gl = next(line for line in lines if "zimbraAuthTokenValidityValueEnabled" in line)
    assert "global" in gl and "FALSE" in gl and "does not end the attacker's sessions" in gl
    maps = next(line for line in lines if "zimbraMtaSmtpdSenderLoginMaps" in line)
    assert re.search(r"zimbraMtaSmtpdSenderLoginMaps\s+\(unset\)\s+proxy:ldap:", maps)
    assert "domain sandbox.test" in result.stdout


def test_json_and_one_round_trip(
    raw: RawSoap, zcomp: Callable[..., Result], sandbox: Sandbox
) -> None:
    result = zcomp("--json", "audit")
    assert result.exit_code == 1, result.stderr
    found = _json_lines(result)
    assert {(f["scope"], f["name"], f["attribute"]) for f in found} == EXPECTED
    one = next(f for f in found if f["attribute"] == "zimbraPasswordLockoutMaxFailures")
    assert one["current"] == ["50"] and one["set_to"] == ["10"] and one["attr_id"] == 380
    assert one["severity"] == "medium" and one["recommended"] == "1 to 10" and one["why"]
    relay = next(f for f in found if f["attribute"] == "zimbraMtaMyNetworks")
    assert relay["set_to"] is None  # only the admin knows the servers' addresses
    # The read: login, then one BatchRequest with the three reads, nothing else.
    requests = {name: n for (_, name), n in sandbox.stats.requests.items()}
    assert requests == {
        "AuthRequest": 1,
        "GetAllConfigRequest": 1,
        "GetAllCosRequest": 1,
        "GetAllDomainsRequest": 1,
    }


def test_read_round_trips(raw: RawSoap, sandbox: Sandbox) -> None:
    client = ZimbraClient(
        ConnectionSettings(
            url=sandbox.admin_url,
            admin=ADMIN_NAME,
            password=lambda: Secret("sandbox"),
            token_cache="off",
        )
    )
    try:
        client.login()
        before = client.round_trips
        settings = read_settings(client)
        assert client.round_trips - before == 1
        assert [c.name for c in settings.coses] == ["default", "strong", "weak"]
    finally:
        client.close()


def test_apply_then_restore(
    raw: RawSoap, zcomp: Callable[..., Result], sandbox: Sandbox, state_dir: Path
) -> None:
    original = _snapshot(raw)
    reported = {
        (f["scope"], f["name"], f["attribute"]): f for f in _json_lines(zcomp("--json", "audit"))
    }
    sandbox.stats.reset()
    applied = zcomp("--json", "audit", "--apply", "--yes")
    assert applied.exit_code == 1, applied.stderr  # the relay networks are left to the admin
    assert "not changed: global zimbraMtaMyNetworks" in applied.stderr
    key = re.search(r"audit run (AUD-[0-9A-Z]{8})", applied.stderr)
    assert key is not None, applied.stderr
    changes = [line for line in _json_lines(applied) if "audit_run" in line]
    assert {c["status"] for c in changes} == {"done"}
    fixable = {k for k, f in reported.items() if f["set_to"] is not None}
    assert len(changes) == len(fixable) == 8
    # One batch for the writes and their read-backs: each kind of write once per setting.
    requests = {name: n for (_, name), n in sandbox.stats.requests.items()}
    assert requests["ModifyCosRequest"] == 4 and requests["ModifyConfigRequest"] == 3
    assert requests["ModifyDomainRequest"] == 1

    # Exactly what was reported changed, and read back from the sandbox.
    now = _snapshot(raw)
    assert now["weak"]["zimbraAllowAnyFromAddress"] == ["FALSE"]
    assert now["weak"]["zimbraPasswordLockoutMaxFailures"] == ["10"]
    assert now["domain"]["zimbraPublicSharingEnabled"] == ["FALSE"]
    assert now["global"]["zimbraAuthTokenValidityValueEnabled"] == ["TRUE"]
    assert now["global"]["zimbraMtaSmtpdSenderLoginMaps"] == [
        "proxy:ldap:/opt/zimbra/conf/ldap-slm.cf"
    ]
    assert now["global"]["zimbraMtaSmtpdSenderRestrictions"] == [
        "reject_authenticated_sender_login_mismatch"
    ]
    assert now["strong"] == original["strong"] and now["default"] == original["default"]
    for where in ("weak", "domain", "global"):
        changed = {k for k in set(now[where]) | set(original[where])
                   if now[where].get(k) != original[where].get(k)}  # fmt: skip
        scope = {"weak": "cos", "domain": "domain", "global": "global"}[where]
        assert changed == {a for (s, _, a) in fixable if s == scope}, where
    again = _json_lines(zcomp("--json", "audit"))
    assert [f["attribute"] for f in again] == ["zimbraMtaMyNetworks"]

    # Journaled: every change of the run, done, with the value before.
    with Journal.open(state_dir) as journal:
        run = journal_audit.run(journal, key.group(1))
        rows = journal_audit.actions(journal, run.id)
    assert run.state == "applied"
    assert len(rows) == 8 and {r.status for r in rows} == {"done"}
    weak_lockout = next(r for r in rows if r.target == "cos weak zimbraPasswordLockoutEnabled")
    assert weak_lockout.before["values"] == ["FALSE"] and weak_lockout.after["values"] == ["TRUE"]

    listing = zcomp("restore", key.group(1))
    assert listing.exit_code == 0, listing.stderr
    assert "cos:weak:zimbraAllowAnyFromAddress" in listing.stdout

    restored = zcomp("restore", key.group(1), "--all")
    assert restored.exit_code == 0, restored.stderr
    assert _snapshot(raw) == original
    again = _json_lines(zcomp("--json", "audit"))
    assert {(f["scope"], f["name"], f["attribute"]) for f in again} == EXPECTED


def test_restore_leaves_a_setting_changed_since(raw: RawSoap, zcomp: Callable[..., Result]) -> None:
    applied = zcomp("audit", "--apply", "--yes", "--severity", "medium")
    key = re.search(r"AUD-[0-9A-Z]{8}", applied.stderr)
    assert key is not None, applied.stderr
    weak_id = raw.xml(
        f'<GetCosRequest xmlns="{ADMIN}"><cos by="name">weak</cos></GetCosRequest>'
    ).find(f"{A}cos")
    assert weak_id is not None
    raw.xml(
        f'<ModifyCosRequest xmlns="{ADMIN}"><id>{weak_id.get("id")}</id>'
        '<a n="zimbraPasswordLockoutMaxFailures">20</a></ModifyCosRequest>'
    )
    one = zcomp("restore", key.group(0), "--setting", "cos:weak:zimbraAllowAnyFromAddress")
    assert one.exit_code == 0, one.stderr
    assert _cos(raw, "weak")["zimbraAllowAnyFromAddress"] == ["TRUE"]
    assert _cos(raw, "weak")["zimbraPasswordLockoutEnabled"] == ["TRUE"]  # not chosen
    rest = zcomp("restore", key.group(0), "--all")
    assert rest.exit_code == 0, rest.stderr
    assert "changed since the audit set it; left alone" in rest.stderr
    assert _cos(raw, "weak")["zimbraPasswordLockoutEnabled"] == ["FALSE"]
    assert _cos(raw, "weak")["zimbraPasswordLockoutMaxFailures"] == ["20"]
    assert "already as before the audit" in rest.stderr  # the one restored by --setting


def test_strong_deployment_is_clean(zcomp: Callable[..., Result], sandbox: Sandbox) -> None:
    raw = RawSoap(sandbox.admin_url)
    raw.admin_login()
    try:
        raw.xml(
            f'<ModifyCosRequest xmlns="{ADMIN}"><id>{DEFAULT_COS_ID}</id>'
            f"{_attrs(_strong_values())}</ModifyCosRequest>"
        )
        raw.xml(
            f'<ModifyConfigRequest xmlns="{ADMIN}">'
            '<a n="zimbraMtaSmtpdSenderLoginMaps">proxy:ldap:/opt/zimbra/conf/ldap-slm.cf</a>'
            '<a n="zimbraMtaSmtpdSenderRestrictions">reject_authenticated_sender_login_mismatch'
            "</a></ModifyConfigRequest>"
        )
    finally:
        raw.close()
    result = zcomp("audit")
    assert result.exit_code == 0, result.stdout
    assert result.stdout == ""
    assert "no weak settings found" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("audit", "--severity", "bogus"), 2, "bogus"),
        (("audit", "--dry-run"), 2, "--dry-run goes with --apply"),
        (("audit", "--apply"), 2, "without confirmation: add --yes"),
        (("restore", "AUD-ZZZZZZZZ"), 1, "no audit run"),
        (("restore", "AUD-ZZZZZZZZ", "--filter", "x"), 2, "not account items"),
    ],
)
def test_bad_input_one_line(
    raw: RawSoap, zcomp: Callable[..., Result], args: tuple[str, ...], code: int, words: str
) -> None:
    result = zcomp(*args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert words in result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_apply_nothing_changed_without_yes(raw: RawSoap, zcomp: Callable[..., Result]) -> None:
    before = _snapshot(raw)
    result = zcomp("audit", "--apply", input="3\n")
    assert result.exit_code != 0
    assert _snapshot(raw) == before


def test_connection_refused(invoke: Callable[..., Result]) -> None:
    result = invoke(
        "--url", "http://127.0.0.1:9", "--admin", ADMIN_NAME, "audit",
        env={"ZCOMP_PASSWORD": "sandbox"},
    )  # fmt: skip
    assert result.exit_code == 4, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
