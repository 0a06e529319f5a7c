"""Lockdown steps 4 and 5: remove what the attacker planted, then verify by reading back.

Step 4 is one user-side BatchRequest: every write (filter lists, signatures, identities)
followed by the reads that verify them. Step 5 is one admin BatchRequest: the account
attributes (forwarding, auto-reply, the zimbraNotes marker), a cache flush, and a read-back.
Each write is journaled with the status Zimbra gave it.
"""

from __future__ import annotations

from typing import Any

from zcomp.core import findings as F
from zcomp.core.contain import PRE_STATE_ATTRS
from zcomp.core.environment import Environment
from zcomp.core.findings import Finding
from zcomp.core.lockdown_state import LockdownState, record
from zcomp.core.notes import add_marker
from zcomp.core.replies import problem
from zcomp.zimbra.model import Account, FilterRule, Signature
from zcomp.zimbra.requests import (
    DeleteIdentity,
    DeleteSignature,
    FlushCache,
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


_PAST = {
    "remove": "removed",
    "delete": "deleted",
    "restore": "restored",
    "clear": "cleared",
    "reset": "reset",
    "turn": "turned",
    "keep": "kept",
}


def describe_done(f: Finding) -> str:
    verb, _, rest = describe_fix(f).partition(" ")
    return f"{_PAST.get(verb, verb)} {rest}"


def plan(findings: list[Finding]) -> list[str]:
    return [f"{describe_fix(f)}: {f.reason}" for f in findings if f.remove]


# ---------------------------------------------------------------- step 4: mailbox settings


def clean_mailbox(env: Environment, state: LockdownState) -> None:
    by_kind: dict[str, list[Finding]] = {}
    for f in state.removals:
        by_kind.setdefault(f.kind, []).append(f)
    kept_in = kept_rules(state.mailbox.rules, by_kind.get(F.FILTER, []))
    kept_out = kept_rules(state.mailbox.outgoing_rules, by_kind.get(F.OUTGOING_FILTER, []))
    writes: list[tuple[Request[Any], list[Finding]]] = []
    if F.FILTER in by_kind:
        writes.append((ModifyFilterRules(tuple(kept_in)), by_kind[F.FILTER]))
    if F.OUTGOING_FILTER in by_kind:
        writes.append(
            (ModifyFilterRules(tuple(kept_out), outgoing=True), by_kind[F.OUTGOING_FILTER])
        )
    for f in by_kind.get(F.SIGNATURE, []):
        if f.replacement.get("delete"):
            writes.append((DeleteSignature(id=f.item.get("id")), [f]))
        else:
            writes.append((ModifySignature(Signature.from_dict(f.replacement["restore"])), [f]))
    for f in by_kind.get(F.IDENTITY, []):
        if f.replacement.get("delete"):
            writes.append((DeleteIdentity(id=f.item["id"]), [f]))
        else:
            writes.append((ModifyIdentity(id=f.item["id"], attrs=f.replacement["attrs"]), [f]))
    if not writes:
        return
    reads: list[Request[Any]] = [
        GetFilterRules(),
        GetFilterRules(outgoing=True),
        GetSignatures(),
        GetIdentities(),
    ]
    results = env.client.batch([w for w, _ in writes] + reads, as_account=state.account.id)
    for (_request, fixed), result in zip(writes, results, strict=False):
        for f in fixed:
            after = (
                f.replacement.get("restore") or f.replacement.get("attrs")
                if f.replacement
                else None
            )
            record(
                env,
                state,
                result,
                step="clean",
                kind=f.kind,
                target=f.key,
                before=f.item,
                after=after,
                done=describe_done(f),
                detail=f.reason,
            )
    rules_in, rules_out, signatures, identities = results[len(writes) :]
    _verify_rules(state, "incoming", rules_in, kept_in, by_kind.get(F.FILTER, []))
    _verify_rules(state, "outgoing", rules_out, kept_out, by_kind.get(F.OUTGOING_FILTER, []))
    _verify_signatures(state, signatures, by_kind.get(F.SIGNATURE, []))
    _verify_identities(state, identities, by_kind.get(F.IDENTITY, []))


def kept_rules(rules: list[FilterRule], removed: list[Finding]) -> list[FilterRule]:
    removed_dicts = [f.item for f in removed]
    return [r for r in rules if r.to_dict() not in removed_dicts]


def _rule_shape(rule: FilterRule) -> dict[str, Any]:
    shape = rule.to_dict()
    shape.pop("name", None)  # Zimbra names a rule written back without a name "null"
    return shape


def _verify_rules(
    state: LockdownState, label: str, got: Any, kept: list[FilterRule], removed: list[Finding]
) -> None:
    if not removed:
        return
    if not isinstance(got, list):
        state.problems.append(f"could not read back the {label} filter rules")
        return
    if [_rule_shape(r) for r in got] != [_rule_shape(r) for r in kept]:
        state.problems.append(f"the {label} filter rules read back differ from the cleaned list")


def _verify_signatures(state: LockdownState, got: Any, fixed: list[Finding]) -> None:
    if not fixed:
        return
    if not isinstance(got, list):
        state.problems.append("could not read back the signatures")
        return
    by_id = {s.id: s for s in got}
    for f in fixed:
        now = by_id.get(f.item.get("id"))
        if f.replacement.get("delete"):
            if now is not None:
                state.problems.append(f"signature {f.key!r} is still there")
            continue
        # ModifySignature changes only the content types it sends: compare just those.
        for ctype, text in f.replacement["restore"]["contents"].items():
            if now is None or now.contents.get(ctype, "") != text:
                state.problems.append(f"signature {f.key!r}: {ctype} was not restored")


def _verify_identities(state: LockdownState, got: Any, fixed: list[Finding]) -> None:
    if not fixed:
        return
    if not isinstance(got, list):
        state.problems.append("could not read back the identities")
        return
    by_id = {i.id: i for i in got}
    account = state.account
    filled_in = {
        "zimbraPrefFromAddress": {account.name, *account.values("zimbraMailCanonicalAddress")},
        "zimbraPrefFromDisplay": {*account.values("displayName"), *account.values("cn")},
    }
    for f in fixed:
        now = by_id.get(f.item["id"])
        if f.replacement.get("delete"):
            if now is not None:
                state.problems.append(f"identity {f.key!r} is still there")
            continue
        for attr, value in f.replacement["attrs"].items():
            have = (now.get(attr) if now else None) or ""
            if have == value or (value == "" and not have):
                continue
            if value == "" and have in filled_in.get(attr, ()):
                continue  # unset, read back as what Zimbra fills in: the account's own values
            state.problems.append(f"identity {f.key!r}: {attr} is {have!r}, expected {value!r}")


# ---------------------------------------------------------------- step 5: account attributes


def account_changes(state: LockdownState) -> tuple[dict[str, str | list[str]], list[Finding]]:
    changes: dict[str, str | list[str]] = {}
    fixes = [f for f in state.removals if f.kind in _ACCOUNT_KINDS]
    for f in fixes:
        if f.kind == F.ADMIN_FORWARDING:
            changes["-zimbraMailForwardingAddress"] = list(f.replacement)
        else:
            changes[f.key] = f.replacement
    return changes, fixes


def clean_account(env: Environment, state: LockdownState) -> None:
    """Attributes and the notes marker as two writes, so a full zimbraNotes (or any trouble with
    the marker) never keeps the forwarding from being removed."""
    account = state.account
    changes, fixes = account_changes(state)
    notes = add_marker(account.get("zimbraNotes") or "", state.marker)
    if notes is None:
        state.warnings.append("zimbraNotes is full (1024 characters): no zcomp line was added")
        state.marker = ""
    writes: list[Request[Any]] = []
    if changes:
        writes.append(ModifyAccount(account.id, changes))
    if notes is not None:
        writes.append(ModifyAccount(account.id, {"zimbraNotes": notes}))
    verify = GetAccount(account.id, by="id", attrs=(*PRE_STATE_ATTRS, *[f.key for f in fixes]))
    results = env.client.batch([*writes, FlushCache(ids=(account.id,), all_servers=True), verify])
    modified = results[0] if changes else None
    for f in fixes:
        record(
            env,
            state,
            modified,
            step="clean",
            kind=f.kind,
            target=f.key,
            before=f.item,
            after=f.replacement,
            done=describe_done(f),
            detail=f.reason,
        )
    if notes is not None:
        record(
            env,
            state,
            results[len(writes) - 1],
            step="record",
            kind="notes-marker",
            target=account.name,
            before=account.get("zimbraNotes"),
            after=notes,
            done="added a zcomp line to zimbraNotes (earlier notes kept)",
        )
    flushed, readback = results[len(writes) :]
    if trouble := problem("flushing the caches after cleaning", flushed):
        state.problems.append(trouble)
    if not isinstance(readback, Account):
        state.problems.append("could not read the account back")
        return
    verify_account(state, readback, fixes)


def verify_account(state: LockdownState, now: Account, fixes: list[Finding]) -> None:
    if now.get("zimbraAccountStatus") != "locked":
        state.problems.append(f"account status is {now.get('zimbraAccountStatus')!r}, not locked")
    before = state.pre_state.get("zimbraAuthTokenValidityValue") if state.pre_state else None
    after = now.get("zimbraAuthTokenValidityValue")
    if after is None or after == before:
        state.problems.append("zimbraAuthTokenValidityValue did not change: old tokens may work")
    if state.marker and state.marker not in (now.get("zimbraNotes") or ""):
        state.problems.append("the zimbraNotes marker was not written")
    for f in fixes:
        if f.kind == F.ADMIN_FORWARDING:
            left = set(now.values(f.key)) & set(f.replacement)
            if left:
                state.problems.append(f"admin forwarding still has {sorted(left)}")
            continue
        value = now.get(f.key) or ""
        if value != (f.replacement or "") and not (f.replacement == "FALSE" and value == ""):
            state.problems.append(f"{f.key} is {value!r}, expected {f.replacement!r}")
