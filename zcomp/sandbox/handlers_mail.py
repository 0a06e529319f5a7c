"""urn:zimbraMail handlers: the user's filter rules, SendMsg, NoOp."""

from __future__ import annotations

from zcomp.sandbox.common import require_options
from zcomp.sandbox.directory import AccountEntry, Directory
from zcomp.sandbox.element import NS_MAIL, El
from zcomp.sandbox.engine import RequestContext, handler
from zcomp.sandbox.faults import SoapFault, missing_element
from zcomp.sandbox.filters import normalize_rules, render_rules, to_sieve
from zcomp.sandbox.mta import QueuedMessage

M = NS_MAIL
INCOMING, OUTGOING = "zimbraMailSieveScript", "zimbraMailOutgoingSieveScript"


def rules_of(d: Directory, entry: AccountEntry, attr: str) -> list[El]:
    script = entry.first(attr)
    return list(d.sieve_memo.get(script, [])) if script else []


def store_rules(d: Directory, entry: AccountEntry, attr: str, rules: list[El]) -> None:
    if not rules:
        entry.attrs.pop(attr, None)
        return
    script = to_sieve(rules)
    d.sieve_memo[script] = rules
    entry.attrs[attr] = [script]


def _get(rc: RequestContext, req: El, attr: str) -> El:
    resp = El(req.name.replace("Request", "Response"), M)
    resp.children.append(render_rules(rules_of(rc.dir, rc.require_target(), attr)))
    return resp


def _modify(rc: RequestContext, req: El, attr: str) -> El:
    require_options(rc)
    entry = rc.require_target()
    rules = normalize_rules(req.child("filterRules"), version=rc.world.version)
    store_rules(rc.dir, entry, attr, rules)
    rc.record_write(entry.name)
    rc.write_through(entry)
    return El(req.name.replace("Request", "Response"), M)


@handler(M, "GetFilterRulesRequest", "user")
def get_rules(rc: RequestContext, req: El) -> El:
    return _get(rc, req, INCOMING)


@handler(M, "ModifyFilterRulesRequest", "user")
def modify_rules(rc: RequestContext, req: El) -> El:
    return _modify(rc, req, INCOMING)


@handler(M, "GetOutgoingFilterRulesRequest", "user")
def get_out_rules(rc: RequestContext, req: El) -> El:
    return _get(rc, req, OUTGOING)


@handler(M, "ModifyOutgoingFilterRulesRequest", "user")
def modify_out_rules(rc: RequestContext, req: El) -> El:
    return _modify(rc, req, OUTGOING)


@handler(M, "NoOpRequest", "user")
def noop(rc: RequestContext, req: El) -> El:
    return El("NoOpResponse", M)


def _redirects(rules: list[El]) -> list[str]:
    out: list[str] = []
    for rule in rules:
        if rule.attrs.get("active") == "0":
            continue
        actions = rule.child("filterActions")
        for a in actions.children if actions is not None else []:
            if a.name == "actionRedirect" and a.attrs.get("a"):
                out.append(a.attrs["a"])
    return out


@handler(M, "SendMsgRequest", "user")
def send_msg(rc: RequestContext, req: El) -> El:
    entry = rc.require_target()
    m = req.child("m")
    if m is None:
        raise missing_element("m")
    recipients: list[str] = []  # mm.getAllRecipients(): To, Cc and Bcc
    header_from = entry.first("zimbraPrefFromAddress") or entry.name
    header_sender = reply_to = None
    for e in m.all("e"):
        kind, addr = e.get("t") or "t", (e.get("a") or "").strip()
        if kind in ("t", "c", "b") and addr:
            recipients.append(addr)
        elif kind == "f" and addr:
            header_from = addr
        elif kind == "s" and addr:
            header_sender = addr
        elif kind == "r" and addr and reply_to is None:
            reply_to = addr
    if not recipients:
        # MailSender.sendMessage: SendFailedException("No recipient addresses")
        raise SoapFault("mail.SEND_FAILURE", "SMTP server reported: No recipient addresses")
    # MailSender: MAIL FROM is the account's name when zimbraSmtpRestrictEnvelopeFrom (COS
    # default TRUE), else the Sender, Reply-To or From header, in that order.
    envelope_from = entry.name
    if rc.dir.effective1(entry, "zimbraSmtpRestrictEnvelopeFrom", "TRUE") != "TRUE":
        envelope_from = header_sender or reply_to or header_from
    subject = m.get("su") or ""
    body = _text(m)
    now = rc.now()
    seq = rc.world.next_seq()
    message_id = f"<{seq}.{rc.server.index}.{int(now * 1000)}.JavaMail.zimbra@sandbox.test>"
    size = len(body) + len(subject) + 400 + 40 * len(recipients)
    ip = rc.oip.split(",")[-1].strip() if rc.oip else rc.peer_ip
    msg = QueuedMessage(
        id=rc.server.mta.new_id(),
        sender=envelope_from,
        recipients=recipients,
        arrival=now,
        size=size,
        message_id=message_id,
        header_from=header_from,
        subject=subject,
        reason="host mx.freemail.test[198.51.100.25] said: 421 4.7.0 Try again later",
        origin_ip=ip,
        origin_host=rc.server.name,
    )
    rc.server.mta.enqueue(msg)
    for target in _redirects(rules_of(rc.dir, entry, OUTGOING)):
        copy = QueuedMessage(
            id=rc.server.mta.new_id(),
            sender=envelope_from,
            recipients=[target],
            arrival=now,
            size=size,
            message_id=message_id,
            header_from=header_from,
            subject=subject,
            reason=msg.reason,
            origin_ip=ip,
            origin_host=rc.server.name,
        )
        rc.server.mta.enqueue(copy)
    rc.record_write(entry.name)
    _log_send(rc, entry, msg)
    resp = El("SendMsgResponse", M)
    resp.add("m", {"id": str(256 + seq)})
    return resp


def _text(m: El) -> str:
    parts: list[str] = []
    stack = [m]
    while stack:
        el = stack.pop()
        if el.name == "content" and el.text:
            parts.append(el.text)
        stack.extend(el.children)
    return "\n".join(parts)


def _log_send(rc: RequestContext, entry: AccountEntry, msg: QueuedMessage) -> None:
    logs = rc.world.logs
    if not logs.enabled:
        return
    ctx = rc.log_ctx()
    ctx.mid = (
        str(2 + list(rc.dir.accounts).index(entry.id)) if entry.id in rc.dir.accounts else None
    )
    tos = "".join(f", to={r}" for r in msg.recipients)
    logs.mailbox(
        msg.arrival,
        ctx,
        "smtp",
        f"Sending message to MTA at {rc.server.name}: Message-ID={msg.message_id}, size={msg.size},"
        f" sender={entry.name}, nrcpts={len(msg.recipients)}{tos}",
    )
    logs.mailbox(
        msg.arrival,
        ctx,
        "mailop",
        f"Adding Message: id={msg.id[-4:]}, Message-ID={msg.message_id}, parentId=-1, folderId=5,"
        f" folderName=Sent acct={entry.id}.",
    )
    host = rc.server.name
    logs.syslog(msg.arrival, host, "postfix/smtpd", 4242, f"{msg.id}: client={host}[127.0.0.1]")
    logs.syslog(
        msg.arrival, host, "postfix/cleanup", 4243, f"{msg.id}: message-id={msg.message_id}"
    )
    logs.syslog(
        msg.arrival,
        host,
        "postfix/qmgr",
        4244,
        f"{msg.id}: from=<{entry.name}>, size={msg.size}, nrcpt={len(msg.recipients)}"
        " (queue active)",
    )
    for r in msg.recipients:
        logs.syslog(
            msg.arrival,
            host,
            "postfix/smtp",
            4245,
            f"{msg.id}: to=<{r}>, relay=mx.freemail.test[198.51.100.25]:25, delay=0.4,"
            f" delays=0.1/0/0.2/0.1, dsn=4.7.0, status=deferred ({msg.reason})",
        )
