"""Password hashing ({SSHA512} like Zimbra's LDAP) and the password policy
(LdapProvisioning.checkPasswordStrength)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zcomp.sandbox.directory import AccountEntry, Directory


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(8)
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("{SSHA512}"):
        return False
    raw = base64.b64decode(stored[len("{SSHA512}") :])
    digest, salt = raw[:64], raw[64:]
    return hmac.compare_digest(hashlib.sha512(password.encode() + salt).digest(), digest)


# zimbraPasswordBlockCommonEnabled: Zimbra ships a Bloom filter of leaked passwords; a handful
# of the most notorious ones stands in for it here.
COMMON_PASSWORDS = frozenset(
    {
        "123456",
        "12345678",
        "123456789",
        "password",
        "password1",
        "Password1",
        "qwerty",
        "letmein",
        "welcome",
        "changeme",
        "iloveyou",
        "abc123",
    }
)


@dataclass(frozen=True)
class PasswordRules:
    """What checkPasswordStrength reads for an account: its value, else its COS's; a number
    unset is 0 (no rule), a maximum of 0 none."""

    min_length: int = 0
    max_length: int = 0
    min_upper: int = 0
    min_lower: int = 0
    min_numeric: int = 0
    min_punctuation: int = 0
    min_alpha: int = 0
    min_digits_or_puncs: int = 0
    allowed_chars: str | None = None  # a regex each single character must match
    allowed_punctuation: str | None = None  # a regex: the characters that count as punctuation
    username: str = ""  # Account.getUCUsername
    username_allowed: bool = True  # zimbraFeatureAllowUsernameInPassword
    block_common: bool = False  # zimbraPasswordBlockCommonEnabled


def password_rules(d: Directory, entry: AccountEntry) -> PasswordRules:
    def num(name: str) -> int:
        return d.effective_int(entry, name, 0)

    def text(name: str) -> str | None:
        return d.effective1(entry, name) or None

    # accountCosDomainInherited, which the directory does not inherit: account, else COS.
    allow_name = "zimbraFeatureAllowUsernameInPassword"
    allow = entry.first(allow_name) or (d.cos_attrs.get(allow_name) or ["TRUE"])[0]
    return PasswordRules(
        min_length=num("zimbraPasswordMinLength"),
        max_length=num("zimbraPasswordMaxLength"),
        min_upper=num("zimbraPasswordMinUpperCaseChars"),
        min_lower=num("zimbraPasswordMinLowerCaseChars"),
        min_numeric=num("zimbraPasswordMinNumericChars"),
        min_punctuation=num("zimbraPasswordMinPunctuationChars"),
        min_alpha=num("zimbraPasswordMinAlphaChars"),
        min_digits_or_puncs=num("zimbraPasswordMinDigitsOrPuncs"),
        allowed_chars=text("zimbraPasswordAllowedChars"),
        allowed_punctuation=text("zimbraPasswordAllowedPunctuationChars"),
        username=entry.first("zimbraUCUsername") or entry.name.split("@", 1)[0],
        username_allowed=allow == "TRUE",
        block_common=text("zimbraPasswordBlockCommonEnabled") == "TRUE",
    )


def _java_chars(password: str) -> list[str]:
    """The password as Java's String.charAt sees it: UTF-16 units (an emoji is two)."""
    data = password.encode("utf-16-le", "surrogatepass")
    return [data[i : i + 2].decode("utf-16-le", "surrogatepass") for i in range(0, len(data), 2)]


def _regex(attr: str, value: str | None) -> re.Pattern[str] | str | None:
    """The compiled regex, or the words of Zimbra's refusal when it is not one."""
    if value is None:
        return None
    try:
        return re.compile(value)
    except re.error as exc:
        return f"{attr} is not valid regex: {exc}"


def policy_violation(password: str, rules: PasswordRules) -> str | None:
    """The first violated rule, worded as LdapProvisioning.checkPasswordStrength does (the
    fault's text after "invalid password: "), or None. Same order: lengths, user name, common
    passwords, the regexes, each character against the allowed ones, then the counts."""
    chars = _java_chars(password)
    if rules.min_length > 0 and len(chars) < rules.min_length:
        return "too short"
    if rules.max_length > 0 and len(chars) > rules.max_length:
        return "too long"
    if not rules.username_allowed and rules.username.lower() in password.lower():
        return "password contains username"
    if rules.block_common and password in COMMON_PASSWORDS:
        return "too common"
    allowed = _regex("zimbraPasswordAllowedChars", rules.allowed_chars)
    punctuation = _regex("zimbraPasswordAllowedPunctuationChars", rules.allowed_punctuation)
    for bad in (allowed, punctuation):
        if isinstance(bad, str):
            return bad
    counted = (
        rules.min_upper,
        rules.min_lower,
        rules.min_numeric,
        rules.min_punctuation,
        rules.min_alpha,
        rules.min_digits_or_puncs,
    )
    if not any(counted) and allowed is None and punctuation is None:
        return None
    upper = lower = numeric = punct = alpha = 0
    for ch in chars:
        if isinstance(allowed, re.Pattern) and allowed.fullmatch(ch) is None:
            return f"{ch} is not an allowed character"
        is_alpha = True
        if ch.isupper():
            upper += 1
        elif ch.islower():
            lower += 1
        elif ch.isdecimal():
            numeric += 1
            is_alpha = False
        elif isinstance(punctuation, re.Pattern):
            # A character the punctuation regex does not match counts as alpha, ASCII or not.
            if punctuation.fullmatch(ch) is not None:
                punct += 1
                is_alpha = False
        elif ch in string.punctuation:  # isAsciiPunc: 33-47, 58-64, 91-96, 123-126
            punct += 1
            is_alpha = False
        if is_alpha:
            alpha += 1
    for have, need, words in (
        (upper, rules.min_upper, "not enough upper case characters"),
        (lower, rules.min_lower, "not enough lower case characters"),
        (numeric, rules.min_numeric, "not enough numeric characters"),
        (punct, rules.min_punctuation, "not enough punctuation characters"),
        (alpha, rules.min_alpha, "not enough alpha characters"),
        (
            numeric + punct,
            rules.min_digits_or_puncs,
            "not enough numeric or punctuation characters",
        ),
    ):
        if have < need:
            return words
    return None
