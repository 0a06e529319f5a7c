"""The report as an admin pipes it: one line per item whatever Zimbra holds, warnings that
name their account, and --help that ends quietly when its reader has gone.

zcomp runs against the in-process sandbox over real HTTP (CliRunner, or a child process with
real pipes); the attacker's settings are planted over raw SOAP.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.foundation.child import child_env, json_lines, zcomp
from tests.rawjson import admin_token, call
from zcomp.cli.restore import shell_word
from zcomp.sandbox import Sandbox, replay_attack

ADMIN = "admin@sandbox.test"
ALICE = "alice@sandbox.test"
# A rule name that, printed as it is, forges an "[ok]" line under the real one, sends the
# terminal's cursor back over the start of the line and clears the screen.
FORGED = "x\n  [ok] filter: nothing to see -- fine\rZZ\x1b[2J"
# What an XML client reads of it from Zimbra (Element.XMLElement.xmlEncode): the newline and
# the carriage return are written as they are, so the parser reads spaces in an attribute, and
# ESC, which XML 1.0 cannot carry, is "?".
SHOWN = "x   [ok] filter: nothing to see -- fine ZZ?[2J"


def _cli(invoke: Callable[..., Result], sb: Sandbox, *args: str) -> Result:
    return invoke("--url", sb.admin_url, "--admin", ADMIN, *args, env={"ZCOMP_PASSWORD": "sandbox"})


def _plant_rule(sb: Sandbox, account: str, name: str) -> None:
    """What the attacker's web client does: a redirect-everything rule, named `name`."""
    url = sb.urls[0]
    token = admin_token(url)
    found = call(
        url,
        "GetAccountRequest",
        "urn:zimbraAdmin",
        {"account": {"by": "name", "_content": account}},
        token=token,
        admin=True,
    )
    rule = {
        "name": name,
        "active": True,
        "filterTests": [{"condition": "anyof", "trueTest": [{}]}],
        "filterActions": [{"actionRedirect": [{"a": "evil@freemail.test"}]}],
    }
    reply = call(
        url,
        "ModifyFilterRulesRequest",
        "urn:zimbraMail",
        {"filterRules": [{"filterRule": [rule]}]},
        token=token,
        account_id=found["account"][0]["id"],
    )
    assert not isinstance(reply, str), reply


def test_an_attackers_rule_name_is_one_line_of_the_report(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    _plant_rule(sandbox, ALICE, FORGED)

    inspected = _cli(invoke, sandbox, "inspect", ALICE)

    assert inspected.exit_code == 1, inspected.stderr
    lines = inspected.stdout.splitlines()
    assert f'  [malicious] filter: rule "{SHOWN}": redirect evil@freemail.test' in "\n".join(lines)
    # No forged line, no carriage return: `| grep '\[ok\]'` shows only what is fine.
    assert not any(line.startswith("  [ok] filter: nothing to see") for line in lines), lines
    assert "\r" not in inspected.stdout

    locked = _cli(invoke, sandbox, "--json", "lockdown", ALICE)
    assert locked.exit_code == 0, locked.stderr
    history = _cli(invoke, sandbox, "history", ALICE)
    assert history.exit_code == 0, history.stderr
    [removed] = [line for line in history.stdout.splitlines() if " clean filter " in line]
    assert f" clean filter {SHOWN} done: removed " in removed


def test_the_restore_listing_gives_the_attackers_rule_name_as_a_word_to_paste(
    sandbox: Sandbox, invoke: Callable[..., Result]
) -> None:
    _plant_rule(sandbox, ALICE, FORGED)
    locked = _cli(invoke, sandbox, "--json", "lockdown", ALICE)
    assert locked.exit_code == 0, locked.stderr
    [incident] = [line["incident"] for line in json_lines(locked.stdout)]

    listing = _cli(invoke, sandbox, "restore", incident)

    assert listing.exit_code == 0, listing.stderr
    [row] = [line for line in listing.stdout.splitlines() if "evil@freemail.test" in line]
    quoted = shlex.quote(SHOWN)
    assert row.startswith(f"--filter {quoted}  filter  ")
    # Pasted at a shell, the word is the rule's name as Zimbra gives it.
    pasted = subprocess.run(["bash", "-c", f"printf %s {quoted}"], capture_output=True, check=True)
    assert pasted.stdout.decode() == SHOWN


@pytest.mark.parametrize("name", ["x\n  [ok] y\rZZ", "tab\there", "it's \\ \x1b[2J"])
def test_a_name_with_control_characters_is_one_word_that_pastes_back(name: str) -> None:
    """Zimbra's XML never carries these in a name, but a journal or a JSON reader may."""
    word = shell_word(name)
    assert "\n" not in word and "\r" not in word and "\x1b" not in word
    pasted = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, check=True)
    assert pasted.stdout.decode() == name


def test_an_error_is_one_line_whatever_it_quotes(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    missing = tmp_path / "no\nsuch.toml"

    result = invoke("--config", str(missing), "history")

    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: {tmp_path}/no\\nsuch.toml: configuration file not found (--config)\n"
    )


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["inspect", "--help"], ["baseline", "show", "--help"]],
    ids=" ".join,
)
def test_help_ends_quietly_when_its_reader_has_gone(args: list[str]) -> None:
    """`zcomp inspect --help | head -0`: the reader left before the text came (Click's own
    output, which zcomp's streams do not guard); as a listing, it ends quietly, status 0."""
    proc = subprocess.Popen(
        zcomp(None, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env()
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _out, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 0, stderr
    assert stderr == b""


def test_each_warning_of_a_batch_names_its_account(
    sandbox: Sandbox, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    """Both accounts keep the attacker's sendAs grantee (suspicious, kept by policy): their
    warnings interleave on stderr, and each must say whose it is."""
    accounts = ["bob@sandbox.test", "carol@sandbox.test"]
    for account in accounts:
        replay_attack(sandbox, account)
    locked = _cli(invoke, sandbox, "--json", "lockdown", *accounts)
    assert locked.exit_code == 0, locked.stderr
    config = tmp_path / "config.toml"
    config.write_text("[unlock]\nmin_locked_minutes = 0\n")

    planned = _cli(invoke, sandbox, "--config", str(config), "unlock", "--dry-run", *accounts)

    assert planned.exit_code == 0, planned.stderr
    warnings = [line for line in planned.stderr.splitlines() if line.startswith("Warning: ")]
    assert sorted(warnings) == [
        f"Warning: {account}: right sendAs for victor@sandbox.test: victor@sandbox.test can "
        "send as this account; no baseline says whether it predates the incident "
        "(suspicious, kept by policy)"
        for account in accounts
    ]
