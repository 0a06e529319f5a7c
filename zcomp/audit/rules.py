"""The audit's rules: one per Zimbra attribute, where it lives, when its value is weak, what to
set instead and why.

Every name, id, type, place and default is from Zimbra's store/conf/attrs/zimbra-attrs.xml
(zm-mailbox @ 2b7f9787c69e); `attr_id` is the `id=` there. `places` are the entries the
attribute may be set on (its optionalIn) that the audit reads: "global" (globalConfig), "cos",
"domain". `default` is Zimbra's value when the entry has none (defaultCOSValue for a COS,
globalConfigValue for the global config); a domain's accountCosDomainInherited attribute has
none (the account and its COS come first), so an unset one is not judged.

Not here, and why (see docs/audit.md):
- zimbraAllowFromAddress (428) is optionalIn="account" only: no COS or domain value exists.
- No recipient limit exists in Zimbra's LDAP schema (no zimbraMtaSmtpdRecipientLimit, no
  zimbraSmtpSendMaxRecipients): postfix's smtpd_recipient_limit is not managed by zmprov.
- Server entries can override the MTA attributes (serverInherited); they are not read.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

GLOBAL, COS, DOMAIN = "global", "cos", "domain"


class Severity(str, enum.Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        return {"high": 3, "medium": 2, "low": 1}[self.value]


Values = tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    attr: str
    attr_id: int
    places: tuple[str, ...]
    default: Values  # Zimbra's value where unset (empty: none, not judged)
    severity: Severity
    recommended: str  # as shown to people
    why: str  # one line
    weak: Callable[[Values], bool]
    # The values to set, given the current ones; None: no value zcomp can choose safely.
    fix: Callable[[Values], Values | None]


# ---------------------------------------------------------------- value helpers

_DURATION = re.compile(r"^(\d+)(ms|[smhd]?)$")
_UNIT_S = {"": 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "h": 3600.0, "d": 86400.0}
SENDER_LOGIN_MAPS = "proxy:ldap:/opt/zimbra/conf/ldap-slm.cf"
LOGIN_MISMATCH = ("reject_authenticated_sender_login_mismatch", "reject_sender_login_mismatch")


def seconds(value: str) -> float | None:
    """A Zimbra duration (nnnn([hmsd]|ms); a bare number is seconds) in seconds."""
    found = _DURATION.match(value.strip())
    if found is None:
        return None
    return int(found.group(1)) * _UNIT_S[found.group(2)]


def _one(values: Values) -> str:
    return values[0] if values else ""


def _is(expected: str) -> Callable[[Values], bool]:
    """Weak unless the value is `expected` (booleans are TRUE/FALSE exactly)."""
    return lambda values: _one(values) != expected


def _set(value: str) -> Callable[[Values], Values | None]:
    return lambda values: (value,)


def _int_outside(low: int, high: int) -> Callable[[Values], bool]:
    def weak(values: Values) -> bool:
        try:
            return not low <= int(_one(values)) <= high
        except ValueError:
            return True

    return weak


def _longer_than(limit_s: float, *, zero_weak: bool) -> Callable[[Values], bool]:
    def weak(values: Values) -> bool:
        s = seconds(_one(values))
        if s is None:
            return False  # not a duration Zimbra would accept: nothing sensible to say
        return (zero_weak and s == 0) or s > limit_s

    return weak


def _shorter_than(limit_s: float) -> Callable[[Values], bool]:
    def weak(values: Values) -> bool:
        s = seconds(_one(values))
        return s is not None and 0 < s < limit_s

    return weak


def _tokens(values: Values) -> list[str]:
    return [t for v in values for t in re.split(r"[\s,]+", v) if t]


def _no_login_mismatch(values: Values) -> bool:
    return not any(t in LOGIN_MISMATCH for t in _tokens(values))


def _add_login_mismatch(values: Values) -> Values | None:
    current = ", ".join(_tokens(values))
    return (f"{current}, {LOGIN_MISMATCH[0]}" if current else LOGIN_MISMATCH[0],)


def wide_networks(values: Values) -> list[str]:
    """Networks in a mynetworks value wider than one LAN (/24, or /64 for IPv6), loopback
    aside; a name or a lookup table (hash:/..., which zcomp cannot read) is not judged."""
    wide = []
    for token in _tokens(values):
        try:
            net = ipaddress.ip_network(token.strip("[]").replace("]/", "/"), strict=False)
        except ValueError:
            continue
        if net.is_loopback:
            continue
        if net.prefixlen < (24 if net.version == 4 else 64):
            wide.append(token)
    return wide


# ---------------------------------------------------------------- the table

RULES: tuple[Rule, ...] = (
    # Password history and lockout (COS; accountInherited).
    Rule(
        "zimbraPasswordEnforceHistory", 37, (COS,), ("0",), Severity.HIGH, "5 or more",
        "the phished password can be set again right after the reset",
        _int_outside(5, 2**31 - 1), _set("5"),
    ),
    Rule(
        "zimbraPasswordLockoutEnabled", 378, (COS,), ("FALSE",), Severity.HIGH, "TRUE",
        "password guessing is never stopped",
        _is("TRUE"), _set("TRUE"),
    ),
    Rule(
        "zimbraPasswordLockoutMaxFailures", 380, (COS,), ("10",), Severity.MEDIUM, "1 to 10",
        "more guesses are allowed before the account locks",
        _int_outside(1, 10), _set("10"),
    ),
    Rule(
        "zimbraPasswordLockoutDuration", 379, (COS,), ("1h",), Severity.LOW, "1h or more",
        "a locked-out guesser is back within minutes",
        _shorter_than(3600), _set("1h"),
    ),
    Rule(
        "zimbraPasswordLockoutFailureLifetime", 381, (COS,), ("1h",), Severity.LOW,
        "1h or more", "failed guesses are forgotten quickly, so slow guessing never locks",
        _shorter_than(3600), _set("1h"),
    ),
    # Sending as someone else (COS).
    Rule(
        "zimbraAllowAnyFromAddress", 427, (COS,), ("FALSE",), Severity.HIGH, "FALSE",
        "users may send with any From address: a phished account can impersonate anyone",
        _is("FALSE"), _set("FALSE"),
    ),
    Rule(
        "zimbraSmtpRestrictEnvelopeFrom", 1077, (COS,), ("TRUE",), Severity.HIGH, "TRUE",
        "webmail's envelope sender follows the From header (spoofing; bounces go elsewhere)",
        _is("TRUE"), _set("TRUE"),
    ),
    # Forwarding, personas, auto-replies (COS).
    Rule(
        "zimbraFeatureMailForwardingEnabled", 342, (COS,), ("TRUE",), Severity.MEDIUM,
        "FALSE", "users may forward all their mail outside, an attacker's first step",
        _is("FALSE"), _set("FALSE"),
    ),
    Rule(
        "zimbraFeatureMailForwardingInFiltersEnabled", 704, (COS,), ("TRUE",), Severity.LOW,
        "FALSE", "filters may redirect mail outside (the web client honours this switch)",
        _is("FALSE"), _set("FALSE"),
    ),
    Rule(
        "zimbraFeatureIdentitiesEnabled", 415, (COS,), ("TRUE",), Severity.LOW, "FALSE",
        "personas with a foreign From/Reply-To collect the replies to the spam",
        _is("FALSE"), _set("FALSE"),
    ),
    Rule(
        "zimbraFeatureOutOfOfficeReplyEnabled", 366, (COS,), ("TRUE",), Severity.LOW, "FALSE",
        "an attacker's auto-reply mails the spam to every sender (no COS switch limits it "
        "to internal senders)",
        _is("FALSE"), _set("FALSE"),
    ),
    # Sessions (COS).
    Rule(
        "zimbraAuthTokenLifetime", 108, (COS,), ("2d",), Severity.LOW, "12h or less",
        "a stolen web session stays valid for days",
        _longer_than(12 * 3600, zero_weak=False), _set("12h"),
    ),
    Rule(
        "zimbraAdminAuthTokenLifetime", 109, (COS,), ("12h",), Severity.MEDIUM, "12h or less",
        "a stolen admin session stays valid longer",
        _longer_than(12 * 3600, zero_weak=False), _set("12h"),
    ),
    Rule(
        "zimbraMailIdleSessionTimeout", 147, (COS,), ("0",), Severity.LOW, "2h or less",
        "an idle webmail session never ends (0 means no timeout)",
        _longer_than(2 * 3600, zero_weak=True), _set("2h"),
    ),
    # What outlives the password (COS and domain; accountCosDomainInherited).
    Rule(
        "zimbraFeatureResetPasswordStatus", 2134, (COS, DOMAIN), ("disabled",),
        Severity.MEDIUM, "disabled",
        "whoever sets the recovery address can reset the password after lockdown",
        lambda v: _one(v) == "enabled", _set("disabled"),
    ),
    Rule(
        "zimbraPublicSharingEnabled", 1351, (COS, DOMAIN), ("TRUE",), Severity.MEDIUM, "FALSE",
        "a public share (no login at all) outlives the password change",
        _is("FALSE"), _set("FALSE"),
    ),
    Rule(
        "zimbraExternalSharingEnabled", 1261, (COS, DOMAIN), ("TRUE",), Severity.LOW, "FALSE",
        "shares to outside guests outlive the password change",
        _is("FALSE"), _set("FALSE"),
    ),
    # Global config.
    Rule(
        "zimbraAuthTokenValidityValueEnabled", 1094, (GLOBAL,), ("TRUE",), Severity.HIGH,
        "TRUE", "a password change (or lockdown) does not end the attacker's sessions",
        _is("TRUE"), _set("TRUE"),
    ),
    Rule(
        "zimbraMtaSmtpdSenderLoginMaps", 1591, (GLOBAL,), (), Severity.HIGH,
        SENDER_LOGIN_MAPS,
        "without it the MTA cannot tell whose envelope sender an SMTP login may use",
        lambda v: not _one(v).strip(), _set(SENDER_LOGIN_MAPS),
    ),
    Rule(
        "zimbraMtaSmtpdSenderRestrictions", 1590, (GLOBAL,), (), Severity.HIGH,
        f"include {LOGIN_MISMATCH[0]}",
        "an authenticated SMTP client may send as any envelope sender",
        _no_login_mismatch, _add_login_mismatch,
    ),
    Rule(
        "zimbraMtaMyNetworks", 311, (GLOBAL,), (), Severity.HIGH,
        "only the Zimbra servers' own addresses",
        "every host in a network listed here relays mail without logging in",
        lambda v: bool(wide_networks(v)), lambda v: None,
    ),
)  # fmt: skip


def rule_for(attr: str) -> Rule | None:
    return next((r for r in RULES if r.attr.lower() == attr.lower()), None)
