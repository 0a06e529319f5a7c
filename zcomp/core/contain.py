"""Lockdown step 2: contain in one round trip.

One BatchRequest: pre-state read, status locked + password history raised, a random
password (which also raises zimbraAuthTokenValidityValue and so kills every token), caches
flushed on all servers, the sender's queued mail held on every MTA, then evidence reads
(held-queue summary, sessions, admin filter scripts).
"""

from __future__ import annotations

from typing import Any, Literal

from zcomp.core.environment import Environment
from zcomp.core.lockdown_state import LockdownState, record
from zcomp.core.passwords import random_password
from zcomp.core.snapshot import session_rows
from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import Account
from zcomp.zimbra.requests import (
    AdminGetFilterRules,
    FlushCache,
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
PRE_STATE_ATTRS = (
    "zimbraAccountStatus",
    "zimbraAuthTokenValidityValue",
    "zimbraPasswordEnforceHistory",
    "zimbraPasswordMustChange",
    "zimbraNotes",
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


def lock_changes(env: Environment, account: Account) -> dict[str, str | list[str]]:
    current = int(account.get("zimbraPasswordEnforceHistory") or 0)
    changes: dict[str, str | list[str]] = {"zimbraAccountStatus": "locked"}
    if env.settings.unlock.password_history > current:
        # Must precede SetPassword: only then does the phished password land in the history.
        changes["zimbraPasswordEnforceHistory"] = str(env.settings.unlock.password_history)
    return changes


def plan(env: Environment, account: Account) -> list[str]:
    lines = [
        f"lock {account.name} (zimbraAccountStatus=locked; now "
        f"{account.get('zimbraAccountStatus')})"
    ]
    changes = lock_changes(env, account)
    if "zimbraPasswordEnforceHistory" in changes:
        lines.append(
            f"raise zimbraPasswordEnforceHistory to {changes['zimbraPasswordEnforceHistory']} "
            "so the phished password cannot be chosen again"
        )
    lines += [
        "set a random password (never shown); this invalidates every existing login token",
        "flush the account cache on every mailbox server",
        f"hold mail queued by {', '.join(hold_senders(account))} on "
        f"{len(env.mtas)} MTA(s): {', '.join(env.mtas) or '-'}",
    ]
    return lines


def contain(env: Environment, state: LockdownState) -> None:
    account = state.account
    changes = lock_changes(env, account)
    senders = hold_senders(account)
    state.held_senders = senders
    # One query per queue matches every sender (Zimbra ORs the matches of a field).
    holds = [
        MailQueueAction(server=mta, queue=queue, op="hold", senders=tuple(senders))
        for mta in env.mtas
        for queue in HOLD_QUEUES
    ]
    summaries = [
        GetMailQueue(server=mta, queue="hold", senders=tuple(senders), limit=HELD_SUMMARY_LIMIT)
        for mta in env.mtas
    ]
    evidence: list[Request[Any]] = [
        GetSessions(type="soap"),
        GetSessions(type="imap"),
        *[AdminGetFilterRules(account.id, when=w, outgoing=o) for w, o in _ADMIN_SCRIPTS],
    ]
    containment: list[Request[Any]] = [
        GetAccount(account.id, by="id", attrs=PRE_STATE_ATTRS),
        ModifyAccount(account.id, changes),
        SetPassword(account.id, random_password()),
        FlushCache(ids=(account.id,), all_servers=True),
    ]
    results = env.client.batch([*containment, *holds, *summaries, *evidence])
    pre, locked, password, flushed = results[:4]
    hold_results = results[4 : 4 + len(holds)]
    summary_results = results[4 + len(holds) : 4 + len(holds) + len(summaries)]
    evidence_results = results[4 + len(holds) + len(summaries) :]

    if isinstance(pre, Account):
        state.pre_state = pre
    before = {k: account.values(k) for k in changes}
    if (
        record(
            env,
            state,
            locked,
            step="contain",
            kind="account-status",
            target=account.name,
            before=before,
            after=changes,
            done="locked the account (zimbraAccountStatus=locked)",
        )
        and "zimbraPasswordEnforceHistory" in changes
    ):
        state.done.append(
            f"raised password history to {changes['zimbraPasswordEnforceHistory']} entries"
        )
    record(
        env,
        state,
        password,
        step="contain",
        kind="password",
        target=account.name,
        before="(phished password)",
        after="(random, not recorded)",
        done="set a random password (never shown), which invalidates every login token",
    )
    record(
        env,
        state,
        flushed,
        step="contain",
        kind="flush-cache",
        target=account.name,
        before=None,
        after="allServers",
        done="flushed the account cache on every mailbox server",
    )
    _absorb_holds(env, state, holds, hold_results, summary_results)
    _absorb_evidence(state, evidence_results)


def _absorb_holds(
    env: Environment,
    state: LockdownState,
    holds: list[MailQueueAction],
    hold_results: list[Any],
    summary_results: list[Any],
) -> None:
    account = state.account
    if not holds:
        state.warnings.append("no MTA server is listed (GetAllServers service=mta): nothing held")
        return
    for summary in summary_results:
        if isinstance(summary, ZimbraFault) or not hasattr(summary, "messages"):
            continue
        state.held.append(
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
    held = sum(q["total"] for q in state.held)
    failed = [
        (h, r) for h, r in zip(holds, hold_results, strict=True) if isinstance(r, ZimbraFault)
    ]
    where = f"{len(env.mtas)} MTA(s)"
    first_fault = failed[0][1] if failed else None
    record(
        env,
        state,
        first_fault if first_fault is not None else "ok",
        step="contain",
        kind="mail-queue-hold",
        target=account.name,
        before=None,
        after={"held": held, "mtas": env.mtas, "senders": state.held_senders},
        done=f"held {held} queued message(s) from {', '.join(state.held_senders)} on {where}",
    )


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
