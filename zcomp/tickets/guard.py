"""Tripwire: text bound for a ticket must not carry an auth token or a "password: value"."""

from __future__ import annotations

import re

from zcomp.journal.guard import ZIMBRA_TOKEN
from zcomp.tickets.errors import TicketError

# "password: x", "Password = x", "newPassword:x" ... a label followed by a value.
PASSWORD_VALUE = re.compile(r"password\s*[:=]\s*\S", re.IGNORECASE)


def refuse_secrets(text: str, where: str) -> None:
    """Raise TicketError (without echoing the text) if `text` looks like it holds a secret."""
    if ZIMBRA_TOKEN.search(text):
        raise TicketError(f"refused to write {where}: it contains what looks like an auth token")
    if PASSWORD_VALUE.search(text):
        raise TicketError(f'refused to write {where}: it contains "password:" followed by a value')


_PASSWORD_VALUE_WHOLE = re.compile(r"(password)\s*[:=]\s*\S+", re.IGNORECASE)


def withhold_secrets(text: str) -> str:
    """`text` with a "password: value" or a token-shaped string replaced, for text a person
    typed (a --reason) that must reach the journal and the ticket without its secret."""
    text = ZIMBRA_TOKEN.sub("(token-shaped text withheld)", text)
    # "password [withheld]": no "password:" left for the ticket guard to (rightly) refuse.
    return _PASSWORD_VALUE_WHOLE.sub(lambda m: m.group(1) + " [withheld]", text)
