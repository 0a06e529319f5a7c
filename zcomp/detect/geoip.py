"""Client address -> country, offline, from a MaxMind DB file (docs/zimbra-logs.md §7.1 item 4).

GeoLite2-Country.mmdb (MaxMind, refreshed by `geoipupdate`) and DB-IP's free
dbip-country-lite.mmdb have the same layout: {"country": {"iso_code": "DE"}, ...}. City and
ASN-with-country files work too. Nothing is ever looked up over the network. The reader is
the `maxminddb` package (`pip install 'zcomp[geoip]'`), imported only when a database is set.
"""

from __future__ import annotations

from typing import Any, Protocol

from zcomp.exitcodes import ExitCode, ZcompError

CACHE_SIZE = 65_536  # addresses remembered; a day of logins from a large site fits


class GeoIPError(ZcompError):
    exit_code = ExitCode.USAGE


class _Reader(Protocol):
    def get(self, ip: str) -> Any: ...

    def close(self) -> None: ...


class Countries:
    """ISO 3166 country codes of client addresses, cached (a login storm repeats addresses)."""

    def __init__(self, reader: _Reader, path: str) -> None:
        self._reader = reader
        self.path = path
        self._cache: dict[str, str | None] = {}

    @classmethod
    def open(cls, path: str) -> Countries:
        """One clear error line when the package or the file is missing or not a MaxMind DB."""
        try:
            import maxminddb
        except ImportError:
            raise GeoIPError(
                f"[detect] geoip_db = {path!r} needs the maxminddb package: "
                "pip install 'zcomp[geoip]'"
            ) from None
        try:
            reader = maxminddb.open_database(path)
        except FileNotFoundError:
            raise GeoIPError(f"[detect] geoip_db: no such file: {path}") from None
        except OSError as exc:
            raise GeoIPError(f"[detect] geoip_db: cannot read {path}: {exc.strerror}") from None
        except (maxminddb.InvalidDatabaseError, ValueError) as exc:
            raise GeoIPError(
                f"[detect] geoip_db: {path} is not a MaxMind DB file ({exc})"
            ) from None
        return cls(reader, path)

    def country(self, ip: str) -> str | None:
        """The address's country code ("DE"), or None when the database does not know it."""
        cache = self._cache
        if ip in cache:
            return cache[ip]
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        found = cache[ip] = _iso_code(self._lookup(ip))
        return found

    def _lookup(self, ip: str) -> Any:
        try:
            return self._reader.get(ip)
        except ValueError:  # not an address, or IPv6 in an IPv4-only database
            return None

    def close(self) -> None:
        self._reader.close()


def _iso_code(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    # "country" is where the user is; "registered_country" (the address block's owner) is only
    # a fallback, for records without the first.
    for key in ("country", "registered_country"):
        entry = record.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("iso_code"), str):
            return str(entry["iso_code"]).upper()
    return None
