"""Password hashing ({SSHA512} like Zimbra's LDAP) and the COS password policy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import string


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


def policy_violation(password: str, get: dict[str, int]) -> str | None:
    """The first violated rule, worded as LdapProvisioning.checkPasswordStrength does, or None."""
    if len(password) < get.get("zimbraPasswordMinLength", 6):
        return "too short"
    if len(password) > get.get("zimbraPasswordMaxLength", 64):
        return "too long"
    counts = {
        "zimbraPasswordMinUpperCaseChars": sum(c.isupper() for c in password),
        "zimbraPasswordMinLowerCaseChars": sum(c.islower() for c in password),
        "zimbraPasswordMinNumericChars": sum(c.isdigit() for c in password),
        "zimbraPasswordMinPunctuationChars": sum(c in string.punctuation for c in password),
    }  # checked in checkPasswordStrength's order: upper, lower, numeric, punctuation
    words = {
        "zimbraPasswordMinUpperCaseChars": "not enough upper case characters",
        "zimbraPasswordMinLowerCaseChars": "not enough lower case characters",
        "zimbraPasswordMinPunctuationChars": "not enough punctuation characters",
        "zimbraPasswordMinNumericChars": "not enough numeric characters",
    }
    for attr, have in counts.items():
        if have < get.get(attr, 0):
            return words[attr]
    return None
