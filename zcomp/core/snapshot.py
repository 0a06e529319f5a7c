"""Everything an attacker could have touched on one account, as read from Zimbra."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from zcomp.core.replies import must
from zcomp.timestamps import stamp
from zcomp.zimbra.model import FilterRule, Identity, SessionInfo, Signature
from zcomp.zimbra.requests import (
    GetFilterRules,
    GetIdentities,
    GetPrefs,
    GetSignatures,
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


def read_mailbox(client: ZimbraAPI, account_id: str) -> MailboxState:
    """One user-side BatchRequest: filter rules in and out, signatures, identities, prefs."""
    results = client.batch(mailbox_reads(), as_account=account_id)
    return MailboxState.from_results([must(r) for r in results])


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


def mailbox_reads() -> list[Request[Any]]:
    """The user-side reads of a snapshot, in the order `MailboxState.from_results` expects."""
    return [
        GetFilterRules(),
        GetFilterRules(outgoing=True),
        GetSignatures(),
        GetIdentities(),
        GetPrefs(),
    ]


@dataclass
class MailboxState:
    """The user-side settings of an account (filters, signatures, identities, prefs)."""

    rules: list[FilterRule] = field(default_factory=list)
    outgoing_rules: list[FilterRule] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    prefs: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_results(cls, results: list[Any]) -> MailboxState:
        rules, outgoing, signatures, identities, prefs = results
        return cls(list(rules), list(outgoing), list(signatures), list(identities), dict(prefs))

    def to_dict(self) -> dict[str, Any]:
        return {
            "filter_rules": [r.to_dict() for r in self.rules],
            "outgoing_filter_rules": [r.to_dict() for r in self.outgoing_rules],
            "signatures": [s.to_dict() for s in self.signatures],
            "identities": [i.to_dict() for i in self.identities],
            "prefs": {k: list(v) for k, v in sorted(self.prefs.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MailboxState:
        return cls(
            rules=[FilterRule.from_dict(r) for r in data.get("filter_rules", [])],
            outgoing_rules=[FilterRule.from_dict(r) for r in data.get("outgoing_filter_rules", [])],
            signatures=[Signature.from_dict(s) for s in data.get("signatures", [])],
            identities=[Identity.from_dict(i) for i in data.get("identities", [])],
            prefs={k: list(v) for k, v in data.get("prefs", {}).items()},
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
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], captured_at: str) -> Baseline:
        sigs = data.get("signatures")
        idents = data.get("identities")
        rules = data.get("filter_rules")
        outgoing = data.get("outgoing_filter_rules")
        return cls(
            captured_at=captured_at,
            attrs={k: list(v) for k, v in data.get("attrs", {}).items()},
            signatures=[Signature.from_dict(s) for s in sigs] if sigs is not None else None,
            identities=[Identity.from_dict(i) for i in idents] if idents is not None else None,
            rules=[FilterRule.from_dict(r) for r in rules] if rules is not None else None,
            outgoing_rules=(
                [FilterRule.from_dict(r) for r in outgoing] if outgoing is not None else None
            ),
        )


def _first(attrs: dict[str, list[str]], name: str) -> str | None:
    values = attrs.get(name)
    return values[0] if values else None
