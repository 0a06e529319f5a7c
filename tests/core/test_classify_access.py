"""Verdicts for shares, rights, data sources and Network Edition items (pure functions)."""

from __future__ import annotations

import dataclasses

from zcomp.config import Policy
from zcomp.core import findings as F
from zcomp.core.addresses import Organisation
from zcomp.core.classify_access import classify_access
from zcomp.core.snapshot import Baseline, MailboxState
from zcomp.zimbra.access import (
    AUTHUSER_ID,
    PUBLIC_ID,
    AccountRight,
    AppPassword,
    DataSource,
    Folder,
    FolderGrant,
    MobileDevice,
    TrustedDevices,
)

ORG = Organisation.of(["example.org"])
BOB = FolderGrant("usr", "bob-id", "bob@example.org", "r")
PUBLIC = FolderGrant("pub", PUBLIC_ID, "", "r")
GUEST = FolderGrant("guest", "crook@freemail.test", "", "r", secret=True)
ALL = FolderGrant("all", AUTHUSER_ID, "", "r")
SEND_AS = AccountRight("sendAs", "usr", "mal-id", "mallory@example.org")
FREEBUSY = AccountRight("viewFreeBusy", "pub", PUBLIC_ID, "")
IMAP = DataSource("imap", "ds1", "crook", {"host": "imap.freemail.test", "isEnabled": "1"})


def _mailbox(**kwargs: object) -> MailboxState:
    return MailboxState(**kwargs)  # type: ignore[arg-type]


def _by_key(found: list[F.Finding]) -> dict[str, F.Finding]:
    return {f.key: f for f in found}


def test_public_and_guest_shares_are_malicious_and_removed_an_inside_one_only_reported() -> None:
    inbox = Folder("2", "/Inbox", "message", (PUBLIC, BOB))
    sent = Folder("5", "/Sent", "message", (GUEST,))
    found = _by_key(classify_access(_mailbox(shares=[inbox, sent]), ORG, Policy(), None))
    assert found["/Inbox:public"].verdict == F.MALICIOUS and found["/Inbox:public"].remove
    assert found["/Sent:crook@freemail.test"].verdict == F.MALICIOUS
    assert "outside the organisation" in found["/Sent:crook@freemail.test"].reason
    bob = found["/Inbox:bob@example.org"]
    assert (bob.verdict, bob.remove) == (F.SUSPICIOUS, False)
    assert "no baseline" in bob.reason
    # The evidence keeps which folder, who and what rights: never a secret (there is none).
    assert found["/Sent:crook@freemail.test"].item == {
        "folder_id": "5",
        "path": "/Sent",
        "view": "message",
        "gt": "guest",
        "zid": "crook@freemail.test",
        "d": "",
        "perm": "r",
        "secret": True,
    }


def test_a_baseline_keeps_what_predates_the_incident_and_condemns_what_is_new() -> None:
    projects = Folder("257", "/Projects", "message", (BOB,))
    baseline = Baseline("2026-11-01T00:00:00Z", shares=[projects], rights=[], data_sources=[])
    now = Folder("257", "/Projects", "message", (BOB, ALL))
    found = _by_key(
        classify_access(
            _mailbox(shares=[now], rights=[SEND_AS], data_sources=[IMAP]), ORG, Policy(), baseline
        )
    )
    kept = found["/Projects:bob@example.org"]
    assert (kept.verdict, kept.remove) == (F.OK, False)
    assert "predates the incident" in kept.reason
    assert found["/Projects:all users"].remove
    assert "not in the baseline of 2026-11-01T00:00:00Z" in found["/Projects:all users"].reason
    assert found["sendAs:mallory@example.org"].remove
    assert found["crook"].remove and found["crook"].replacement == {"isEnabled": "0"}
    # Widened since the baseline (read -> read/write): new, so not kept.
    wider = Folder("257", "/Projects", "message", (dataclasses.replace(BOB, perm="rw"),))
    again = classify_access(_mailbox(shares=[wider]), ORG, Policy(), baseline)
    assert again[0].verdict == F.MALICIOUS


def test_rights_everyone_has_are_fine_and_a_right_outside_is_malicious() -> None:
    outside = AccountRight("sendAs", "usr", "x", "partner@elsewhere.test")
    login = AccountRight("loginAs", "gst", "crook@freemail.test", "crook@freemail.test")
    denied = AccountRight("sendAs", "usr", "y", "y@example.org", deny=True)
    found = _by_key(
        classify_access(_mailbox(rights=[FREEBUSY, outside, login, denied]), ORG, Policy(), None)
    )
    assert found["viewFreeBusy:public"].verdict == F.OK
    assert found["sendAs:y@example.org"].verdict == F.OK
    assert found["sendAs:partner@elsewhere.test"].remove
    assert "can send as this account" in found["sendAs:partner@elsewhere.test"].reason
    assert "whole mailbox" in found["loginAs:crook@freemail.test"].reason


def test_policy_report_keeps_and_ignore_silences() -> None:
    inbox = Folder("2", "/Inbox", "message", (PUBLIC,))
    report = classify_access(_mailbox(shares=[inbox]), ORG, Policy(share_public="report"), None)
    assert (report[0].verdict, report[0].remove) == (F.MALICIOUS, False)
    ignored = classify_access(_mailbox(shares=[inbox]), ORG, Policy(share_public="ignore"), None)
    assert [f.verdict for f in ignored] == [F.OK]


def test_network_edition_items_are_revoked_and_a_disabled_source_is_fine() -> None:
    off = DataSource("pop3", "ds2", "old", {"host": "pop.example.net", "isEnabled": "0"})
    phone = MobileDevice("dev1", type="iPhone", status=1)
    wiped = MobileDevice("dev2", type="Android", status=4)
    found = _by_key(
        classify_access(
            _mailbox(
                data_sources=[off],
                app_passwords=[AppPassword("Thunderbird")],
                trusted_devices=TrustedDevices(others=2),
                devices=[phone, wiped],
            ),
            ORG,
            Policy(),
            None,
        )
    )
    assert found["old"].verdict == F.OK
    assert found["Thunderbird"].remove and found["trusted-devices"].remove
    assert found["dev1"].remove and found["dev2"].verdict == F.OK
    # Open source: nothing read, nothing found (None is "not there", not "none").
    assert classify_access(_mailbox(), ORG, Policy(), None) == []
