"""SOAP faults as Zimbra raises them: a code (service.AUTH_EXPIRED) plus Zimbra's message."""

from __future__ import annotations

# Codes Zimbra marks RECEIVERS_FAULT (soap:Server / soap:Receiver); the rest are the sender's.
_RECEIVER_CODES = frozenset(
    {
        "service.FAILURE",
        "account.MAINTENANCE_MODE",
        "account.ACCOUNT_INACTIVE",
        "account.TOO_MANY_SEARCH_RESULTS",
        "service.TEMPORARILY_UNAVAILABLE",
    }
)


class SoapFault(Exception):
    """Raised by handlers; the engine turns it into a Fault in the caller's protocol."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def receivers_fault(self) -> bool:
        return self.code in _RECEIVER_CODES


def failure(msg: str) -> SoapFault:
    return SoapFault("service.FAILURE", f"system failure: {msg}")


def invalid_request(msg: str) -> SoapFault:
    return SoapFault("service.INVALID_REQUEST", f"invalid request: {msg}")


def missing_attr(name: str) -> SoapFault:
    return invalid_request(f"missing required attribute: {name}")


def missing_element(name: str) -> SoapFault:
    return invalid_request(f"missing required element: {name}")


def unknown_document(name: str) -> SoapFault:
    return SoapFault("service.UNKNOWN_DOCUMENT", f"unknown document: {name}")


def parse_error(msg: str) -> SoapFault:
    return SoapFault("service.PARSE_ERROR", f"parse error: {msg}")


def perm_denied(msg: str) -> SoapFault:
    return SoapFault("service.PERM_DENIED", f"permission denied: {msg}")


def auth_required() -> SoapFault:
    return SoapFault("service.AUTH_REQUIRED", "no valid authtoken present")


def auth_expired() -> SoapFault:
    return SoapFault("service.AUTH_EXPIRED", "auth credentials have expired")


def auth_failed(name: str) -> SoapFault:
    return SoapFault("account.AUTH_FAILED", f"authentication failed for [{name}]")


def no_such_account(name: str) -> SoapFault:
    return SoapFault("account.NO_SUCH_ACCOUNT", f"no such account: {name}")


def no_such_domain(name: str) -> SoapFault:
    return SoapFault("account.NO_SUCH_DOMAIN", f"no such domain: {name}")


def invalid_attr_name(msg: str) -> SoapFault:
    return SoapFault("account.INVALID_ATTR_NAME", msg)


def invalid_attr_value(msg: str) -> SoapFault:
    return SoapFault("account.INVALID_ATTR_VALUE", msg)


def account_exists(name: str) -> SoapFault:
    return SoapFault("account.ACCOUNT_EXISTS", f"email address already exists: {name}")


def maintenance_mode() -> SoapFault:
    return SoapFault("account.MAINTENANCE_MODE", "account is in maintenance mode")


def account_inactive(name: str) -> SoapFault:
    return SoapFault("account.ACCOUNT_INACTIVE", f"account is not active:{name}")


def change_password() -> SoapFault:
    return SoapFault("account.CHANGE_PASSWORD", "must change password")


def invalid_password(desc: str) -> SoapFault:
    return SoapFault("account.INVALID_PASSWORD", f"invalid password: {desc}")


def password_recently_used() -> SoapFault:
    return SoapFault("account.PASSWORD_RECENTLY_USED", "password was recently used")


def password_change_too_soon() -> SoapFault:
    return SoapFault("account.PASSWORD_CHANGE_TOO_SOON", "password can't be changed yet")


def password_locked() -> SoapFault:
    return SoapFault("account.PASSWORD_LOCKED", "password is locked and can't be changed")


def too_many_search_results(desc: str) -> SoapFault:
    return SoapFault(
        "account.TOO_MANY_SEARCH_RESULTS", f"number of results exceeded the limit: {desc}"
    )


def no_such_cos(name: str) -> SoapFault:
    return SoapFault("account.NO_SUCH_COS", f"no such cos: {name}")


def cos_exists(name: str) -> SoapFault:
    return SoapFault("account.COS_EXISTS", f"cos already exists: {name}")
