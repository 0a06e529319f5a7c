"""Unlock's passwords and the account's password policy, on the sandbox over real HTTP.

A generated password is words a help desk can read out (80+ bits) that fit the policy; any new
password is checked by Zimbra (CheckPasswordStrength) in the re-check's round trip, before
anything changes; and no password shows up anywhere zcomp writes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.lifecycle import owner
from tests.lifecycle.envs import ADMIN
from tests.wiretap import wiretap
from zcomp.core.lockdown import LockdownOptions, lockdown_account
from zcomp.core.passwords import (
    MIN_BITS,
    PasswordPolicy,
    PasswordStyle,
    readable_password,
    word_bits,
    word_count,
    word_layout,
)
from zcomp.core.services import Services
from zcomp.core.unlock import UnlockOptions, unlock_account
from zcomp.journal import Journal
from zcomp.sandbox import Sandbox
from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import Account, Secret
from zcomp.zimbra.operations import CheckPasswordStrength, GetAccount

ALICE = "alice@sandbox.test"
TOO_SHORT = "Short-Temp-1"  # 12 characters
FITS = "Owner-Handback-Temp-2024"


def _locked(services: Services) -> str:
    outcome = lockdown_account(services, ALICE, LockdownOptions())
    assert outcome.incident is not None, outcome.error
    return outcome.incident


def _unlock_actions(state_dir: Path, incident: str) -> list[tuple[str, str]]:
    with Journal.open(state_dir) as journal:
        return [(a.kind, a.status) for a in journal.actions(incident) if a.step == "unlock"]


def _files(state_dir: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in state_dir.rglob("*") if p.is_file()}


# ---------------------------------------------------------------- the words


def test_words_carry_at_least_80_bits() -> None:
    # Every word is drawn uniformly from word_count() sayable CVCVC words.
    assert 90_000 < word_count() <= 16**3 * 5**2
    assert word_bits() == math.log2(word_count())
    layout = word_layout(PasswordPolicy())
    assert layout is not None
    assert layout.bits == layout.words * word_bits() >= MIN_BITS >= 80
    made = readable_password(PasswordPolicy(min_length=6, max_length=64))
    assert made.style is PasswordStyle.WORDS and made.bits >= 80
    # Lower-case made-up words between dashes: "tomav-rikel-dasuf-bonek-zipor".
    assert re.fullmatch(r"[a-z]{5}(?:-[a-z]{5}){4}", made.secret.reveal())
    drawn = {readable_password(PasswordPolicy()).secret.reveal() for _ in range(300)}
    assert len(drawn) == 300


def test_the_policy_shapes_the_words_without_costing_entropy() -> None:
    policy = PasswordPolicy(min_upper=2, min_numeric=2, min_punctuation=1, min_length=12)
    made = readable_password(policy)
    assert made.style is PasswordStyle.WORDS and made.bits >= 80
    # Capitals and separators are fixed by the shape; the digits add their own bits.
    assert re.fullmatch(r"(?:[A-Z][a-z]{4}-){5}\d{2}", made.secret.reveal())
    assert policy.violation(made.secret.reveal()) is None


# Account attributes; the comment says what zcomp should make of them.
POLICIES: list[tuple[dict[str, str], PasswordStyle]] = [
    ({}, PasswordStyle.WORDS),  # the COS defaults: 6 to 64 characters
    (
        {"zimbraPasswordMinUpperCaseChars": "2", "zimbraPasswordMinNumericChars": "2"},
        PasswordStyle.WORDS,
    ),
    ({"zimbraPasswordMinPunctuationChars": "6"}, PasswordStyle.WORDS),  # "...-zipor!!"
    ({"zimbraPasswordMinLength": "44"}, PasswordStyle.WORDS),  # more words, then digits
    ({"zimbraPasswordMinLength": "31", "zimbraPasswordMaxLength": "32"}, PasswordStyle.WORDS),
    (
        {"zimbraPasswordMinAlphaChars": "32", "zimbraPasswordMinLowerCaseChars": "30"},
        PasswordStyle.WORDS,
    ),
    (
        {"zimbraPasswordMinUpperCaseChars": "7", "zimbraPasswordMinDigitsOrPuncs": "9"},
        PasswordStyle.WORDS,
    ),
    (  # no punctuation allowed: capitals show where words start, digits for the rest
        {"zimbraPasswordAllowedChars": "[a-zA-Z0-9]", "zimbraPasswordMinDigitsOrPuncs": "3"},
        PasswordStyle.WORDS,
    ),
    (
        {"zimbraPasswordAllowedChars": "[a-z0-9]", "zimbraPasswordMinNumericChars": "1"},
        PasswordStyle.WORDS,
    ),
    (  # "-" is then alpha, not punctuation
        {
            "zimbraPasswordAllowedPunctuationChars": "[!#]",
            "zimbraPasswordMinPunctuationChars": "2",
        },
        PasswordStyle.WORDS,
    ),
    (  # "ba" is in one password of words in eight
        {"zimbraFeatureAllowUsernameInPassword": "FALSE", "zimbraUCUsername": "ba"},
        PasswordStyle.WORDS,
    ),
    ({"zimbraPasswordMaxLength": "20"}, PasswordStyle.RANDOM),  # words for 80 bits need 29
    (
        {
            "zimbraPasswordMinLength": "10",
            "zimbraPasswordMaxLength": "12",
            "zimbraPasswordMinUpperCaseChars": "1",
            "zimbraPasswordMinNumericChars": "1",
            "zimbraPasswordMinPunctuationChars": "1",
        },
        PasswordStyle.RANDOM,
    ),
    ({"zimbraPasswordAllowedChars": "[0-9]"}, PasswordStyle.RANDOM),  # no letters at all
]


@pytest.mark.parametrize(("attrs", "style"), POLICIES)
def test_generated_passwords_pass_zimbras_check_for_a_range_of_policies(
    sandbox: Sandbox, services: Services, attrs: dict[str, str], style: PasswordStyle
) -> None:
    entry = sandbox.account(ALICE)
    for name, value in attrs.items():
        entry.attrs[name] = [value]
    account: Account = services.client.call(GetAccount(ALICE, apply_cos=True))
    policy = PasswordPolicy.of(account)

    made = [readable_password(policy) for _ in range(25)]

    assert {m.style for m in made} == {style}
    if style is PasswordStyle.WORDS:
        assert all(m.bits >= 80 and not m.note for m in made)
    else:
        assert all(m.note.startswith("the password policy leaves no room for words") for m in made)
    # Zimbra's own check (the sandbox's faithful copy) accepts every one of them.
    answers = services.client.batch([CheckPasswordStrength(account.id, m.secret) for m in made])
    assert answers == [None] * len(made)
    assert sandbox.stats.writes == []


def test_the_check_on_its_own_and_its_fault(sandbox: Sandbox, services: Services) -> None:
    """Outside a batch too (zcomp's WSDL knows the operation); the fault names no password."""
    sandbox.account(ALICE).attrs["zimbraPasswordMinLength"] = ["16"]
    account_id = sandbox.account(ALICE).id
    assert services.client.call(CheckPasswordStrength(account_id, Secret(FITS))) is None
    with pytest.raises(ZimbraFault) as refused:
        services.client.call(CheckPasswordStrength(account_id, Secret(TOO_SHORT)))
    assert refused.value.code == "account.INVALID_PASSWORD"
    assert refused.value.reason == "invalid password: too short"
    assert TOO_SHORT not in str(refused.value) + repr(CheckPasswordStrength("x", Secret(TOO_SHORT)))


def test_a_cos_policy_is_met_by_a_generated_password_end_to_end(
    sandbox: Sandbox, services: Services
) -> None:
    # Before the first GetAccount: the sandbox caches what a COS hands down.
    cos = sandbox.directory.cos_attrs
    cos["zimbraPasswordMinLength"] = ["20"]
    cos["zimbraPasswordMinUpperCaseChars"] = ["1"]
    cos["zimbraPasswordMinNumericChars"] = ["2"]
    cos["zimbraPasswordMinPunctuationChars"] = ["1"]
    incident = _locked(services)
    shown: list[Secret] = []
    sandbox.stats.reset()

    outcome = unlock_account(
        services,
        ALICE,
        UnlockOptions(generate=True, force=True, reveal=lambda _a, pw: shown.append(pw)),
    )

    assert outcome.result == "unlocked", outcome.error
    assert outcome.extra["password_style"] == "words"
    [password] = [pw.reveal() for pw in shown]
    assert re.fullmatch(r"(?:[A-Z][a-z]{4}-){5}\d{2}", password)
    assert owner.login(sandbox.urls[0], ALICE, password) == "account.CHANGE_PASSWORD"
    # Checked once, in the re-check's round trip: resolve, re-check, password, hand back, held.
    assert sandbox.stats.total("CheckPasswordStrengthRequest") == 1
    assert outcome.round_trips == 5
    assert ("password", "done") in _unlock_actions(Path(services.journal.path).parent, incident)


def test_a_policy_without_room_for_words_gets_random_characters(
    sandbox: Sandbox, services: Services
) -> None:
    sandbox.account(ALICE).attrs["zimbraPasswordMaxLength"] = ["16"]
    _locked(services)
    shown: list[Secret] = []

    outcome = unlock_account(
        services,
        ALICE,
        UnlockOptions(generate=True, force=True, reveal=lambda _a, pw: shown.append(pw)),
    )

    assert outcome.result == "unlocked", outcome.error
    assert outcome.extra["password_style"] == "random"
    [password] = [pw.reveal() for pw in shown]
    assert len(password) <= 16
    [warning] = [w for w in outcome.warnings if "not words" in w]
    assert "no room for words: 6 to 16 characters" in warning and password not in warning
    assert owner.login(sandbox.urls[0], ALICE, password) == "account.CHANGE_PASSWORD"


def test_a_generated_password_zimbra_refuses_is_never_set_nor_shown(
    sandbox: Sandbox, services: Services
) -> None:
    # A Java-only regex zcomp cannot read: only Zimbra's check can say (here: it refuses).
    sandbox.account(ALICE).attrs["zimbraPasswordAllowedChars"] = [r"\p{Alnum}"]
    incident = _locked(services)
    shown: list[str] = []
    sandbox.stats.reset()

    outcome = unlock_account(
        services,
        ALICE,
        UnlockOptions(generate=True, force=True, reveal=lambda a, _pw: shown.append(a)),
    )

    assert outcome.result == "refused" and outcome.error is not None
    assert outcome.error.code == "password-policy"
    assert "refuses the generated password" in outcome.error.message
    assert shown == []
    assert sandbox.stats.total("SetPasswordRequest") == 0 and sandbox.stats.writes == []
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"
    assert _unlock_actions(Path(services.journal.path).parent, incident) == []


# ---------------------------------------------------------------- a typed or file password


def test_a_password_the_policy_refuses_changes_nothing(
    sandbox: Sandbox,
    services: Services,
    zcomp: Callable[..., Result],
    tmp_path: Path,
    state_dir: Path,
) -> None:
    sandbox.account(ALICE).attrs["zimbraPasswordMinLength"] = ["16"]
    incident = _locked(services)
    pw_file = tmp_path / "temp.txt"
    pw_file.write_text(TOO_SHORT + "\n")
    before = {k: list(v) for k, v in sandbox.account(ALICE).attrs.items()}
    sandbox.stats.reset()

    result = zcomp("unlock", ALICE, "--new-password-file", str(pw_file), minutes=0)

    assert result.exit_code == 1, result.stderr
    # One clear line: the account, Zimbra's reason, the policy, and that nothing changed.
    [line] = [ln for ln in result.stderr.splitlines() if "password policy" in ln]
    assert line.count(ALICE) >= 1 and "password-policy" in line
    assert "invalid password: too short" in line
    assert "16 to 64 characters" in line and "still locked" in line
    assert sandbox.stats.total("CheckPasswordStrengthRequest") == 1
    assert sandbox.stats.total("SetPasswordRequest") == 0 and sandbox.stats.writes == []
    assert sandbox.account(ALICE).attrs == before  # still locked, lockdown's password
    assert _unlock_actions(state_dir, incident) == []
    with Journal.open(state_dir) as journal:
        assert journal.incident(incident).state == "contained"
    for where, data in {"stdout": result.stdout.encode(), **_files(state_dir)}.items():
        assert TOO_SHORT.encode() not in data, where
    assert TOO_SHORT not in result.stderr

    # The same file, once it fits, unlocks (the refusal left nothing to clean up).
    pw_file.write_text(FITS + "\n")
    again = zcomp("unlock", ALICE, "--new-password-file", str(pw_file), "--json", minutes=0)
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["result"] == "unlocked"


def test_a_password_file_saved_by_a_windows_editor_is_the_password_typed(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result], tmp_path: Path
) -> None:
    _locked(services)
    pw_file = tmp_path / "temp.txt"
    # Notepad's "UTF-8" starts with a BOM, and its lines end in CRLF.
    pw_file.write_bytes(b"\xef\xbb\xbf" + FITS.encode() + b"\r\n")

    result = zcomp("unlock", ALICE, "--new-password-file", str(pw_file), "--json", minutes=0)

    assert result.exit_code == 0, result.stderr
    # The owner logs in with what the help desk read out of the file, BOM and CR unseen.
    assert owner.login(sandbox.urls[0], ALICE, FITS) == "account.CHANGE_PASSWORD"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("Caf\xe9-Temp-2024-x\n".encode("latin-1"), "not UTF-8 text"),
        (f"{FITS}\n".encode("utf-16"), "not UTF-8 text"),
        (f"{FITS}\n\n".encode(), "more than one line"),
        (f"{FITS}\r\nsecond line\r\n".encode(), "more than one line"),
    ],
    ids=["latin-1", "utf-16", "blank-line-after", "two-lines"],
)
def test_a_password_file_the_owner_could_not_type_is_refused_before_any_change(
    sandbox: Sandbox,
    services: Services,
    zcomp: Callable[..., Result],
    tmp_path: Path,
    state_dir: Path,
    content: bytes,
    says: str,
) -> None:
    incident = _locked(services)
    pw_file = tmp_path / "temp.txt"
    pw_file.write_bytes(content)
    sandbox.stats.reset()

    result = zcomp("unlock", ALICE, "--new-password-file", str(pw_file), minutes=0)

    assert result.exit_code == 2, result.stderr
    assert result.stderr == f"Error: --new-password-file {pw_file}: {says}" + (
        "; save the file as UTF-8\n"
        if says == "not UTF-8 text"
        else "; the file must hold the password alone, on one line\n"
    )
    assert result.stdout == ""
    assert sandbox.stats.writes == []
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"
    assert _unlock_actions(state_dir, incident) == []


def test_a_typed_password_is_checked_before_any_change(sandbox: Sandbox, no_wait: Services) -> None:
    sandbox.account(ALICE).attrs["zimbraPasswordMinNumericChars"] = ["3"]
    incident = _locked(no_wait)
    asked: list[str] = []

    def prompt(account: str) -> Secret:
        asked.append(account)
        return Secret("No-Digits-Typed-Here")

    sandbox.stats.reset()
    outcome = unlock_account(no_wait, ALICE, UnlockOptions(new_password=prompt))

    assert asked == [ALICE]
    assert outcome.result == "refused" and outcome.error is not None
    assert outcome.error.code == "password-policy"
    assert outcome.error.message.startswith(f"{ALICE}'s password policy refuses the new password")
    assert "not enough numeric characters" in outcome.error.message
    assert outcome.error.exit == 1
    assert sandbox.stats.total("SetPasswordRequest") == 0 and sandbox.stats.writes == []
    assert sandbox.account(ALICE).first("zimbraAccountStatus") == "locked"
    assert _unlock_actions(Path(no_wait.journal.path).parent, incident) == []


def test_no_password_on_the_wire_debug_output_or_journal(
    sandbox: Sandbox,
    services: Services,
    invoke: Callable[..., Result],
    tmp_path: Path,
    state_dir: Path,
) -> None:
    """--debug shows every exchange, redacted: neither the refused password nor the character
    Zimbra's reason names, nor the accepted one, appear; the check shares the re-check's trip."""
    sandbox.account(ALICE).attrs["zimbraPasswordAllowedChars"] = ["[A-Za-z0-9-]"]
    incident = _locked(services)
    config = tmp_path / "config.toml"
    config.write_text("[unlock]\nmin_locked_minutes = 0\n")
    refused_pw = "Has-A-Percent%Sign-1"
    pw_file = tmp_path / "temp.txt"

    def unlock(url: str) -> Result:
        args = ["--url", url, "--admin", ADMIN, "--config", str(config), "--debug"]
        return invoke(
            *args,
            *("unlock", ALICE, "--new-password-file", str(pw_file), "--json"),
            env={"ZCOMP_PASSWORD": "sandbox"},
        )

    pw_file.write_text(refused_pw)
    with wiretap(sandbox.urls[0]) as tap:
        refused = unlock(tap.base_url)
    assert refused.exit_code == 1, refused.stderr
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "password-policy"
    assert "invalid password: *** is not an allowed character" in error["message"]
    # The password really crossed the wire, with the re-check: login, resolve, re-check.
    assert tap.secret_values("password").count(refused_pw) == 1
    assert len(tap.exchanges) == 3
    [(request, reply)] = [x for x in tap.exchanges if b"CheckPasswordStrengthRequest" in x[0]]
    assert b"GetFilterRulesRequest" in request and b"% is not an allowed character" in reply
    assert "CheckPasswordStrengthRequest" in refused.stderr  # --debug did show the exchange
    assert set(re.findall(r"(\S+) is not an allowed character", refused.stderr)) == {"***"}
    assert _unlock_actions(state_dir, incident) == []

    pw_file.write_text(FITS)
    with wiretap(sandbox.urls[0]) as tap:
        done = unlock(tap.base_url)
    assert done.exit_code == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["result"] == "unlocked"
    # No extra round trip for the check: the login, then resolve, re-check (+ the check),
    # password, hand back, held mail count.
    assert len(tap.exchanges) == 6 and out["round_trips"] == 6
    checks = [x for x in tap.exchanges if b"CheckPasswordStrengthRequest" in x[0]]
    assert len(checks) == 1 and b"GetPrefsRequest" in checks[0][0]
    places = {"stdout": done.stdout.encode(), "stderr": done.stderr.encode(), **_files(state_dir)}
    for secret in (refused_pw, FITS):
        for where, data in places.items():
            assert secret.encode() not in data, f"{secret} leaked into {where}"
    for where, text in {"stdout": refused.stdout, "stderr": refused.stderr}.items():
        assert refused_pw not in text, where


def test_dry_run_says_what_kind_of_password_it_would_generate(
    sandbox: Sandbox, services: Services, zcomp: Callable[..., Result]
) -> None:
    _locked(services)
    sandbox.stats.reset()
    result = zcomp("unlock", ALICE, "--generate", "--dry-run", "--json", minutes=0)
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)["plan"]
    assert any("CheckPasswordStrength" in step for step in plan)
    assert any("pronounceable words, 83 bits of entropy" in step for step in plan), plan
    assert sandbox.stats.writes == []
