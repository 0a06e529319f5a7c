"""Restore: put back items lockdown removed (false positives), exactly as the evidence has them.

Round trips: one admin read (the account, directory facts), one user-side read (the current
rules, signatures, identities, prefs), then only if something is to be written: one user-side
batch with the writes and their read-back, and, for account attributes (forwarding,
auto-reply), one admin batch: ModifyAccount, FlushCache, read-back. The writes go through the
change executor, like lockdown's and unlock's: journaled, verified, retried only when a
read-back shows they did not apply (a CreateSignature whose reply was lost is not sent twice).

Two safety rules: an item already present is reported as such and not written again; an item
that classifies as malicious today (the account as it would be after the restore, same
classification as lockdown) is restored only when named, with a warning: `--all` refuses it
unless `force`, with nothing written at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zcomp.core import findings as F
from zcomp.core.change import Change, Check, flush_change
from zcomp.core.classify import classify_account
from zcomp.core.contain import attrs_differ
from zcomp.core.evidence import withhold_tokens
from zcomp.core.executor import Executor, Round
from zcomp.core.findings import Finding
from zcomp.core.outcome import AccountOutcome, Failure
from zcomp.core.replies import must, record_error, refuse
from zcomp.core.restore_access import KINDS as ACCESS_KINDS
from zcomp.core.restore_access import Write, after_restore, plan_access, unrestorable
from zcomp.core.services import Services
from zcomp.core.snapshot import MailboxState, load_baseline, mailbox_reads
from zcomp.exitcodes import ExitCode, UsageError
from zcomp.journal import Incident, Journal, JournalError
from zcomp.zimbra.errors import ZimbraError
from zcomp.zimbra.model import Account, FilterRule, Identity, Signature
from zcomp.zimbra.operations import (
    CreateIdentity,
    CreateSignature,
    GetAccount,
    GetFilterRules,
    GetIdentities,
    GetPrefs,
    GetSignatures,
    ModifyAccount,
    ModifyFilterRules,
    ModifyIdentity,
    ModifyPrefs,
    ModifySignature,
    Request,
)

FORWARDING_KINDS = (F.FORWARDING, F.LOCAL_DELIVERY, F.ADMIN_FORWARDING)
_SIGNATURE_PREFS = ("zimbraPrefDefaultSignatureId", "zimbraPrefForwardReplySignatureId")


@dataclass(frozen=True)
class RestoreSelection:
    filters: tuple[str, ...] = ()
    signatures: tuple[str, ...] = ()
    identities: tuple[str, ...] = ()
    shares: tuple[str, ...] = ()  # "/Inbox:bob@x", or a folder path for all its shares
    rights: tuple[str, ...] = ()  # "sendAs:bob@x", or a right for all its grantees
    data_sources: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    forwarding: bool = False
    auto_reply: bool = False
    all: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.filters
            or self.signatures
            or self.identities
            or self.shares
            or self.rights
            or self.data_sources
            or self.devices
            or self.forwarding
            or self.auto_reply
            or self.all
        )


@dataclass
class _Plan:
    incident: Incident
    original: MailboxState
    chosen: list[Finding]
    user_writes: list[Request[Any]] = field(default_factory=list)
    account_changes: dict[str, str | list[str]] = field(default_factory=dict)
    rules_in: list[FilterRule] | None = None
    rules_out: list[FilterRule] | None = None
    steps: list[str] = field(default_factory=list)
    written: list[Finding] = field(default_factory=list)  # chosen minus those already there
    already: list[Finding] = field(default_factory=list)  # chosen and already present
    identities_after: dict[str, Identity] = field(default_factory=dict)  # by id or name
    signatures_after: dict[str, Signature] = field(default_factory=dict)  # by id or name
    forced: dict[str, str] = field(default_factory=dict)  # finding detail -> today's reason
    problems: list[str] = field(default_factory=list)
    owners: list[list[Finding]] = field(default_factory=list)  # the items each user write serves
    failed: set[tuple[str, str]] = field(default_factory=set)  # (kind, key) that did not hold
    access_writes: list[Write] = field(default_factory=list)  # shares, rights, sources, devices

    def add_write(self, request: Request[Any], items: list[Finding]) -> None:
        self.user_writes.append(request)
        self.owners.append(items)

    def fail(self, items: list[Finding], why: str) -> None:
        self.problems.append(why)
        self.failed.update((f.kind, f.key) for f in items)


# ---------------------------------------------------------------- selection (no Zimbra)


def removed_items(
    services: Services, incident_id: int | str
) -> tuple[Incident, MailboxState, list[Finding]]:
    """The incident, the mailbox as lockdown first saw it, and what lockdown removed."""
    incident, bundle, found = _removed(services.journal, incident_id)
    return incident, MailboxState.from_dict(bundle.get("mailbox", {})), found


def restorable(journal: Journal, incident_id: int | str) -> tuple[Incident, list[Finding]]:
    """The incident and what lockdown removed in it (journal only, no Zimbra)."""
    incident, _bundle, found = _removed(journal, incident_id)
    return incident, found


def _removed(
    journal: Journal, incident_id: int | str
) -> tuple[Incident, dict[str, Any], list[Finding]]:
    try:
        incident = journal.incident(incident_id)
    except JournalError as exc:
        raise UsageError(exc.message) from None
    evidence = journal.evidence(incident_id)
    if evidence is None:
        raise UsageError(f"incident {incident_id} has no evidence bundle: nothing to restore from")
    bundle = evidence.bundle
    found = [Finding.from_dict(d) for d in bundle.get("findings", []) if d.get("remove")]
    return incident, bundle, found


def restore_option(finding: Finding) -> tuple[str, str | None] | None:
    """The option (and the name it takes) that restores this item; None if none does."""
    if finding.kind in FORWARDING_KINDS:
        return "--forwarding", None
    if finding.kind == F.AUTO_REPLY:
        return "--auto-reply", None
    if finding.kind in _NAMED and unrestorable(finding) is None:
        return _NAMED[finding.kind], finding.key
    return None


_ACCESS_OPTIONS = {
    F.SHARE: "--share",
    F.RIGHT: "--right",
    F.DATA_SOURCE: "--data-source",
    F.MOBILE_DEVICE: "--device",
}
_NAMED = {F.FILTER: "--filter", F.OUTGOING_FILTER: "--filter", F.SIGNATURE: "--signature"}
_NAMED.update({F.IDENTITY: "--identity", **_ACCESS_OPTIONS})


def available(found: list[Finding]) -> dict[str, list[str]]:
    """Option -> the names it accepts for this incident."""
    names: dict[str, list[str]] = {option: [] for option in _NAMED.values()}
    for f in found:
        if f.kind in _NAMED and unrestorable(f) is None:
            names[_NAMED[f.kind]].append(f.key)
    if any(f.kind in FORWARDING_KINDS for f in found):
        names["--forwarding"] = []
    if any(f.kind == F.AUTO_REPLY for f in found):
        names["--auto-reply"] = []
    return {k: v for k, v in names.items() if v or k in ("--forwarding", "--auto-reply")}


def _matches(f: Finding, name: str) -> bool:
    """A share by its key or its folder's path; a right by its key or the right alone."""
    if f.key == name:
        return True
    if f.kind == F.SHARE:
        return bool(f.item.get("path") == name)
    if f.kind == F.RIGHT:
        return bool(f.item.get("right") == name)
    return False


def describe_available(found: list[Finding]) -> str:
    names = available(found)
    if not names:
        return "lockdown removed nothing in this incident"
    parts = []
    for option, values in names.items():
        parts.append(f"{option} " + ", ".join(repr(v) for v in values) if values else option)
    return "available: " + "; ".join(parts)


def select(
    found: list[Finding], selection: RestoreSelection, incident_id: int | str
) -> list[Finding]:
    """The chosen findings; UsageError (exit 2) for nothing chosen or an unknown name."""
    if selection.empty:
        raise UsageError(
            f"nothing selected: name what to restore or use --all ({describe_available(found)})"
        )
    if selection.all:
        if not found:
            raise UsageError(f"incident {incident_id}: lockdown removed nothing")
        return [f for f in found if unrestorable(f) is None]
    chosen: list[Finding] = []
    wanted: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
        ("--filter", selection.filters, (F.FILTER, F.OUTGOING_FILTER)),
        ("--signature", selection.signatures, (F.SIGNATURE,)),
        ("--identity", selection.identities, (F.IDENTITY,)),
        ("--share", selection.shares, (F.SHARE,)),
        ("--right", selection.rights, (F.RIGHT,)),
        ("--data-source", selection.data_sources, (F.DATA_SOURCE,)),
        ("--device", selection.devices, (F.MOBILE_DEVICE,)),
    )
    for option, names, kinds in wanted:
        for name in names:
            hits = [f for f in found if f.kind in kinds and _matches(f, name)]
            if not hits:
                raise UsageError(
                    f"incident {incident_id}: lockdown removed no {option[2:]} {name!r} "
                    f"({describe_available(found)})"
                )
            for f in hits:
                if (why := unrestorable(f)) is not None:
                    raise UsageError(f"incident {incident_id}: {f.detail}: {why}")
            chosen += [f for f in hits if f not in chosen]
    flags: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
        ("--forwarding", selection.forwarding, FORWARDING_KINDS),
        ("--auto-reply", selection.auto_reply, (F.AUTO_REPLY,)),
    )
    for flag, on, kinds in flags:
        if not on:
            continue
        hits = [f for f in found if f.kind in kinds]
        if not hits:
            raise UsageError(
                f"incident {incident_id}: lockdown removed nothing for {flag} "
                f"({describe_available(found)})"
            )
        chosen += hits
    return chosen


# ---------------------------------------------------------------- the playbook


def restore_incident(
    services: Services,
    incident_id: int | str,
    selection: RestoreSelection,
    *,
    dry_run: bool = False,
    force: bool = False,
) -> AccountOutcome:
    incident, original, found = removed_items(services, incident_id)
    chosen = select(found, selection, incident_id)
    outcome = AccountOutcome(account=incident.account_name, result="failed", incident=incident.key)
    start = services.client.round_trips
    try:
        plan = _Plan(incident=incident, original=original, chosen=chosen)
        # Items the admin names one by one are restored as asked (with a warning); a blanket
        # --all does not put back something that is malicious today without --force.
        _run(services, plan, dry_run, force or not selection.all, outcome)
    except ZimbraError as exc:
        record_error(outcome, exc)
    outcome.round_trips = services.client.round_trips - start
    return outcome


def _run(
    services: Services, plan: _Plan, dry_run: bool, force: bool, outcome: AccountOutcome
) -> None:
    account_id = plan.incident.account_id
    reader = Executor(services)
    results = reader.read(
        [GetAccount(account_id, by="id", apply_cos=True), *services.facts_requests()]
    )
    account: Account = must(results[0])
    services.absorb_facts(results[1:])
    current = MailboxState.from_results(
        reader.read(mailbox_reads(network=services.network), as_account=account_id)
    )
    _plan_user_side(plan, current)
    _plan_access(plan, current)
    _plan_account(plan, account)
    outcome.extra["already_present"] = [f.summary() for f in plan.already]
    if not plan.written:
        outcome.extra["restored"] = []
        outcome.result = "unchanged"
        return
    if not _safe_today(
        services, plan, account, current, force=force, dry_run=dry_run, outcome=outcome
    ):
        return
    if dry_run:
        outcome.plan = plan.steps
        outcome.result = "planned"
        return
    executor = Executor(services)
    executor.incident = plan.incident.id
    if plan.user_writes or plan.access_writes:
        _apply(plan, executor.apply(_user_changes(plan), as_account=account_id))
    if plan.account_changes:
        _apply(plan, executor.apply(_account_changes(plan)))
    outcome.extra["restored"] = [f.summary() for f in plan.written]
    if plan.problems:
        outcome.result = "failed"
        outcome.error = Failure("verify", "; ".join(plan.problems), ExitCode.FAILURE)
        return
    outcome.result = "restored"


# ---------------------------------------------------------------- today's verdict


def _safe_today(
    services: Services,
    plan: _Plan,
    before: Account,
    now: MailboxState,
    *,
    force: bool,
    dry_run: bool,
    outcome: AccountOutcome,
) -> bool:
    """Classify the account as it would be after the restore, as lockdown would. A malicious
    item is refused (nothing written) unless `force`; a suspicious one is restored with a
    warning."""
    account = Account(before.id, before.name, dict(before.attrs))
    for key, value in plan.account_changes.items():
        if key.startswith("+"):
            values = account.values(key[1:])
            account.attrs[key[1:]] = values + [v for v in value if v not in values]
        else:
            account.attrs[key] = [value] if isinstance(value, str) else list(value)
    after = MailboxState(
        rules=plan.rules_in if plan.rules_in is not None else now.rules,
        outgoing_rules=plan.rules_out if plan.rules_out is not None else now.outgoing_rules,
        signatures=_replaced(now.signatures, plan.signatures_after),
        identities=_replaced(now.identities, plan.identities_after),
        prefs=now.prefs,
        shares=now.shares,
        rights=now.rights,
        data_sources=now.data_sources,
        devices=now.devices,
    )
    after = after_restore(after, [f for f in plan.written if f.kind in ACCESS_KINDS])
    baseline = load_baseline(services.journal, account.id, before=plan.incident.started_at)
    today = {
        (f.kind, f.key): f
        for f in classify_account(
            account, after, services.organisation, services.settings.policy, baseline
        )
    }
    bad: list[str] = []
    for f in plan.written:
        verdict = today.get((f.kind, f.key))
        if verdict is None or verdict.verdict == F.OK:
            continue
        if verdict.verdict == F.SUSPICIOUS:
            outcome.warnings.append(f"{f.detail} is suspicious today: {verdict.reason}")
            continue
        plan.forced[f.detail] = verdict.reason
        bad.append(f"{f.detail} is malicious today ({verdict.reason})")
    if not bad:
        return True
    if force:
        outcome.warnings += [
            f"restoring as asked although {b}; lockdown would remove it again" for b in bad
        ]
        return True
    if dry_run:
        outcome.warnings += [f"refused without --force: {b}" for b in bad]
        return True
    refuse(
        outcome,
        "malicious",
        "refusing to restore: "
        + "; ".join(bad)
        + ". Nothing was changed. If it really is the owner's, use --force (journaled; "
        "lockdown would remove it again, and unlock refuses while it is there)",
    )
    return False


def _replaced(items: list[Any], replacements: dict[str, Any]) -> list[Any]:
    """`items` with those whose id or name is a key replaced; new ones appended."""
    used: set[int] = set()
    result = []
    for item in items:
        new = replacements.get(item.id or "") or replacements.get(item.name)
        if new is not None:
            used.add(id(new))
        result.append(new if new is not None else item)
    for new in replacements.values():
        if id(new) not in used:
            used.add(id(new))
            result.append(new)
    return result


# ---------------------------------------------------------------- user side: rules, sigs, ids


def rule_matches(rule: FilterRule, item: dict[str, Any]) -> bool:
    if item.get("name"):
        return bool(rule.name == item["name"])
    return bool(rule.to_dict() == item)


def insert_rules(
    current: list[FilterRule], original: list[FilterRule], items: list[dict[str, Any]]
) -> list[FilterRule]:
    """Put each item back after the nearest rule that preceded it originally and is still there
    (first when none is), in original order; names, tests and actions exactly as they were."""
    order = [r.to_dict() for r in original]
    result = list(current)
    for item in sorted(items, key=lambda i: order.index(i) if i in order else len(order)):
        index = order.index(item) if item in order else len(order)
        position = 0
        for earlier in reversed(order[:index]):
            at = next((n for n, r in enumerate(result) if rule_matches(r, earlier)), None)
            if at is not None:
                position = at + 1
                break
        result.insert(position, FilterRule.from_dict(item))
    return result


def _plan_user_side(plan: _Plan, current: MailboxState) -> None:
    for kind, outgoing in ((F.FILTER, False), (F.OUTGOING_FILTER, True)):
        now = current.outgoing_rules if outgoing else current.rules
        chosen: list[Finding] = []
        for f in plan.chosen:
            if f.kind != kind:
                continue
            if any(rule_matches(r, f.item) for r in now):
                plan.already.append(f)
                continue
            chosen.append(f)
            plan.written.append(f)
            plan.steps.append(f"put back {f.detail}")
        if not chosen:
            continue
        original = plan.original.outgoing_rules if outgoing else plan.original.rules
        rules = insert_rules(now, original, [f.item for f in chosen])
        plan.add_write(ModifyFilterRules(tuple(rules), outgoing=outgoing), chosen)
        if outgoing:
            plan.rules_out = rules
        else:
            plan.rules_in = rules
    sigs_now = {s.id: s for s in current.signatures}
    for f in plan.chosen:
        if f.kind == F.SIGNATURE:
            _plan_signature(plan, f, sigs_now, current)
        elif f.kind == F.IDENTITY:
            _plan_identity(plan, f, current.identities)


def _plan_signature(
    plan: _Plan, f: Finding, sigs_now: dict[str | None, Signature], current: MailboxState
) -> None:
    sig = Signature.from_dict(f.item)
    existing = sigs_now.get(sig.id)
    if (
        existing is not None
        and existing.name == sig.name
        and _nonempty(existing.contents) == _nonempty(sig.contents)
    ):
        plan.already.append(f)
        return
    if existing is not None:
        contents = {t: "" for t in existing.contents if t not in sig.contents}
        contents.update(sig.contents)  # an empty content clears a part lockdown added
        plan.add_write(ModifySignature(Signature(sig.id, sig.name, contents)), [f])
    else:
        plan.add_write(CreateSignature(sig), [f])
    plan.signatures_after[sig.id or sig.name] = sig
    plan.written.append(f)
    plan.steps.append(f"put back {f.detail} (id {sig.id})")
    if existing is None and sig.id:
        # Deleting a signature clears the prefs that pointed at it: point them back.
        prefs: dict[str, str | list[str]] = {
            p: sig.id
            for p in _SIGNATURE_PREFS
            if plan.original.prefs.get(p) == [sig.id] and not current.prefs.get(p)
        }
        if prefs:
            plan.add_write(ModifyPrefs(prefs), [f])


def _identity_attrs(identity: Identity) -> dict[str, str | list[str]]:
    skip = {"zimbraPrefIdentityId", "zimbraPrefIdentityName"}
    return {
        k: list(v)
        for k, v in identity.attrs.items()
        if k.startswith("zimbraPref") and k not in skip
    }


def _plan_identity(plan: _Plan, f: Finding, now: list[Identity]) -> None:
    original = Identity.from_dict(f.item)
    existing = next((i for i in now if i.id == original.id), None) or next(
        (i for i in now if i.name == original.name), None
    )
    if existing is None:
        plan.add_write(CreateIdentity(original.name, _identity_attrs(original)), [f])
        plan.identities_after[original.id or original.name] = original
        plan.steps.append(f"re-create {f.detail}")
        plan.written.append(f)
        return
    changed = (f.replacement or {}).get("attrs")
    keys = list(changed) if changed else list(_identity_attrs(original))
    attrs: dict[str, str | list[str]] = {
        k: list(original.attrs[k]) if original.attrs.get(k) else "" for k in keys
    }
    if all(existing.attrs.get(k, []) == (v or []) for k, v in attrs.items()):
        plan.already.append(f)
        return
    plan.add_write(ModifyIdentity(id=existing.id, attrs=attrs), [f])
    merged = {k: list(v) for k, v in existing.attrs.items()}
    merged.update({k: list(v) if v else [] for k, v in attrs.items()})
    plan.identities_after[existing.id or existing.name] = Identity(
        existing.id, existing.name, merged
    )
    plan.steps.append(f"put back {f.detail}: " + ", ".join(sorted(attrs)))
    plan.written.append(f)


def _restore_change(
    plan: _Plan, request: Request[Any], items: list[Finding], *, read: Request[Any], check: Check
) -> Change:
    why = [plan.forced[f.detail] for f in items if f.detail in plan.forced]
    return Change(
        request=request,
        step="restore",
        kind=items[0].kind if len({f.kind for f in items}) == 1 else "account-attributes",
        target=withhold_tokens(", ".join(f.key for f in items)),
        before=withhold_tokens([f.replacement for f in items]),
        after=withhold_tokens([f.item for f in items]),
        plan="; ".join(f"put back {f.detail}" for f in items),
        done="; ".join(f"restored {f.detail}" for f in items),
        detail="restored from the evidence: "
        + "; ".join(f.detail for f in items)
        + (f" (restored as asked although malicious today: {'; '.join(why)})" if why else ""),
        read=read,
        check=check,
    )


def _plan_access(plan: _Plan, current: MailboxState) -> None:
    chosen = [f for f in plan.chosen if f.kind in ACCESS_KINDS]
    writes, already = plan_access(chosen, current)
    plan.already += already
    plan.access_writes = writes
    for write in writes:
        plan.written += write.items
        plan.steps += [f"put back {f.detail}" for f in write.items]


def _user_changes(plan: _Plan) -> list[Change]:
    changes = [
        _restore_change(plan, w.request, w.items, read=w.read, check=w.check)
        for w in plan.access_writes
    ]
    for request, items in zip(plan.user_writes, plan.owners, strict=True):
        read: Request[Any]
        if isinstance(request, ModifyFilterRules):
            read = GetFilterRules(outgoing=request.outgoing)
            want = list(request.rules)
            check: Check = _rules_check(want)
        elif isinstance(request, ModifySignature | CreateSignature):
            read, check = GetSignatures(), _signature_check(items[0])
        elif isinstance(request, ModifyPrefs):
            read, check = GetPrefs(), _prefs_check(dict(request.prefs))
        else:
            read, check = GetIdentities(), _identity_check(items[0])
        changes.append(_restore_change(plan, request, items, read=read, check=check))
    return changes


def _rules_check(want: list[FilterRule]) -> Check:
    def check(got: Any) -> str | None:
        if [r.to_dict() for r in got] != [r.to_dict() for r in want]:
            return "rules other than those written"
        return None

    return check


def _prefs_check(want: dict[str, str | list[str]]) -> Check:
    def check(got: Any) -> str | None:
        for key, value in want.items():
            if got.get(key, []) != ([value] if isinstance(value, str) else list(value)):
                return f"{key}={got.get(key)!r}"
        return None

    return check


def _nonempty(contents: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in contents.items() if v}


def _signature_check(f: Finding) -> Check:
    want = Signature.from_dict(f.item)

    def check(got: Any) -> str | None:
        now = next((s for s in got if s.id == want.id), None)
        if now is None or _nonempty(now.contents) != _nonempty(want.contents):
            return f"signature {f.key} other than it was"
        return None

    return check


def _identity_check(f: Finding) -> Check:
    want = Identity.from_dict(f.item)

    def check(got: Any) -> str | None:
        now = next((i for i in got if i.id == want.id), None) or next(
            (i for i in got if i.name == want.name), None
        )
        if now is None:
            return f"no identity {f.key}"
        for attr, value in _identity_attrs(want).items():
            if now.attrs.get(attr, []) != value:
                return f"identity {f.key} with another {attr}"
        return None

    return check


# ---------------------------------------------------------------- account attributes


def _plan_account(plan: _Plan, account: Account) -> None:
    for f in plan.chosen:
        changes: dict[str, str | list[str]] = {}
        if f.kind in (F.FORWARDING, F.LOCAL_DELIVERY):
            changes[f.key] = str(f.item)
        elif f.kind == F.ADMIN_FORWARDING:
            changes["+zimbraMailForwardingAddress"] = list(f.replacement or [])
        elif f.kind == F.AUTO_REPLY and isinstance(f.item, dict):
            changes.update({k: str(v) for k, v in f.item.items()})
        else:
            continue
        if all(_has(account, k, v) for k, v in changes.items()):
            plan.already.append(f)
            continue
        plan.account_changes.update(changes)
        plan.written.append(f)
        plan.steps.append(f"put back {f.detail}")


def _has(account: Account, key: str, value: str | list[str]) -> bool:
    if key.startswith("+"):
        return set(value) <= set(account.values(key[1:]))
    return (account.get(key) or "") == value


_USER_SIDE_KINDS = (F.FILTER, F.OUTGOING_FILTER, F.SIGNATURE, F.IDENTITY, *ACCESS_KINDS)


def _account_changes(plan: _Plan) -> list[Change]:
    account_id = plan.incident.account_id
    items = [f for f in plan.written if f.kind not in _USER_SIDE_KINDS]
    wanted = plan.account_changes
    read = GetAccount(account_id, by="id", attrs=tuple(k.lstrip("+") for k in wanted))
    return [
        _restore_change(
            plan,
            ModifyAccount(account_id, wanted),
            items,
            read=read,
            check=lambda got: attrs_differ(got, dict(wanted)),
        ),
        flush_change(account_id, plan.incident.account_name, step="restore"),
    ]


def _apply(plan: _Plan, applied: Round) -> None:
    """Which restored items did not hold (a flush that failed is a problem, not an item)."""
    for item in applied.applied:
        if item.ok:
            continue
        plan.problems.append(item.problem)
        if item.change.kind != "flush-cache":
            keys = set(item.change.target.split(", "))
            plan.failed.update((f.kind, f.key) for f in plan.written if f.key in keys)
