"""Item-by-item verdicts for everything an attacker plants, and what to do about each.

Pure functions over dataclasses: used by lockdown (to clean), inspect (to report) and unlock (to
check that nothing came back). Policy values: "remove" (clean it), "report" (show, keep),
"ignore" (do not even report).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zcomp.core import findings as F
from zcomp.core.addresses import (
    Organisation,
    describe_outside,
    own_addresses,
    split_addresses,
)
from zcomp.core.classify_access import classify_access
from zcomp.core.snapshot import Baseline, MailboxState
from zcomp.core.spamtext import spam_markers
from zcomp.zimbra.model import Account, FilterRule, Identity, Node, Signature

if TYPE_CHECKING:
    from zcomp.config import Policy

_HIDDEN_FOLDERS = frozenset({"trash", "junk", "spam", "deleted items", "deleted messages"})
_RANK = {F.OK: 0, F.SUSPICIOUS: 1, F.MALICIOUS: 2}


@dataclass
class _Reason:
    verdict: str
    text: str
    policy: str


def classify_account(
    account: Account,
    mailbox: MailboxState,
    org: Organisation,
    policy: Policy,
    baseline: Baseline | None = None,
) -> list[Finding]:
    """Every inspected item, benign ones included (they are reported as kept)."""
    own = own_addresses(account)
    found: list[Finding] = []
    found += classify_forwarding(account, org, policy)
    found += [
        classify_rule(rule, index, outgoing=False, org=org, policy=policy, baseline=baseline)
        for index, rule in enumerate(mailbox.rules)
    ]
    found += [
        classify_rule(rule, index, outgoing=True, org=org, policy=policy, baseline=baseline)
        for index, rule in enumerate(mailbox.outgoing_rules)
    ]
    found += [
        classify_identity(identity, account, own, org, policy, baseline)
        for identity in mailbox.identities
    ]
    found += [classify_signature(sig, org, policy, baseline) for sig in mailbox.signatures]
    found += classify_auto_reply(account, mailbox, org, policy)
    found = [f for f in found if f.policy != "ignore" or not f.risky]
    return found + classify_access(mailbox, org, policy, baseline)


Finding = F.Finding


def _decide(
    kind: str, key: str, detail: str, reasons: list[_Reason], policy: Policy, item: Any
) -> Finding:
    active = [r for r in reasons if getattr(policy, r.policy) != "ignore"]
    if not active:
        return Finding(kind, key, detail, F.OK, "nothing risky", item=item)
    worst = max(active, key=lambda r: _RANK[r.verdict])
    remove = any(getattr(policy, r.policy) == "remove" and r.verdict == F.MALICIOUS for r in active)
    return Finding(
        kind,
        key,
        detail,
        worst.verdict,
        "; ".join(r.text for r in active),
        policy=worst.policy,
        remove=remove,
        item=item,
    )


# ------------------------------------------------------------------ forwarding


def classify_forwarding(account: Account, org: Organisation, policy: Policy) -> list[Finding]:
    found: list[Finding] = []
    forward = account.get("zimbraPrefMailForwardingAddress") or ""
    addresses = split_addresses(forward)
    outside = [a for a in addresses if not org.is_inside(a)]
    inside = [a for a in addresses if org.is_inside(a)]
    forwarding_left = bool(addresses)
    if addresses:
        attr = "zimbraPrefMailForwardingAddress"
        if outside:
            reason = "forwards every message: " + "; ".join(describe_outside(a) for a in outside)
            f = _decide(
                F.FORWARDING,
                attr,
                f"forwarding to {forward}",
                [_Reason(F.MALICIOUS, reason, "forwarding")],
                policy,
                forward,
            )
            if f.remove:
                f.replacement = ",".join(inside)
                forwarding_left = bool(inside)
            found.append(f)
        else:
            found.append(
                Finding(
                    F.FORWARDING,
                    attr,
                    f"forwarding to {forward}",
                    F.OK,
                    "inside the organisation",
                    item=forward,
                )
            )
    if (account.get("zimbraPrefMailLocalDeliveryDisabled") or "").upper() == "TRUE":
        key = "zimbraPrefMailLocalDeliveryDisabled"
        if not forwarding_left:
            # With no forwarding left, leaving this on would drop every incoming message.
            why = "local delivery is off and no forwarding remains: every message would be lost"
            f = Finding(
                F.LOCAL_DELIVERY,
                key,
                "local delivery disabled",
                F.MALICIOUS,
                why,
                policy="local_delivery_disabled",
                remove=True,
                item="TRUE",
                replacement="FALSE",
            )
        else:
            verdict = F.MALICIOUS if outside else F.SUSPICIOUS
            why = "no copy is kept in the mailbox; mail only goes to the forwarding address"
            f = _decide(
                F.LOCAL_DELIVERY,
                key,
                "local delivery disabled",
                [_Reason(verdict, why, "local_delivery_disabled")],
                policy,
                "TRUE",
            )
            if f.remove or (outside and policy.local_delivery_disabled == "remove"):
                f.remove = True
                f.replacement = "FALSE"
        found.append(f)
    admin_fwd = account.values("zimbraMailForwardingAddress")
    admin_outside = [a for a in admin_fwd if not org.is_inside(a)]
    if admin_outside:
        reason = "admin-set forwarding (users cannot set this): " + "; ".join(
            describe_outside(a) for a in admin_outside
        )
        f = _decide(
            F.ADMIN_FORWARDING,
            "zimbraMailForwardingAddress",
            "admin forwarding to " + ", ".join(admin_outside),
            [_Reason(F.MALICIOUS, reason, "admin_forwarding")],
            policy,
            admin_fwd,
        )
        if f.remove:
            f.replacement = admin_outside  # values to remove with -zimbraMailForwardingAddress
        found.append(f)
    return found


# ------------------------------------------------------------------ filter rules


def rule_key(rule: FilterRule, index: int) -> str:
    return rule.name if rule.name else f"#{index + 1}"


def describe_rule(rule: FilterRule, index: int, outgoing: bool) -> str:
    label = f'"{rule.name}"' if rule.name else f"unnamed rule #{index + 1}"
    actions = ", ".join(_describe_action(a) for a in rule.all_actions()) or "no actions"
    state = "" if rule.active else " [inactive]"
    return f"{'outgoing ' if outgoing else ''}rule {label}: {actions}{state}"


def _describe_action(action: Node) -> str:
    name = action.tag.removeprefix("action").lower()
    arg = action.attrs.get("a") or action.attrs.get("folderPath") or action.attrs.get("flagName")
    return f"{name} {arg}" if arg else name


def _notify_targets(action: Node) -> list[str]:
    if action.tag == "actionNotify":
        return split_addresses(action.attrs.get("a", ""))
    targets = [c.text or "" for c in action.children if c.tag == "method"]
    targets.append(action.attrs.get("method", ""))
    return [t.removeprefix("mailto:").split("?")[0] for t in targets if t]


def classify_rule(
    rule: FilterRule,
    index: int,
    *,
    outgoing: bool,
    org: Organisation,
    policy: Policy,
    baseline: Baseline | None = None,
) -> Finding:
    reasons: list[_Reason] = []
    actions = rule.all_actions()
    files_away = any(a.tag in ("actionFileInto", "actionDiscard") for a in actions)
    for action in actions:
        tag = action.tag
        if tag == "actionRedirect":
            target = action.attrs.get("a", "")
            if target and not org.is_inside(target):
                copy = action.attrs.get("copy") in ("1", "true")
                how = "sends a copy of" if copy else "redirects (no copy kept)"
                reasons.append(
                    _Reason(
                        F.MALICIOUS,
                        f"{how} matching mail to {describe_outside(target)}",
                        "filter_redirect",
                    )
                )
        elif tag in ("actionNotify", "actionRFCCompliantNotify"):
            for target in _notify_targets(action):
                if not org.is_inside(target):
                    reasons.append(
                        _Reason(
                            F.MALICIOUS,
                            f"notifies {describe_outside(target)} (leaks mail content)",
                            "filter_redirect",
                        )
                    )
        elif tag == "actionDiscard":
            what = "the saved copy of sent mail" if outgoing else "matching mail (never stored)"
            reasons.append(_Reason(F.MALICIOUS, f"discards {what}", "filter_discard"))
        elif tag in ("actionReject", "actionEreject"):
            reasons.append(
                _Reason(
                    F.MALICIOUS,
                    "rejects matching mail with a bounce to the sender",
                    "filter_reject",
                )
            )
        elif tag == "actionFileInto":
            folder = action.attrs.get("folderPath", "")
            if folder.strip("/").lower() in _HIDDEN_FOLDERS:
                reasons.append(
                    _Reason(
                        F.MALICIOUS, f"files matching mail into {folder} (hides it)", "filter_hide"
                    )
                )
        elif tag == "actionFlag" and action.attrs.get("flagName") == "read":
            if files_away:
                reasons.append(
                    _Reason(
                        F.MALICIOUS, "marks matching mail read and moves it away", "filter_hide"
                    )
                )
            else:
                reasons.append(_Reason(F.SUSPICIOUS, "marks matching mail read", "filter_hide"))
        elif tag == "actionReply":
            text = (action.text or "") + "".join(c.text or "" for c in action.children)
            markers, _strong = spam_markers(text, org)
            if markers:
                reasons.append(
                    _Reason(F.MALICIOUS, "auto-reply rule: " + "; ".join(markers), "auto_reply")
                )
    kind = F.OUTGOING_FILTER if outgoing else F.FILTER
    key, detail = rule_key(rule, index), describe_rule(rule, index, outgoing)
    if reasons and baseline is not None and baseline.has_rule(rule, outgoing=outgoing):
        # The owner had exactly this rule before the incident: report it, keep it.
        why = (
            "; ".join(r.text for r in reasons) + f"; but in the baseline of {baseline.captured_at}"
        )
        return Finding(
            kind, key, detail, F.SUSPICIOUS, why, policy=reasons[0].policy, item=rule.to_dict()
        )
    return _decide(kind, key, detail, reasons, policy, rule.to_dict())


# ------------------------------------------------------------------ identities

_FROM = "zimbraPrefFromAddress"
_REPLY_TO = "zimbraPrefReplyToAddress"
_REPLY_TO_ATTRS = (
    "zimbraPrefReplyToAddress",
    "zimbraPrefReplyToDisplay",
    "zimbraPrefReplyToEnabled",
)


def classify_identity(
    identity: Identity,
    account: Account,
    own: frozenset[str],
    org: Organisation,
    policy: Policy,
    baseline: Baseline | None,
) -> Finding:
    reasons: list[_Reason] = []
    flagged: list[str] = []
    for attr, label in ((_FROM, "From"), (_REPLY_TO, "Reply-To")):
        value = identity.get(attr)
        if value and value.lower() not in own:
            outside = not org.is_inside(value)
            verdict = F.MALICIOUS if outside else F.SUSPICIOUS
            where = (
                describe_outside(value)
                if outside
                else f"{value} is not one of the account's addresses"
            )
            reasons.append(_Reason(verdict, f"{label}: {where}", "identity"))
            flagged.append(attr)
    is_default = identity.id == account.id or identity.name == "DEFAULT"
    detail = f'identity "{identity.name}"' + (
        f" (From {identity.get(_FROM) or account.name}"
        + (f", Reply-To {identity.get(_REPLY_TO)}" if identity.get(_REPLY_TO) else "")
        + ")"
    )
    f = _decide(F.IDENTITY, identity.name, detail, reasons, policy, identity.to_dict())
    if not f.remove:
        return f
    # Suspicious values (inside the organisation) are cleaned together with malicious ones.
    f.replacement = _identity_repair(identity, flagged, own, is_default, baseline)
    return f


def _identity_repair(
    identity: Identity,
    flagged: list[str],
    own: frozenset[str],
    is_default: bool,
    baseline: Baseline | None,
) -> dict[str, Any]:
    """{"delete": True} or {"attrs": {...}} to write with ModifyIdentity."""
    if baseline is not None:
        base_attrs = (
            baseline.default_identity_attrs()
            if is_default
            else (b.attrs if (b := baseline.identity(identity.id, identity.name)) else None)
        )
    else:
        base_attrs = None
    if base_attrs is None and not is_default:
        return {"delete": True}
    attrs: dict[str, str] = {}
    for attr in flagged:
        group = (_FROM, "zimbraPrefFromDisplay") if attr == _FROM else _REPLY_TO_ATTRS
        base_value = (base_attrs or {}).get(attr, [""])[0] if base_attrs else ""
        if base_value and base_value.lower() in own:
            for name in group:
                attrs[name] = (base_attrs or {}).get(name, [""])[0]
        elif attr == _FROM:
            # Unset: Zimbra then sends as the account's own address and display name.
            attrs.update({_FROM: "", "zimbraPrefFromDisplay": ""})
        else:
            attrs.update(
                {_REPLY_TO: "", "zimbraPrefReplyToDisplay": "", "zimbraPrefReplyToEnabled": "FALSE"}
            )
    return {"attrs": attrs}


# ------------------------------------------------------------------ signatures


def _signature_text(sig: Signature) -> str:
    return "\n".join(sig.contents.get(t, "") for t in sorted(sig.contents))


def _same_contents(a: Signature, b: Signature) -> bool:
    def norm(s: Signature) -> dict[str, str]:
        return {k: " ".join(v.split()) for k, v in s.contents.items() if v.strip()}

    return norm(a) == norm(b)


def classify_signature(
    sig: Signature, org: Organisation, policy: Policy, baseline: Baseline | None
) -> Finding:
    detail = f'signature "{sig.name}"'
    base = _baseline_signature(sig, baseline)
    markers, strong = spam_markers(_signature_text(sig), org)
    if base is not None and baseline is not None and not _same_contents(sig, base):
        why = f"changed since the baseline of {baseline.captured_at}"
        reasons = [_Reason(F.MALICIOUS, "; ".join([why, *markers]), "signature")]
        f = _decide(F.SIGNATURE, sig.name, detail, reasons, policy, sig.to_dict())
        if f.remove:
            # Parts the baseline lacks are cleared; ModifySignature leaves unsent parts alone.
            contents = {ctype: "" for ctype in sig.contents} | dict(base.contents)
            restored = Signature(sig.id, sig.name, contents)
            f.replacement = {"restore": restored.to_dict(), "baseline": baseline.captured_at}
        return f
    if base is not None:
        return Finding(
            F.SIGNATURE, sig.name, detail, F.OK, "matches the baseline", item=sig.to_dict()
        )
    if not markers:
        why = "no links, outside addresses or spam wording"
        return Finding(F.SIGNATURE, sig.name, detail, F.OK, why, item=sig.to_dict())
    verdict = F.MALICIOUS if strong else F.SUSPICIOUS
    planted = {ctype for ctype, text in sig.contents.items() if text and spam_markers(text, org)[0]}
    clean = {ctype for ctype, text in sig.contents.items() if text.strip()} - planted
    where = f" (in its {', '.join(sorted(planted))} part)" if clean else ""
    reason = "; ".join(markers) + where + "; no baseline to restore from"
    f = _decide(
        F.SIGNATURE,
        sig.name,
        detail,
        [_Reason(verdict, reason, "signature")],
        policy,
        sig.to_dict(),
    )
    if f.remove and clean:
        # Only some parts carry the planted text: clear those, keep the owner's own part.
        cleared = Signature(sig.id, sig.name, {ctype: "" for ctype in planted})
        f.replacement = {"restore": cleared.to_dict()}
    elif f.remove:
        f.replacement = {"delete": True}
    return f


def _baseline_signature(sig: Signature, baseline: Baseline | None) -> Signature | None:
    if baseline is None:
        return None
    candidates = baseline.signature_candidates()
    by_id = next((b for b in candidates if b.id and b.id == sig.id), None)
    return by_id or next((b for b in candidates if b.name == sig.name), None)


# ------------------------------------------------------------------ auto-replies

_OOO_PAIRS = (
    ("zimbraPrefOutOfOfficeReplyEnabled", "zimbraPrefOutOfOfficeReply", "auto-reply"),
    (
        "zimbraPrefOutOfOfficeExternalReplyEnabled",
        "zimbraPrefOutOfOfficeExternalReply",
        "external auto-reply",
    ),
)


def classify_auto_reply(
    account: Account, mailbox: MailboxState, org: Organisation, policy: Policy
) -> list[Finding]:
    found: list[Finding] = []
    for enabled_attr, text_attr, label in _OOO_PAIRS:
        enabled = (account.get(enabled_attr) or "").upper() == "TRUE"
        if not enabled:
            continue
        text = account.get(text_attr) or ""
        markers, _strong = spam_markers(text, org)
        reasons = (
            [_Reason(F.MALICIOUS, f"{label} text: " + "; ".join(markers), "auto_reply")]
            if markers
            else []
        )
        f = _decide(
            F.AUTO_REPLY,
            enabled_attr,
            f"{label} enabled",
            reasons,
            policy,
            {enabled_attr: "TRUE", text_attr: text},
        )
        if f.remove:
            f.replacement = "FALSE"
        found.append(f)
    return found
