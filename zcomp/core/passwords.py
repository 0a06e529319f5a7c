"""Passwords zcomp makes: lockdown's (never shown) and unlock's (read out by phone).

`random_password` scrambles a contained account: nobody ever sees it, so it is simply long.
`readable_password` is the temporary password a help desk reads to the owner: made-up,
pronounceable words, enough of them for MIN_BITS of entropy, shaped to the account's effective
password policy as Zimbra applies it (LdapProvisioning.checkPasswordStrength). When the policy
leaves no room for words (too short a maximum, letters not allowed), it is a random password
that fits the policy instead.
"""

from __future__ import annotations

import enum
import functools
import itertools
import math
import re
import secrets
import string
from dataclasses import dataclass

from zcomp.zimbra.model import Account, Secret

MIN_BITS = 80.0

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "-_.!@#%^*+=")


def random_password(length: int = 32) -> Secret:
    """Unique per call; at least one character of each class (policy minimums)."""
    alphabet = "".join(_CLASSES)
    chars = [secrets.choice(c) for c in _CLASSES]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return Secret("".join(chars))


# ---------------------------------------------------------------- the account's policy


@functools.lru_cache(maxsize=64)
def _java_regex(regex: str | None) -> re.Pattern[str] | None:
    """A policy regex (Java syntax) in Python's re, or None when re cannot read it (\\p{Punct},
    [a-z&&[^e]]): zcomp then does not second-guess it and Zimbra's own check decides."""
    if regex is None:
        return None
    try:
        return re.compile(regex)
    except re.error:
        return None


@dataclass(frozen=True)
class CharCounts:
    """A password's characters as checkPasswordStrength counts them."""

    upper: int = 0
    lower: int = 0
    numeric: int = 0
    punctuation: int = 0
    alpha: int = 0  # anything that is neither a digit nor punctuation


@dataclass(frozen=True)
class PasswordPolicy:
    """An account's effective password policy: its own values, else its COS's (what GetAccount
    with applyCos=1 returns). As in Zimbra, a number unset or unreadable is 0 (no rule) and a
    maximum of 0 means none."""

    min_length: int = 0
    max_length: int = 0
    min_upper: int = 0
    min_lower: int = 0
    min_numeric: int = 0
    min_punctuation: int = 0
    min_alpha: int = 0
    min_digits_or_puncs: int = 0
    allowed_chars: str | None = None  # Java regex each single character must match
    allowed_punctuation: str | None = None  # Java regex: the characters that count as punctuation
    forbidden_name: str | None = (
        None  # the user name, when zimbraFeatureAllowUsernameInPassword=FALSE
    )

    @classmethod
    def of(cls, account: Account) -> PasswordPolicy:
        def number(name: str) -> int:
            try:
                return max(0, int(account.get(name) or 0))
            except ValueError:
                return 0

        # Entry.getBooleanAttr: unset is the default (TRUE), anything but TRUE is false.
        allow_name = account.get("zimbraFeatureAllowUsernameInPassword")
        forbidden = None
        if allow_name is not None and allow_name != "TRUE":
            # Account.getUCUsername: zimbraUCUsername, else the local part of the name.
            forbidden = account.get("zimbraUCUsername") or account.name.split("@", 1)[0]
        return cls(
            min_length=number("zimbraPasswordMinLength"),
            max_length=number("zimbraPasswordMaxLength"),
            min_upper=number("zimbraPasswordMinUpperCaseChars"),
            min_lower=number("zimbraPasswordMinLowerCaseChars"),
            min_numeric=number("zimbraPasswordMinNumericChars"),
            min_punctuation=number("zimbraPasswordMinPunctuationChars"),
            min_alpha=number("zimbraPasswordMinAlphaChars"),
            min_digits_or_puncs=number("zimbraPasswordMinDigitsOrPuncs"),
            allowed_chars=account.get("zimbraPasswordAllowedChars") or None,
            allowed_punctuation=account.get("zimbraPasswordAllowedPunctuationChars") or None,
            forbidden_name=forbidden or None,
        )

    def allows(self, ch: str) -> bool:
        """zimbraPasswordAllowedChars lets `ch` in (or is unset, or beyond Python's re)."""
        pattern = _java_regex(self.allowed_chars)
        return pattern is None or pattern.fullmatch(ch) is not None

    def is_punctuation(self, ch: str) -> bool:
        """Counted as punctuation: matches zimbraPasswordAllowedPunctuationChars when set,
        else is ASCII punctuation (checkPasswordStrength's isAsciiPunc)."""
        pattern = _java_regex(self.allowed_punctuation)
        if pattern is not None:
            return pattern.fullmatch(ch) is not None
        return ch in string.punctuation

    def counts(self, password: str) -> CharCounts:
        upper = lower = numeric = punctuation = alpha = 0
        for ch in password:
            if ch.isupper():
                upper += 1
                alpha += 1
            elif ch.islower():
                lower += 1
                alpha += 1
            elif ch.isdecimal():
                numeric += 1
            elif self.is_punctuation(ch):
                punctuation += 1
            else:
                alpha += 1
        return CharCounts(upper, lower, numeric, punctuation, alpha)

    def violation(self, password: str) -> str | None:
        """The first rule `password` breaks, in checkPasswordStrength's order and words (never
        naming the offending character), or None. Zimbra's own check has the last word: it also
        knows zimbraPasswordBlockCommonEnabled's list."""
        if self.min_length and len(password) < self.min_length:
            return "too short"
        if self.max_length and len(password) > self.max_length:
            return "too long"
        if self.forbidden_name and self.forbidden_name.lower() in password.lower():
            return "password contains username"
        if not all(self.allows(ch) for ch in password):
            return "a character is not allowed (zimbraPasswordAllowedChars)"
        have = self.counts(password)
        rules = (
            (have.upper, self.min_upper, "not enough upper case characters"),
            (have.lower, self.min_lower, "not enough lower case characters"),
            (have.numeric, self.min_numeric, "not enough numeric characters"),
            (have.punctuation, self.min_punctuation, "not enough punctuation characters"),
            (have.alpha, self.min_alpha, "not enough alpha characters"),
            (
                have.numeric + have.punctuation,
                self.min_digits_or_puncs,
                "not enough numeric or punctuation characters",
            ),
        )
        for count, minimum, words in rules:
            if count < minimum:
                return words
        return None

    def describe(self) -> str:
        """The rules in a few words, for an operator choosing another password."""
        parts = []
        if self.min_length and self.max_length:
            parts.append(f"{self.min_length} to {self.max_length} characters")
        elif self.min_length:
            parts.append(f"at least {self.min_length} characters")
        elif self.max_length:
            parts.append(f"at most {self.max_length} characters")
        for minimum, what in (
            (self.min_upper, "upper case"),
            (self.min_lower, "lower case"),
            (self.min_numeric, "digits"),
            (self.min_punctuation, "punctuation"),
            (self.min_alpha, "letters"),
            (self.min_digits_or_puncs, "digits or punctuation"),
        ):
            if minimum:
                parts.append(f"{minimum}+ {what}")
        if self.allowed_chars:
            parts.append(f"only characters matching {self.allowed_chars}")
        if self.allowed_punctuation:
            parts.append(f"punctuation is {self.allowed_punctuation}")
        if self.forbidden_name:
            parts.append("not containing the user name")
        return ", ".join(parts) or "no rules"


# ---------------------------------------------------------------- words for the phone

# Made-up words consonant-vowel-consonant-vowel-consonant ("tomav"): said as written, spelled
# as said. No c, q, x, w, y: each of those has more than one sound or spelling.
_CONSONANTS = "bdfghjklmnprstvz"
_VOWELS = "aeiou"
_SHAPE = (_CONSONANTS, _VOWELS, _CONSONANTS, _VOWELS, _CONSONANTS)
# Words a help desk should not have to read out to anyone; the shape can spell a few.
_UNSAYABLE = re.compile(
    "fuk|fak|fag|dik|kok|kak|pis|nig|neg|kik|tit|penis|rap|homo|semen|pedo|nazi"
)
_SEPARATORS = "-._+=~:"  # between words: the first the policy allows
_DIGIT_BITS = math.log2(10)
_ATTEMPTS = 50  # fresh draws when one happens to contain the user name


@functools.cache
def word_count() -> int:
    """How many different words the shape makes, less the unsayable ones. Words are drawn
    uniformly from exactly these, so log2 of this is the entropy one word adds."""
    unsayable = _UNSAYABLE.search
    return sum(1 for word in map("".join, itertools.product(*_SHAPE)) if not unsayable(word))


def word_bits() -> float:
    return math.log2(word_count())


def _word() -> str:
    while True:  # rejection keeps the draw uniform over the sayable words
        word = "".join(secrets.choice(letters) for letters in _SHAPE)
        if not _UNSAYABLE.search(word):
            return word


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


@dataclass(frozen=True)
class WordLayout:
    """The shape of a words password: "Tomav-Rikel-Dasuf-Bonek-Zipor-47" is 5 words, 2 digits,
    "-" between groups, capitals, no tail. The shape is public; only the draws are secret."""

    words: int
    digits: int = 0
    separator: str = "-"
    capitals: bool = False
    tail: str = ""  # punctuation the policy wants beyond the separators

    @property
    def length(self) -> int:
        groups = self.words + (1 if self.digits else 0)
        gaps = len(self.separator) * (groups - 1)
        return len(_SHAPE) * self.words + self.digits + gaps + len(self.tail)

    @property
    def bits(self) -> float:
        return self.words * word_bits() + self.digits * _DIGIT_BITS

    def render(self) -> str:
        words = [_word() for _ in range(self.words)]
        if self.capitals:
            words = [w.capitalize() for w in words]
        groups = words + ([_digits(self.digits)] if self.digits else [])
        return self.separator.join(groups) + self.tail


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def word_layout(policy: PasswordPolicy, min_bits: float = MIN_BITS) -> WordLayout | None:
    """The shortest words layout with `min_bits` that meets the policy's numbers, or None
    when words cannot (letters not allowed, the maximum length, punctuation not allowed)."""
    if not all(policy.allows(c) for c in _CONSONANTS + _VOWELS):
        return None
    sep = next((c for c in _SEPARATORS if policy.allows(c)), "")
    sep_counts = bool(sep) and policy.is_punctuation(sep)
    # More punctuation than the separators give goes at the end: "...-zipor!!" reads better
    # than "...-zipor--".
    extra = next(
        (c for c in "!#%+=" + string.punctuation if policy.allows(c) and policy.is_punctuation(c)),
        "",
    )
    # Without a separator, capitals (if allowed) show where each word starts.
    capitals = policy.min_upper > 0 or (
        not sep and all(policy.allows(c) for c in string.ascii_uppercase)
    )
    lower_per_word = len(_SHAPE) - (1 if capitals else 0)
    words = max(
        1,
        policy.min_upper if capitals else 0,
        _ceil_div(policy.min_lower, lower_per_word),
        _ceil_div(policy.min_alpha, len(_SHAPE)),
    )
    digits = policy.min_numeric
    while True:  # every pass adds a word or digits: the length only grows
        groups = words + (1 if digits else 0)
        punctuation = groups - 1 if sep_counts else 0
        tail = max(0, policy.min_punctuation - punctuation)
        if tail and not extra:
            return None
        if digits + punctuation + tail < policy.min_digits_or_puncs:
            digits += policy.min_digits_or_puncs - (digits + punctuation + tail)
            continue
        layout = WordLayout(words, digits, sep, capitals, extra * tail)
        if layout.bits < min_bits:
            words += 1
            continue
        short = policy.min_length - layout.length
        if short > 0:
            # A long minimum is met with more words; the last few characters with digits.
            if short >= len(_SHAPE) + len(sep):
                words += 1
            else:
                digits += short
            continue
        break
    if policy.max_length and layout.length > policy.max_length:
        return None
    return layout


class PasswordStyle(str, enum.Enum):
    WORDS = "words"
    RANDOM = "random"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class GeneratedPassword:
    """A temporary password and how it was made. Everything but `secret` is safe to show."""

    secret: Secret
    style: PasswordStyle
    bits: float  # entropy of the scheme that drew it
    note: str = ""  # why it is not words

    def describe(self) -> str:
        how = "pronounceable words" if self.style is PasswordStyle.WORDS else "random characters"
        return f"{how}, {self.bits:.0f} bits of entropy" + (f" ({self.note})" if self.note else "")


def readable_password(policy: PasswordPolicy, min_bits: float = MIN_BITS) -> GeneratedPassword:
    """Words a person can read over the phone, fitting `policy`; random characters when the
    policy has no room for words."""
    layout = word_layout(policy, min_bits)
    if layout is None:
        note = f"the password policy leaves no room for words: {policy.describe()}"
        return policy_random_password(policy, min_bits, note)
    problem = None
    for _ in range(_ATTEMPTS):
        candidate = layout.render()
        problem = policy.violation(candidate)
        if problem is None:
            return GeneratedPassword(Secret(candidate), PasswordStyle.WORDS, layout.bits)
    return policy_random_password(policy, min_bits, f"words break the password policy: {problem}")


def policy_random_password(
    policy: PasswordPolicy, min_bits: float = MIN_BITS, note: str = ""
) -> GeneratedPassword:
    """Random characters the policy allows, each class it asks for included; as long as
    `min_bits` needs, within the policy's lengths (a tight maximum gives fewer bits)."""

    def allowed(chars: str) -> str:
        return "".join(c for c in chars if policy.allows(c))

    lower, upper = allowed(string.ascii_lowercase), allowed(string.ascii_uppercase)
    digits = allowed(string.digits)
    punctuation = "".join(c for c in allowed(string.punctuation) if policy.is_punctuation(c))
    # Lockdown's punctuation first: no quotes, backslashes or spaces to trip a form or a shell.
    punctuation = "".join(c for c in punctuation if c in _CLASSES[3]) or punctuation
    alphabet = lower + upper + digits + punctuation
    if not alphabet:  # nothing zcomp knows is allowed: Zimbra's check will say what is wrong
        return GeneratedPassword(random_password(), PasswordStyle.RANDOM, 0.0, note)
    wanted = [
        (upper, policy.min_upper),
        (lower, policy.min_lower),
        (digits, policy.min_numeric),
        (punctuation, policy.min_punctuation),
        (lower + upper, policy.min_alpha - policy.min_upper - policy.min_lower),
        (
            digits + punctuation,
            policy.min_digits_or_puncs - policy.min_numeric - policy.min_punctuation,
        ),
    ]
    pools = [pool for pool, n in wanted if pool for _ in range(max(0, n))]
    pools += [alphabet] * (policy.min_length - len(pools))

    def bits() -> float:  # a class drawn from a smaller pool adds fewer bits: count each draw
        return sum(math.log2(len(pool)) for pool in pools)

    while bits() < min_bits and not (policy.max_length and len(pools) >= policy.max_length):
        pools.append(alphabet)
    password = ""
    for _ in range(_ATTEMPTS):
        chars = [secrets.choice(pool) for pool in pools]
        secrets.SystemRandom().shuffle(chars)
        password = "".join(chars)
        if policy.violation(password) is None:
            break
    return GeneratedPassword(Secret(password), PasswordStyle.RANDOM, bits(), note)
