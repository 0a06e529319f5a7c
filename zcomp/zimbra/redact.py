"""Hide passwords, tokens and secret attribute values in SOAP text (XML and JSON) for --debug."""

from __future__ import annotations

import re

SECRET_NAMES = (
    "password",
    "newPassword",
    "authToken",
    "oldPassword",
    "csrfToken",
    # A guest share's password (GetFolder pw=, FolderAction args=), an access key, a data
    # source's OAuth tokens and SMTP password, a device's recovery password.
    "pw",
    "args",
    "key",
    "refreshToken",
    "oauthToken",
    "clientSecret",
    "smtpPassword",
    "recoveryPassword",
)
# Account attributes whose values are credentials or hashes of them. The single source:
# the evidence bundle withholds the same names.
SECRET_ATTRS = frozenset(
    {
        "userPassword",
        "zimbraPasswordHistory",
        "zimbraAuthTokens",
        "zimbraAppSpecificPassword",
        "zimbraTwoFactorAuthSecret",
        "zimbraTwoFactorAuthScratchCodes",
        "zimbraCsrfTokenData",
    }
)
MASK = "***"
_NAMES = "|".join(SECRET_NAMES)
# Zimbra attribute names are case-insensitive; ModifyAccount may prefix them with + or -.
_ATTRS = "(?i:[+-]?(?:" + "|".join(sorted(SECRET_ATTRS)) + "))"
# One JSON string, escapes included (so braces or quotes inside values do not derail us).
_JSON_STR = r'"(?:[^"\\]|\\.)*"'

# <password>x</password>, <ns0:authToken attr="">x</ns0:authToken>
_ELEMENT = re.compile(
    rf"(<(?:[\w.-]+:)?(?:{_NAMES})(?:\s[^>]*)?>)(.*?)(</(?:[\w.-]+:)?(?:{_NAMES})\s*>)",
    re.DOTALL,
)
# password="x" / newPassword='x' as XML attributes
_ATTRIBUTE = re.compile(rf"""(\s(?:{_NAMES})\s*=\s*)("[^"]*"|'[^']*')""")
# <a n="userPassword">x</a>, <ns0:a pd="1" n='zimbraPasswordHistory'>x</ns0:a>; never <a .../>
_ATTR_ELEMENT = re.compile(
    rf"""(<(?:[\w.-]+:)?a\s[^>]*?\bn\s*=\s*(["']){_ATTRS}\2[^>]*(?<!/)>)(.*?)"""
    r"(</(?:[\w.-]+:)?a\s*>)",
    re.DOTALL,
)
# "password": "x"  /  "authToken": [{"_content": "x"}]  /  "authToken": {"_content": "x"}
_JSON_STRING = re.compile(rf'("(?:{_NAMES})"\s*:\s*){_JSON_STR}')
_JSON_CONTENT = re.compile(
    rf'("(?:{_NAMES})"\s*:\s*\[?\s*\{{[^{{}}]*?"_content"\s*:\s*){_JSON_STR}'
)
# {"n": "userPassword", "_content": "x"} in either key order: match whole flat objects.
_JSON_OBJECT = re.compile(rf'\{{(?:[^{{}}"]|{_JSON_STR})*\}}')
_JSON_ATTR_NAME = re.compile(rf'"n"\s*:\s*"{_ATTRS}"')
_JSON_ATTR_VALUE = re.compile(rf'("_content"\s*:\s*){_JSON_STR}')
# The usual adjacent shape, matched directly too (does not depend on where objects start).
_JSON_ATTR_PAIR = re.compile(rf'("n"\s*:\s*"{_ATTRS}"\s*,\s*"_content"\s*:\s*){_JSON_STR}')
# checkPasswordStrength's fault names the refused character ("invalid password: x is not an
# allowed character"): a piece of the password, escaped or not, in XML or JSON.
_REFUSED_CHAR = re.compile(r"(invalid password: ).{1,12}?( is not an allowed character)", re.DOTALL)


def _mask_json_attr(match: re.Match[str]) -> str:
    obj = match.group(0)
    if not _JSON_ATTR_NAME.search(obj):
        return obj
    return _JSON_ATTR_VALUE.sub(lambda m: f'{m.group(1)}"{MASK}"', obj)


def redact(text: str) -> str:
    text = _ELEMENT.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _ATTRIBUTE.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    text = _ATTR_ELEMENT.sub(lambda m: f"{m.group(1)}{MASK}{m.group(4)}", text)
    text = _JSON_STRING.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    text = _JSON_CONTENT.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    text = _JSON_ATTR_PAIR.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    text = _REFUSED_CHAR.sub(lambda m: f"{m.group(1)}{MASK}{m.group(2)}", text)
    return _JSON_OBJECT.sub(_mask_json_attr, text)
