"""Mailbox contents: the folder tree with its ACLs, and a few stored messages per folder.

Models store/.../mailbox/Mailbox.java (createDefaultFolders), Folder.java, MailItem.java
(grantAccess / revokeAccess / setPermissions / getEffectiveACL) and ACL.java (the grant list).
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass, field

from zcomp.sandbox.faults import SoapFault, invalid_request, perm_denied

# GuestAccount.GUID_PUBLIC / GUID_AUTHUSER: the zids Zimbra stores for pub and all grants.
GUID_PUBLIC = "99999999-9999-9999-9999-999999999999"
GUID_AUTHUSER = "00000000-0000-0000-0000-000000000000"

# FolderConstants.java: the system folder ids.
ID_USER_ROOT, ID_INBOX, ID_TRASH, ID_JUNK, ID_SENT, ID_DRAFTS, ID_CONTACTS = 1, 2, 3, 4, 5, 6, 7
ID_TAGS, ID_CONVERSATIONS, ID_CALENDAR, ID_ROOT = 8, 9, 10, 11
ID_AUTO_CONTACTS, ID_CHATS, ID_TASKS, ID_BRIEFCASE, ID_COMMENTS = 13, 14, 15, 16, 17
FIRST_USER_ID = 256  # Mailbox.FIRST_USER_ID

# ACL.java L43-59: right bits, in rightsToString order.
RIGHTS: dict[str, int] = {
    "r": 0x1,
    "w": 0x2,
    "i": 0x4,
    "d": 0x8,
    "x": 0x10,
    "a": 0x100,
    "p": 0x400,
    "f": 0x800,
}
RIGHT_READ, RIGHT_ADMIN = 0x1, 0x100
ALL_RIGHTS_STRING = "rwidxapfc"  # what an admin (canAccessAccount) sees as effective `perm`
GRANTEE_TYPES = ("usr", "grp", "cos", "dom", "all", "pub", "guest", "key")

# (id, name, parent, view, flags): Mailbox.createDefaultFolders; 8, 9, 17 and USER_ROOT hang
# off ROOT, the rest off USER_ROOT; Calendar and Tasks are created checked (#).
_SYSTEM: list[tuple[int, str, int | None, str, str]] = [
    (ID_ROOT, "ROOT", None, "", ""),
    (ID_TAGS, "Tags", ID_ROOT, "tag", ""),
    (ID_CONVERSATIONS, "Conversations", ID_ROOT, "conversation", ""),
    (ID_COMMENTS, "Comments", ID_ROOT, "comment", ""),
    (ID_USER_ROOT, "USER_ROOT", ID_ROOT, "", ""),
    (ID_INBOX, "Inbox", ID_USER_ROOT, "message", ""),
    (ID_TRASH, "Trash", ID_USER_ROOT, "", ""),
    (ID_JUNK, "Junk", ID_USER_ROOT, "message", ""),
    (ID_SENT, "Sent", ID_USER_ROOT, "message", ""),
    (ID_DRAFTS, "Drafts", ID_USER_ROOT, "message", ""),
    (ID_CONTACTS, "Contacts", ID_USER_ROOT, "contact", ""),
    (ID_CALENDAR, "Calendar", ID_USER_ROOT, "appointment", "#"),
    (ID_TASKS, "Tasks", ID_USER_ROOT, "task", "#"),
    (ID_AUTO_CONTACTS, "Emailed Contacts", ID_USER_ROOT, "contact", ""),
    (ID_CHATS, "Chats", ID_USER_ROOT, "message", ""),
    (ID_BRIEFCASE, "Briefcase", ID_USER_ROOT, "document", ""),
]
HIDDEN = frozenset({ID_TAGS, ID_CONVERSATIONS, ID_COMMENTS})


def secrets_key() -> str:
    """ACL.generateAccessKey: 16 random bytes as 32 hex characters."""
    return secrets.token_hex(16)


def rights_from_string(perm: str) -> int:
    """ACL.stringToRights: `c` is accepted and ignored; anything unknown is refused."""
    mask = 0
    for ch in perm:
        if ch == "c":
            continue
        bit = RIGHTS.get(ch)
        if bit is None:
            raise invalid_request(f"unknown right: {ch}")
        mask |= bit
    return mask


def rights_to_string(mask: int) -> str:
    return "".join(ch for ch, bit in RIGHTS.items() if mask & bit)


@dataclass
class Grant:
    """ACL.Grant: zid is the GUID for pub/all, the e-mail for guest, the name for key."""

    zid: str
    gt: str
    rights: int
    secret: str | None = None
    expiry: int = 0

    def has_grantee(self) -> bool:
        return self.gt not in ("all", "pub")

    def is_grantee(self, zid: str | None) -> bool:
        """ACL.Grant.isGrantee: the GUIDs name pub/all; guest and key compare ignoring case."""
        if zid is None or zid == GUID_PUBLIC:
            return self.gt == "pub"
        if zid == GUID_AUTHUSER:
            return self.gt == "all"
        if self.gt in ("guest", "key"):
            return zid.lower() == self.zid.lower()
        return zid == self.zid

    def effective_expiry(self, acl: ACL) -> int:
        """ACL.Grant.getEffectiveExpiry: a grant without its own expiry takes the ACL's."""
        if self.expiry:
            return self.expiry
        if self.gt in ("guest", "key"):
            return acl.guest_expiry
        if self.gt != "pub":
            return acl.internal_expiry
        return 0

    def expired(self, acl: ACL, now_ms: int) -> bool:
        exp = self.effective_expiry(acl)
        return exp != 0 and now_ms > exp


@dataclass
class ACL:
    grants: list[Grant] = field(default_factory=list)
    internal_expiry: int = 0
    guest_expiry: int = 0

    def copy(self) -> ACL:
        return ACL(
            [Grant(g.zid, g.gt, g.rights, g.secret, g.expiry) for g in self.grants],
            self.internal_expiry,
            self.guest_expiry,
        )

    def grant(self, zid: str, gt: str, rights: int, secret: str | None, expiry: int) -> Grant:
        """ACL.grantAccess: an identical grant is GRANT_EXISTS, another one to the same
        grantee is replaced in place, a key grant without a key gets a generated one."""
        if gt == "all":
            zid = GUID_AUTHUSER
        elif gt == "pub":
            zid = GUID_PUBLIC
        if gt == "key" and secret is None:
            secret = secrets_key()
        for g in self.grants:
            if g.is_grantee(zid):
                same_secret = gt not in ("guest", "key") or g.secret == secret
                if g.rights == rights and same_secret and g.expiry == expiry:
                    raise SoapFault("mail.GRANT_EXISTS", f"grantee already exists {zid}")
                g.rights = rights
                if gt in ("guest", "key") and secret is not None:
                    g.secret = secret
                g.expiry = expiry
                return g
        new = Grant(zid, gt, rights, secret if gt in ("guest", "key") else None, expiry)
        self.grants.append(new)
        return new

    def revoke(self, zid: str) -> bool:
        before = len(self.grants)
        self.grants = [g for g in self.grants if not g.is_grantee(zid)]
        return len(self.grants) != before

    def count(self, gt: str) -> int:
        return sum(1 for g in self.grants if g.gt == gt)


@dataclass
class Folder:
    id: int
    name: str
    parent: int | None
    view: str
    uuid: str
    flags: str = ""  # folder flags other than `i` (e.g. `#` checked)
    no_inherit: bool = False  # Flag NO_INHERIT (`i`): the folder has its own ACL
    acl: ACL | None = None
    system: bool = False
    mod_seq: int = 1

    def flag_string(self) -> str:
        return self.flags + ("i" if self.no_inherit else "")


@dataclass
class Message:
    id: int
    folder: int
    subject: str
    sender: str
    sender_name: str
    date_ms: int
    fragment: str
    size: int
    unread: bool = False


class Mailbox:
    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.folders: dict[int, Folder] = {}
        self.messages: dict[int, Message] = {}
        self.next_id = FIRST_USER_ID
        self.change = 1
        for fid, name, parent, view, flags in _SYSTEM:
            self.folders[fid] = Folder(
                fid, name, parent, view, self._uuid(fid), flags=flags, system=True
            )
        # Mobile (ActiveSync) devices live in the mailbox database (Network Edition only).
        self.devices: dict[str, dict[str, str]] = {}

    def _uuid(self, item_id: int) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"zcomp-sandbox:{self.account_id}:{item_id}"))

    def _bump(self, folder: Folder) -> None:
        self.change += 1
        folder.mod_seq = self.change

    # ---- lookup -----------------------------------------------------------------------------

    def folder(self, fid: int) -> Folder | None:
        return self.folders.get(fid)

    def children(self, folder: Folder) -> list[Folder]:
        kids = (f for f in self.folders.values() if f.parent == folder.id)
        return sorted(kids, key=lambda f: f.id)

    def path(self, folder: Folder) -> str:
        """Folder.getPath: "/" for USER_ROOT, "/Inbox/Sub" below it."""
        if folder.id in (ID_ROOT, ID_USER_ROOT):
            return "/"
        parts: list[str] = []
        cur: Folder | None = folder
        while cur is not None and cur.id not in (ID_ROOT, ID_USER_ROOT):
            parts.append(cur.name)
            cur = self.folders.get(cur.parent) if cur.parent is not None else None
        return "/" + "/".join(reversed(parts))

    def by_path(self, path: str, base: int = ID_USER_ROOT) -> Folder | None:
        """Mailbox.getFolderByPath: names compare ignoring case; "/" is the base itself."""
        cur = self.folders.get(base)
        for part in (p for p in path.split("/") if p):
            if cur is None:
                return None
            cur = next((f for f in self.children(cur) if f.name.lower() == part.lower()), None)
        return cur

    def subtree(self, folder: Folder) -> list[Folder]:
        out = [folder]
        for child in self.children(folder):
            out.extend(self.subtree(child))
        return out

    def folder_messages(self, folder: Folder) -> list[Message]:
        return sorted(
            (m for m in self.messages.values() if m.folder == folder.id),
            key=lambda m: -m.date_ms,
        )

    # ---- creation ---------------------------------------------------------------------------

    def new_id(self) -> int:
        nid = self.next_id
        self.next_id += 1
        return nid

    def create_folder(self, name: str, parent: int = ID_USER_ROOT, view: str = "message") -> Folder:
        fid = self.new_id()
        folder = Folder(fid, name, parent, view, self._uuid(fid))
        self.folders[fid] = folder
        self._bump(folder)
        return folder

    def add_message(
        self,
        folder: int,
        subject: str,
        sender: str,
        sender_name: str,
        date_ms: int,
        fragment: str,
        *,
        unread: bool = False,
    ) -> Message:
        mid = self.new_id()
        size = 900 + len(subject) * 3 + len(fragment) * 2
        msg = Message(mid, folder, subject, sender, sender_name, date_ms, fragment, size, unread)
        self.messages[mid] = msg
        return msg

    # ---- ACLs -------------------------------------------------------------------------------

    def effective_acl(self, folder: Folder) -> ACL | None:
        """MailItem.getEffectiveACL: a folder without `i` uses its parent's (up to ROOT)."""
        cur: Folder | None = folder
        while cur is not None:
            if cur.id == ID_ROOT or cur.no_inherit or cur.parent is None:
                return cur.acl
            cur = self.folders.get(cur.parent)
        return None

    def _set_no_inherit(self, folder: Folder) -> None:
        """Folder.alterTag(NO_INHERIT, true): the folder takes a copy of its effective ACL."""
        if folder.no_inherit:
            return
        effective = self.effective_acl(folder)
        folder.acl = effective.copy() if effective is not None and effective.grants else None
        folder.no_inherit = True

    def clear_no_inherit(self, folder: Folder) -> None:
        """Clearing `i` turns inheritance back on and drops the folder's own ACL."""
        if folder.no_inherit:
            folder.no_inherit = False
            folder.acl = None
            self._bump(folder)

    def grant(
        self,
        folder: Folder,
        zid: str,
        gt: str,
        rights: int,
        secret: str | None,
        expiry: int,
        *,
        public_ok: bool = True,
        external_ok: bool = True,
        internal_lifetime_ms: int = 0,
        external_lifetime_ms: int = 0,
        now_ms: int = 0,
    ) -> Grant:
        """MailItem.grantAccess (after Mailbox.grantAccess's CANNOT_GRANT check)."""
        if gt == "pub" and not public_ok:
            raise perm_denied("public sharing not allowed")
        if gt == "guest" and not external_ok:
            raise perm_denied("external sharing not allowed")
        if gt == "usr" and zid.lower() == self.account_id.lower():
            raise perm_denied("cannot grant access to the owner of the item")
        self._set_no_inherit(folder)
        int_exp = now_ms + internal_lifetime_ms if internal_lifetime_ms else 0
        ext_exp = now_ms + external_lifetime_ms if external_lifetime_ms else 0
        if folder.acl is None:
            folder.acl = ACL(internal_expiry=int_exp, guest_expiry=ext_exp)
        else:
            acl = folder.acl
            if ext_exp and (acl.count("guest") == 0 or acl.guest_expiry == 0):
                acl.guest_expiry = ext_exp
            if int_exp and (acl.count("usr") == 0 or acl.internal_expiry == 0):
                acl.internal_expiry = int_exp
        grant = folder.acl.grant(zid, gt, rights, secret, expiry)
        self._bump(folder)
        return grant

    def revoke(self, folder: Folder, zid: str) -> bool:
        """MailItem.revokeAccess: silent when nothing matches; on a folder that only inherits
        the grant, the parent's ACL is first copied onto it and the grantee removed there."""
        if zid.lower() == self.account_id.lower():
            raise perm_denied("cannot revoke access from the owner of the item")
        effective = self.effective_acl(folder)
        if effective is None or not effective.copy().revoke(zid):
            return False
        self._set_no_inherit(folder)
        acl = folder.acl
        if acl is not None:
            acl.revoke(zid)
            if not acl.grants:
                folder.acl = None
            else:
                if acl.count("usr") == 0:
                    acl.internal_expiry = 0
                if acl.count("guest") == 0:
                    acl.guest_expiry = 0
        self._bump(folder)
        return True

    def set_permissions(self, folder: Folder, acl: ACL | None) -> None:
        """MailItem.setPermissions: sets `i`; an empty ACL becomes none."""
        self._set_no_inherit(folder)
        folder.acl = acl if acl is not None and acl.grants else None
        self._bump(folder)


class MailboxStore:
    """Every account's mailbox, created on first use as Zimbra does (MailboxManager)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._boxes: dict[str, Mailbox] = {}

    def get(self, account_id: str) -> Mailbox:
        with self._lock:
            box = self._boxes.get(account_id)
            if box is None:
                box = Mailbox(account_id)
                self._boxes[account_id] = box
            return box

    def peek(self, account_id: str) -> Mailbox | None:
        with self._lock:
            return self._boxes.get(account_id)
