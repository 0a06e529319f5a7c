"""Countries of client addresses from a real MaxMind DB file (written here by mmdb-writer, read
by MaxMind's own maxminddb reader): logins from several countries, logins from abroad."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from zcomp.detect import DetectSettings, Scanner
from zcomp.detect.geoip import Countries, GeoIPError

# Documentation ranges (RFC 5737, RFC 3849), which zcomp counts as public client addresses.
PLACES = {
    "198.51.100.0/24": "DE",
    "203.0.113.0/24": "NG",
    "192.0.2.0/24": "BR",
    "2001:db8::/32": "US",
}


def write_db(path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country")
    for network, code in PLACES.items():
        writer.insert_network(IPSet([network]), {"country": {"iso_code": code}})
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def geoip_db(tmp_path: Path) -> Path:
    return write_db(tmp_path / "countries.mmdb")


def auth(ts: str, account: str, ip: str) -> bytes:
    return (
        f"2024-03-14 {ts},131 INFO  [qtp1-1://localhost:8080/service/soap/AuthRequest]"
        f" [name={account};oip={ip};ua=zclient/9.0.0_GA_4583;] security - cmd=Auth;"
        f" account={account}; protocol=soap;\n"
    ).encode()


def feed(scanner: Scanner, lines: list[bytes]) -> None:
    for n, line in enumerate(lines, 1):
        scanner.feed("audit", "audit.log", n, line)


def test_the_reader_answers_ipv4_ipv6_and_unknown_addresses(geoip_db: Path) -> None:
    countries = Countries.open(str(geoip_db))
    try:
        assert countries.country("198.51.100.7") == "DE"
        assert countries.country("2001:db8::1") == "US"
        assert countries.country("8.8.8.8") is None  # not in this small database
        assert countries.country("not-an-address") is None
    finally:
        countries.close()


def test_logins_from_three_countries_within_the_window(geoip_db: Path) -> None:
    scanner = Scanner(DetectSettings(geoip_db=str(geoip_db)))
    feed(
        scanner,
        [
            auth("09:00:00", "dora@example.com", "198.51.100.20"),  # DE
            auth("09:10:00", "dora@example.com", "203.0.113.9"),  # NG
            auth("09:20:00", "dora@example.com", "198.51.100.21"),  # DE again
            auth("09:30:00", "dora@example.com", "2001:db8::5"),  # US
            auth("09:40:00", "emil@example.com", "198.51.100.30"),  # one country only
        ],
    )
    suspects = {s.account: s for s in scanner.suspects()}
    assert list(suspects) == ["dora@example.com"]
    signal = suspects["dora@example.com"].signal("login_countries")
    assert signal is not None
    assert "3 countries" in signal.reason and "DE, NG, US" in signal.reason
    assert [ev.line for ev in signal.evidence] == [1, 2, 4]  # the first line of each country


def test_countries_spread_over_more_than_the_window_are_not_a_signal(geoip_db: Path) -> None:
    scanner = Scanner(DetectSettings(geoip_db=str(geoip_db), login_window_minutes=30))
    feed(
        scanner,
        [
            auth("09:00:00", "dora@example.com", "198.51.100.20"),
            auth("09:40:00", "dora@example.com", "203.0.113.9"),
            auth("10:20:00", "dora@example.com", "2001:db8::5"),
        ],
    )
    assert scanner.suspects() == []


def test_a_login_from_abroad_weighs_twice_at_night(geoip_db: Path) -> None:
    settings = DetectSettings(geoip_db=str(geoip_db), home_countries=frozenset({"de"}), min_score=1)
    scanner = Scanner(settings)
    feed(
        scanner,
        [
            auth("14:00:00", "dora@example.com", "198.51.100.20"),  # home: nothing
            auth("14:05:00", "dora@example.com", "203.0.113.9"),  # NG by day
            auth("14:06:00", "dora@example.com", "203.0.113.10"),  # NG again: said once
            auth("02:00:00", "fritz@example.com", "192.0.2.44"),  # BR at night
        ],
    )
    suspects = {s.account: s for s in scanner.suspects()}
    day = suspects["dora@example.com"].signal("foreign_login")
    night = suspects["fritz@example.com"].signal("foreign_login")
    assert day is not None and night is not None
    assert day.reason == "login from NG (203.0.113.9), outside DE"
    assert [ev.line for ev in day.evidence] == [2]
    assert night.reason == "login from BR (192.0.2.44) at night, outside DE"
    assert night.weight == 2 * day.weight


def test_no_database_no_country_rules() -> None:
    scanner = Scanner(DetectSettings(home_countries=frozenset({"DE"}), login_countries=2))
    feed(
        scanner,
        [
            auth("02:00:00", "dora@example.com", "203.0.113.9"),
            auth("02:01:00", "dora@example.com", "192.0.2.44"),
        ],
    )
    assert scanner.suspects() == []


def test_a_missing_or_foreign_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GeoIPError, match="no such file"):
        Countries.open(str(tmp_path / "absent.mmdb"))
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database at all" * 10)
    with pytest.raises(GeoIPError, match="is not a MaxMind DB file"):
        Countries.open(str(junk))


def test_scan_cli_with_a_database_and_a_bad_one(
    invoke: Callable[..., Result], tmp_path: Path, geoip_db: Path
) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(
        auth("09:00:00", "dora@example.com", "198.51.100.20")
        + auth("09:10:00", "dora@example.com", "203.0.113.9")
        + auth("09:30:00", "dora@example.com", "2001:db8::5")
    )
    config = tmp_path / "config.toml"
    config.write_text(f'[detect]\ngeoip_db = "{geoip_db}"\nhome_countries = ["DE"]\n')
    result = invoke("--config", str(config), "scan", "--audit-log", str(log), "--year", "2024")
    assert result.exit_code == 1, result.stderr  # a suspect
    assert result.stdout.splitlines()[0].split()[:2] == ["1", "dora@example.com"]
    assert "logins from 3 countries" in result.stdout

    config.write_text(f'[detect]\ngeoip_db = "{tmp_path / "absent.mmdb"}"\n')
    result = invoke("--config", str(config), "scan", "--audit-log", str(log))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].endswith(f"no such file: {tmp_path}/absent.mmdb")
    assert "Traceback" not in result.stderr

    config.write_text('[detect]\nhome_countries = ["Germany"]\n')
    result = invoke("--config", str(config), "scan", "--audit-log", str(log))
    assert result.exit_code == 2
    assert "two-letter ISO country codes" in result.stderr
