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
