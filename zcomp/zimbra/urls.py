"""The admin SOAP URL from what an admin types: checked when the configuration is read, so a
URL that cannot work is one usage error before any account is touched."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from zcomp.exitcodes import ConfigError

ADMIN_PATH = "/service/admin/soap/"


def admin_url(url: str) -> str:
    """`https://host:7071` or the full URL -> the admin SOAP URL with its trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"Zimbra URL must look like https://host:7071, not {url!r}")
    try:
        port_ok = parts.port != 0  # urlsplit checks the port only when it is read
    except ValueError:
        port_ok = False
    if not port_ok:
        # Otherwise refused by requests ("cannot connect: Failed to parse"), as a connection
        # failure (exit 4) of every account.
        raise ConfigError(f"Zimbra URL {url!r} has a bad port: give one from 1 to 65535 (7071)")
    path = parts.path
    if path in ("", "/"):
        path = ADMIN_PATH
    elif not path.endswith("/"):
        path += "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
