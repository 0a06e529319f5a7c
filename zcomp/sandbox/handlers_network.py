"""Network Edition requests: app-specific passwords, trusted devices, mobile (ActiveSync)
devices. Registered with network=True: a FOSS sandbox answers service.UNKNOWN_DOCUMENT, as a
FOSS server does (no DocumentService registers them, store/conf/web.xml.production L271-313).

Shapes: soap/.../account/message/{Get,Create,Revoke}AppSpecificPassword*.java,
GetTrustedDevicesResponse.java, RevokeOtherTrustedDevicesRequest.java and
soap/.../sync/message/*, sync/type/DeviceStatusInfo.java. The NE handlers are not in the
public source: storage formats and faults below are the sandbox's own.
"""

from __future__ import annotations

import secrets
import string

from zcomp.sandbox.directory import AccountEntry
from zcomp.sandbox.element import NS_ACCOUNT, El, get_bool
from zcomp.sandbox.engine import RequestContext, handler
from zcomp.sandbox.faults import invalid_request, missing_attr, missing_element
from zcomp.sandbox.mailbox import Mailbox
from zcomp.sandbox.passwords import hash_password

ACC = NS_ACCOUNT
NS_SYNC = "urn:zimbraSync"
APP_ATTR = "zimbraAppSpecificPassword"
TRUSTED_ATTR = "zimbraTwoFactorAuthTrustedDevices"
STATUS_OK, STATUS_SUSPENDED = 1, 2  # DeviceStatusInfo: 0 provision, 1 ok, 2 suspended, ...


def _saved(rc: RequestContext, entry: AccountEntry) -> None:
    rc.record_write(entry.name)
    rc.write_through(entry)


# ---- app-specific passwords -------------------------------------------------------------------
# Stored as zimbraAppSpecificPassword values "{appName}|{hash}|{created ms}|{last used ms}"
# (the attribute is an immutable ostring; admin reads show VALUE-BLOCKED).


def app_passwords(entry: AccountEntry) -> list[tuple[str, str, int, int]]:
    out = []
    for v in entry.attrs.get(APP_ATTR, []):
        name, _, rest = v.partition("|")
        hashed, _, rest = rest.partition("|")
        created, _, used = rest.partition("|")
        out.append((name, hashed, int(created or "0"), int(used or "0")))
    return out


def _store_app(entry: AccountEntry, items: list[tuple[str, str, int, int]]) -> None:
    if items:
        entry.attrs[APP_ATTR] = [f"{n}|{h}|{c}|{u}" for n, h, c, u in items]
    else:
        entry.attrs.pop(APP_ATTR, None)


def add_app_password(rc: RequestContext, entry: AccountEntry, name: str) -> str:
    items = app_passwords(entry)
    if any(n == name for n, *_ in items):
        raise invalid_request(f"app-specific password already exists for the name {name}")
    limit = rc.dir.effective_int(entry, "zimbraMaxAppSpecificPasswords", 25)
    if len(items) >= limit:
        raise invalid_request("maximum number of app-specific passwords reached")
    length = int(rc.dir.config_attrs.get("zimbraAppSpecificPasswordLength", ["16"])[0])
    password = "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))
    items.append((name, hash_password(password), rc.now_ms(), 0))
    _store_app(entry, items)
    return password


@handler(ACC, "GetAppSpecificPasswordsRequest", "user", network=True)
def get_app_passwords(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    resp = El("GetAppSpecificPasswordsResponse", ACC)
    holder = resp.add("appSpecificPasswords")
    for name, _, created, used in app_passwords(entry):
        attrs = {"appName": name, "created": str(created)}
        if used:
            attrs["lastUsed"] = str(used)
        holder.add("passwordData", attrs)
    limit = rc.dir.effective_int(entry, "zimbraMaxAppSpecificPasswords", 25)
    resp.add("maxAppPasswords", text=str(limit))
    return resp


@handler(ACC, "CreateAppSpecificPasswordRequest", "user", network=True)
def create_app_password(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    name = req.get("appName")
    if not name:
        raise missing_attr("appName")
    password = add_app_password(rc, entry, name)
    _saved(rc, entry)
    resp = El("CreateAppSpecificPasswordResponse", ACC)
    resp.attrs["pw"] = password  # the only time the password is ever shown
    return resp


@handler(ACC, "RevokeAppSpecificPasswordRequest", "user", network=True)
def revoke_app_password(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    name = req.get("appName")
    if name is None:
        raise missing_attr("appName")
    _store_app(entry, [item for item in app_passwords(entry) if item[0] != name])
    _saved(rc, entry)
    return El("RevokeAppSpecificPasswordResponse", ACC)


# ---- trusted devices --------------------------------------------------------------------------
# zimbraTwoFactorAuthTrustedDevices values are opaque here. "This device" is the caller's
# trusted-device token, which the sandbox never issues: every device is another device.


@handler(ACC, "GetTrustedDevicesRequest", "user", network=True)
def get_trusted_devices(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    resp = El("GetTrustedDevicesResponse", ACC)
    resp.attrs["nOtherDevices"] = str(len(entry.attrs.get(TRUSTED_ATTR, [])))
    resp.attrs["thisDeviceTrusted"] = "0"
    return resp


@handler(ACC, "RevokeTrustedDeviceRequest", "user", network=True)
def revoke_trusted_device(rc: RequestContext, req: El) -> El:
    rc.require_target()  # no trusted-device token on the request: nothing is "this device"
    return El("RevokeTrustedDeviceResponse", ACC)


@handler(ACC, "RevokeOtherTrustedDevicesRequest", "user", network=True)
def revoke_other_trusted_devices(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    entry.attrs.pop(TRUSTED_ATTR, None)  # the caller has no device of its own: all go
    _saved(rc, entry)
    return El("RevokeOtherTrustedDevicesResponse", ACC)


# ---- mobile devices (urn:zimbraSync) ----------------------------------------------------------

_DEVICE_ATTRS = (
    "id",
    "type",
    "ua",
    "protocol",
    "model",
    "imei",
    "friendly_name",
    "os",
    "os_language",
    "phone_number",
)
_DEVICE_ELEMENTS = (
    "provisionable",
    "status",
    "firstReqReceived",
    "lastPolicyUpdate",
    "remoteWipeReqTime",
    "remoteWipeAckTime",
    "recoveryPassword",
    "lastUsedDate",
)


def add_device(box: Mailbox, device_id: str, **fields: str) -> dict[str, str]:
    dev = {"id": device_id, "provisionable": "1", "status": str(STATUS_OK), **fields}
    box.devices[device_id] = dev
    return dev


def _encode_device(parent: El, dev: dict[str, str]) -> None:
    el = parent.add("device", {k: dev[k] for k in _DEVICE_ATTRS if dev.get(k)})
    for k in _DEVICE_ELEMENTS:
        if dev.get(k):
            el.add(k, text=dev[k])


def _device_id(req: El) -> str:
    dev = req.child("device")
    if dev is None:
        raise missing_element("device")
    dev_id = dev.get("id")
    if dev_id is None:
        raise missing_attr("id")
    return dev_id


@handler(NS_SYNC, "GetDeviceStatusRequest", "user", network=True)
def get_device_status(rc: RequestContext, req: El) -> El:
    box = rc.world.mailboxes.get(rc.require_target().id)
    include_removed = get_bool(req, "includeRemovedDevices")
    resp = El("GetDeviceStatusResponse", NS_SYNC)
    for dev in box.devices.values():
        if dev.get("removed") and not include_removed:
            continue
        _encode_device(resp, dev)
    return resp


def _set_status(rc: RequestContext, req: El, status: int) -> El:
    entry = rc.require_target()
    box = rc.world.mailboxes.get(entry.id)
    dev = box.devices.get(_device_id(req))
    resp = El(req.name.replace("Request", "Response"), NS_SYNC)
    if dev is not None:  # the response's <device> is optional: absent for an unknown id
        dev["status"] = str(status)
        _encode_device(resp, dev)
        rc.record_write(entry.name)
    return resp


@handler(NS_SYNC, "SuspendDeviceRequest", "user", network=True)
def suspend_device(rc: RequestContext, req: El) -> El:
    return _set_status(rc, req, STATUS_SUSPENDED)


@handler(NS_SYNC, "ResumeDeviceRequest", "user", network=True)
def resume_device(rc: RequestContext, req: El) -> El:
    return _set_status(rc, req, STATUS_OK)
