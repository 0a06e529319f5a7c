"""Typed errors for everything that can go wrong talking to Zimbra, with their exit status."""

from __future__ import annotations

from zcomp.exitcodes import ExitCode, ZcompError

# Fault codes that mean "the credentials were refused" when they answer an admin AuthRequest
# (8.8/9 say account.AUTH_FAILED, 10.x says service.PERM_DENIED "Error in Authentication").
LOGIN_FAILURE_CODES = frozenset({"account.AUTH_FAILED", "service.PERM_DENIED"})
TOKEN_FAILURE_CODES = frozenset({"service.AUTH_EXPIRED", "service.AUTH_REQUIRED"})


class ZimbraError(ZcompError):
    """Base for errors raised by zcomp.zimbra."""


class ZimbraFault(ZimbraError):
    """Zimbra answered with a SOAP fault. `code` is Zimbra's, e.g. account.NO_SUCH_ACCOUNT."""

    exit_code = ExitCode.FAULT

    def __init__(self, code: str, message: str, *, request: str | None = None) -> None:
        self.code = code
        self.reason = message
        self.request = request
        where = f" ({request})" if request else ""
        super().__init__(f"{code}: {message}{where}")


class ZimbraAuthError(ZimbraFault):
    """The admin login (or a re-login) was refused."""

    exit_code = ExitCode.AUTH


class ZimbraConnectionError(ZimbraError):
    """Refused connection, DNS failure, timeout, TLS failure or a reply that is not SOAP."""

    exit_code = ExitCode.CONNECTION


class ZimbraTimeout(ZimbraConnectionError):
    pass


class ZimbraTLSError(ZimbraConnectionError):
    pass


class ZimbraProtocolError(ZimbraConnectionError):
    """The server (or a proxy in front of it) sent something that is not a SOAP envelope."""


class NotRun:
    """Batch slot for a child the server never ran (onerror=stop after an earlier fault)."""

    _instance: NotRun | None = None

    def __new__(cls) -> NotRun:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_RUN"


NOT_RUN = NotRun()
