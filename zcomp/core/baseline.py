"""Baselines: known-good signatures, identities, forwarding, filter rules, shares, rights and
data sources, per account.

`capture_all` reads the directory in pages (SearchDirectory, 500 accounts a page, several pages
per BatchRequest) and writes each page to the journal in one transaction: a few round trips for
thousands of accounts. `capture_accounts` also reads each named account's full signature,
identity and filter-rule lists, its shares, rights and data sources (one user-side batch per
account). Lockdown restores from the newest baseline taken before an incident, so a baseline
must never record an attacker's settings: accounts with an open incident, or with anything
lockdown would remove, are skipped and reported (unless the admin vouches for a named account
with --accept-risky).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from zcomp.core.classify import classify_account
from zcomp.core.replies import must, problem
from zcomp.core.services import Services
from zcomp.core.snapshot import BASELINE_ATTRS, Baseline, MailboxState
from zcomp.journal import CLOSED
from zcomp.timestamps import stamp
from zcomp.zimbra.access import AccountRight, DataSource, Folder
from zcomp.zimbra.errors import ZimbraFault
from zcomp.zimbra.model import Account, FilterRule, Identity, SearchPage, Signature
from zcomp.zimbra.operations import (
    GetAccount,
    GetDataSources,
    GetFilterRules,
    GetFolders,
    GetIdentities,
    GetRights,
    GetSignatures,
    Request,
    SearchDirectory,
)

PAGE_SIZE = 500
PAGES_PER_BATCH = 4
NAMES_PER_BATCH = 100
# Every user account; calendar resources and Zimbra's system accounts have no owner to phish.
ACCOUNT_QUERY = (
    "(&(objectClass=zimbraAccount)(!(objectClass=zimbraCalendarResource))"
    "(!(zimbraIsSystemAccount=TRUE)))"
)
# Read too, to judge From/Reply-To against the account's own addresses; not stored.
_CLASSIFY_ATTRS = ("zimbraMailAlias", "zimbraMailDeliveryAddress", "zimbraAllowFromAddress", "mail")
_READ_ATTRS = (*BASELINE_ATTRS, *_CLASSIFY_ATTRS)


@dataclass
class BaselineReport:
    captured: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"account", "reason"}
    vouched: list[dict[str, str]] = field(default_factory=list)  # risky, recorded on request
    failed: list[dict[str, str]] = field(default_factory=list)
    pages: int = 0
    round_trips: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Accounts captured per second."""
        return self.captured / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "captured": self.captured,
            "skipped": self.skipped,
            "vouched": self.vouched,
            "failed": self.failed,
            "pages": self.pages,
            "round_trips": self.round_trips,
            "seconds": round(self.seconds, 3),
        }


def baseline_of(
    account: Account,
    *,
    signatures: list[Signature] | None = None,
    identities: list[Identity] | None = None,
    rules: list[FilterRule] | None = None,
    outgoing_rules: list[FilterRule] | None = None,
    shares: list[Folder] | None = None,
    rights: list[AccountRight] | None = None,
    data_sources: list[DataSource] | None = None,
    captured_at: str = "",
) -> Baseline:
    attrs = {k: list(v) for k, v in account.attrs.items() if k in BASELINE_ATTRS}
    return Baseline(
        captured_at,
        attrs=attrs,
        signatures=signatures,
        identities=identities,
        rules=rules,
        outgoing_rules=outgoing_rules,
        shares=None if shares is None else [f for f in shares if f.grants],
        rights=rights,
        data_sources=data_sources,
    )


def risky_reason(services: Services, account: Account, baseline: Baseline) -> str | None:
    """Why this state must not become a baseline (lockdown would remove part of it), or None."""
    identities = baseline.identities
    if identities is None:
        prefs = {k: v for k, v in account.attrs.items() if k.startswith("zimbraPref")}
        identities = [Identity(account.id, "DEFAULT", prefs)]
    mailbox = MailboxState(
        rules=list(baseline.rules or []),
        outgoing_rules=list(baseline.outgoing_rules or []),
        signatures=baseline.signature_candidates(),
        identities=list(identities),
        shares=baseline.shares,
        rights=baseline.rights,
        data_sources=baseline.data_sources,
    )
    found = classify_account(account, mailbox, services.organisation, services.settings.policy)
    bad = [f for f in found if f.remove]
    if not bad:
        return None
    return "risky settings, not recorded as known-good: " + "; ".join(
        f"{f.detail} ({f.reason})" for f in bad
    )


def _open_incident_accounts(services: Services) -> set[str]:
    return {i.account_id for i in services.journal.incidents(limit=1_000_000) if i.state != CLOSED}


def _keep(
    services: Services,
    report: BaselineReport,
    rows: list[tuple[str, str, dict[str, Any]]],
    account: Account,
    baseline: Baseline,
    under_incident: set[str],
    *,
    vouch: bool = False,
) -> None:
    if account.id in under_incident:
        report.skipped.append(
            {"account": account.name, "reason": "open incident: its settings are not known-good"}
        )
        return
    why = risky_reason(services, account, baseline)
    if why is not None and not vouch:
        report.skipped.append({"account": account.name, "reason": why})
        return
    if why is not None:
        # The admin vouches these are the owner's own settings (--accept-risky): lockdown will
        # then keep exactly these, and only these, as known-good.
        report.vouched.append({"account": account.name, "reason": why})
    rows.append((account.id, account.name, baseline.to_dict()))


# ---------------------------------------------------------------- every account


def capture_all(services: Services, *, page_size: int = PAGE_SIZE) -> BaselineReport:
    report = BaselineReport()
    start, trips = time.perf_counter(), services.client.round_trips
    under_incident = _open_incident_accounts(services)
    seen: set[str] = set()
    captured_at = datetime.now(timezone.utc)
    facts = services.facts_requests()
    first = services.client.batch([_page(0, page_size, None), *facts])
    services.absorb_facts(first[1:])
    if isinstance(first[0], ZimbraFault) and first[0].code == "account.TOO_MANY_SEARCH_RESULTS":
        # zimbra_directory_max_search_result (5000) caps one search: go domain by domain.
        for domain in sorted(services.organisation.domains):
            head = services.client.batch([_page(0, page_size, domain)])[0]
            if isinstance(head, ZimbraFault) and head.code == "account.NO_SUCH_DOMAIN":
                continue  # a configured internal domain Zimbra does not host
            _all_pages(services, report, head, page_size, domain, under_incident, seen, captured_at)
    else:
        _all_pages(services, report, first[0], page_size, None, under_incident, seen, captured_at)
    report.round_trips = services.client.round_trips - trips
    report.seconds = time.perf_counter() - start
    return report


def _page(offset: int, size: int, domain: str | None) -> SearchDirectory:
    return SearchDirectory(
        query=ACCOUNT_QUERY,
        attrs=_READ_ATTRS,
        limit=size,
        offset=offset,
        types="accounts",
        domain=domain,
        sort_by="name",
    )


def _all_pages(
    services: Services,
    report: BaselineReport,
    head: Any,
    size: int,
    domain: str | None,
    under_incident: set[str],
    seen: set[str],
    captured_at: datetime,
) -> None:
    page: SearchPage = must(head)
    _store_page(services, report, page, under_incident, seen, captured_at)
    offsets = list(range(size, page.total, size)) if page.more else []
    for chunk in range(0, len(offsets), PAGES_PER_BATCH):
        requests: list[Request[Any]] = [
            _page(o, size, domain) for o in offsets[chunk : chunk + PAGES_PER_BATCH]
        ]
        for result in services.client.batch(requests):
            _store_page(services, report, must(result), under_incident, seen, captured_at)


def _store_page(
    services: Services,
    report: BaselineReport,
    page: SearchPage,
    under_incident: set[str],
    seen: set[str],
    captured_at: datetime,
) -> None:
    report.pages += 1
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for account in page.accounts:
        if account.id in seen:
            continue  # the directory changed between pages
        seen.add(account.id)
        _keep(services, report, rows, account, baseline_of(account), under_incident)
    if rows:
        report.captured += services.journal.add_baselines(rows, captured_at=captured_at)


# ---------------------------------------------------------------- named accounts


def capture_accounts(
    services: Services, names: list[str], *, accept_risky: bool = False
) -> BaselineReport:
    """Attributes plus the full signature, identity and filter-rule lists of each named account.

    `accept_risky`: record settings lockdown would otherwise remove (the admin vouches for
    them, e.g. a user's own redirect to a personal address), instead of skipping the account.
    """
    report = BaselineReport()
    start, trips = time.perf_counter(), services.client.round_trips
    under_incident = _open_incident_accounts(services)
    captured_at = datetime.now(timezone.utc)
    for chunk in range(0, len(names), NAMES_PER_BATCH):
        part = names[chunk : chunk + NAMES_PER_BATCH]
        facts = services.facts_requests()
        results = services.client.batch(
            [*[GetAccount(n, by="name", attrs=_READ_ATTRS) for n in part], *facts]
        )
        services.absorb_facts(results[len(part) :])
        rows: list[tuple[str, str, dict[str, Any]]] = []
        for name, result in zip(part, results[: len(part)], strict=True):
            if not isinstance(result, Account):
                report.failed.append(
                    {"account": name, "reason": problem("GetAccount", result) or ""}
                )
                continue
            reads: list[Request[Any]] = [
                GetSignatures(),
                GetIdentities(),
                GetFilterRules(),
                GetFilterRules(outgoing=True),
                GetFolders(),
                GetRights(),
                GetDataSources(),
            ]
            replies = services.client.batch(reads, as_account=result.id)
            troubles = [problem(type(r).__name__, a) for r, a in zip(reads, replies, strict=True)]
            if any(troubles):
                report.failed.append(
                    {"account": result.name, "reason": next(t for t in troubles if t)}
                )
                continue
            sigs, idents, rules, outgoing, folders, rights, sources = replies
            baseline = baseline_of(
                result,
                signatures=sigs,
                identities=idents,
                rules=rules,
                outgoing_rules=outgoing,
                shares=folders,
                rights=rights,
                data_sources=sources,
            )
            _keep(services, report, rows, result, baseline, under_incident, vouch=accept_risky)
        report.pages += 1
        if rows:
            report.captured += services.journal.add_baselines(rows, captured_at=captured_at)
    report.round_trips = services.client.round_trips - trips
    report.seconds = time.perf_counter() - start
    return report


# ---------------------------------------------------------------- show


@dataclass
class ShownBaseline:
    account: str
    account_id: str
    captured_at: str
    data: dict[str, Any]


def latest_baseline(services: Services, name: str) -> ShownBaseline | None:
    account: Account = must(
        services.client.batch([GetAccount(name, by="name", attrs=("zimbraId",))])[0]
    )
    row = services.journal.latest_baseline(account.id)
    if row is None:
        return None
    return ShownBaseline(account.name, account.id, stamp(row.captured_at), row.data)
