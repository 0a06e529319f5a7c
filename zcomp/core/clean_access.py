"""Lockdown's removal of what lets someone in without the password, as Changes for the clean
round trip: one request per share, one for every right, one per data source or device; each
verified by the read that lists them (asked once per batch, however many changes share it).

A share is revoked only on the folder whose own ACL holds it (where GetFolder showed it):
revoking on a folder that merely inherits would copy the parent's ACL there and leave the
parent's grant in place (MailItem.revokeAccess).
"""

from __future__ import annotations

from typing import Any

from zcomp.core import findings as F
from zcomp.core.change import Change, Check
from zcomp.core.classify_access import share_of
from zcomp.core.findings import Finding
from zcomp.zimbra.access import (
    AccountRight,
    AppPassword,
    DataSource,
    Folder,
    MobileDevice,
    TrustedDevices,
)
from zcomp.zimbra.operations import (
    GetAppSpecificPasswords,
    GetDataSources,
    GetDeviceStatus,
    GetFolders,
    GetRights,
    GetTrustedDevices,
    ModifyDataSource,
    Request,
    RevokeAppSpecificPassword,
    RevokeFolderGrant,
    RevokeOtherTrustedDevices,
    RevokeRights,
    SuspendDevice,
)

KINDS = frozenset(
    {F.SHARE, F.RIGHT, F.DATA_SOURCE, F.APP_PASSWORD, F.TRUSTED_DEVICES, F.MOBILE_DEVICE}
)
SUSPENDED = 2  # GetDeviceStatus status of a suspended device


def describe_fix(f: Finding) -> str:
    if f.kind in (F.SHARE, F.RIGHT):
        return f"revoke the {f.detail}"
    if f.kind == F.DATA_SOURCE:
        return f"turn off the {f.detail}"
    if f.kind == F.MOBILE_DEVICE:
        return f"suspend {f.detail}"
    return f"revoke the {f.detail}"  # app-specific passwords, trusted devices


def access_changes(removals: list[Finding]) -> list[Change]:
    out: list[Change] = []
    for f in removals:
        if f.kind == F.SHARE:
            folder_id, _path, grant = share_of(f.item)
            out.append(
                _change(
                    RevokeFolderGrant(folder_id, grant.grantee_id),
                    f,
                    GetFolders(),
                    _share_gone(folder_id, grant.grantee_type, grant.grantee_id),
                )
            )
        elif f.kind == F.DATA_SOURCE:
            source = DataSource.from_dict(f.item)
            out.append(
                _change(
                    ModifyDataSource(source.kind, source.id, f.replacement),
                    f,
                    GetDataSources(),
                    _source_off(source.id),
                )
            )
        elif f.kind == F.APP_PASSWORD:
            name = f.item["name"]
            out.append(
                _change(
                    RevokeAppSpecificPassword(name), f, GetAppSpecificPasswords(), _app_gone(name)
                )
            )
        elif f.kind == F.TRUSTED_DEVICES:
            out.append(
                _change(RevokeOtherTrustedDevices(), f, GetTrustedDevices(), _no_trusted_devices)
            )
        elif f.kind == F.MOBILE_DEVICE:
            out.append(
                _change(SuspendDevice(f.item["id"]), f, GetDeviceStatus(), _suspended(f.item["id"]))
            )
    rights = [f for f in removals if f.kind == F.RIGHT]
    if rights:
        # One RevokeRights takes every ACE; Zimbra skips one already gone.
        aces = tuple(AccountRight.from_dict(f.item) for f in rights)
        out.append(_change(RevokeRights(aces), rights, GetRights(), _rights_gone(aces)))
    return out


def _change(
    request: Request[Any], fixed: Finding | list[Finding], read: Request[Any], check: Check
) -> Change:
    fixes = fixed if isinstance(fixed, list) else [fixed]
    return Change(
        request=request,
        step="clean",
        kind=fixes[0].kind,
        target=", ".join(f.key for f in fixes),
        before=fixes[0].item if len(fixes) == 1 else [f.item for f in fixes],
        after=fixes[0].replacement,
        plan="; ".join(f"{describe_fix(f)} ({f.reason})" for f in fixes),
        done="; ".join(F.done_wording(describe_fix(f)) for f in fixes),
        detail="; ".join(f.reason for f in fixes),
        read=read,
        check=check,
    )


def _share_gone(folder_id: str, grantee_type: str, grantee_id: str) -> Check:
    def check(got: Any) -> str | None:
        folders: list[Folder] = got
        for folder in folders:
            if folder.id != folder_id:
                continue
            for g in folder.grants:
                same = g.grantee_id.lower() == grantee_id.lower()
                if g.grantee_type == grantee_type and same:
                    return f"folder {folder.path} still shared with {g.grantee_name or grantee_id}"
        return None

    return check


def _rights_gone(aces: tuple[AccountRight, ...]) -> Check:
    def check(got: Any) -> str | None:
        now: list[AccountRight] = got
        left = [
            a
            for a in aces
            if any(
                (n.right, n.grantee_type, n.grantee_id, n.deny)
                == (a.right, a.grantee_type, a.grantee_id, a.deny)
                for n in now
            )
        ]
        if left:
            return "still granted: " + ", ".join(f"{a.right} to {a.grantee_name}" for a in left)
        return None

    return check


def _source_off(source_id: str) -> Check:
    def check(got: Any) -> str | None:
        sources: list[DataSource] = got
        for s in sources:
            if s.id == source_id and s.enabled:
                return f"data source {s.name!r} still on"
        return None

    return check


def _app_gone(name: str) -> Check:
    def check(got: Any) -> str | None:
        passwords: list[AppPassword] = got
        if any(a.name == name for a in passwords):
            return f"app-specific password {name!r} still there"
        return None

    return check


def _no_trusted_devices(got: Any) -> str | None:
    trusted: TrustedDevices = got
    return f"{trusted.others} trusted device(s) left" if trusted.others else None


def _suspended(device_id: str) -> Check:
    def check(got: Any) -> str | None:
        devices: list[MobileDevice] = got
        for d in devices:
            if d.id == device_id and d.status != SUSPENDED:
                return f"device {device_id} has status {d.status}"
        return None

    return check
