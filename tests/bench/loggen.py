"""A realistic, seeded day of Zimbra logs: a mailbox.log and the matching zimbra.log.

`zcomp scan` must keep up with a multi-GB day, so the benchmark needs one: this module writes a
mailbox.log and a zimbra.log of chosen sizes (default 1 GB each) for one day, 2024-03-15, server
``mail.example.com`` = 192.0.2.10, in the exact shapes of the samples in
tests/fixtures/zimbra-logs/ (see zimbra-logs.md sections 1 and 3):

* mailbox.log: AJAX and Modern UI users' SOAP requests (``soap - <Req> elapsed=N``, the bulk of a
  real file), JSP web logins (``(batch) AuthRequest`` with ``ua=zclient``), IMAP and POP logins,
  LMTP deliveries (``lmtp - Delivering message`` + ``mailop - Adding Message``), ordinary webmail
  sends (``smtp - Sending message to MTA at …, nrcpts=N, to=…``, N mostly 1 to 5), calendar
  invitations, occasional stack traces;
* zimbra.log: for every webmail send the whole 8.7+ outbound path with three queue ids (smtpd →
  amavis ORIGINATING → dkimmilter → amavis ORIGINATING_POST → amavisd/smtpd → Internet or lmtp),
  inbound mail (postscreen → smtpd → amavis → amavisd/smtpd → lmtp), SASL submissions from desktop
  clients, bounces, deferrals and NDRs, and the noise of an Internet-facing MTA (postscreen DNSBL
  and pregreet drops, rejected RCPTs, SASL password guessing), plus zimbramon status lines.

Every webmail send's Message-ID is the ``postfix/cleanup … message-id=`` of its first hop, so the
two files join as on a real server.

Planted: ``phished`` accounts (default 3) that, at night, log in to the Standard (HTML) client
(``ua=zclient/9.0.0_GA_4583`` with a public ``oip`` never seen for them), change a setting
(ModifyIdentity/ModifyPrefs/ModifyFilterRules) and send bursts of 60 to 100 recipients per
message; the first one is stopped by a cbpolicyd deferral (WARN + stack trace, NOQUEUE reject),
the second also sends over SMTP AUTH from another address. Legitimate look-alikes are planted too
(daytime meeting invitations to 40 to 80 colleagues, a distribution-list send that postfix expands
to 118, a daytime 60-recipient AJAX announcement) so that "most recipients" alone is not enough.

Speed: lines are built from precomputed pools with f-strings and written as one joined block per
simulated minute; memory stays constant (one minute of lines). The two files are written by two
processes that replay the same seeded event stream and render only their own file.

    python -m tests.bench.loggen OUT_DIR [--size-mb N] [--seed S] [--phished K]
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import operator
import os
import random
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

GENERATOR_VERSION = 2
MB = 1_000_000
GB = 1000 * MB

DAY = (2024, 3, 15)  # a Friday, the samples' day
EPOCH_MS_AT_MIDNIGHT = 1_710_457_200_000  # 2024-03-15 00:00:00 +01:00 (server local time)
DAY_MS = 86_400_000
MINUTES = 1440
OVERFLOW_S = 7200  # lines pushed past midnight still get a timestamp

HOST = "mail.example.com"
HOST_IP = "192.0.2.10"
DOMAIN = "example.com"
VERSION = "9.0.0_GA_4583"
ZCLIENT = f"zclient/{VERSION}"
QTP = "qtp1281060270"
SOAP_URL = f"https://{HOST}/service/soap/"
LOCAL_SOAP_URL = "//localhost:8080/service/soap/"
MBX_PREFIX_LEN = len("2024-03-15 03:14:52,103 ")
SYS_PREFIX_LEN = len("Mar 15 03:14:52 mail ")
MS = [f"{x:03d} " for x in range(1000)]
POOL = 1 << 14  # (getrandbits(14) indexes it) pre-rendered chatter lines per pool (mailbox.log)
POOL_REFRESH = 16  # one pool entry is replaced for every POOL_REFRESH lines written
AMAVIS_MAXLEN = 980  # amavisd splits longer log lines (zimbra-logs.md section 3)

FIRST = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "nina",
    "oscar",
    "peggy",
    "quentin",
    "rupert",
    "sybil",
    "trent",
    "ursula",
    "victor",
    "walter",
    "xena",
    "yusuf",
    "zoe",
    "anna",
    "ben",
    "chloe",
    "daniel",
    "emma",
    "felix",
    "hanna",
    "igor",
    "jonas",
    "karin",
    "lena",
    "marco",
    "nora",
    "olaf",
    "paula",
    "rosa",
    "simon",
    "tina",
    "uwe",
    "vera",
    "wim",
    "yara",
    "aaron",
    "bianca",
    "claude",
    "diana",
    "edgar",
    "fiona",
    "gustav",
    "helen",
    "ines",
    "jan",
    "kai",
    "lara",
    "milan",
]
LAST = [
    "smith",
    "meyer",
    "garcia",
    "rossi",
    "novak",
    "dubois",
    "kowalski",
    "jensen",
    "silva",
    "costa",
    "muller",
    "schmidt",
    "weber",
    "wagner",
    "becker",
    "hoffmann",
    "schulz",
    "koch",
    "richter",
    "klein",
    "wolf",
    "neumann",
    "schwarz",
    "braun",
    "zimmer",
    "kruger",
    "hartmann",
    "lange",
    "werner",
    "krause",
    "lehmann",
    "schmitz",
    "martin",
    "bernard",
    "thomas",
    "petit",
    "robert",
    "richard",
    "durand",
    "leroy",
    "moreau",
    "simon",
    "laurent",
    "lefebvre",
    "michel",
    "david",
    "bertrand",
    "roux",
    "vincent",
    "fournier",
    "morel",
    "girard",
    "andre",
    "mercier",
    "blanc",
    "guerin",
    "boyer",
    "garnier",
    "chevalier",
    "francois",
    "legrand",
    "gauthier",
    "perrin",
    "robin",
    "clement",
    "morin",
    "nicolas",
    "henry",
    "roussel",
    "mathieu",
    "gautier",
    "masson",
    "marchand",
    "duval",
    "denis",
    "dumont",
    "marie",
    "lemaire",
]
SPAM_FIRST = [
    "olga",
    "paul",
    "tom",
    "eva",
    "ahmed",
    "nadia",
    "raj",
    "maria",
    "mei",
    "kenji",
    "omar",
    "ana",
    "fatima",
    "pierre",
    "john",
    "sam",
    "lucia",
    "li",
    "zoe",
    "igor",
]
SPAM_DOMAINS = (
    "freemail.example",
    "mailhub.test",
    "webpost.example",
    "inbox.example",
    "correo.example",
    "post.example",
)
EXT_WORDS = [
    "partner",
    "supplier",
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "vandelay",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "soylent",
    "oscorp",
    "wonka",
    "monarch",
    "aperture",
    "massive",
    "virtucon",
    "gringotts",
    "nakatomi",
    "dunder",
    "sterling",
    "pied",
    "bluth",
    "prestige",
    "krusty",
]
EXT_TLDS = ("example.org", "example.net", "example.com")

SOAP_MIX = (
    ("NoOpRequest", 300),
    ("SearchRequest", 150),
    ("GetMsgRequest", 120),
    ("SearchConvRequest", 60),
    ("ConvActionRequest", 40),
    ("MsgActionRequest", 40),
    ("GetFolderRequest", 30),
    ("AutoCompleteRequest", 30),
    ("GetInfoRequest", 20),
    ("GetContactsRequest", 20),
    ("SaveDraftRequest", 20),
    ("GetApptSummariesRequest", 15),
    ("GetMiniCalRequest", 15),
    ("GetConvRequest", 25),
    ("GetWorkingHoursRequest", 8),
    ("GetFilterRulesRequest", 4),
    ("GetSignaturesRequest", 4),
    ("GetIdentitiesRequest", 4),
    ("FolderActionRequest", 6),
    ("ItemActionRequest", 6),
    ("CheckSpellingRequest", 5),
    ("GetPrefsRequest", 4),
    ("ModifyPrefsRequest", 2),
)
BATCH_MEMBERS = ("GetInfoRequest", "GetFolderRequest", "SearchRequest", "GetMiniCalRequest")
AJAX_UAS = tuple(
    f"ZimbraWebClient - {b} ({p})/{VERSION}"
    for b in ("GC120", "GC121", "GC122", "GC123", "FF115", "FF122", "FF123", "SAF17", "EDGE122")
    for p in ("Win", "Mac", "Linux")
)
MODERN_UAS = tuple(
    f"ZimbraModernWebClient - {b} ({p})/{VERSION}"
    for b in ("GC122", "FF123", "SAF17")
    for p in ("Win", "Mac", "Linux")
)
STACKS = (
    (
        "WARN ",
        "mailbox",
        "Unable to fetch blob for item",
        "java.io.IOException: Stream closed\n"
        "\tat com.zimbra.cs.store.file.FileBlobStore.getContent(FileBlobStore.java:302)\n"
        "\tat com.zimbra.cs.mailbox.MailItem.getContentStream(MailItem.java:1788)\n"
        "\tat com.zimbra.cs.service.mail.GetMsg.handle(GetMsg.java:140)\n"
        "\tat com.zimbra.soap.SoapEngine.dispatchRequest(SoapEngine.java:676)",
    ),
    (
        "INFO ",
        "SoapEngine",
        "handler exception",
        "com.zimbra.cs.mailbox.MailServiceException$NoSuchItemException: no such message: {n}\n"
        "ExceptionId:{t}\n"
        'Code:mail.NO_SUCH_MSG Arg:(itemId, IID, "{n}")\n'
        "\tat com.zimbra.cs.mailbox.MailServiceException.NO_SUCH_MSG("
        "MailServiceException.java:372)\n"
        "\tat com.zimbra.cs.mailbox.Mailbox.getItemById(Mailbox.java:3512)\n"
        "\tat com.zimbra.cs.service.mail.GetMsg.handle(GetMsg.java:124)\n"
        "\tat com.zimbra.soap.SoapEngine.dispatchRequest(SoapEngine.java:676)",
    ),
)
CBPOLICYD_TRACE = (
    "com.zimbra.cs.mailclient.smtp.InvalidRecipientException: RCPT failed: Invalid recipient {r}: "
    "450 4.7.1 <{s}>: Sender address rejected: Deferring: Too many messages from sender in last "
    "60\n"
    "\tat com.zimbra.cs.mailclient.smtp.SmtpConnection.rcpt(SmtpConnection.java:680)\n"
    "\tat com.zimbra.cs.mailclient.smtp.SmtpConnection.sendInternal(SmtpConnection.java:482)\n"
    "\tat com.zimbra.cs.mailbox.MailSender.sendMessageToHost(MailSender.java:1296)"
)
ZIMBRAMON_SERVICES = [
    "amavis",
    "antispam",
    "antivirus",
    "cbpolicyd",
    "dnscache",
    "ldap",
    "logger",
    "mailbox",
    "memcached",
    "mta",
    "opendkim",
    "proxy",
    "service",
    "snmp",
    "spell",
    "stats",
    "zimbra",
    "zimbraAdmin",
    "zimlet",
]

# Share of each file's bytes made of mail flow (the rest is request chatter / Internet noise).
MAILBOX_CORE_SHARE = 0.30
ZIMBRA_CORE_SHARE = 0.8
# Per "unit" of mail flow: one webmail send, this many inbound messages and SASL submissions.
INBOUND_PER_SEND = 1.8
SASL_PER_SEND = 0.3
# Hourly weight of mail and of user activity (an office: quiet nights, two daytime peaks).
HOURLY = (
    0.12, 0.08, 0.06, 0.06, 0.08, 0.15, 0.45, 1.2, 2.2, 2.6, 2.6, 2.4,
    1.8, 2.3, 2.5, 2.4, 2.1, 1.6, 1.0, 0.7, 0.55, 0.45, 0.3, 0.18,
)  # fmt: skip


@dataclass(frozen=True)
class Planted:
    """One phished account as planted: what the logs show about it."""

    account: str
    attacker_ip: str
    first_failed_login: str | None
    login: str
    settings_changed: tuple[str, ...]
    webmail_sends: int
    webmail_recipients: int
    smtp_auth_ip: str | None = None
    smtp_auth_sends: int = 0
    smtp_auth_recipients: int = 0
    blocked_by_policy: bool = False


@dataclass(frozen=True)
class Generated:
    mailbox_log: Path
    zimbra_log: Path
    mailbox_bytes: int
    zimbra_bytes: int
    mailbox_lines: int
    zimbra_lines: int
    seconds: float
    seed: int
    planted: tuple[Planted, ...]
    decoys: tuple[str, ...]
    mix: dict[str, float] = field(default_factory=dict)

    @property
    def phished(self) -> list[str]:
        return [p.account for p in self.planted]

    def manifest(self) -> dict[str, object]:
        out = asdict(self)
        out["mailbox_log"] = str(self.mailbox_log)
        out["zimbra_log"] = str(self.zimbra_log)
        out["phished"] = self.phished
        out["version"] = GENERATOR_VERSION
        return out


# --------------------------------------------------------------------------------------------
# The world: users, address pools, the attack plan. Built identically in every process.


class User:
    __slots__ = (
        "addr",
        "mid",
        "uuid",
        "kind",
        "ua",
        "office_ip",
        "home_ip",
        "jhash",
        "ctx",
        "ctx_login",
        "imap_ctx",
        "lmtp_ctx",
        "item",
    )

    def __init__(self, rng: random.Random, addr: str, mid: int, kind: int) -> None:
        self.addr = addr
        self.mid = mid
        self.uuid = _uuid(rng)
        self.kind = kind  # 0 AJAX, 1 Modern UI, 2 IMAP desktop, 3 POP desktop
        self.ua = rng.choice(AJAX_UAS if kind != 1 else MODERN_UAS)
        self.office_ip = f"198.51.100.{rng.randint(1, 40)}"  # office NAT
        self.home_ip = f"198.{18 + rng.randint(0, 1)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        self.jhash = rng.randint(100_000_000, 2_000_000_000)  # JavaMail session hash
        self.item = rng.randint(300, 9000)  # next mail item id
        # [name=..;mid=..;oip=..;port=  +  port  +  ;ua=..;soapId=  +  id  +  ;]
        self.ctx = (
            f"[name={addr};mid={mid};oip={self.office_ip};port=",
            f"[name={addr};mid={mid};oip={self.home_ip};port=",
            f";ua={self.ua};soapId=",
        )
        self.ctx_login = (
            f"[name={addr};mid={mid};oip={self.office_ip};ua={ZCLIENT};soapId=",
            f"[name={addr};mid={mid};oip={self.home_ip};ua={ZCLIENT};soapId=",
        )
        via = f"via={HOST_IP}(nginx/1.20.0);ua=Zimbra/{VERSION};]"
        self.imap_ctx = (
            f"[name={addr};ip={HOST_IP};oip={self.office_ip};{via}",
            f"[name={addr};ip={HOST_IP};oip={self.home_ip};{via}",
        )
        self.lmtp_ctx = f"[name={addr};mid={mid};ip={HOST_IP};]"


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"


class Attack:
    """The night of one phished account, as timed events (ms of day)."""

    def __init__(
        self, rng: random.Random, idx: int, user: User, start_ms: int, scale: float
    ) -> None:
        self.user = user
        self.idx = idx
        self.ip = f"203.0.113.{64 + idx * 7 + rng.randint(0, 5)}"
        self.failed: list[int] = []
        if idx % 2 == 0:
            first = start_ms - rng.randint(240_000, 2_400_000)
            self.failed = [first + k * rng.randint(3000, 9000) for k in range(rng.randint(1, 3))]
        self.login = start_ms
        self.searches = [start_ms + 2500 + k * rng.randint(1500, 4000) for k in range(3)]
        settings = ("ModifyIdentityRequest", "ModifyPrefsRequest", "ModifyFilterRulesRequest")
        self.settings = [
            (start_ms + 40_000 + k * rng.randint(5000, 20_000), settings[(idx + k) % 3])
            for k in range(1 + idx % 2)
        ]
        n_sends = max(3, round(rng.randint(8, 16) * scale))
        t = start_ms + rng.randint(120, 240) * 1000
        self.sends: list[tuple[int, int]] = []
        for _ in range(n_sends):
            self.sends.append((t, rng.randint(60, 100)))
            t += rng.randint(20, 70) * 1000
        self.blocked = idx == 0  # the last send meets a cbpolicyd quota: "Failed to send"
        self.smtp_ip: str | None = None
        self.smtp_sends: list[tuple[int, int]] = []
        if idx == 1:
            self.smtp_ip = f"203.0.113.{200 + rng.randint(0, 20)}"
            t += rng.randint(10, 25) * 60_000
            for _ in range(max(2, round(4 * scale))):
                self.smtp_sends.append((t, 50))
                t += rng.randint(60, 200) * 1000

    def planted(self) -> Planted:
        sends = self.sends[:-1] if self.blocked else self.sends
        return Planted(
            account=self.user.addr,
            attacker_ip=self.ip,
            first_failed_login=_hms(self.failed[0]) if self.failed else None,
            login=_hms(self.login),
            settings_changed=tuple(name for _, name in self.settings),
            webmail_sends=len(sends),
            webmail_recipients=sum(n for _, n in sends),
            smtp_auth_ip=self.smtp_ip,
            smtp_auth_sends=len(self.smtp_sends),
            smtp_auth_recipients=sum(n for _, n in self.smtp_sends),
            blocked_by_policy=self.blocked,
        )


def _hms(ms: int) -> str:
    s = ms // 1000
    return f"{DAY[0]:04d}-{DAY[1]:02d}-{DAY[2]:02d} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


class World:
    """Everything both files must agree on, derived from the seed alone."""

    def __init__(self, seed: int, mailbox_bytes: int, phished: int) -> None:
        rng = random.Random(f"world-{seed}")
        n_users = max(60, min(20_000, mailbox_bytes // 200_000))
        names: list[str] = []
        seen: set[str] = set()
        while len(names) < n_users:
            f, last = rng.choice(FIRST), rng.choice(LAST)
            base = rng.choice((f"{f}.{last}", f"{f[0]}{last}", f"{f}.{last}"))
            addr = f"{base}@{DOMAIN}"
            n = 2
            while addr in seen:
                addr = f"{base}{n}@{DOMAIN}"
                n += 1
            seen.add(addr)
            names.append(addr)
        kinds = (0,) * 62 + (1,) * 18 + (2,) * 15 + (3,) * 5
        self.users = [User(rng, a, 10 + i, rng.choice(kinds)) for i, a in enumerate(names)]
        self.web = [u for u in self.users if u.kind < 2]
        self.desktop = [u for u in self.users if u.kind >= 2]
        self.imap = [u for u in self.users if u.kind == 2] or self.users
        self.pop = [u for u in self.users if u.kind == 3] or self.users
        self.desktop = self.desktop or self.users
        self.by_addr = {u.addr: u for u in self.users}
        self.ext_domains = [
            f"{w}{'' if k == 0 else k}.{tld}"
            for w in EXT_WORDS
            for k in range(4)
            for tld in EXT_TLDS
        ]
        self.mx = {
            d: (f"mx{rng.randint(1, 2)}.{d}", f"203.0.113.{rng.randint(1, 60)}")
            for d in self.ext_domains + list(SPAM_DOMAINS)
        }
        self.contacts = [
            f"{rng.choice(FIRST)}.{rng.choice(LAST)}@{rng.choice(self.ext_domains)}"
            for _ in range(max(500, n_users * 4))
        ]
        # The planted accounts: web users; attacks start between 00:40 and 04:20.
        picks = rng.sample(self.web[5:], phished) if phished else []
        scale = min(1.0, max(0.3, mailbox_bytes / (200 * MB)))
        self.attacks = [
            Attack(
                rng,
                i,
                u,
                (40 + i * 70 + rng.randint(0, 40)) * 60_000 + rng.randint(0, 59_999),
                scale,
            )
            for i, u in enumerate(picks)
        ]
        busy = {a.user.addr for a in self.attacks}
        others = [u for u in self.web if u.addr not in busy]
        # Legitimate look-alikes: meeting invitations, a DL send, a daytime announcement.
        organizers = rng.sample(others, 3)
        self.decoys = [u.addr for u in organizers]
        self.decoy_sends: list[tuple[int, User, str, int]] = [
            (rng.randint(9 * 60, 11 * 60) * 60_000, organizers[0], "invite", rng.randint(40, 80)),
            (rng.randint(14 * 60, 16 * 60) * 60_000, organizers[1], "invite", rng.randint(40, 80)),
            (rng.randint(16 * 60, 17 * 60) * 60_000, organizers[1], "dl", 118),
            (rng.randint(11 * 60, 12 * 60) * 60_000, organizers[2], "bulk", rng.randint(60, 70)),
        ]
        total = sum(HOURLY)
        self.weight = [HOURLY[m // 60] / total / 60 for m in range(MINUTES)]


# --------------------------------------------------------------------------------------------
# Mail flow events, shared by both renderers.


class Send:
    """A message leaving a mailbox (webmail) or a desktop client (SASL submission)."""

    __slots__ = (
        "t",
        "user",
        "via",
        "rcpts",
        "status",
        "nrcpt",
        "msgid",
        "size",
        "request",
        "ua",
        "oip",
        "reply",
        "attack",
        "fail_at",
    )

    def __init__(self) -> None:
        self.t = 0
        self.user: User
        self.via = "web"  # web | sasl
        self.rcpts: list[str] = []
        self.status: list[int] = []  # 0 sent, 1 bounced, 2 deferred, 3 local (lmtp)
        self.nrcpt = 0  # postfix count (after DL expansion)
        self.msgid = ""
        self.size = 0
        self.request = "SendMsgRequest"
        self.ua = ""
        self.oip = ""
        self.reply = ""  # ", origMsgId=…, replyType=r"
        self.attack = False
        self.fail_at = -1  # index of the RCPT cbpolicyd defers (the send fails)


class Inbound:
    __slots__ = ("t", "sender", "rcpts", "msgid", "size", "spam", "mx", "ip")

    def __init__(self) -> None:
        self.t = 0
        self.sender = ""
        self.rcpts: list[User] = []
        self.msgid = ""
        self.size = 0
        self.spam = False
        self.mx = ""
        self.ip = ""


class Mbx:
    """A mailbox.log-only event of the attack: login, failed login, request."""

    __slots__ = ("t", "user", "ip", "what")

    def __init__(self, t: int, user: User, ip: str, what: str) -> None:
        self.t = t
        self.user = user
        self.ip = ip
        self.what = what


Event = Send | Inbound | Mbx


class Flow:
    """Draws the shared event stream minute by minute from one seeded generator."""

    def __init__(self, world: World, seed: int, units_per_day: float) -> None:
        self.w = world
        self.rng = random.Random(f"flow-{seed}")
        self.units = units_per_day
        self.acc = [0.0, 0.0, 0.0]
        self.javamail = 4000
        self.pf_msgid = 0
        self.by_minute: dict[int, list[Event]] = {}
        for a in world.attacks:
            self._plan_attack(a)
        for t, u, what, n in world.decoy_sends:
            self._at(self._decoy(t, u, what, n))

    def _at(self, ev: Event) -> None:
        self.by_minute.setdefault(min(ev.t // 60_000, MINUTES - 1), []).append(ev)

    def _javamail_id(self, user: User, t: int) -> str:
        self.javamail += 1 + int(self.rng.random() * 3)
        return f"<{user.jhash}.{self.javamail}.{EPOCH_MS_AT_MIDNIGHT + t}.JavaMail.zimbra@{DOMAIN}>"

    def _postfix_id(self, t: int, domain: str) -> str:
        self.pf_msgid += 1
        s = t // 1000 - 3600  # UTC
        h, m, sec = s // 3600 % 24, s // 60 % 60, s % 60
        n = self.pf_msgid * 0x9E3779B1 & 0xFFFFFFFFFF
        return f"<20240315{h:02d}{m:02d}{sec:02d}.{n:010X}@{domain}>"

    def _spam_rcpt(self) -> str:
        r = self.rng
        first, second = r.choice(SPAM_FIRST), r.choice(SPAM_FIRST)
        return f"{first}.{second}{r.randint(1, 999)}@{r.choice(SPAM_DOMAINS)}"

    def _plan_attack(self, a: Attack) -> None:
        r = self.rng
        u = a.user
        for t in a.failed:
            self._at(Mbx(t, u, a.ip, "login-failed"))
        self._at(Mbx(a.login, u, a.ip, "login"))
        for t in a.searches:
            self._at(Mbx(t, u, a.ip, "SearchRequest"))
        for t, name in a.settings:
            self._at(Mbx(t, u, a.ip, name))
        for k, (t, n) in enumerate(a.sends):
            s = Send()
            s.t, s.user, s.attack, s.ua, s.oip = t, u, True, ZCLIENT, a.ip
            s.rcpts = [self._spam_rcpt() for _ in range(n)]
            s.nrcpt = n
            roll = [r.random() for _ in range(n)]
            s.status = [0 if x < 0.85 else 1 if x < 0.93 else 2 for x in roll]
            s.msgid = self._javamail_id(u, t)
            s.size = r.randint(1800, 2600)
            if a.blocked and k == len(a.sends) - 1:
                s.fail_at = r.randint(30, n - 1)
            self._at(s)
        for t, n in a.smtp_sends:
            s = Send()
            s.t, s.user, s.attack, s.via, s.oip = t, u, True, "sasl", a.smtp_ip or a.ip
            s.rcpts = [self._spam_rcpt() for _ in range(n)]
            s.nrcpt = n
            s.status = [0 if r.random() < 0.9 else 1 for _ in range(n)]
            s.msgid = self._postfix_id(t, DOMAIN)
            s.size = r.randint(2900, 3300)
            self._at(s)

    def _decoy(self, t: int, u: User, what: str, n: int) -> Send:
        r = self.rng
        s = Send()
        s.t, s.user, s.ua, s.oip = t, u, u.ua, u.office_ip
        if what == "invite":
            s.request = "CreateAppointmentRequest"
            s.rcpts = [v.addr for v in r.sample(self.w.users, min(n, len(self.w.users) - 1))]
            s.status = [3] * len(s.rcpts)
            s.nrcpt = len(s.rcpts)
        elif what == "dl":
            s.rcpts = [f"staff-all@{DOMAIN}"]
            s.status = [3] * n
            s.nrcpt = n
        else:
            s.rcpts = r.sample(self.w.contacts, min(n, len(self.w.contacts)))
            s.status = [0] * len(s.rcpts)
            s.nrcpt = len(s.rcpts)
        s.msgid = self._javamail_id(u, t)
        s.size = r.randint(3000, 9000)
        return s

    def minute(self, m: int) -> list[Event]:
        r = self.rng
        rnd = r.random
        w = self.w
        out: list[Event] = list(self.by_minute.pop(m, ()))
        per = self.units * w.weight[m]
        self.acc[0] += per
        self.acc[1] += per * INBOUND_PER_SEND
        self.acc[2] += per * SASL_PER_SEND
        counts = [int(a) for a in self.acc]
        for i, c in enumerate(counts):
            self.acc[i] -= c
        base = m * 60_000
        web, users, contacts, desktop = w.web, w.users, w.contacts, w.desktop
        for _ in range(counts[0]):
            s = Send()
            u = web[int(rnd() * len(web))]
            s.t = base + int(rnd() * 60_000)
            s.user, s.ua = u, u.ua
            s.oip = u.office_ip if 420 <= m < 1080 else u.home_ip
            self._fill_rcpts(s)
            s.msgid = self._javamail_id(u, s.t)
            s.size = 900 + int(rnd() * rnd() * 60_000)
            x = rnd()
            if x < 0.3:
                s.reply = f", origMsgId={u.uuid}:{u.item - 1 - int(rnd() * 200)}, replyType=r"
            elif x < 0.36:
                s.reply = f", origMsgId={u.uuid}:{u.item - 1 - int(rnd() * 200)}, replyType=w"
            out.append(s)
        for _ in range(counts[1]):
            e = Inbound()
            e.t = base + int(rnd() * 60_000)
            k = 1 if rnd() < 0.8 else 2 + int(rnd() * 3)
            e.rcpts = [users[int(rnd() * len(users))] for _ in range(k)]
            e.sender = contacts[int(rnd() * len(contacts))]
            dom = e.sender.rsplit("@", 1)[1]
            e.mx, e.ip = w.mx[dom]
            e.msgid = (
                f"<{int(rnd() * 1e12):x}.{int(rnd() * 1e6)}@{dom}>"
                if rnd() < 0.5
                else f"<{_uuid(r).upper()}@{dom}>"
            )
            e.size = 1500 + int(rnd() * rnd() * 200_000)
            e.spam = rnd() < 0.04
            out.append(e)
        for _ in range(counts[2]):
            s = Send()
            u = desktop[int(rnd() * len(desktop))]
            s.t = base + int(rnd() * 60_000)
            s.user, s.via = u, "sasl"
            s.oip = u.office_ip if 420 <= m < 1080 else u.home_ip
            self._fill_rcpts(s)
            s.msgid = f"<{_uuid(r)}@{DOMAIN}>"
            s.size = 1200 + int(rnd() * rnd() * 80_000)
            out.append(s)
        out.sort(key=_event_time)
        return out

    def _fill_rcpts(self, s: Send) -> None:
        r = self.rng.random
        x = r()
        n = 1 if x < 0.55 else 2 if x < 0.75 else 3 if x < 0.85 else 4 if x < 0.91 else 5
        if x > 0.95:
            n = 6 + int(r() * 15)
        users, contacts = self.w.users, self.w.contacts
        rcpts: list[str] = []
        status: list[int] = []
        for _ in range(n):
            if r() < 0.3:
                rcpts.append(users[int(r() * len(users))].addr)
                status.append(3)
            else:
                rcpts.append(contacts[int(r() * len(contacts))])
                y = r()
                status.append(0 if y < 0.985 else 1 if y < 0.993 else 2)
        s.rcpts, s.status, s.nrcpt = rcpts, status, n


def _event_time(ev: Event) -> int:
    return ev.t


# --------------------------------------------------------------------------------------------
# Writers: each keeps one minute of (ms, text) lines, sorts and writes them as one block.


class Writer:
    prefix_len = 0

    def __init__(self, path: Path, target: int, noise: int, share: Sequence[float]) -> None:
        self.out = path.open("wb", buffering=0)
        self.target = target
        self.noise = noise  # bytes of filler planned over the day, spread along `share`
        self.noise_written = 0
        self.cum: list[float] = []
        acc = 0.0
        for x in share:
            acc += x
            self.cum.append(acc)
        self.lines: list[tuple[int, str]] = []
        self.pending: list[tuple[int, str]] = []
        self.written = 0
        self.nlines = 0
        self.ts: list[str] = []

    def add(self, t: int, text: str) -> None:
        self.lines.append((t, text))

    def filler(self, minute: int, need: int) -> int:
        """Add about `need` bytes of lines that are not mail flow; returns the bytes added."""
        raise NotImplementedError

    def size(self, lines: list[tuple[int, str]]) -> int:
        return sum(len(x) for _, x in lines) + len(lines) * (self.prefix_len + 1)

    def end_minute(self, minute: int) -> None:
        want = int(self.noise * self.cum[minute]) - self.noise_written
        if minute == MINUTES - 1:  # the exact size: top up what the mail-flow estimate missed
            want = self.target - self.written - self.size(self.lines) - self.size(self.pending)
        if want > 0:
            self.noise_written += self.filler(minute, want)
        self.flush((minute + 1) * 60_000)

    def flush(self, end: int | None) -> None:
        chunk = self.pending + self.lines
        chunk.sort(key=_FIRST)
        cut = len(chunk)
        if end is not None:
            while cut and chunk[cut - 1][0] >= end:
                cut -= 1
        self.pending = chunk[cut:]
        self.lines = []
        block = self.render(chunk[:cut]).encode()
        self.out.write(block)
        self.written += len(block)
        self.nlines += cut

    def render(self, chunk: list[tuple[int, str]]) -> str:
        raise NotImplementedError

    def close(self) -> None:
        self.flush(None)
        self.out.close()


_FIRST = operator.itemgetter(0)


def _ts_table(kind: str) -> list[str]:
    """Timestamp prefix of every second of the day (and of the overflow after midnight)."""
    out: list[str] = []
    secs = [f"{x:02d}" for x in range(60)]
    for hour in range((86_400 + OVERFLOW_S) // 3600):
        d, h = divmod(hour, 24)
        if kind == "mailbox":
            day = f"{DAY[0]:04d}-{DAY[1]:02d}-{DAY[2] + d:02d} "
            out += [f"{day}{h:02d}:{m:02d}:{x}," for m in range(60) for x in secs]
        else:
            day = f"Mar {DAY[2] + d:2d} "
            out += [f"{day}{h:02d}:{m:02d}:{x} mail " for m in range(60) for x in secs]
    return out


class MailboxWriter(Writer):
    prefix_len = MBX_PREFIX_LEN

    def __init__(self, path: Path, target: int, noise: int, world: World, seed: int) -> None:
        share = [0.85 * w + 0.15 / MINUTES for w in world.weight]
        super().__init__(path, target, noise, share)
        self.w = world
        self.rng = random.Random(f"mailbox-{seed}")
        self.ts = _ts_table("mailbox")
        self.soap_id = 0x5F1E0000
        self.tid = 1500
        soap: list[str] = []
        for name, weight in SOAP_MIX:
            soap += [name] * weight
        self.soap = soap
        menu: list[int] = []
        # 0 soap, 1 imap login, 2 pop login, 3 web login, 4 batch, 5 bad web password,
        # 6 bad imap password, 7 stack trace
        for kind, weight in ((0, 8780), (1, 600), (2, 150), (3, 200), (4, 200), (5, 40), (6, 20)):
            menu += [kind] * weight
        menu += [7] * 10
        self.menu = menu
        self.office_pool = self._pool(True)
        self.home_pool = self._pool(False)

    def render(self, chunk: list[tuple[int, str]]) -> str:
        ts, ms = self.ts, MS
        return "".join([f"{ts[t // 1000]}{ms[t % 1000]}{x}\n" for t, x in chunk])

    def _sid(self) -> str:
        self.soap_id += 1 + int(self.rng.random() * 6)
        return f"{self.soap_id:x}"

    def _thread(self) -> int:
        self.tid += 1
        if self.tid > 4200:
            self.tid = 1500
        return self.tid

    def event(self, ev: Event) -> None:
        if isinstance(ev, Send):
            if ev.via == "web":
                self.web_send(ev)
            if ev.fail_at < 0:
                self.deliveries(ev)
        elif isinstance(ev, Inbound):
            if not ev.spam:
                self.lmtp(ev.t + 1200, ev.sender, ev.msgid, ev.size + 700, ev.rcpts)
        else:
            self.attack_step(ev)

    def web_send(self, s: Send) -> None:
        r = self.rng.random
        u = s.user
        t = s.t
        tid = self._thread()
        sid = self._sid()
        if s.attack:
            thread = f"[{QTP}-{tid}:{LOCAL_SOAP_URL}{s.request}]"
            ctx = f"[name={u.addr};mid={u.mid};oip={s.oip};ua={ZCLIENT};soapId={sid};]"
        else:
            thread = f"[{QTP}-{tid}:{SOAP_URL}{s.request}]"
            home = s.oip != u.office_ip
            ctx = f"{u.ctx[home]}{49152 + int(r() * 16000)}{u.ctx[2]}{sid};]"
        head = f"INFO  {thread} {ctx}"
        to = ", to=".join(s.rcpts)
        self.add(
            t,
            f"{head} smtp - Sending message to MTA at {HOST}: Message-ID={s.msgid}{s.reply}, "
            f"size={s.size}, sender={u.addr}, nrcpts={len(s.rcpts)}, to={to}",
        )
        if s.fail_at >= 0:
            trace = CBPOLICYD_TRACE.format(r=s.rcpts[s.fail_at], s=u.addr)
            self.add(t + 420, f"WARN  {thread} {ctx} smtp - Failed to send message\n{trace}")
            self.add(t + 428, f"{head} soap - {s.request} elapsed={430 + int(r() * 60)}")
            return
        u.item += 1
        parent = f"-{u.item}" if not s.reply else str(u.item - 1 - int(r() * 50))
        self.add(
            t + 130 + int(r() * 60),
            f"{head} mailop - Adding Message: id={u.item}, Message-ID={s.msgid}, "
            f"parentId={parent}, folderId=5, folderName=Sent acct={u.uuid}.",
        )
        self.add(
            t + 200 + int(r() * 40), f"{head} soap - {s.request} elapsed={140 + int(r() * 90)}"
        )

    def deliveries(self, s: Send) -> None:
        """What LMTP hands back to this mailbox: local recipients and non-delivery reports."""
        u = s.user
        t = s.t
        local = [i for i, st in enumerate(s.status) if st == 3]
        if local:
            if s.nrcpt > len(s.rcpts):  # a distribution list, expanded by postfix
                users = self.w.users
                dest = [users[(u.mid * 31 + i * 7) % len(users)] for i in range(s.nrcpt)]
            else:
                by_addr = self.w.by_addr
                dest = [by_addr[s.rcpts[i]] for i in local]
            self.lmtp(t + 2600, u.addr, s.msgid, s.size + 1100, dest)
        if any(st == 1 for st in s.status):
            self.lmtp(t + 4200, "", f"<{s.msgid[1:-1]}.ndr@{HOST}>", 4200, [u])

    def lmtp(self, t: int, sender: str, msgid: str, size: int, rcpts: list[User]) -> None:
        r = self.rng.random
        for start in range(0, len(rcpts), 50):
            batch = rcpts[start : start + 50]
            thread = f"[LmtpServer-{1 + int(r() * 400)}]"
            self.add(
                t,
                f"INFO  {thread} [ip={HOST_IP};] lmtp - Delivering message: size={size} bytes, "
                f"nrcpts={len(batch)}, sender={sender}, msgid={msgid}",
            )
            for k, u in enumerate(batch):
                u.item += 1
                self.add(
                    t + 20 + k * 9,
                    f"INFO  {thread} {u.lmtp_ctx} mailop - Adding Message: id={u.item}, "
                    f"Message-ID={msgid}, parentId=-1, folderId=2, folderName=Inbox acct={u.uuid}.",
                )
            t += 60 + len(batch) * 9

    def attack_step(self, ev: Mbx) -> None:
        r = self.rng.random
        u = ev.user
        sid = self._sid()
        tid = self._thread()
        if ev.what == "login-failed":
            self.add(
                ev.t,
                f"INFO  [{QTP}-{tid}:{LOCAL_SOAP_URL}BatchRequest] [name={u.addr};oip={ev.ip};"
                f"ua={ZCLIENT};soapId={sid};] SoapEngine - handler exception: "
                f"authentication failed for [{u.addr}], invalid password",
            )
            return
        req = "BatchRequest" if ev.what == "login" else ev.what
        msg = "(batch) AuthRequest" if ev.what == "login" else ev.what
        self.add(
            ev.t,
            f"INFO  [{QTP}-{tid}:{LOCAL_SOAP_URL}{req}] [name={u.addr};mid={u.mid};oip={ev.ip};"
            f"ua={ZCLIENT};soapId={sid};] soap - {msg} elapsed={20 + int(r() * 50)}",
        )

    def _pool(self, office: bool) -> list[tuple[str, str]]:
        """POOL lines of request chatter, each as (text before the soapId, text after it).

        Building a line from a pool entry costs one f-string; the pools are rebuilt a slice at a
        time during the day so that users, ports and timings keep changing.
        """
        return [self._chatter(office) for _ in range(POOL)]

    def _chatter(self, office: bool) -> tuple[str, str]:
        r = self.rng.random
        w = self.w
        kind = self.menu[int(r() * len(self.menu))]
        home = 0 if office and r() < 0.85 else 1
        tid = 1500 + int(r() * 2700)
        if kind in (0, 4, 7):
            u = w.web[int(r() * len(w.web))]
            req = self.soap[int(r() * len(self.soap))]
            ctx = f"{u.ctx[home]}{49152 + int(r() * 16000)}{u.ctx[2]}"
            if kind == 0:
                return (
                    f"INFO  [{QTP}-{tid}:{SOAP_URL}{req}] {ctx}",
                    f";] soap - {req} elapsed={1 + int(r() * r() * 400)}",
                )
            if kind == 4:
                member = BATCH_MEMBERS[int(r() * len(BATCH_MEMBERS))]
                return (
                    f"INFO  [{QTP}-{tid}:{SOAP_URL}BatchRequest] {ctx}",
                    f";] soap - (batch) {member} elapsed={1 + int(r() * r() * 200)}",
                )
            level, cat, msg, trace = STACKS[int(r() * len(STACKS))]
            trace = trace.format(n=int(r() * 9000) + 100, t=f"{QTP}-{tid}:{SOAP_URL}GetMsgRequest")
            return (
                f"{level} [{QTP}-{tid}:{SOAP_URL}GetMsgRequest] {ctx}",
                f";] {cat} - {msg}\n{trace}",
            )
        if kind in (1, 6):
            u = w.imap[int(r() * len(w.imap))]
            if kind == 1:
                return (
                    f"INFO  [ImapServer-{tid}] {u.imap_ctx[home]} imap - user {u.addr} "
                    "authenticated, mechanism=LOGIN",
                    "",
                )
            ip = u.office_ip if home == 0 else u.home_ip
            return (
                f"INFO  [ImapServer-{tid}] [ip={HOST_IP};oip={ip};via={HOST_IP}(nginx/1.20.0);"
                f"ua=Zimbra/{VERSION};] imap - authentication failed for [{u.addr}] "
                "(invalid password)",
                "",
            )
        if kind == 2:
            u = w.pop[int(r() * len(w.pop))]
            ip = u.office_ip if home == 0 else u.home_ip
            return (
                f"INFO  [Pop3Server-{tid}] [name={u.addr};ip={HOST_IP};oip={ip};] pop - user "
                f"{u.addr} authenticated, mechanism=LOGIN ",
                "",
            )
        u = w.web[int(r() * len(w.web))]
        head = f"INFO  [{QTP}-{tid}:{LOCAL_SOAP_URL}BatchRequest]"
        if kind == 3:
            return (
                f"{head} {u.ctx_login[home]}",
                f";] soap - (batch) AuthRequest elapsed={20 + int(r() * 60)}",
            )
        ip = u.office_ip if home == 0 else u.home_ip
        return (
            f"{head} [name={u.addr};oip={ip};ua={ZCLIENT};soapId=",
            f";] SoapEngine - handler exception: authentication failed for [{u.addr}], "
            "invalid password",
        )

    def filler(self, minute: int, need: int) -> int:
        asked = need
        r = self.rng.random
        office = 420 <= minute < 1080
        pool = self.office_pool if office else self.home_pool
        add = self.lines.append
        first = len(self.lines)
        bits = self.rng.getrandbits
        base = minute * 60_000
        const = MBX_PREFIX_LEN + 1
        sid = self.soap_id
        while need > 0:
            pre, post = pool[bits(14)]
            if post:
                sid += 1
                text = f"{pre}{sid:x}{post}"
            else:
                text = pre
            add((base + (bits(16) * 60_000 >> 16), text))
            need -= len(text) + const
        self.soap_id = sid
        for _ in range((len(self.lines) - first) // POOL_REFRESH):  # keep the chatter changing
            pool[int(r() * POOL)] = self._chatter(office)
        return asked - need


class ZimbraWriter(Writer):
    prefix_len = SYS_PREFIX_LEN

    def __init__(self, path: Path, target: int, noise: int, world: World, seed: int) -> None:
        share = [0.5 * w + 0.5 / MINUTES for w in world.weight]
        super().__init__(path, target, noise, share)
        self.w = world
        self.rng = random.Random(f"zimbra-{seed}")
        self.ts = _ts_table("zimbra")
        self.qid = 0x4F2C81
        self.mailid = 1
        self.pid = 18000
        self.amavis = [[3100 + k, 0] for k in range(10)]
        rng = self.rng
        self.delays = [
            _delay(rng.random() * 0.3, rng.random() * 0.05, rng.random() * 0.02) for _ in range(256)
        ]
        self.remote_delays = [
            _delay(rng.random() * 3, rng.random() * 0.05, rng.random() * 1.5) for _ in range(256)
        ]
        self.bots = [f"203.0.113.{128 + k}" for k in range(127)] + [
            f"192.0.2.{100 + k}" for k in range(155)
        ]
        self.guesses = ["admin", "info", "test", "webmaster", "sales", "support"] + [
            u.addr.split("@")[0] for u in world.users[:200]
        ]
        self.status_every = 2 if target >= 100 * MB else 30

    def render(self, chunk: list[tuple[int, str]]) -> str:
        ts = self.ts
        return "".join([f"{ts[t // 1000]}{x}\n" for t, x in chunk])

    def _qid(self) -> str:
        self.qid += 1
        return f"{(self.qid * 0x9E3779B97F4A7C15 + 0x1A0B3E) & 0xFFFFFFFFFFF:011X}"

    def _mail_id(self) -> str:
        self.mailid += 1
        n = (self.mailid * 0x9E3779B97F4A7C15) & ((1 << 72) - 1)
        return base64.b64encode(n.to_bytes(9, "big"), b"+-").decode()

    def _pid(self) -> int:
        self.pid += 1 + int(self.rng.random() * 4)
        if self.pid > 32000:
            self.pid = 18000
        return self.pid

    def _amavis(self) -> str:
        child = self.amavis[int(self.rng.random() * 10)]
        child[1] += 1
        return f"amavis[{child[0]}]: ({child[0]:05d}-{child[1]:02d})"

    def _amavis_lines(self, t: int, head: str, text: str) -> None:
        """amavisd's own splitting: chunks of 980 chars, '...' at the cut (sample file)."""
        prog, pidseq = head.split(": ", 1)
        p = pidseq + " "
        first = AMAVIS_MAXLEN - len(p) - 3
        if len(p) + len(text) <= AMAVIS_MAXLEN:
            self.add(t, f"{head} {text}")
            return
        self.add(t, f"{head} {text[:first]}...")
        rest = text[first:]
        middle = AMAVIS_MAXLEN - len(p) - 6
        while len(p) + 3 + len(rest) > AMAVIS_MAXLEN:
            self.add(t, f"{head} ...{rest[:middle]}...")
            rest = rest[middle:]
        self.add(t, f"{head} ...{rest}")

    def end_minute(self, minute: int) -> None:
        self.status(minute)
        super().end_minute(minute)

    def status(self, minute: int) -> None:
        """zmstatuslog's lines: every two minutes (every 30 in files under 100 MB)."""
        if minute % self.status_every:
            return
        t = minute * 60_000 + 1000
        pid = 20000 + minute
        ts = _hms(t)
        for k, svc in enumerate(ZIMBRAMON_SERVICES):
            self.add(t + k, f"zimbramon[{pid}]: {pid}:info: {ts}, STATUS: {HOST}: {svc}: Running")

    def event(self, ev: Event) -> None:
        if isinstance(ev, Send):
            self.outbound(ev)
        elif isinstance(ev, Inbound):
            self.inbound(ev)

    def outbound(self, s: Send) -> None:
        r = self.rng.random
        add = self.add
        t = s.t + 30 + int(r() * 80)
        sender = s.user.addr
        pid = self._pid()
        web = s.via == "web"
        if web:
            client = f"{HOST}[{HOST_IP}]"
            prog = f"postfix/smtpd[{pid}]"
            port = 40000 + int(r() * 20000)
            add(
                t,
                f"postfix/postscreen[{pid - 1}]: CONNECT from [{HOST_IP}]:{port} to [{HOST_IP}]:25",
            )
            add(t, f"postfix/postscreen[{pid - 1}]: ALLOWLISTED [{HOST_IP}]:{port}")
            helo = HOST
        else:
            client = f"unknown[{s.oip}]"
            prog = f"postfix/submission/smtpd[{pid}]"
            port = 50000 + int(r() * 15000)
            helo = f"[{s.oip}]" if s.attack else f"[192.168.{int(r() * 255)}.{int(r() * 250) + 2}]"
        add(t, f"{prog}: connect from {client}")
        if not web:
            add(
                t + 300,
                f"{prog}: Anonymous TLS connection established from {client}: TLSv1.3 with cipher "
                "TLS_AES_256_GCM_SHA384 (256/256 bits)",
            )
            add(t + 320, f"saslauthd[2602]: auth_zimbra: {sender} auth OK")
            t += 330
        n_seen = len(s.rcpts) if s.fail_at < 0 else s.fail_at + 1
        for rc in s.rcpts[:n_seen]:
            add(
                t,
                f"{prog}: NOQUEUE: filter: RCPT from {client}: <{sender}>: Sender address triggers "
                f"FILTER smtp-amavis:[127.0.0.1]:10026; from=<{sender}> to=<{rc}> proto=ESMTP "
                f"helo=<{helo}>",
            )
        if s.fail_at >= 0:
            add(
                t + 400,
                f"{prog}: NOQUEUE: reject: RCPT from {client}: 450 4.7.1 <{sender}>: Sender "
                "address rejected: Deferring: Too many messages from sender in last 60; "
                f"from=<{sender}> to=<{s.rcpts[s.fail_at]}> proto=ESMTP helo=<{helo}>",
            )
            add(
                t + 410,
                f"{prog}: disconnect from {client} ehlo=1 mail=1 rcpt={s.fail_at}/{s.fail_at + 1} "
                f"rset=1 quit=1 commands={s.fail_at + 4}/{s.fail_at + 5}",
            )
            return
        a = self._qid()
        sasl = "" if web else f", sasl_method=LOGIN, sasl_username={sender}"
        add(t, f"{prog}: {a}: client={client}{sasl}")
        add(t + 5, f"postfix/cleanup[{pid + 2}]: {a}: message-id={s.msgid}")
        add(
            t + 8,
            f"postfix/qmgr[2231]: {a}: from=<{sender}>, size={s.size + 1}, nrcpt={s.nrcpt} "
            "(queue active)",
        )
        n = len(s.rcpts)
        if web:
            cmds = f"ehlo=1 mail=1 rcpt={n} data=1 quit=1 commands={n + 4}"
        else:
            cmds = f"ehlo=2 starttls=1 auth=1 mail=1 rcpt={n} data=1 quit=1 commands={n + 7}"
        add(t + 12, f"{prog}: disconnect from {client} {cmds}")
        # hop 1 -> amavis ORIGINATING -> dkimmilter (B)
        t1 = t + 150 + int(r() * 300)
        b = self._qid()
        dk = self._pid()
        add(t1, f"postfix/dkimmilter/smtpd[{dk}]: connect from localhost[127.0.0.1]")
        add(t1, f"postfix/dkimmilter/smtpd[{dk}]: {b}: client=localhost[127.0.0.1]")
        add(t1 + 2, f"postfix/cleanup[{pid + 2}]: {b}: message-id={s.msgid}")
        add(t1 + 3, f"opendkim[2410]: {b}: DKIM-Signature field added (s=2024, d={DOMAIN})")
        size_b = s.size + 470 + int(r() * 30)
        add(
            t1 + 4,
            f"postfix/qmgr[2231]: {b}: from=<{sender}>, size={size_b}, nrcpt={s.nrcpt} "
            "(queue active)",
        )
        rlist = ",".join([f"<{x}>" for x in s.rcpts])
        orig = HOST_IP if web else s.oip
        self._amavis_lines(
            t1 + 6,
            self._amavis(),
            f"Passed CLEAN {{RelayedOutbound}}, ORIGINATING/MYNETS LOCAL [{orig}]:{port} [{orig}] "
            f"<{sender}> -> {rlist}, Queue-ID: {a}, Message-ID: {s.msgid}, "
            f"mail_id: {self._mail_id()}, Hits: -, size: {s.size}, queued_as: {b}, "
            f"{t1 - t + int(r() * 40)} ms",
        )
        dl = self.delays[int(r() * 256)]
        for rc in s.rcpts:
            add(
                t1 + 7,
                f"postfix/smtp[{pid + 3}]: {a}: to=<{rc}>, relay=127.0.0.1[127.0.0.1]:10026, {dl}, "
                "dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10030): 250 2.0.0 Ok: "
                f"queued as {b})",
            )
        add(t1 + 8, f"postfix/qmgr[2231]: {a}: removed")
        # hop 2 -> amavis ORIGINATING_POST -> amavisd/smtpd (C)
        t2 = t1 + 600 + int(r() * 1500)
        c = self._qid()
        self._amavis_lines(
            t2,
            self._amavis(),
            f"Passed CLEAN {{RelayedOutbound}}, ORIGINATING_POST/MYNETS LOCAL [127.0.0.1]:"
            f"{48000 + int(r() * 9000)} [{orig}] <{sender}> -> {rlist}, Queue-ID: {b}, Message-ID: "
            f"{s.msgid}, mail_id: {self._mail_id()}, Hits: {_hits(r())}, size: {size_b}, "
            f"queued_as: {c}, dkim_sd=2024:{DOMAIN}, {t2 - t1} ms",
        )
        am = self._pid()
        add(t2 + 1, f"postfix/amavisd/smtpd[{am}]: {c}: client=localhost[127.0.0.1]")
        add(t2 + 2, f"postfix/cleanup[{pid + 2}]: {c}: message-id={s.msgid}")
        add(
            t2 + 3,
            f"postfix/qmgr[2231]: {c}: from=<{sender}>, size={size_b + 615}, nrcpt={s.nrcpt} "
            "(queue active)",
        )
        dl = self.delays[int(r() * 256)]
        for rc in s.rcpts:
            add(
                t2 + 4,
                f"postfix/smtp[{pid + 3}]: {b}: to=<{rc}>, relay=127.0.0.1[127.0.0.1]:10032, {dl}, "
                "dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: "
                f"queued as {c})",
            )
        add(t2 + 5, f"postfix/qmgr[2231]: {b}: removed")
        # hop 3 -> the Internet, or lmtp for local recipients
        t3 = t2 + 200 + int(r() * 900)
        bounced = False
        if s.nrcpt > len(s.rcpts):  # a distribution list: postfix delivers the expansion
            users = self.w.users
            u = s.user
            locals_ = [users[(u.mid * 31 + i * 7) % len(users)].addr for i in range(s.nrcpt)]
            self._lmtp(t3, c, locals_)
        else:
            lm = [rc for rc, st in zip(s.rcpts, s.status, strict=True) if st == 3]
            if lm:
                self._lmtp(t3, c, lm)
            spid = self._pid()
            for k, (rc, st) in enumerate(zip(s.rcpts, s.status, strict=True)):
                if st == 3:
                    continue
                dom = rc.rsplit("@", 1)[1]
                mx, ip = self.w.mx.get(dom, (f"mx.{dom}", "203.0.113.30"))
                rd = self.remote_delays[int(r() * 256)]
                tk = t3 + k * 40
                head = f"postfix/smtp[{spid}]: {c}: to=<{rc}>, relay={mx}[{ip}]:25, {rd}"
                if st == 0:
                    add(
                        tk,
                        f"{head}, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
                        f"{self._qid()[:9]})",
                    )
                elif st == 1:
                    bounced = True
                    add(
                        tk,
                        f"{head}, dsn=5.1.1, status=bounced (host {mx}[{ip}] said: 550 5.1.1 "
                        f"<{rc}>: Recipient address rejected: User unknown (in reply to RCPT TO "
                        "command))",
                    )
                else:
                    text = (
                        f"421 4.7.0 [{HOST_IP}] Our system has detected an unusual rate of "
                        "unsolicited mail originating from your IP address."
                        if s.attack
                        else f"450 4.7.1 <{rc}>: Recipient address rejected: Greylisted, see "
                        f"https://postgrey.example/{dom}.html"
                    )
                    add(
                        tk,
                        f"{head}, dsn=4.7.0, status=deferred (host {mx}[{ip}] said: {text} "
                        "(in reply to end of DATA command))",
                    )
        if not bounced:
            add(t3 + 60 + len(s.rcpts) * 40, f"postfix/qmgr[2231]: {c}: removed")
        if bounced:
            tb = t3 + len(s.rcpts) * 40 + 100
            d = self._qid()
            add(tb, f"postfix/bounce[{self._pid()}]: {c}: sender non-delivery notification: {d}")
            self._lmtp(tb + 500, d, [sender])

    def _lmtp(self, t: int, qid: str, rcpts: list[str]) -> None:
        r = self.rng.random
        pid = self._pid()
        add = self.add
        for k, rc in enumerate(rcpts):
            add(
                t + k * 9,
                f"postfix/lmtp[{pid}]: {qid}: to=<{rc}>, relay={HOST}[{HOST_IP}]:7025, "
                f"{self.delays[int(r() * 256)]}, dsn=2.1.5, status=sent (250 2.1.5 Delivery OK)",
            )
        add(t + len(rcpts) * 9 + 1, f"postfix/qmgr[2231]: {qid}: removed")

    def inbound(self, e: Inbound) -> None:
        r = self.rng.random
        add = self.add
        t = e.t
        pid = self._pid()
        port = 30000 + int(r() * 30000)
        client = f"{e.mx}[{e.ip}]"
        prog = f"postfix/smtpd[{pid}]"
        add(t, f"postfix/postscreen[{pid - 1}]: CONNECT from [{e.ip}]:{port} to [{HOST_IP}]:25")
        add(t + 1, f"postfix/postscreen[{pid - 1}]: PASS OLD [{e.ip}]:{port}")
        add(t + 2, f"{prog}: connect from {client}")
        add(
            t + 60,
            f"{prog}: Anonymous TLS connection established from {client}: TLSv1.3 with cipher "
            "TLS_AES_256_GCM_SHA384 (256/256 bits)",
        )
        for u in e.rcpts:
            add(
                t + 120,
                f"{prog}: NOQUEUE: filter: RCPT from {client}: <{e.sender}>: Sender address "
                f"triggers FILTER smtp-amavis:[127.0.0.1]:10024; from=<{e.sender}> to=<{u.addr}> "
                f"proto=ESMTP helo=<{e.mx}>",
            )
        a = self._qid()
        n = len(e.rcpts)
        add(t + 121, f"{prog}: {a}: client={client}")
        add(t + 180, f"postfix/cleanup[{pid + 2}]: {a}: message-id={e.msgid}")
        add(
            t + 182,
            f"postfix/qmgr[2231]: {a}: from=<{e.sender}>, size={e.size}, nrcpt={n} (queue active)",
        )
        add(
            t + 190,
            f"{prog}: disconnect from {client} ehlo=2 starttls=1 mail=1 rcpt={n} data=1 quit=1 "
            f"commands={n + 6}",
        )
        rlist = ",".join([f"<{u.addr}>" for u in e.rcpts])
        t1 = t + 800 + int(r() * 2500)
        if e.spam:
            self._amavis_lines(
                t1,
                self._amavis(),
                f"Blocked SPAM {{DiscardedInbound,Quarantined}}, [{e.ip}]:{port} [{e.ip}] "
                f"<{e.sender}> -> {rlist}, quarantine: spam-{self._mail_id()}.gz, Queue-ID: {a}, "
                f"Message-ID: {e.msgid}, mail_id: {self._mail_id()}, Hits: {8 + r() * 20:.3f}, "
                f"size: {e.size}, {t1 - t} ms",
            )
            dl = self.delays[int(r() * 256)]
            for u in e.rcpts:
                add(
                    t1 + 1,
                    f"postfix/smtp[{pid + 3}]: {a}: to=<{u.addr}>, relay=127.0.0.1[127.0.0.1]:"
                    f"10024, {dl}, dsn=2.7.0, status=sent (250 2.7.0 Ok, discarded, "
                    f"id={self.amavis[0][0]:05d} - spam)",
                )
            add(t1 + 2, f"postfix/qmgr[2231]: {a}: removed")
            return
        b = self._qid()
        self._amavis_lines(
            t1,
            self._amavis(),
            f"Passed CLEAN {{RelayedInbound}}, [{e.ip}]:{port} [{e.ip}] <{e.sender}> -> {rlist}, "
            f"Queue-ID: {a}, Message-ID: {e.msgid}, mail_id: {self._mail_id()}, "
            f"Hits: {_hits(r())}, size: {e.size}, queued_as: {b}, {t1 - t} ms",
        )
        add(t1 + 1, f"postfix/amavisd/smtpd[{self._pid()}]: {b}: client=localhost[127.0.0.1]")
        add(t1 + 2, f"postfix/cleanup[{pid + 2}]: {b}: message-id={e.msgid}")
        add(
            t1 + 3,
            f"postfix/qmgr[2231]: {b}: from=<{e.sender}>, size={e.size + 690}, nrcpt={n} "
            "(queue active)",
        )
        dl = self.delays[int(r() * 256)]
        for u in e.rcpts:
            add(
                t1 + 4,
                f"postfix/smtp[{pid + 3}]: {a}: to=<{u.addr}>, relay=127.0.0.1[127.0.0.1]:10024, "
                f"{dl}, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): "
                f"250 2.0.0 Ok: queued as {b})",
            )
        add(t1 + 5, f"postfix/qmgr[2231]: {a}: removed")
        self._lmtp(t1 + 100, b, [u.addr for u in e.rcpts])

    def filler(self, minute: int, need: int) -> int:
        """An Internet-facing MTA's noise: postscreen drops, rejected RCPTs, password guessing."""
        asked = need
        r = self.rng.random
        bots, guesses = self.bots, self.guesses
        nb, ng = len(bots), len(guesses)
        lines = self.lines
        base = minute * 60_000
        const = SYS_PREFIX_LEN + 1
        users = self.w.users
        while need > 0:
            before = len(lines)
            t = base + int(r() * 59_000)
            ip = bots[int(r() * nb)]
            port = 30000 + int(r() * 30000)
            pid = self.pid = self.pid + 1 if self.pid < 32000 else 18000
            ps = f"postfix/postscreen[{pid}]:"
            x = r()
            lines.append((t, f"{ps} CONNECT from [{ip}]:{port} to [{HOST_IP}]:25"))
            if x < 0.35:
                rcpt = users[int(r() * len(users))].addr
                lines.append((t + 1, f"{ps} DNSBL rank {3 + int(r() * 4)} for [{ip}]:{port}"))
                lines.append(
                    (
                        t + 900,
                        f"{ps} NOQUEUE: reject: RCPT from [{ip}]:{port}: 550 5.7.1 Service "
                        f"unavailable; client [{ip}] blocked using zen.spamhaus.org; "
                        f"from=<{guesses[int(r() * ng)]}@{SPAM_DOMAINS[int(r() * 6)]}>, "
                        f"to=<{rcpt}>, proto=ESMTP, helo=<{ip}>",
                    )
                )
                lines.append((t + 950, f"{ps} DISCONNECT [{ip}]:{port}"))
            elif x < 0.5:
                lines.append(
                    (t + 140, f"{ps} PREGREET 11 after 0.14 from [{ip}]:{port}: EHLO User\\r\\n")
                )
                lines.append((t + 145, f"{ps} DISCONNECT [{ip}]:{port}"))
            elif x < 0.8:
                sm = f"postfix/smtpd[{pid + 1}]:"
                rcpt = f"{guesses[int(r() * ng)]}{int(r() * 99)}@{DOMAIN}"
                lines.append((t + 1, f"{ps} PASS NEW [{ip}]:{port}"))
                lines.append((t + 2, f"{sm} connect from unknown[{ip}]"))
                lines.append(
                    (
                        t + 400,
                        f"{sm} NOQUEUE: reject: RCPT from unknown[{ip}]: 550 5.1.1 <{rcpt}>: "
                        f"Recipient address rejected: {DOMAIN}; from=<> to=<{rcpt}> proto=ESMTP "
                        f"helo=<{ip}>",
                    )
                )
                lines.append((t + 420, f"{sm} lost connection after RCPT from unknown[{ip}]"))
                lines.append(
                    (
                        t + 421,
                        f"{sm} disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 commands=2/3",
                    )
                )
            else:
                del lines[-1]
                sm = f"postfix/submission/smtpd[{pid}]:"
                who = guesses[int(r() * ng)]
                lines.append((t, f"{sm} connect from unknown[{ip}]"))
                tries = 1 + int(r() * 3)
                for k in range(tries):
                    lines.append(
                        (
                            t + 2000 * k + 1900,
                            f"saslauthd[2602]: auth_zimbra: {who} auth failed: authentication "
                            f"failed for [{who}]",
                        )
                    )
                    lines.append(
                        (
                            t + 2000 * k + 1901,
                            f"{sm} warning: unknown[{ip}]: SASL LOGIN authentication failed: "
                            "authentication failure",
                        )
                    )
                lines.append(
                    (
                        t + 2000 * tries + 500,
                        f"{sm} disconnect from unknown[{ip}] ehlo=1 auth=0/{tries} quit=1 "
                        f"commands=2/{tries + 2}",
                    )
                )
            for k in range(before, len(lines)):
                need -= len(lines[k][1]) + const
        return asked - need


def _delay(wait: float, conn: float, xfer: float) -> str:
    total = wait + conn + xfer + 0.01
    return f"delay={_sec(total)}, delays={_sec(wait)}/0.01/{_sec(conn)}/{_sec(xfer)}"


def _sec(x: float) -> str:
    """Postfix's delay format: two significant digits, '0' below 10 ms, never an exponent."""
    if x < 0.01:
        return "0"
    return f"{x:.2g}" if x < 10 else f"{x:.0f}"


def _hits(x: float) -> str:
    return "-" if x < 0.3 else f"{-2.5 + x * 5:.3f}"


# --------------------------------------------------------------------------------------------
# Driving one file, calibrating the mail volume, and the public entry point.


@dataclass(frozen=True)
class _Job:
    kind: str  # mailbox | zimbra
    path: str
    target: int
    noise: int
    mailbox_target: int
    seed: int
    phished: int
    units: float


def _run(job: _Job) -> tuple[int, int, float]:
    cpu = time.process_time()
    world = World(job.seed, job.mailbox_target, job.phished)
    flow = Flow(world, job.seed, job.units)
    writer: MailboxWriter | ZimbraWriter
    if job.kind == "mailbox":
        writer = MailboxWriter(Path(job.path), job.target, job.noise, world, job.seed)
    else:
        writer = ZimbraWriter(Path(job.path), job.target, job.noise, world, job.seed)
    for m in range(MINUTES):
        for ev in flow.minute(m):
            writer.event(ev)
        writer.end_minute(m)
    writer.close()
    return writer.written, writer.nlines, time.process_time() - cpu


def _calibrate(
    seed: int, mailbox_target: int, zimbra_target: int, phished: int
) -> tuple[float, float, int, int]:
    """Bytes per unit of mail flow in each file, and bytes of the planted events (fixed)."""
    world = World(seed, mailbox_target, 0)
    flow = Flow(world, seed + 1, 1500.0 / world.weight[600])
    devnull = Path(os.devnull)
    mw = MailboxWriter(devnull, 0, 0, world, seed)
    zw = ZimbraWriter(devnull, zimbra_target, 0, world, seed)
    for ev in flow.minute(600):
        mw.event(ev)
        zw.event(ev)
    per_m = mw.size(mw.lines) / 1500
    per_z = zw.size(zw.lines) / 1500
    mw.lines, zw.lines = [], []
    planted = Flow(World(seed, mailbox_target, phished), seed, 0.0)
    for events in planted.by_minute.values():
        for ev in events:
            mw.event(ev)
            zw.event(ev)
    for m in range(MINUTES):
        zw.status(m)
    fixed_m, fixed_z = mw.size(mw.lines), zw.size(zw.lines)
    mw.out.close()
    zw.out.close()
    return per_m, per_z, fixed_m, fixed_z


def generate(
    out_dir: Path,
    mailbox_bytes: int = GB,
    zimbra_bytes: int = GB,
    seed: int = 20240315,
    phished: int = 3,
    workers: int = 2,
) -> Generated:
    """Write ``out_dir/mailbox.log`` and ``out_dir/zimbra.log`` (+ ``loggen.json``)."""
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    per_m, per_z, fixed_m, fixed_z = _calibrate(seed, mailbox_bytes, zimbra_bytes, phished)
    units = max(
        MINUTES / 10,
        min(
            (mailbox_bytes * MAILBOX_CORE_SHARE - fixed_m) / per_m,
            (zimbra_bytes * ZIMBRA_CORE_SHARE - fixed_z) / per_z,
        ),
    )
    noise_m = max(0, int(mailbox_bytes - units * per_m - fixed_m))
    noise_z = max(0, int(zimbra_bytes - units * per_z - fixed_z))
    mbx, zl = str(out_dir / "mailbox.log"), str(out_dir / "zimbra.log")
    jobs = [
        _Job("mailbox", mbx, mailbox_bytes, noise_m, mailbox_bytes, seed, phished, units),
        _Job("zimbra", zl, zimbra_bytes, noise_z, mailbox_bytes, seed, phished, units),
    ]
    if workers > 1:
        ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            results = list(pool.map(_run, jobs))
    else:
        results = [_run(j) for j in jobs]
    world = World(seed, mailbox_bytes, phished)
    mix = {
        "webmail_sends_per_day": round(units),
        "inbound_per_day": round(units * INBOUND_PER_SEND),
        "sasl_submissions_per_day": round(units * SASL_PER_SEND),
        "users": len(world.users),
        "mailbox_mail_share": round(units * per_m / max(1, results[0][0]), 3),
        "zimbra_mail_share": round(units * per_z / max(1, results[1][0]), 3),
        "mailbox_cpu_s": round(results[0][2], 2),
        "zimbra_cpu_s": round(results[1][2], 2),
    }
    gen = Generated(
        mailbox_log=out_dir / "mailbox.log",
        zimbra_log=out_dir / "zimbra.log",
        mailbox_bytes=results[0][0],
        zimbra_bytes=results[1][0],
        mailbox_lines=results[0][1],
        zimbra_lines=results[1][1],
        seconds=time.monotonic() - started,
        seed=seed,
        planted=tuple(a.planted() for a in world.attacks),
        decoys=tuple(world.decoys),
        mix=mix,
    )
    (out_dir / "loggen.json").write_text(json.dumps(gen.manifest(), indent=2) + "\n")
    return gen


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.bench.loggen", description=__doc__.split("\n")[0]
    )
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--size-mb", type=int, default=1000, help="size of each file (default 1000)")
    ap.add_argument("--mailbox-mb", type=int, help="mailbox.log size (default --size-mb)")
    ap.add_argument("--zimbra-mb", type=int, help="zimbra.log size (default --size-mb)")
    ap.add_argument("--seed", type=int, default=20240315)
    ap.add_argument("--phished", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, choices=(1, 2))
    args = ap.parse_args(argv)
    gen = generate(
        args.out_dir,
        (args.mailbox_mb or args.size_mb) * MB,
        (args.zimbra_mb or args.size_mb) * MB,
        seed=args.seed,
        phished=args.phished,
        workers=args.workers,
    )
    total = (gen.mailbox_bytes + gen.zimbra_bytes) / MB
    print(
        f"mailbox.log {gen.mailbox_bytes / MB:8.1f} MB {gen.mailbox_lines:>11,} lines  "
        f"{gen.mailbox_log}"
    )
    print(
        f"zimbra.log  {gen.zimbra_bytes / MB:8.1f} MB {gen.zimbra_lines:>11,} lines  "
        f"{gen.zimbra_log}"
    )
    print(f"written in {gen.seconds:.1f} s ({total / gen.seconds:.0f} MB/s both files together)")
    print(f"mix: {json.dumps(gen.mix)}")
    for p in gen.planted:
        print(f"planted phished: {p.account} from {p.attacker_ip} at {p.login}")
    print(f"look-alikes (not phished): {', '.join(gen.decoys)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
