# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""The edition switch: FOSS answers UNKNOWN_DOCUMENT for Network Edition requests (§7)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.rawsoap import ACCOUNT, ADMIN, RawSoap, js_fault_code, token_of
from zcomp.sandbox import Sandbox, SandboxOptions, demo_password

ALICE = "alice@sandbox.test"
SYNC = "urn:zimbraSync"
NE_REQUESTS = [
    (ACCOUNT, "GetAppSpecificPasswordsRequest"),
    (ACCOUNT, "CreateAppSpecificPasswordRequest"),
    (ACCOUNT, "RevokeAppSpecificPasswordRequest"),
    (ACCOUNT, "GetTrustedDevicesRequest"),
    (ACCOUNT, "RevokeOtherTrustedDevicesRequest"),
    (SYNC, "GetDeviceStatusRequest"),
    (SYNC, "SuspendDeviceRequest"),
    (SYNC, "ResumeDeviceRequest"),
]


@pytest.fixture
def network() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(edition="network")) as sb:
        yield sb


def _admin(sb: Sandbox) -> RawSoap:
    c = RawSoap(sb.admin_url)
    c.admin_login()
    return c


def test_edition_is_validated() -> None:
    with pytest.raises(ValueError, match="edition"):
        Sandbox(SandboxOptions(edition="enterprise"))


def test_version_info_per_edition(raw_admin: RawSoap, network: Sandbox) -> None:
    info = raw_admin.xml(f'<GetVersionInfoRequest xmlns="{ADMIN}"/>').find(f"{{{ADMIN}}}info")
    assert info is not None and info.get("type") == "FOSS"
    assert (info.get("version") or "").endswith(".FOSS")
    c = _admin(network)
    try:
        info = c.xml(f'<GetVersionInfoRequest xmlns="{ADMIN}"/>').find(f"{{{ADMIN}}}info")
        assert info is not None and info.get("type") == "NETWORK"
        assert (info.get("version") or "").endswith(".NETWORK")
    finally:
        c.close()


def test_foss_answers_unknown_document(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.user_url())
    try:
        c.token = token_of(c.user_login(ALICE, demo_password(ALICE)))
        for ns, name in NE_REQUESTS:
            r = c.xml(f'<{name} xmlns="{ns}"/>')
            assert r.status == 500 and r.fault_code == "service.UNKNOWN_DOCUMENT"
            reason = r.body.find(".//{http://www.w3.org/2003/05/soap-envelope}Text")
            assert reason is not None and reason.text == f"unknown document: {name}"
        # Before any auth check, and in JSON too.
        status, doc = c.js("GetTrustedDevicesRequest", ACCOUNT, {}, token=None)
        assert status == 500 and js_fault_code(doc) == "service.UNKNOWN_DOCUMENT"
        assert (
            doc["Body"]["Fault"]["Reason"]["Text"] == "unknown document: GetTrustedDevicesRequest"
        )
    finally:
        c.close()


def test_app_passwords(network: Sandbox) -> None:
    c = RawSoap(network.user_url())
    try:
        c.token = token_of(c.user_login(ALICE, demo_password(ALICE)))
        r = c.xml(f'<GetAppSpecificPasswordsRequest xmlns="{ACCOUNT}"/>')
        assert r.findall(f"{{{ACCOUNT}}}appSpecificPasswords/*") == []
        assert r.findtext(f"{{{ACCOUNT}}}maxAppPasswords") == "25"
        r = c.xml(f'<CreateAppSpecificPasswordRequest xmlns="{ACCOUNT}" appName="Thunderbird"/>')
        pw = r.body.get("pw") or ""
        assert len(pw) == 16
        r = c.xml(f'<CreateAppSpecificPasswordRequest xmlns="{ACCOUNT}" appName="Thunderbird"/>')
        assert r.fault_code == "service.INVALID_REQUEST"
        r = c.xml(f'<GetAppSpecificPasswordsRequest xmlns="{ACCOUNT}"/>')
        data = r.findall(f"{{{ACCOUNT}}}appSpecificPasswords/{{{ACCOUNT}}}passwordData")
        assert [d.get("appName") for d in data] == ["Thunderbird"]
        assert pw not in r.raw.decode() and int(data[0].get("created") or 0) > 0
        admin = _admin(network)
        try:
            got = admin.xml(
                f'<GetAccountRequest xmlns="{ADMIN}"><account by="name">{ALICE}</account></GetAccountRequest>'
            ).attrs()
            assert got["zimbraAppSpecificPassword"] == ["VALUE-BLOCKED"]
        finally:
            admin.close()
        assert (
            c.xml(
                f'<RevokeAppSpecificPasswordRequest xmlns="{ACCOUNT}" appName="Thunderbird"/>'
            ).status
            == 200
        )
        assert (
            c.xml(f'<RevokeAppSpecificPasswordRequest xmlns="{ACCOUNT}" appName="Gone"/>').status
            == 200
        )
        r = c.xml(f'<GetAppSpecificPasswordsRequest xmlns="{ACCOUNT}"/>')
        assert r.findall(f"{{{ACCOUNT}}}appSpecificPasswords/*") == []
    finally:
        c.close()


def test_trusted_and_mobile_devices_as_admin(network: Sandbox) -> None:
    c = _admin(network)
    hdr = f'<account by="id">{network.account(ALICE).id}</account>'
    try:
        r = c.xml(f'<GetTrustedDevicesRequest xmlns="{ACCOUNT}"/>', context=hdr)
        assert (r.body.get("nOtherDevices"), r.body.get("thisDeviceTrusted")) == ("1", "0")
        assert (
            c.xml(f'<RevokeOtherTrustedDevicesRequest xmlns="{ACCOUNT}"/>', context=hdr).status
            == 200
        )
        r = c.xml(f'<GetTrustedDevicesRequest xmlns="{ACCOUNT}"/>', context=hdr)
        assert r.body.get("nOtherDevices") == "0"
        r = c.xml(f'<GetDeviceStatusRequest xmlns="{SYNC}"/>', context=hdr)
        devices = r.findall(f"{{{SYNC}}}device")
        assert len(devices) == 1 and devices[0].findtext(f"{{{SYNC}}}status") == "1"
        dev_id = devices[0].get("id")
        assert devices[0].get("type") == "Android"
        r = c.xml(
            f'<SuspendDeviceRequest xmlns="{SYNC}"><device id="{dev_id}"/></SuspendDeviceRequest>',
            context=hdr,
        )
        assert r.findtext(f"{{{SYNC}}}device/{{{SYNC}}}status") == "2"
        r = c.xml(f'<GetDeviceStatusRequest xmlns="{SYNC}"/>', context=hdr)
        assert r.findtext(f"{{{SYNC}}}device/{{{SYNC}}}status") == "2"
        r = c.xml(
            f'<ResumeDeviceRequest xmlns="{SYNC}"><device id="{dev_id}"/></ResumeDeviceRequest>',
            context=hdr,
        )
        assert r.findtext(f"{{{SYNC}}}device/{{{SYNC}}}status") == "1"
        r = c.xml(
            f'<SuspendDeviceRequest xmlns="{SYNC}"><device id="nope"/></SuspendDeviceRequest>',
            context=hdr,
        )
        assert r.status == 200 and r.findall("*") == []
        r = c.xml(f'<SuspendDeviceRequest xmlns="{SYNC}"/>', context=hdr)
        assert r.fault_code == "service.INVALID_REQUEST"
        # Only alice has a device; bob has none.
        bob_hdr = f'<account by="id">{network.account("bob@sandbox.test").id}</account>'
        assert (
            c.xml(f'<GetDeviceStatusRequest xmlns="{SYNC}"/>', context=bob_hdr).findall("*") == []
        )
    finally:
        c.close()
