"""Hide passwords and tokens in SOAP text (XML elements, XML attributes and JSON) for --debug."""

from __future__ import annotations

import re

SECRET_NAMES = ("password", "newPassword", "authToken", "oldPassword", "csrfToken")
MASK = "***"
_NAMES = "|".join(SECRET_NAMES)

# <password>x</password>, <ns0:authToken attr="">x</ns0:authToken>
_ELEMENT = re.compile(
    rf"(<(?:[\w.-]+:)?(?:{_NAMES})(?:\s[^>]*)?>)(.*?)(</(?:[\w.-]+:)?(?:{_NAMES})\s*>)",
    re.DOTALL,
)
# password="x" / newPassword='x' as XML attributes
_ATTRIBUTE = re.compile(rf"""(\s(?:{_NAMES})\s*=\s*)("[^"]*"|'[^']*')""")
# "password": "x"  /  "authToken": [{"_content": "x"}]  /  "authToken": {"_content": "x"}
_JSON_STRING = re.compile(rf'("(?:{_NAMES})"\s*:\s*)"(?:[^"\\]|\\.)*"')
_JSON_CONTENT = re.compile(
    rf'("(?:{_NAMES})"\s*:\s*\[?\s*\{{[^{{}}]*?"_content"\s*:\s*)"(?:[^"\\]|\\.)*"'
)


def redact(text: str) -> str:
    text = _ELEMENT.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _ATTRIBUTE.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    text = _JSON_STRING.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    return _JSON_CONTENT.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
