"""Lockdown step 2: contain in one round trip.

One BatchRequest (through the executor, in order, stopping at the first failure): status
locked, password history raised, a random password (which also raises
zimbraAuthTokenValidityValue and so kills every token), caches flushed on all servers, the
sender's queued mail held on every MTA (and this process's claim, added by the caller); then
the read-back and the evidence reads (held-queue summary, sessions, admin filter scripts). The
caller adds the mailbox snapshot's reads to the same batch.
"""

from __future__ import annotations

from typing import Any, Literal

from zcomp.core.actor import CLAIM_ATTR
from zcomp.core.change import Change, flush_change, password_set
from zcomp.core.lockdown_state import LockdownState
from zcomp.core.passwords import random_password
from zcomp.core.services import Services
from zcomp.core.snapshot import session_rows
from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import Account, QueueSummary
from zcomp.zimbra.operations import (
    AdminGetFilterRules,
    GetAccount,
    GetMailQueue,
    GetSessions,
    MailQueueAction,
    ModifyAccount,
    Request,
    SetPassword,
)

HOLD_QUEUES = ("incoming", "active", "deferred")
HELD_SUMMARY_LIMIT = 1000
READBACK_ATTRS = (
    "zimbraAccountStatus",
    "zimbraAuthTokenValidityValue",
    "zimbraPasswordEnforceHistory",
    "zimbraPasswordMustChange",
    "zimbraNotes",
    CLAIM_ATTR,  # the claim that rides in the containment batch (zcomp.core.actor)
)
_ADMIN_SCRIPTS: list[tuple[Literal["before", "after"], bool]] = [
    ("before", False),
    ("before", True),
    ("after", False),
    ("after", True),
]


def hold_senders(account: Account) -> list[str]:
    """The account's name and aliases: the envelope senders of mail it sends.

    Not zimbraAllowFromAddress: that is usually a shared address, and holding it would hold
    colleagues' mail too.
    """
    aliases = sorted({a.lower() for a in account.values("zimbraMailAlias")} - {account.name})
    return [account.name, *aliases]


def readback(account: Account) -> GetAccount:
    """The read that verifies containment (and the claim beside it)."""
    return GetAccount(account.id, by="id", attrs=READBACK_ATTRS)


def history_raise(services: Services, account: Account) -> dict[str, str | list[str]] | None:
    """The password history raised to [unlock] password_history, when it is lower."""
    wanted = services.settings.unlock.password_history
    if wanted > int(account.get("zimbraPasswordEnforceHistory") or 0):
        return {"zimbraPasswordEnforceHistory": str(wanted)}
    return None


def _modify(
    account: Account,
    attrs: dict[str, str | list[str]],
    read: GetAccount,
    *,
    kind: str,
    plan: str,
    done: str,
    blocks_rest: bool = True,
) -> Change:
    """One containment ModifyAccount, read back with the others."""
    return Change(
        request=ModifyAccount(account.id, attrs),
        step="contain",
        kind=kind,
        target=account.name,
        before={k: account.values(k) for k in attrs},
        after=attrs,
        plan=plan,
        done=done,
        read=read,
        check=lambda got: attrs_differ(got, attrs),
        blocks_rest=blocks_rest,
    )


def contain_changes(services: Services, state: LockdownState) -> list[Change]:
    """Lock, raise the password history, scramble the password, flush every server's cache,
    hold the queued mail on every MTA: in this order, each with its read-back.

    The lock is a ModifyAccount of its own: Zimbra applies a ModifyAccount whole or not at all,
    so a history value it refuses (a delegated admin without the right to it, a COS
    constraint) must not keep the account from being locked.
    """
    account = state.account
    history = history_raise(services, account)
    senders = hold_senders(account)
    state.held_senders = senders
    read = readback(account)
    validity = account.get("zimbraAuthTokenValidityValue")
    out = [
        _modify(
            account,
            {"zimbraAccountStatus": "locked"},
            read,
            kind="account-status",
            plan=f"lock {account.name} (zimbraAccountStatus=locked; now "
            f"{account.get('zimbraAccountStatus')})",
            done="locked the account (zimbraAccountStatus=locked)",
        )
    ]
    if history is not None:
        raised = history["zimbraPasswordEnforceHistory"]
        out.append(
            _modify(
                account,
                history,
                read,
                kind="password-history",
                plan=f"raise zimbraPasswordEnforceHistory to {raised} so the phished password "
                "cannot be chosen again",
                done=f"raised the password history to {raised} entries",
                # Must precede SetPassword (only then does the phished password land in the
                # history), but the password is scrambled even when Zimbra refuses it.
                blocks_rest=False,
            )
        )
    out += [
        Change(
            request=SetPassword(account.id, random_password()),
            repeatable=False,  # a second random password would push the phished one out
            step="contain",
            kind="password",
            target=account.name,
            before="(phished password)",
            after="(random, not recorded)",
            plan="set a random password (never shown); this invalidates every existing login token",
            done="set a random password (never shown), which invalidates every login token",
            read=read,
            # SetPassword raises the validity value: that it moved says the password was set.
            check=password_set(validity),
        ),
        flush_change(account.id, account.name, step="contain"),
    ]
    return out + hold_changes(services, account.name, senders)


def hold_changes(services: Services, name: str, senders: list[str]) -> list[Change]:
    """Hold the senders' queued mail on every MTA. One query per queue matches every sender
    (Zimbra ORs the matches of a field)."""
    return [
        Change(
            request=MailQueueAction(server=mta, queue=queue, op="hold", senders=tuple(senders)),
            step="contain",
            kind="mail-queue-hold",
            target=name,
            before=None,
            after={"mtas": [mta], "queue": queue, "senders": senders},
            plan=f"hold the {queue} mail of {', '.join(senders)} on {mta}",
            done=f"held the {queue} mail of {', '.join(senders)} on {mta}",
            blocks_rest=False,  # one MTA's trouble never keeps the others from holding
        )
        for mta in services.mtas
        for queue in HOLD_QUEUES
    ]


def attrs_differ(got: Any, wanted: dict[str, str | list[str]]) -> str | None:
    """None when every attribute reads back as written ("" meaning unset)."""
    if not isinstance(got, Account):
        return "no account"
    for attr, value in wanted.items():
        if attr.startswith("-"):
            left = set(got.values(attr[1:])) & set([value] if isinstance(value, str) else value)
            if left:
                return f"{attr[1:]} still has {sorted(left)}"
            continue
        if attr.startswith("+"):
            missing = set([value] if isinstance(value, str) else value) - set(got.values(attr[1:]))
            if missing:
                return f"{attr[1:]} lacks {sorted(missing)}"
            continue
        have = got.values(attr)
        want = [value] if isinstance(value, str) else list(value)
        if [v for v in want if v] != have:
            return f"{attr} is {have!r}"
    return None


def evidence_reads(services: Services, state: LockdownState) -> list[Request[Any]]:
    """Read in the containment round trip: the held mail, live sessions, admin filter scripts."""
    account = state.account
    return [
        *held_summaries(services, state.held_senders),
        GetSessions(type="soap"),
        GetSessions(type="imap"),
        *[AdminGetFilterRules(account.id, when=w, outgoing=o) for w, o in _ADMIN_SCRIPTS],
    ]


def queued_summaries(services: Services, senders: list[str]) -> list[Request[Any]]:
    """The senders' mail still queued for delivery, one summary per MTA and queue."""
    return [
        GetMailQueue(server=mta, queue=queue, senders=tuple(senders), limit=1)
        for mta in services.mtas
        for queue in HOLD_QUEUES
    ]


def held_summaries(services: Services, senders: list[str]) -> list[Request[Any]]:
    """The senders' mail on hold, one summary per MTA."""
    return [
        GetMailQueue(server=mta, queue="hold", senders=tuple(senders), limit=HELD_SUMMARY_LIMIT)
        for mta in services.mtas
    ]


def absorb(services: Services, state: LockdownState, reads: list[Any]) -> None:
    """Take what the containment round trip read into the lockdown's state."""
    if not services.mtas:
        state.warnings.append("no MTA server is listed (GetAllServers service=mta): nothing held")
    summaries, evidence = reads[: len(services.mtas)], reads[len(services.mtas) :]
    for summary in summaries:
        if not isinstance(summary, QueueSummary):
            continue
        state.held_queues.append(
            {
                "server": summary.server,
                "queue": summary.queue,
                "senders": state.held_senders,
                "total": summary.total,
                "messages": [
                    {"id": m.id, "sender": m.sender, "recipients": len(m.recipients)}
                    for m in summary.messages
                ],
            }
        )
    _absorb_evidence(state, evidence)


def _absorb_evidence(state: LockdownState, results: list[Any]) -> None:
    soap_sessions, imap_sessions, *admin_filters = results
    for sessions in (soap_sessions, imap_sessions):
        if isinstance(sessions, list):
            state.sessions += session_rows(state.account.id, sessions)
    for (when, outgoing), rules in zip(_ADMIN_SCRIPTS, admin_filters, strict=True):
        key = f"{'outgoing-' if outgoing else ''}{when}"
        if isinstance(rules, list):
            state.admin_filters[key] = [r.to_dict() for r in rules]
        elif isinstance(rules, ZimbraFault):
            state.admin_filters[key] = {"fault": rules.code}
