"""The exit-status contract shared by every command (see docs/design.md)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # the command ran and something did not hold (or inspect found something)
    USAGE = 2  # bad arguments, bad configuration
    AUTH = 3  # authentication to Zimbra failed or no credential available
    CONNECTION = 4  # connection refused, timeout, TLS failure, non-SOAP reply
    FAULT = 5  # Zimbra refused the request with a SOAP fault
    PARTIAL = 6  # some accounts of a batch failed
    TICKET_PENDING = 7  # every account done, but a help-desk ticket is still pending
    BUSY = 8  # another zcomp process is acting on the account
    INTERRUPTED = 130


class ZcompError(Exception):
    """Base of every error zcomp reports as one line with an exit status."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class UsageError(ZcompError):
    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A configuration file or value is wrong; the message names the file and key."""


class CredentialError(ZcompError):
    exit_code = ExitCode.AUTH
