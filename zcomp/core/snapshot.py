"""Everything an attacker could have touched on one account, as read from Zimbra."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from zcomp.core.replies import must
from zcomp.timestamps import stamp
from zcomp.zimbra.access import (
    AccountRight,
    AppPassword,
    DataSource,
    Folder,
    FolderGrant,
    MobileDevice,
    TrustedDevices,
)
from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import FilterRule, Identity, SessionInfo, Signature
from zcomp.zimbra.operations import (
    GetAppSpecificPasswords,
    GetDataSources,
    GetDeviceStatus,
    GetFilterRules,
    GetFolders,
    GetIdentities,
    GetPrefs,
    GetRights,
    GetSignatures,
    GetTrustedDevices,
    Request,
)

if TYPE_CHECKING:
    from zcomp.journal import Journal
    from zcomp.zimbra.api import ZimbraAPI

# Account attributes a baseline records (one directory search returns them for many accounts).
BASELINE_ATTRS: tuple[str, ...] = (
    "zimbraId",
    "zimbraMailHost",
    "zimbraPrefFromAddress",
    "zimbraPrefFromDisplay",
    "zimbraPrefReplyToAddress",
    "zimbraPrefReplyToDisplay",
    "zimbraPrefReplyToEnabled",
    "zimbraSignatureId",
    "zimbraSignatureName",
    "zimbraPrefMailSignature",
    "zimbraPrefMailSignatureHTML",
    "zimbraPrefDefaultSignatureId",
    "zimbraPrefForwardReplySignatureId",
    "zimbraPrefMailForwardingAddress",
    "zimbraPrefMailLocalDeliveryDisabled",
    "zimbraMailForwardingAddress",
    "zimbraMailSieveScript",
    "zimbraMailOutgoingSieveScript",
    "zimbraPrefOutOfOfficeReplyEnabled",
    "zimbraPrefOutOfOfficeReply",
)


def load_baseline(
    journal: Journal, account_id: str, *, before: datetime | None = None
) -> Baseline | None:
    """The newest baseline of the account taken before `before` (an incident's start)."""
    row = journal.latest_baseline(account_id, before=before)
    if row is None:
        return None
    return Baseline.from_dict(row.data, stamp(row.captured_at))


def read_mailbox(client: ZimbraAPI, account_id: str, *, network: bool) -> MailboxState:
    """One user-side BatchRequest: filter rules in and out, signatures, identities, prefs,
    shares, rights, data sources (and on Network Edition, passwords and devices)."""
    results = client.batch(mailbox_reads(network=network), as_account=account_id)
    return MailboxState.from_results(results)


def session_rows(account_id: str, sessions: list[SessionInfo]) -> list[dict[str, Any]]:
    """The account's entries of a GetSessions answer, for the evidence and inspect (the session
    id shortened: it only identifies, it grants nothing, but the full id is not needed)."""
    return [
        {
            "type": s.type,
            "session": s.session_id[:8],
            "created_ms": s.created_ms,
            "accessed_ms": s.accessed_ms,
        }
        for s in sessions
        if s.account_id == account_id
    ]


def mailbox_reads(*, network: bool) -> list[Request[Any]]:
    """The user-side reads of a snapshot, in the order `MailboxState.from_results` expects.
    Network Edition's reads only where the server is one: elsewhere they do not exist."""
    reads: list[Request[Any]] = [
        GetFilterRules(),
        GetFilterRules(outgoing=True),
        GetSignatures(),
        GetIdentities(),
        GetPrefs(),
        GetFolders(),
        GetRights(),
        GetDataSources(),
    ]
    if network:
        reads += [GetAppSpecificPasswords(), GetTrustedDevices(), GetDeviceStatus()]
    return reads


_ESSENTIAL_READS = 8  # the reads every edition answers; a fault there fails the snapshot


def _optional(result: Any) -> Any:
    """A Network Edition read: a server that does not know it (service.UNKNOWN_DOCUMENT, say a
    proxy in front of an open-source one) leaves it unknown (None), any other fault is raised."""
    if isinstance(result, ZimbraFault) and result.code == "service.UNKNOWN_DOCUMENT":
        return None
    return must(result)


@dataclass
class MailboxState:
    """The user-side settings of an account: filters, signatures, identities, prefs, and what
    lets others in without the password (zcomp.zimbra.access). `shares` are only the folders
    with an ACL of their own (the others inherit it). None: not read (an older evidence
    bundle), or not there on this edition."""

    rules: list[FilterRule] = field(default_factory=list)
    outgoing_rules: list[FilterRule] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    prefs: dict[str, list[str]] = field(default_factory=dict)
    shares: list[Folder] | None = None
    rights: list[AccountRight] | None = None
    data_sources: list[DataSource] | None = None
    app_passwords: list[AppPassword] | None = None
    trusted_devices: TrustedDevices | None = None
    devices: list[MobileDevice] | None = None

    @classmethod
    def from_results(cls, results: list[Any]) -> MailboxState:
        """From the answers to `mailbox_reads` (faults raised, except an unknown Network
        Edition request)."""
        essential = [must(r) for r in results[:_ESSENTIAL_READS]]
        rules, outgoing, signatures, identities, prefs, folders, rights, sources = essential
        state = cls(
            list(rules),
            list(outgoing),
            list(signatures),
            list(identities),
            dict(prefs),
            shares=[f for f in folders if f.grants],
            rights=list(rights),
            data_sources=list(sources),
        )
        if len(results) > _ESSENTIAL_READS:
            apps, trusted, devices = (_optional(r) for r in results[_ESSENTIAL_READS:])
            state.app_passwords = None if apps is None else list(apps)
            state.trusted_devices = trusted
            state.devices = None if devices is None else list(devices)
        return state

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "filter_rules": [r.to_dict() for r in self.rules],
            "outgoing_filter_rules": [r.to_dict() for r in self.outgoing_rules],
            "signatures": [s.to_dict() for s in self.signatures],
            "identities": [i.to_dict() for i in self.identities],
            "prefs": {k: list(v) for k, v in sorted(self.prefs.items())},
        }
        out.update(access_dict(self.shares, self.rights, self.data_sources))
        if self.app_passwords is not None:
            out["app_passwords"] = [asdict(a) for a in self.app_passwords]
        if self.trusted_devices is not None:
            out["trusted_devices"] = asdict(self.trusted_devices)
        if self.devices is not None:
            out["devices"] = [asdict(d) for d in self.devices]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MailboxState:
        shares, rights, sources = access_from_dict(data)
        apps, trusted, devices = (
            data.get("app_passwords"),
            data.get("trusted_devices"),
            data.get("devices"),
        )
        return cls(
            rules=[FilterRule.from_dict(r) for r in data.get("filter_rules", [])],
            outgoing_rules=[FilterRule.from_dict(r) for r in data.get("outgoing_filter_rules", [])],
            signatures=[Signature.from_dict(s) for s in data.get("signatures", [])],
            identities=[Identity.from_dict(i) for i in data.get("identities", [])],
            prefs={k: list(v) for k, v in data.get("prefs", {}).items()},
            shares=shares,
            rights=rights,
            data_sources=sources,
            app_passwords=None if apps is None else [AppPassword(**a) for a in apps],
            trusted_devices=None if trusted is None else TrustedDevices(**trusted),
            devices=None if devices is None else [MobileDevice(**d) for d in devices],
        )


def access_dict(
    shares: list[Folder] | None,
    rights: list[AccountRight] | None,
    sources: list[DataSource] | None,
) -> dict[str, Any]:
    """Shares, rights and data sources as the evidence and a baseline keep them (what was
    not read is left out, not written as empty)."""
    out: dict[str, Any] = {}
    if shares is not None:
        out["shares"] = [folder_dict(f) for f in shares]
    if rights is not None:
        out["rights"] = [r.to_dict() for r in rights]
    if sources is not None:
        out["data_sources"] = [d.to_dict() for d in sources]
    return out


def access_from_dict(
    data: dict[str, Any],
) -> tuple[list[Folder] | None, list[AccountRight] | None, list[DataSource] | None]:
    shares, rights, sources = data.get("shares"), data.get("rights"), data.get("data_sources")
    return (
        None if shares is None else [folder_from_dict(f) for f in shares],
        None if rights is None else [AccountRight.from_dict(r) for r in rights],
        None if sources is None else [DataSource.from_dict(d) for d in sources],
    )


def folder_dict(folder: Folder) -> dict[str, Any]:
    return {
        "id": folder.id,
        "path": folder.path,
        "view": folder.view,
        "grants": [g.to_dict() for g in folder.grants],
    }


def folder_from_dict(data: dict[str, Any]) -> Folder:
    return Folder(
        id=data["id"],
        path=data["path"],
        view=data.get("view", ""),
        grants=tuple(FolderGrant.from_dict(g) for g in data.get("grants", [])),
    )


@dataclass
class Baseline:
    """Known-good values of an account, captured before any incident (see `zcomp baseline`)."""

    captured_at: str
    attrs: dict[str, list[str]] = field(default_factory=dict)
    signatures: list[Signature] | None = None  # None when only account attributes were captured
    identities: list[Identity] | None = None
    rules: list[FilterRule] | None = None
    outgoing_rules: list[FilterRule] | None = None
    # What let others in, as captured (None: not captured, e.g. a directory-wide baseline).
    shares: list[Folder] | None = None
    rights: list[AccountRight] | None = None
    data_sources: list[DataSource] | None = None

    def has_rule(self, rule: FilterRule, *, outgoing: bool) -> bool:
        """True when exactly this rule (name, tests, actions) was there at baseline time."""
        known = self.outgoing_rules if outgoing else self.rules
        return known is not None and rule.to_dict() in [r.to_dict() for r in known]

    def signature_candidates(self) -> list[Signature]:
        """Baseline signatures; the account-entry signature is derived from attributes."""
        if self.signatures is not None:
            return list(self.signatures)
        sig_id = _first(self.attrs, "zimbraSignatureId")
        name = _first(self.attrs, "zimbraSignatureName")
        if not sig_id or not name:
            return []
        contents = {}
        if (plain := _first(self.attrs, "zimbraPrefMailSignature")) is not None:
            contents["text/plain"] = plain
        if (html := _first(self.attrs, "zimbraPrefMailSignatureHTML")) is not None:
            contents["text/html"] = html
        return [Signature(id=sig_id, name=name, contents=contents)]

    def default_identity_attrs(self) -> dict[str, list[str]]:
        if self.identities is not None:
            for identity in self.identities:
                if identity.name == "DEFAULT":
                    return dict(identity.attrs)
        return {k: list(v) for k, v in self.attrs.items() if k.startswith("zimbraPref")}

    def identity(self, identity_id: str, name: str) -> Identity | None:
        for identity in self.identities or []:
            if identity.id == identity_id or identity.name == name:
                return identity
        return None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attrs": self.attrs}
        if self.signatures is not None:
            out["signatures"] = [s.to_dict() for s in self.signatures]
        if self.identities is not None:
            out["identities"] = [i.to_dict() for i in self.identities]
        if self.rules is not None:
            out["filter_rules"] = [r.to_dict() for r in self.rules]
        if self.outgoing_rules is not None:
            out["outgoing_filter_rules"] = [r.to_dict() for r in self.outgoing_rules]
        out.update(access_dict(self.shares, self.rights, self.data_sources))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], captured_at: str) -> Baseline:
        sigs = data.get("signatures")
        idents = data.get("identities")
        rules = data.get("filter_rules")
        outgoing = data.get("outgoing_filter_rules")
        shares, rights, sources = access_from_dict(data)
        return cls(
            captured_at=captured_at,
            attrs={k: list(v) for k, v in data.get("attrs", {}).items()},
            signatures=[Signature.from_dict(s) for s in sigs] if sigs is not None else None,
            identities=[Identity.from_dict(i) for i in idents] if idents is not None else None,
            rules=[FilterRule.from_dict(r) for r in rules] if rules is not None else None,
            outgoing_rules=(
                [FilterRule.from_dict(r) for r in outgoing] if outgoing is not None else None
            ),
            shares=shares,
            rights=rights,
            data_sources=sources,
        )


def _first(attrs: dict[str, list[str]], name: str) -> str | None:
    values = attrs.get(name)
    return values[0] if values else None
