"""Lockdown's cleaning: remove what the attacker planted, then verify by reading back.

One BatchRequest: the mailbox writes (filter lists, signatures, identities), the account
attributes (forwarding, auto-reply, the zimbraNotes marker), a cache flush, then the reads
that verify them. It goes through the change executor: journaled, verified, retried only when
not applied.
"""

from __future__ import annotations

from typing import Any

from zcomp.core import clean_access
from zcomp.core import findings as F
from zcomp.core.change import Change, Check, flush_change
from zcomp.core.contain import READBACK_ATTRS
from zcomp.core.executor import Executor
from zcomp.core.findings import Finding
from zcomp.core.lockdown_state import LockdownState
from zcomp.core.notes import add_marker
from zcomp.zimbra.model import Account, FilterRule, Signature
from zcomp.zimbra.operations import (
    DeleteIdentity,
    DeleteSignature,
    GetAccount,
    GetFilterRules,
    GetIdentities,
    GetSignatures,
    ModifyAccount,
    ModifyFilterRules,
    ModifyIdentity,
    ModifySignature,
    Request,
)

_ACCOUNT_KINDS = (F.FORWARDING, F.LOCAL_DELIVERY, F.AUTO_REPLY, F.ADMIN_FORWARDING)


def describe_fix(f: Finding) -> str:
    """What lockdown does about a finding, in the words the plan, output and ticket share."""
    replacement = f.replacement if isinstance(f.replacement, dict) else {}
    if f.kind in clean_access.KINDS:
        return clean_access.describe_fix(f)
    if f.kind in (F.FILTER, F.OUTGOING_FILTER):
        return f"remove {f.detail}"
    if f.kind == F.SIGNATURE:
        if replacement.get("delete"):
            return f"delete {f.detail}"
        if replacement.get("baseline"):
            return f"restore {f.detail} from the baseline"
        return f"clear the planted part of {f.detail}"
    if f.kind == F.IDENTITY:
        if replacement.get("delete"):
            return f"delete {f.detail}"
        attrs = ", ".join(sorted(replacement.get("attrs", {})))
        return f"reset {attrs} of {f.detail}"
    if f.kind == F.LOCAL_DELIVERY:
        return "turn local delivery back on (zimbraPrefMailLocalDeliveryDisabled=FALSE)"
    if f.kind == F.AUTO_REPLY:
        return f"turn off the {f.detail.removesuffix(' enabled')}"
    if f.kind == F.ADMIN_FORWARDING:
        return f"remove {f.detail}"
    if f.kind == F.FORWARDING and f.replacement:
        return f"keep only the internal forwarding ({f.replacement}) of {f.detail}"
    return f"remove {f.detail}"


def describe_done(f: Finding) -> str:
    return F.done_wording(describe_fix(f))


# ---------------------------------------------------------------- mailbox settings


def mailbox_changes(state: LockdownState) -> list[Change]:
    """One change per mailbox write, each with the user-side read that verifies it."""
    by_kind: dict[str, list[Finding]] = {}
    for f in state.removals:
        by_kind.setdefault(f.kind, []).append(f)
    out: list[Change] = []
    for kind, outgoing in ((F.FILTER, False), (F.OUTGOING_FILTER, True)):
        if kind not in by_kind:
            continue
        rules = state.mailbox.outgoing_rules if outgoing else state.mailbox.rules
        kept = kept_rules(rules, by_kind[kind])
        out.append(
            _change(
                ModifyFilterRules(tuple(kept), outgoing=outgoing),
                by_kind[kind],
                read=GetFilterRules(outgoing=outgoing),
                check=_rules_check(kept),
            )
        )
    for f in by_kind.get(F.SIGNATURE, []):
        if f.replacement.get("delete"):
            request: Request[Any] = DeleteSignature(id=f.item.get("id"))
        else:
            request = ModifySignature(Signature.from_dict(f.replacement["restore"]))
        out.append(_change(request, [f], read=GetSignatures(), check=_signature_check(f)))
    for f in by_kind.get(F.IDENTITY, []):
        if f.replacement.get("delete"):
            request = DeleteIdentity(id=f.item["id"])
        else:
            request = ModifyIdentity(id=f.item["id"], attrs=f.replacement["attrs"])
        out.append(
            _change(request, [f], read=GetIdentities(), check=_identity_check(state.account, f))
        )
    return out + clean_access.access_changes(
        [f for f in state.removals if f.kind in clean_access.KINDS]
    )


def _change(
    request: Request[Any], fixed: list[Finding], *, read: Request[Any], check: Check
) -> Change:
    first = fixed[0]
    after = (
        first.replacement.get("restore") or first.replacement.get("attrs")
        if isinstance(first.replacement, dict)
        else None
    )
    return Change(
        request=request,
        step="clean",
        kind=first.kind,
        target=", ".join(f.key for f in fixed),
        before=first.item if len(fixed) == 1 else [f.item for f in fixed],
        after=after,
        plan="; ".join(f"{describe_fix(f)} ({f.reason})" for f in fixed),
        done="; ".join(describe_done(f) for f in fixed),
        detail="; ".join(f.reason for f in fixed),
        read=read,
        check=check,
    )


def kept_rules(rules: list[FilterRule], removed: list[Finding]) -> list[FilterRule]:
    removed_dicts = [f.item for f in removed]
    return [r for r in rules if r.to_dict() not in removed_dicts]


def _rule_shape(rule: FilterRule) -> dict[str, Any]:
    shape = rule.to_dict()
    shape.pop("name", None)  # Zimbra names a rule written back without a name "null"
    return shape


def _rules_check(kept: list[FilterRule]) -> Check:
    def check(got: Any) -> str | None:
        if [_rule_shape(r) for r in got] != [_rule_shape(r) for r in kept]:
            return "rules that differ from the cleaned list"
        return None

    return check


def _signature_check(f: Finding) -> Check:
    def check(got: Any) -> str | None:
        now = {s.id: s for s in got}.get(f.item.get("id"))
        if f.replacement.get("delete"):
            return None if now is None else f"signature {f.key!r} still there"
        # ModifySignature changes only the content types it sends: compare just those.
        for ctype, text in f.replacement["restore"]["contents"].items():
            if now is None or now.contents.get(ctype, "") != text:
                return f"signature {f.key!r} with {ctype} not restored"
        return None

    return check


def _identity_check(account: Account, f: Finding) -> Check:
    filled_in = {
        "zimbraPrefFromAddress": {account.name, *account.values("zimbraMailCanonicalAddress")},
        "zimbraPrefFromDisplay": {*account.values("displayName"), *account.values("cn")},
    }

    def check(got: Any) -> str | None:
        now = {i.id: i for i in got}.get(f.item["id"])
        if f.replacement.get("delete"):
            return None if now is None else f"identity {f.key!r} still there"
        for attr, value in f.replacement["attrs"].items():
            have = (now.get(attr) if now else None) or ""
            if have == value or (value == "" and not have):
                continue
            if value == "" and have in filled_in.get(attr, ()):
                continue  # unset, read back as what Zimbra fills in: the account's own values
            return f"identity {f.key!r} with {attr}={have!r}"
        return None

    return check


# ---------------------------------------------------------------- account attributes


def account_changes(state: LockdownState) -> tuple[dict[str, str | list[str]], list[Finding]]:
    changes: dict[str, str | list[str]] = {}
    fixes = [f for f in state.removals if f.kind in _ACCOUNT_KINDS]
    for f in fixes:
        if f.kind == F.ADMIN_FORWARDING:
            changes["-zimbraMailForwardingAddress"] = list(f.replacement)
        else:
            changes[f.key] = f.replacement
    return changes, fixes


def account_writes(
    state: LockdownState, release: dict[str, str | list[str]]
) -> tuple[list[Change], GetAccount, list[Finding]]:
    """Attributes and the notes marker as two writes, so a full zimbraNotes (or any trouble with
    the marker) never keeps the forwarding from being removed; `release` withdraws this
    process's claim on the account in the marker's write. Then a flush; and the read-back."""
    account = state.account
    changes, fixes = account_changes(state)
    notes = add_marker(account.get("zimbraNotes") or "", state.marker)
    if notes is None:
        state.warnings.append("zimbraNotes is full (1024 characters): no zcomp line was added")
        state.marker = ""
    read = GetAccount(account.id, by="id", attrs=(*READBACK_ATTRS, *[f.key for f in fixes]))
    writes: list[Change] = []
    if changes:
        writes.append(
            Change(
                request=ModifyAccount(account.id, changes),
                step="clean",
                kind=fixes[0].kind if len(fixes) == 1 else "account-attributes",
                target=", ".join(f.key for f in fixes),
                before={f.key: f.item for f in fixes},
                after=changes,
                plan="; ".join(f"{describe_fix(f)} ({f.reason})" for f in fixes),
                done="; ".join(describe_done(f) for f in fixes),
                detail="; ".join(f.reason for f in fixes),
                read=read,
                check=lambda got: _fixes_differ(got, fixes),
            )
        )
    marker: dict[str, str | list[str]] = {**release}
    if notes is not None:
        marker["zimbraNotes"] = notes
    if marker:
        writes.append(
            Change(
                request=ModifyAccount(account.id, marker),
                step="record",
                kind="notes-marker",
                target=account.name,
                before=account.get("zimbraNotes"),
                after=notes,
                plan="add a zcomp line to zimbraNotes (earlier notes kept)",
                done="added a zcomp line to zimbraNotes (earlier notes kept)"
                if notes is not None
                else "withdrew this process's claim on the account",
                read=read,
                check=lambda got: (
                    None
                    if not state.marker or state.marker in (got.get("zimbraNotes") or "")
                    else "a zimbraNotes without the zcomp line"
                ),
            )
        )
    writes.append(flush_change(account.id, account.name, step="clean"))
    return writes, read, fixes


def clean(executor: Executor, state: LockdownState, release: dict[str, str | list[str]]) -> bool:
    """Every write in one round trip: the mailbox's (user-side, through the <account> header,
    which admin requests in the same batch ignore) and the account's (see account_writes),
    then their read-backs. True when the marker's write applied (and with it the claim's
    withdrawal)."""
    mailbox = mailbox_changes(state)
    writes, read, fixes = account_writes(state, release)
    applied = executor.apply([*mailbox, *writes], as_account=state.account.id, reads=[read])
    state.done += [
        a.change.done for a in applied.applied if a.ok and a.change.kind != "flush-cache"
    ]
    state.problems += applied.problems
    readback = applied.reads[0]
    if not isinstance(readback, Account):
        state.problems.append("could not read the account back")
    else:
        verify_account(state, readback, fixes)
    return any(a.ok for a in applied.applied if a.change.kind == "notes-marker")


def _fixes_differ(got: Any, fixes: list[Finding]) -> str | None:
    for f in fixes:
        if f.kind == F.ADMIN_FORWARDING:
            left = set(got.values(f.key)) & set(f.replacement)
            if left:
                return f"admin forwarding with {sorted(left)}"
            continue
        value = got.get(f.key) or ""
        if value != (f.replacement or "") and not (f.replacement == "FALSE" and value == ""):
            return f"{f.key}={value!r}"
    return None


def verify_account(state: LockdownState, now: Account, fixes: list[Finding]) -> None:
    """What must hold once lockdown is done, whatever each write said."""
    if now.get("zimbraAccountStatus") != "locked":
        state.problems.append(f"account status is {now.get('zimbraAccountStatus')!r}, not locked")
    before = state.account.get("zimbraAuthTokenValidityValue")
    after = now.get("zimbraAuthTokenValidityValue")
    if after is None or (after == before and not state.resumed):
        state.problems.append("zimbraAuthTokenValidityValue did not change: old tokens may work")
    if (left := _fixes_differ(now, fixes)) is not None:
        state.problems.append(f"still there after cleaning: {left}")
