"""Verdicts for what lets someone in without the password: folder shares, rights on the account,
data sources, and on Network Edition app-specific passwords, trusted devices, mobile devices.

What was there in the account's baseline predates the incident: kept and reported, whatever it
is. Otherwise a public share, a share or right to anyone outside the organisation, and (when a
baseline of them exists) one granted since, are malicious; without a baseline an internal one
cannot be judged and is only reported. The [policy] keys decide what lockdown does with each.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from zcomp.core import findings as F
from zcomp.core.addresses import Organisation, is_freemail
from zcomp.core.snapshot import Baseline, MailboxState
from zcomp.zimbra.access import (
    ALL,
    DOMAIN,
    GUEST,
    KEY,
    PUBLIC,
    AccountRight,
    DataSource,
    Folder,
    FolderGrant,
    MobileDevice,
)

if TYPE_CHECKING:
    from zcomp.config import Policy

# Rights every account grants to everyone by default (zimbra-user-rights.xml): never a door.
HARMLESS_RIGHTS = frozenset({"invite", "viewFreeBusy", "sendToDistList", "viewDistList"})
# Grantee types of account rights that are never one of the organisation's accounts.
_OUTSIDE_ACE_TYPES = frozenset({"pub", "all", "gst", "key", "edom", "email", "egp"})
_PERMS = {"r": "read", "w": "write", "i": "insert", "d": "delete", "x": "act", "a": "re-share"}
# GetDeviceStatus status: 0 needs provisioning, 1 syncing, 2 suspended, 3/4 wipe asked/done.
_DEVICE_LIVE = frozenset({0, 1})


def classify_access(
    mailbox: MailboxState, org: Organisation, policy: Policy, baseline: Baseline | None
) -> list[F.Finding]:
    found: list[F.Finding] = []
    for folder in mailbox.shares or []:
        found += [classify_share(folder, g, org, policy, baseline) for g in folder.grants]
    found += [classify_right(r, org, policy, baseline) for r in mailbox.rights or []]
    found += [classify_data_source(d, policy, baseline) for d in mailbox.data_sources or []]
    for app in mailbox.app_passwords or []:
        found.append(
            _decide(
                F.APP_PASSWORD,
                app.name,
                f"app-specific password {app.name!r}",
                F.MALICIOUS,
                "an app-specific password still works after the password change",
                "app_passwords",
                policy,
                asdict(app),
            )
        )
    trusted = mailbox.trusted_devices
    if trusted is not None and trusted.others:
        found.append(
            _decide(
                F.TRUSTED_DEVICES,
                "trusted-devices",
                f"{trusted.others} trusted device(s)",
                F.MALICIOUS,
                "a trusted device skips the second factor at the next login",
                "trusted_devices",
                policy,
                asdict(trusted),
            )
        )
    found += [classify_device(d, policy) for d in mailbox.devices or []]
    return [f for f in found if f.policy != "ignore" or not f.risky]


# ------------------------------------------------------------------ names people read


def grantee_label(grantee_type: str, grantee_id: str, name: str) -> str:
    if grantee_type == PUBLIC:
        return "public"
    if grantee_type == ALL:
        return "all users"
    if grantee_type == KEY:
        return f"key {name or grantee_id}"
    return name or grantee_id


def share_key(folder_path: str, grant: FolderGrant) -> str:
    """What restore's --share names: "/Inbox:public", "/Sent:guest@example.org"."""
    who = grantee_label(grant.grantee_type, grant.grantee_id, grant.grantee_name)
    return f"{folder_path}:{who}"


def right_key(right: AccountRight) -> str:
    """What restore's --right names: "sendAs:mallory@example.org"."""
    who = grantee_label(right.grantee_type, right.grantee_id, right.grantee_name)
    return f"{right.right}:{who}"


def _perms(perm: str) -> str:
    words = [_PERMS[c] for c in perm if c in _PERMS]
    return ", ".join(words) or perm or "no rights"


def share_item(folder: Folder, grant: FolderGrant) -> dict[str, Any]:
    """A share as the evidence keeps it (no secret: a guest's password is never read)."""
    return {"folder_id": folder.id, "path": folder.path, "view": folder.view, **grant.to_dict()}


def share_of(item: dict[str, Any]) -> tuple[str, str, FolderGrant]:
    """(folder id, path, grant) from `share_item`'s dict."""
    return item["folder_id"], item["path"], FolderGrant.from_dict(item)


# ------------------------------------------------------------------ shares


def _in_baseline_share(baseline: Baseline, folder: Folder, grant: FolderGrant) -> bool:
    # Same grantee with the same rights: a share widened since is new.
    return any(f.id == folder.id and grant in f.grants for f in baseline.shares or [])


def _predates(kind: str, key: str, detail: str, item: Any, baseline: Baseline) -> F.Finding:
    why = f"in the baseline of {baseline.captured_at}: predates the incident"
    return F.Finding(kind, key, detail, F.OK, why, item=item)


def _outside(grantee_type: str, name: str, org: Organisation) -> bool:
    if grantee_type == DOMAIN:
        return bool(name) and not org.is_inside_domain(name)
    return "@" in name and not org.is_inside(name)


def classify_share(
    folder: Folder,
    grant: FolderGrant,
    org: Organisation,
    policy: Policy,
    baseline: Baseline | None,
) -> F.Finding:
    who = grantee_label(grant.grantee_type, grant.grantee_id, grant.grantee_name)
    rights = _perms(grant.perm)
    detail = f"share of {folder.path} with {who} ({rights})"
    item = share_item(folder, grant)
    key = share_key(folder.path, grant)
    if baseline is not None and _in_baseline_share(baseline, folder, grant):
        return _predates(F.SHARE, key, detail, item, baseline)
    if grant.grantee_type in (PUBLIC, KEY):
        holder = "anyone" if grant.grantee_type == PUBLIC else "anyone with its access key"
        return _decide(
            F.SHARE,
            key,
            detail,
            F.MALICIOUS,
            f"{holder} can {rights.split(',')[0]} {folder.path} without signing in",
            "share_public",
            policy,
            item,
        )
    if grant.grantee_type == GUEST or _outside(grant.grantee_type, grant.grantee_name, org):
        return _decide(
            F.SHARE,
            key,
            detail,
            F.MALICIOUS,
            f"shared with {who}, outside the organisation"
            + (" (freemail)" if "@" in who and is_freemail(who) else ""),
            "share_outside",
            policy,
            item,
        )
    what = f"shared with {who}"
    return _internal(F.SHARE, key, detail, what, "share_internal", policy, item, baseline, "shares")


# ------------------------------------------------------------------ rights


def classify_right(
    right: AccountRight, org: Organisation, policy: Policy, baseline: Baseline | None
) -> F.Finding:
    who = grantee_label(right.grantee_type, right.grantee_id, right.grantee_name)
    detail = f"{'denied' if right.deny else 'right'} {right.right} for {who}"
    key, item = right_key(right), right.to_dict()
    if right.deny or right.right in HARMLESS_RIGHTS:
        return F.Finding(F.RIGHT, key, detail, F.OK, "grants no way in", item=item)
    if baseline is not None and right in (baseline.rights or []):
        return _predates(F.RIGHT, key, detail, item, baseline)
    power = _right_power(right.right)
    if right.grantee_type in _OUTSIDE_ACE_TYPES or _outside(
        right.grantee_type, right.grantee_name, org
    ):
        return _decide(
            F.RIGHT,
            key,
            detail,
            F.MALICIOUS,
            f"{who} (outside the organisation) {power}",
            "right_outside",
            policy,
            item,
        )
    return _internal(
        F.RIGHT, key, detail, f"{who} {power}", "right_internal", policy, item, baseline, "rights"
    )


def _right_power(right: str) -> str:
    if right == "loginAs":
        return "can open the whole mailbox"
    if right.startswith("sendAs"):
        return "can send as this account"
    if right.startswith("sendOnBehalfOf"):
        return "can send on behalf of this account"
    return f"holds {right}"


# ------------------------------------------------------------------ data sources, devices


def classify_data_source(
    source: DataSource, policy: Policy, baseline: Baseline | None
) -> F.Finding:
    where = f"{source.host}" if source.host else source.attrs.get("emailAddress", "")
    detail = f"{source.kind} data source {source.name!r}" + (f" from {where}" if where else "")
    key, item = source.name, source.to_dict()
    if not source.enabled:
        return F.Finding(F.DATA_SOURCE, key, detail, F.OK, "turned off", item=item)
    if baseline is not None and any(d.id == source.id for d in baseline.data_sources or []):
        return _predates(F.DATA_SOURCE, key, detail, item, baseline)
    finding = _internal(
        F.DATA_SOURCE,
        key,
        detail,
        "an outside account this mailbox pulls from and may send as",
        "data_source",
        policy,
        item,
        baseline,
        "data_sources",
    )
    if finding.remove:
        finding.replacement = {"isEnabled": "0"}  # turned off, not deleted: kept whole
    return finding


def classify_device(device: MobileDevice, policy: Policy) -> F.Finding:
    what = " ".join(p for p in (device.model, device.type, device.user_agent) if p) or "device"
    detail = f"mobile device {device.id} ({what})"
    item = asdict(device)
    if device.status not in _DEVICE_LIVE:
        return F.Finding(F.MOBILE_DEVICE, device.id, detail, F.OK, "not syncing", item=item)
    return _decide(
        F.MOBILE_DEVICE,
        device.id,
        detail,
        F.MALICIOUS,
        "a synced device keeps its copy of the mailbox in step; suspended until the owner "
        "confirms it is theirs",
        "mobile_devices",
        policy,
        item,
    )


# ------------------------------------------------------------------ shared


def _internal(
    kind: str,
    key: str,
    detail: str,
    what: str,
    policy_key: str,
    policy: Policy,
    item: Any,
    baseline: Baseline | None,
    field: str,
) -> F.Finding:
    """Inside the organisation: new since a baseline that recorded these is malicious; with no
    such baseline it cannot be judged, so it is reported and kept."""
    if baseline is not None and getattr(baseline, field) is not None:
        return _decide(
            kind,
            key,
            detail,
            F.MALICIOUS,
            f"{what}; not in the baseline of {baseline.captured_at}",
            policy_key,
            policy,
            item,
        )
    return _decide(
        kind,
        key,
        detail,
        F.SUSPICIOUS,
        f"{what}; no baseline says whether it predates the incident",
        policy_key,
        policy,
        item,
    )


def _decide(
    kind: str,
    key: str,
    detail: str,
    verdict: str,
    reason: str,
    policy_key: str,
    policy: Policy,
    item: Any,
) -> F.Finding:
    choice = getattr(policy, policy_key)
    if choice == "ignore":
        return F.Finding(kind, key, detail, F.OK, "nothing risky", item=item)
    return F.Finding(
        kind,
        key,
        detail,
        verdict,
        reason,
        policy=policy_key,
        remove=choice == "remove" and verdict == F.MALICIOUS,
        item=item,
    )
