"""The benchmark's log generator (tests/bench/loggen.py): deterministic, joined, sample-shaped.

A few MB of each file is enough to meet every line kind: the regexes are the ones validated
against the sample files in zimbra-logs.md sections 1.1, 1.3 and 3.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.bench import loggen
from tests.detect.helpers import SAMPLES

SIZE = 4 * loggen.MB

# zimbra-logs.md section 1.1 / 1.3
MBX = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?P<level>[A-Z]+) +"
    r"\[(?P<thread>[^\]]*)\] \[(?P<ctx>.*?)\] (?P<cat>\S+) - (?P<msg>.*)$"
)
CTX = re.compile(r"(\w+)=((?:[^;]|;;)*);")
SEND = re.compile(
    r"^Sending message(?: to MTA at (?P<mta>\S+))?: Message-ID=(?P<msgid><[^>]*>|\S+?)"
    r"(?:, origMsgId=(?P<orig>[^,]+))?(?:, replyType=(?P<rt>\w+))?(?:, uploads=\[.*?\])?"
    r"(?:, size=(?P<size>\d+))?(?:, sender=(?P<sender>[^,]+))?(?:, nrcpts=(?P<n>\d+))?"
    r"(?P<to>(?:, to=[^,]+)*)(?:, reason=.*)?$"
)
# zimbra-logs.md section 3
SYS = re.compile(
    r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)) "
    r"(?P<host>\S+) (?P<prog>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$"
)
QID = (
    r"(?P<qid>[0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}z"
    r"[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]+)"
)
CLIENT = re.compile(
    QID + r": client=(?P<host>[^\[]+)\[(?P<ip>[^\]]+)\](?::\d+)?"
    r"(?:, sasl_method=(?P<mech>[^,]+), sasl_username=(?P<user>[^,]+))?$"
)
MSGID = re.compile(QID + r": message-id=(?P<mid>.*)$")
QMGR = re.compile(
    QID + r": from=<(?P<from>[^>]*)>, size=(?P<size>\d+), nrcpt=(?P<n>\d+) \(queue active\)$"
)
DELIV = re.compile(
    QID + r": to=<(?P<to>[^>]*)>(?:, orig_to=<[^>]*>)?, relay=(?P<relay>[^,]+), "
    r"(?:conn_use=\d+, )?delay=[\d.]+, delays=[\d./]+, dsn=(?P<dsn>[\d.]+), "
    r"status=(?P<status>\w+) \((?P<text>.*)\)$"
)
REJECT = re.compile(
    r"NOQUEUE: reject: RCPT from (?P<host>[^\[]+)\[(?P<ip>[^\]]+)\]: (?P<code>\d{3}) "
    r"(?P<dsn>\d\.\d\.\d) (?P<text>.*?); from=<(?P<from>[^>]*)> to=<(?P<to>[^>]*)>"
)
SASLF = re.compile(
    r"warning: (?P<host>[^\[]+)\[(?P<ip>[^\]]+)\]: SASL (?P<mech>\S+) authentication failed: "
    r"(?P<why>.*)$"
)
AMAVIS = re.compile(
    r"^\((?P<amid>[\d-]+)\) (?P<disp>Passed|Blocked) (?P<cat>[A-Z-]+)(?: \{(?P<act>[^}]*)\})?, "
    r"(?:(?P<bank>[A-Z_/]+) )?(?:LOCAL )?\[(?P<peer>[^\]]+)\](?::\d+)? (?:\[(?P<oip>[^\]]+)\] )?"
    r"<(?P<from>[^>]*)> -> (?P<rcpts><[^>]*>(?:,<[^>]*>)*), (?:quarantine: \S+, )?"
    r"Queue-ID: (?P<qid>\w+), Message-ID: (?P<mid><[^>]*>), mail_id: \S+, Hits: (?P<hits>\S+), "
    r"size: \d+, queued_as: (?P<next>\w+)"
)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> loggen.Generated:
    return loggen.generate(tmp_path_factory.mktemp("day"), SIZE, SIZE, seed=7, workers=1)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _records(path: Path) -> list[str]:
    """mailbox.log records: a timestamped line plus its continuation lines."""
    out: list[str] = []
    for line in path.read_text().splitlines():
        if line[:2] == "20" or not out:
            out.append(line)
        else:
            out[-1] += "\n" + line
    return out


def _joined_syslog(path: Path) -> list[str]:
    """zimbra.log lines with amavis' split lines joined again ('...' at the cut)."""
    out: list[str] = []
    for line in path.read_text().splitlines():
        m = SYS.match(line)
        assert m, line
        msg = m["msg"]
        if m["prog"] == "amavis" and re.match(r"^\([\d-]+\) \.\.\.", msg) and out:
            head = out[-1]
            assert head.endswith("..."), (head[-40:], line[:80])
            out[-1] = head[:-3] + msg.split(" ...", 1)[1]
        else:
            out.append(line)
    return out


def test_same_seed_same_bytes_in_one_or_two_processes(
    day: loggen.Generated, tmp_path: Path
) -> None:
    again = loggen.generate(tmp_path / "again", SIZE, SIZE, seed=7, workers=2)
    assert _digest(again.mailbox_log) == _digest(day.mailbox_log)
    assert _digest(again.zimbra_log) == _digest(day.zimbra_log)
    assert again.planted == day.planted
    other = loggen.World(8, SIZE, 3)
    assert [a.user.addr for a in other.attacks] != day.phished


def test_sizes_are_the_ones_asked_for(day: loggen.Generated) -> None:
    for path, size in ((day.mailbox_log, day.mailbox_bytes), (day.zimbra_log, day.zimbra_bytes)):
        assert path.stat().st_size == size
        assert abs(size - SIZE) < 0.05 * SIZE, (path, size)


def test_mailbox_lines_have_the_sample_shapes(day: loggen.Generated) -> None:
    cats: set[str] = set()
    for rec in _records(day.mailbox_log):
        first, *cont = rec.split("\n")
        m = MBX.match(first)
        assert m, first
        assert first[23:30] in (" INFO  ", " WARN  ") or first[23:29] == " DEBUG", first[:40]
        ctx = m["ctx"]
        if ctx:
            pairs = CTX.findall(ctx)
            assert "".join(f"{k}={v};" for k, v in pairs) == ctx, ctx
        cats.add(f"{m['cat']} - {m['msg'].split(' ')[0]}")
        for line in cont:
            assert line.startswith(("\tat ", "com.zimbra.", "java.", "ExceptionId:", "Code:")), line
        if m["cat"] == "smtp" and m["msg"].startswith("Sending"):
            s = SEND.match(m["msg"])
            assert s, m["msg"][:200]
            n = int(s["n"])
            assert s["to"].count(", to=") == n
            assert s["sender"] == dict(CTX.findall(ctx))["name"]
    for kind in (
        "soap - NoOpRequest",
        "soap - (batch)",
        "smtp - Sending",
        "smtp - Failed",
        "mailop - Adding",
        "lmtp - Delivering",
        "imap - user",
        "pop - user",
        "SoapEngine - handler",
    ):
        assert kind in cats, (kind, sorted(cats))


def test_zimbra_lines_have_the_sample_shapes(day: loggen.Generated) -> None:
    seen = {"client": 0, "msgid": 0, "qmgr": 0, "deliv": 0, "reject": 0, "saslf": 0, "amavis": 0}
    for line in _joined_syslog(day.zimbra_log):
        m = SYS.match(line)
        assert m and m["host"] == "mail", line
        msg, prog = m["msg"], m["prog"]
        if ": client=" in msg:
            assert CLIENT.fullmatch(msg), msg
            seen["client"] += 1
        elif ": message-id=" in msg:
            assert prog == "postfix/cleanup" and MSGID.fullmatch(msg), msg
            seen["msgid"] += 1
        elif "(queue active)" in msg:
            assert QMGR.fullmatch(msg), msg
            seen["qmgr"] += 1
        elif ", status=" in msg:
            assert DELIV.fullmatch(msg), msg
            seen["deliv"] += 1
        elif "NOQUEUE: reject: RCPT from" in msg and prog != "postfix/postscreen":
            assert REJECT.search(msg), msg
            seen["reject"] += 1
        elif "SASL LOGIN authentication failed" in msg:
            assert SASLF.search(msg), msg
            seen["saslf"] += 1
        elif prog == "amavis" and " Passed " in msg:
            assert AMAVIS.match(msg), msg[:300]
            seen["amavis"] += 1
    assert all(seen.values()), seen


def test_amavis_splits_long_lines_as_the_sample_does(tmp_path: Path) -> None:
    sample = (SAMPLES / "zimbra.log").read_text().splitlines()
    pieces = [x for x in sample if "amavis[3122]" in x]
    assert len(pieces) == 3
    head = "amavis[3122]: (03122-15)"
    whole = pieces[0].split(f"{head} ", 1)[1][:-3]
    whole += pieces[1].split(f"{head} ...", 1)[1][:-3] + pieces[2].split(f"{head} ...", 1)[1]
    world = loggen.World(1, SIZE, 0)
    writer = loggen.ZimbraWriter(tmp_path / "z.log", 0, 0, world, 1)
    writer._amavis_lines(0, head, whole)
    writer.close()
    assert [x.split(" mail ", 1)[1] for x in (tmp_path / "z.log").read_text().splitlines()] == [
        x.split(" mail ", 1)[1] for x in pieces
    ]


def test_every_webmail_send_reaches_postfix_with_its_message_id(day: loggen.Generated) -> None:
    sends: dict[str, str] = {}  # soapId -> Message-ID
    failed: set[str] = set()
    for rec in _records(day.mailbox_log):
        m = MBX.match(rec.split("\n", 1)[0])
        assert m
        ctx = dict(CTX.findall(m["ctx"]))
        if m["cat"] == "smtp" and m["msg"].startswith("Sending message"):
            s = SEND.match(m["msg"])
            assert s
            sends[ctx["soapId"]] = s["msgid"]
        elif m["cat"] == "smtp" and m["msg"].startswith("Failed to send"):
            failed.add(ctx["soapId"])
    first_hop: set[str] = set()
    for line in day.zimbra_log.read_text().splitlines():
        if "postfix/cleanup[" in line:
            first_hop.add(line.rsplit("message-id=", 1)[1])
    assert sends and failed <= sends.keys()
    missing = [mid for sid, mid in sends.items() if sid not in failed and mid not in first_hop]
    assert not missing, missing[:5]
    # a send cbpolicyd refused at RCPT never got a queue id (as in the sample)
    assert all(sends[sid] not in first_hop for sid in failed)


def test_planted_accounts_are_reported_and_visible(day: loggen.Generated) -> None:
    assert len(day.planted) == 3
    assert len(set(day.phished)) == 3 and not set(day.phished) & set(day.decoys)
    manifest = (day.mailbox_log.parent / "loggen.json").read_text()
    for account in day.phished:
        assert account in manifest
    html_sends: dict[str, list[int]] = {a: [] for a in day.phished}
    first_seen: dict[tuple[str, str], str] = {}
    settings: dict[str, list[str]] = {a: [] for a in day.phished}
    for rec in _records(day.mailbox_log):
        m = MBX.match(rec.split("\n", 1)[0])
        assert m
        ctx = dict(CTX.findall(m["ctx"]))
        name, oip = ctx.get("name", ""), ctx.get("oip", "")
        if name and oip:
            first_seen.setdefault((name, oip), m["ts"])
        if name not in html_sends or ctx.get("ua") != "zclient/9.0.0_GA_4583":
            continue
        if m["cat"] == "smtp" and m["msg"].startswith("Sending"):
            s = SEND.match(m["msg"])
            assert s
            html_sends[name].append(int(s["n"]))
            assert "00:00" <= m["ts"][11:16] < "06:00"
        if m["msg"].startswith(("ModifyIdentityRequest", "ModifyPrefsRequest", "ModifyFilter")):
            settings[name].append(m["ts"])
    for p in day.planted:
        sizes = html_sends[p.account]
        assert len(sizes) >= 3 and all(60 <= n <= 100 for n in sizes), sizes
        assert settings[p.account], p.account
        # the attacker's address is new for the account: first seen at the failed/real login
        seen = first_seen[(p.account, p.attacker_ip)]
        assert seen[:19] == (p.first_failed_login or p.login), (seen, p)
        assert all(t > p.login for t in settings[p.account])
    smtp_auth = [p for p in day.planted if p.smtp_auth_ip]
    assert smtp_auth
    text = day.zimbra_log.read_text()
    for p in smtp_auth:
        assert (
            f"client=unknown[{p.smtp_auth_ip}], sasl_method=LOGIN, sasl_username={p.account}"
            in text
        )
