"""Errors raised by ticket backends."""

from __future__ import annotations

from zcomp.exitcodes import ZcompError


class TicketError(ZcompError):
    """A ticket could not be opened, found, commented on or resolved; or text was refused."""
