"""The demo deployment: a few dozen realistic accounts, lists, rules, signatures and identities."""

from __future__ import annotations

import hashlib
import time
import uuid

from zcomp.sandbox.directory import DOMAIN, AccountEntry, ChildEntry, Directory
from zcomp.sandbox.element import NS_MAIL, El
from zcomp.sandbox.filters import to_sieve
from zcomp.sandbox.mailbox import MailboxStore
from zcomp.sandbox.passwords import hash_password

ADMIN = f"admin@{DOMAIN}"
_SALT = b"zcomp-sandbox-seed"


def demo_password(name: str) -> str:
    """The seeded (phished) password of a demo account; deterministic."""
    digest = hashlib.sha256(b"zcomp-sandbox:" + name.strip().lower().encode()).hexdigest()
    return f"Demo!{digest[:10]}"


def stable_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "zcomp-sandbox:" + name.lower()))


def seed_admin(d: Directory, password: str) -> AccountEntry:
    return d.create_account(
        ADMIN,
        None,
        {"zimbraIsAdminAccount": ["TRUE"], "displayName": ["Sandbox Admin"], "cn": ["admin"]},
        account_id=stable_id(ADMIN),
        password_hash=hash_password(password, _SALT),
    )


# name, display name, title, home server index, extra attrs
_PEOPLE: list[tuple[str, str, str, int]] = [
    ("alice", "Alice Smith", "Accounts Payable", 0),
    ("bob", "Bob Jones", "Sales", 0),
    ("carol", "Carol White", "Human Resources", 0),
    ("dave", "Dave Brown", "IT Operations", 0),
    ("erin", "Erin Clark", "Marketing", 1),
    ("frank", "Frank Miller", "Facilities", 0),
    ("grace", "Grace Lee", "Legal", 1),
    ("heidi", "Heidi Young", "Accounts Receivable", 0),
    ("ivan", "Ivan Petrov", "Engineering", 1),
    ("judy", "Judy Adams", "Executive Office", 0),
    ("ken", "Ken Walker", "Engineering", 0),
    ("laura", "Laura Hall", "Customer Support", 1),
    ("mike", "Mike Allen", "Warehouse", 0),
    ("nina", "Nina King", "Procurement", 0),
    ("oscar", "Oscar Wright", "Sales", 1),
    ("peggy", "Peggy Scott", "Payroll", 0),
    ("quinn", "Quinn Green", "Research", 0),
    ("rita", "Rita Baker", "Training", 1),
    ("sam", "Sam Nelson", "Security", 0),
    ("tina", "Tina Carter", "Design", 0),
    ("uma", "Uma Mitchell", "Finance", 1),
    ("victor", "Victor Perez", "Logistics", 0),
    ("wendy", "Wendy Roberts", "Reception", 0),
]


def _rule(name: str | None, tests: list[El], actions: list[El], condition: str = "anyof") -> El:
    rule = El("filterRule", NS_MAIL, {"active": "1"})
    if name is not None:
        rule.attrs = {"name": name, "active": "1"}
    rule.add("filterTests", {"condition": condition}).children.extend(tests)
    rule.add("filterActions").children.extend(actions)
    return rule


def _t(name: str, **attrs: str) -> El:
    return El(name, NS_MAIL, dict(attrs))


def _set_rules(d: Directory, entry: AccountEntry, rules: list[El]) -> None:
    script = to_sieve(rules)
    d.sieve_memo[script] = rules
    entry.attrs["zimbraMailSieveScript"] = [script]


def seed_demo(d: Directory, servers: list[str]) -> None:
    def home(i: int) -> str:
        return servers[i % len(servers)] if i < len(servers) else servers[0]

    made: dict[str, AccountEntry] = {}
    for local, display, title, host_index in _PEOPLE:
        name = f"{local}@{DOMAIN}"
        first, last = display.split(" ", 1)
        sig = f"{display}\n{title} | Sandbox Corp\n+1 555 01{len(made):02d}"
        entry = d.create_account(
            name,
            None,
            {
                "displayName": [display],
                "givenName": [first],
                "sn": [last],
                "cn": [display],
                "title": [title],
                "zimbraMailHost": [home(host_index)],
                "zimbraSignatureId": [stable_id(name + "#sig")],
                "zimbraSignatureName": [display],
                "zimbraPrefMailSignature": [sig],
                "zimbraPrefMailSignatureHTML": [sig.replace("\n", "<br>")],
                "zimbraPrefDefaultSignatureId": [stable_id(name + "#sig")],
                "zimbraPrefFromDisplay": [display],
                "zimbraPrefFromAddress": [name],
            },
            account_id=stable_id(name),
            password_hash=hash_password(demo_password(name), _SALT),
        )
        made[local] = entry
    alice = made["alice"]
    d.add_alias(alice, f"a.smith@{DOMAIN}")
    d.add_alias(made["bob"], f"sales-bob@{DOMAIN}")
    alice.identities[stable_id("alice#billing")] = ChildEntry(
        stable_id("alice#billing"),
        "Billing",
        {
            "zimbraPrefIdentityName": ["Billing"],
            "zimbraPrefIdentityId": [stable_id("alice#billing")],
            "zimbraPrefFromAddress": [f"billing@{DOMAIN}"],
            "zimbraPrefFromDisplay": ["Sandbox Corp Billing"],
            "zimbraPrefReplyToEnabled": ["TRUE"],
            "zimbraPrefReplyToAddress": [f"billing@{DOMAIN}"],
        },
    )
    alice.attrs["zimbraAllowFromAddress"] = [f"billing@{DOMAIN}"]
    alice.signatures[stable_id("alice#short")] = ChildEntry(
        stable_id("alice#short"),
        "Short",
        {
            "zimbraSignatureId": [stable_id("alice#short")],
            "zimbraSignatureName": ["Short"],
            "zimbraPrefMailSignature": ["-- Alice"],
        },
    )
    _set_rules(
        d,
        alice,
        [
            _rule(
                "Newsletters",
                [_t("headerTest", header="from", stringComparison="contains", value="newsletter")],
                [_t("actionFileInto", folderPath="Newsletters")],
            ),
            _rule(
                None,
                [_t("headerTest", header="subject", stringComparison="contains", value="[ticket]")],
                [_t("actionTag", tagName="tickets")],
            ),
            _rule(
                "Boss",
                [
                    _t(
                        "addressTest",
                        header="from",
                        part="all",
                        stringComparison="is",
                        value=f"judy@{DOMAIN}",
                    )
                ],
                [_t("actionFlag", flagName="flagged")],
            ),
        ],
    )
    _set_rules(
        d,
        made["bob"],
        [
            _rule(
                "Leads to CRM folder",
                [_t("headerTest", header="subject", stringComparison="contains", value="lead")],
                [_t("actionFileInto", folderPath="Leads"), _t("actionStop")],
            )
        ],
    )
    # Benign internal forwarding (an assistant), with local delivery kept.
    made["carol"].attrs["zimbraPrefMailForwardingAddress"] = [f"wendy@{DOMAIN}"]
    made["judy"].attrs["zimbraPrefMailForwardingAddress"] = [f"nina@{DOMAIN}"]
    made["dave"].attrs["zimbraMailForwardingAddress"] = [f"sam@{DOMAIN}"]
    made["frank"].attrs["zimbraAccountStatus"] = ["locked"]  # an older, finished incident
    made["grace"].attrs["zimbraPasswordMustChange"] = ["TRUE"]
    made["bob"].attrs["zimbraAllowFromAddress"] = [f"sales@{DOMAIN}"]
    made["ken"].attrs["zimbraFeatureMailForwardingEnabled"] = ["FALSE"]
    for local in ("laura", "rita"):
        made[local].attrs["zimbraPrefOutOfOfficeReplyEnabled"] = ["FALSE"]

    # Second admin and system accounts.
    d.create_account(
        f"ops-admin@{DOMAIN}",
        None,
        {"zimbraIsAdminAccount": ["TRUE"], "displayName": ["Operations Admin"]},
        account_id=stable_id(f"ops-admin@{DOMAIN}"),
        password_hash=hash_password(demo_password(f"ops-admin@{DOMAIN}"), _SALT),
    )
    system = {
        "spam.k3j9qz0x": "Spam training",
        "ham.k3j9qz0x": "Ham training",
        "virus-quarantine.k3j9qz0x": "Virus quarantine",
    }
    for local, display in system.items():
        d.create_account(
            f"{local}@{DOMAIN}",
            None,
            {
                "displayName": [display],
                "zimbraIsSystemResource": ["TRUE"],
                "zimbraIsSystemAccount": ["TRUE"],
                "zimbraHideInGal": ["TRUE"],
                "zimbraMailQuota": ["0"],
                "amavisBypassSpamChecks": ["TRUE"] if local.startswith(("spam", "ham")) else [],
            },
            account_id=stable_id(local),
        )
    d.create_account(
        f"galsync.w8f2@{DOMAIN}",
        None,
        {
            "displayName": ["GAL sync"],
            "zimbraIsSystemResource": ["TRUE"],
            "zimbraIsSystemAccount": ["TRUE"],
            "zimbraHideInGal": ["TRUE"],
            "zimbraContactMaxNumEntries": ["0"],
        },
        account_id=stable_id("galsync"),
    )
    d.domain_attrs["zimbraGalAccountId"] = [stable_id("galsync")]
    people = [f"{p[0]}@{DOMAIN}" for p in _PEOPLE if p[0] != "frank"]
    d.create_list(f"all-staff@{DOMAIN}", [*people, f"a.smith@{DOMAIN}"])
    d.create_list(
        f"finance@{DOMAIN}",
        [f"alice@{DOMAIN}", f"heidi@{DOMAIN}", f"peggy@{DOMAIN}", f"uma@{DOMAIN}"],
    )


# ---- mailbox contents -------------------------------------------------------------------------

_INBOX_MAIL = [
    ("judy", "Quarterly planning - agenda", "Please find the agenda for Thursday attached."),
    ("dave", "Scheduled maintenance on Saturday", "The VPN will be down from 06:00 to 08:00."),
    ("nina", "Supplier contract renewal", "The renewal is due at the end of the month."),
]
_SENT_MAIL = ("Re: Quarterly planning - agenda", "Thanks, I will bring the figures.")
_PROJECT_MAIL = [
    ("bob", "Project Falcon - kickoff notes", "Notes from the kickoff meeting are below."),
    ("ken", "Project Falcon - timeline", "Updated timeline with the new milestones."),
]
TRUSTED_DEVICE = "sandbox-trusted-device-1"


def seed_mailboxes(boxes: MailboxStore, d: Directory, edition: str, now_ms: int) -> None:
    """A few made-up messages per person; alice's "Projects" folder shared with bob (the
    benign internal share); on network, a synced phone and a trusted device for alice."""
    from zcomp.sandbox.handlers_network import TRUSTED_ATTR, add_device
    from zcomp.sandbox.mailbox import ID_INBOX, ID_SENT

    day = 86_400_000
    for n, (local, display, _, _) in enumerate(_PEOPLE):
        entry = d.find(f"{local}@{DOMAIN}")
        if entry is None:
            continue
        box = boxes.get(entry.id)
        mails = [m for m in _INBOX_MAIL if m[0] != local][: 2 + n % 2]
        for i, (sender, subject, fragment) in enumerate(mails):
            who = d.find(f"{sender}@{DOMAIN}")
            box.add_message(
                ID_INBOX,
                subject,
                f"{sender}@{DOMAIN}",
                who.first("displayName", sender) or sender if who else sender,
                now_ms - (i + 1) * day - n * 3_600_000,
                fragment,
                unread=i == 0,
            )
        box.add_message(
            ID_SENT, _SENT_MAIL[0], entry.name, display, now_ms - 5 * day, _SENT_MAIL[1]
        )
    alice, bob = d.find(f"alice@{DOMAIN}"), d.find(f"bob@{DOMAIN}")
    if alice is None or bob is None:
        return
    box = boxes.get(alice.id)
    projects = box.create_folder("Projects")
    for i, (sender, subject, fragment) in enumerate(_PROJECT_MAIL):
        box.add_message(
            projects.id, subject, f"{sender}@{DOMAIN}", sender.title(), now_ms - (i + 3) * day,
            fragment,
        )  # fmt: skip
    box.grant(projects, bob.id, "usr", 0x1, None, 0)  # gt=usr perm=r
    if edition == "network":
        add_device(
            box,
            "ANDROIDC1A2B3C4D5",
            type="Android",
            ua="Android-Mail/2024.05.12",
            protocol="16.1",
            model="Pixel 7",
            friendly_name="Alice's phone",
            os="Android 14",
            os_language="en",
            firstReqReceived=str(now_ms // 1000 - 40 * 86_400),
            lastPolicyUpdate=str(now_ms // 1000 - 40 * 86_400),
            lastUsedDate=time.strftime("%Y-%m-%d", time.gmtime(now_ms / 1000 - 86_400)),
        )
        alice.attrs[TRUSTED_ATTR] = [f"{TRUSTED_DEVICE}|{now_ms + 30 * day}"]
