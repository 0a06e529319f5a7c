"""Restore's part for what lockdown revoked: shares, rights, data sources, mobile devices.

Each is put back exactly as the evidence has it: a share with the same grantee and rights on
the same folder, a right with the same grantee, a data source turned on again, a device
resumed. Two cannot come back, and restore says why instead: an app-specific password or a
trusted device (their secret is gone with them; the owner makes new ones), and a guest or
access-key share (its password or key was never kept; the owner shares again).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from zcomp.core import findings as F
from zcomp.core.change import Check
from zcomp.core.classify_access import share_of
from zcomp.core.clean_access import SUSPENDED
from zcomp.core.findings import Finding
from zcomp.core.snapshot import MailboxState
from zcomp.zimbra.access import (
    GUEST,
    KEY,
    AccountRight,
    DataSource,
    Folder,
    MobileDevice,
)
from zcomp.zimbra.operations import (
    GetDataSources,
    GetDeviceStatus,
    GetFolders,
    GetRights,
    GrantFolder,
    GrantRights,
    ModifyDataSource,
    Request,
    ResumeDevice,
)

KINDS = frozenset({F.SHARE, F.RIGHT, F.DATA_SOURCE, F.MOBILE_DEVICE})
ACTIVE = 1  # GetDeviceStatus status of a device that syncs


def unrestorable(f: Finding) -> str | None:
    """Why this removed item cannot be put back; None when it can."""
    if f.kind == F.APP_PASSWORD:
        return (
            "an app-specific password cannot be put back (its secret is gone); the owner "
            "makes a new one"
        )
    if f.kind == F.TRUSTED_DEVICES:
        return "trusted devices cannot be put back; the owner trusts a device again at login"
    if f.kind == F.SHARE and f.item.get("gt") in (GUEST, KEY):
        return (
            "a guest or access-key share cannot be put back (its password or key was never "
            "kept); the owner can share the folder again"
        )
    return None


@dataclasses.dataclass
class Write:
    request: Request[Any]
    items: list[Finding]
    read: Request[Any]
    check: Check


def plan_access(chosen: list[Finding], now: MailboxState) -> tuple[list[Write], list[Finding]]:
    """The writes that put the chosen items back, and the chosen items already in place."""
    writes: list[Write] = []
    already: list[Finding] = []
    rights: list[Finding] = []
    for f in chosen:
        if f.kind == F.SHARE:
            folder_id, _path, grant = share_of(f.item)
            if _has_share(now.shares or [], folder_id, grant):
                already.append(f)
                continue
            writes.append(
                Write(
                    GrantFolder(folder_id, grant),
                    [f],
                    GetFolders(),
                    _share_back(folder_id, grant.grantee_type, grant.grantee_id, grant.perm),
                )
            )
        elif f.kind == F.RIGHT:
            if AccountRight.from_dict(f.item) in (now.rights or []):
                already.append(f)
            else:
                rights.append(f)
        elif f.kind == F.DATA_SOURCE:
            source = DataSource.from_dict(f.item)
            current = next((d for d in now.data_sources or [] if d.id == source.id), None)
            if current is not None and current.enabled:
                already.append(f)
                continue
            writes.append(
                Write(
                    ModifyDataSource(source.kind, source.id, {"isEnabled": "1"}),
                    [f],
                    GetDataSources(),
                    _source_on(source.id),
                )
            )
        elif f.kind == F.MOBILE_DEVICE:
            device = next((d for d in now.devices or [] if d.id == f.item["id"]), None)
            if device is not None and device.status != SUSPENDED:
                already.append(f)
                continue
            writes.append(
                Write(ResumeDevice(f.item["id"]), [f], GetDeviceStatus(), _resumed(f.item["id"]))
            )
    if rights:
        aces = tuple(AccountRight.from_dict(f.item) for f in rights)
        writes.append(Write(GrantRights(aces), rights, GetRights(), _rights_back(aces)))
    return writes, already


def after_restore(now: MailboxState, written: list[Finding]) -> MailboxState:
    """The mailbox as it would be once `written` is back: what restore classifies first."""
    shares = list(now.shares or [])
    rights = list(now.rights or [])
    sources = list(now.data_sources or [])
    for f in written:
        if f.kind == F.SHARE:
            folder_id, path, grant = share_of(f.item)
            shares.append(Folder(folder_id, path, f.item.get("view", ""), (grant,)))
        elif f.kind == F.RIGHT:
            rights.append(AccountRight.from_dict(f.item))
        elif f.kind == F.DATA_SOURCE:
            back = DataSource.from_dict(f.item)
            sources = [d for d in sources if d.id != back.id] + [back]
    return dataclasses.replace(now, shares=shares, rights=rights, data_sources=sources)


# ---------------------------------------------------------------- read-backs


def _has_share(folders: list[Folder], folder_id: str, grant: Any) -> bool:
    return any(f.id == folder_id and grant in f.grants for f in folders)


def _share_back(folder_id: str, grantee_type: str, grantee_id: str, perm: str) -> Check:
    def check(got: Any) -> str | None:
        folders: list[Folder] = got
        for folder in folders:
            for g in folder.grants if folder.id == folder_id else ():
                if g.grantee_type == grantee_type and g.grantee_id.lower() == grantee_id.lower():
                    return None if g.perm == perm else f"shared with rights {g.perm}, not {perm}"
        return "the share is not there"

    return check


def _rights_back(aces: tuple[AccountRight, ...]) -> Check:
    def check(got: Any) -> str | None:
        now: list[AccountRight] = got
        missing = [a for a in aces if a not in now]
        if missing:
            return "not granted: " + ", ".join(f"{a.right} to {a.grantee_name}" for a in missing)
        return None

    return check


def _source_on(source_id: str) -> Check:
    def check(got: Any) -> str | None:
        sources: list[DataSource] = got
        for s in sources:
            if s.id == source_id:
                return None if s.enabled else f"data source {s.name!r} still off"
        return "the data source is gone"

    return check


def _resumed(device_id: str) -> Check:
    def check(got: Any) -> str | None:
        devices: list[MobileDevice] = got
        for d in devices:
            if d.id == device_id:
                return None if d.status == ACTIVE else f"device {device_id} has status {d.status}"
        return f"device {device_id} is gone"

    return check
