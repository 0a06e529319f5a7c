"""Filter rules: validate what ModifyFilterRules sends, store it as Sieve, render it back."""

from __future__ import annotations

from zcomp.sandbox.element import NS_MAIL, El
from zcomp.sandbox.faults import invalid_request, missing_element, parse_error

TESTS = frozenset(
    [
        "headerTest",
        "mimeHeaderTest",
        "headerExistsTest",
        "addressTest",
        "envelopeTest",
        "sizeTest",
        "dateTest",
        "currentTimeTest",
        "currentDayOfWeekTest",
        "bodyTest",
        "attachmentTest",
        "inviteTest",
        "addressBookTest",
        "contactRankingTest",
        "meTest",
        "conversationTest",
        "listTest",
        "bulkTest",
        "importanceTest",
        "flaggedTest",
        "trueTest",
        "facebookTest",
        "linkedinTest",
        "socialcastTest",
        "twitterTest",
        "communityRequestsTest",
        "communityContentTest",
        "communityConnectionsTest",
    ]
)
ACTIONS = frozenset(
    [
        "actionKeep",
        "actionDiscard",
        "actionFileInto",
        "actionRedirect",
        "actionFlag",
        "actionTag",
        "actionReply",
        "actionNotify",
        "actionRFCCompliantNotify",
        "actionReject",
        "actionEreject",
        "actionLog",
        "actionStop",
        "actionAddheader",
        "actionDeleteheader",
        "actionReplaceheader",
    ]
)
ACTIONS_8710 = frozenset({"actionReject", "actionEreject", "actionLog", "actionRFCCompliantNotify"})
ADMIN_ONLY = frozenset({"actionAddheader", "actionDeleteheader", "actionReplaceheader"})


def version_tuple(version: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def normalize_rules(
    rules_el: El | None, *, version: str, admin: bool = False, strict_ns: bool = False
) -> list[El]:
    """The rules to store (indexes dropped, defaults filled) or a fault like Zimbra's."""
    if rules_el is None:
        raise missing_element("filterRules")
    v = version_tuple(version)
    out: list[El] = []
    for rule in rules_el.all("filterRule"):
        out.append(_normalize_rule(rule, v, admin, strict_ns))
    return out


def _normalize_rule(rule: El, v: tuple[int, ...], admin: bool, strict_ns: bool) -> El:
    name = rule.attrs.get("name")
    if name is None:
        name = rule.get("name")
    active = rule.get("active", "1")
    norm = El("filterRule", NS_MAIL, {"name": name if name is not None else "null"})
    norm.attrs["active"] = "1" if (active or "1").lower() in ("1", "true") else "0"
    _normalize_body(rule, norm, v, admin, strict_ns, top=True)
    return norm


def _normalize_body(
    src: El, dst: El, v: tuple[int, ...], admin: bool, strict_ns: bool, *, top: bool
) -> None:
    variables = src.child("filterVariables")
    if variables is not None:
        if v < (8, 7, 10):
            raise invalid_request("unknown element: filterVariables")
        dst.children.append(_strip(variables))
    tests = src.child("filterTests")
    if tests is None or (strict_ns and tests.ns != NS_MAIL):
        raise missing_element("filterTests")
    t_out = El("filterTests", NS_MAIL, {"condition": tests.attrs.get("condition", "allof")})
    if t_out.attrs["condition"] not in ("allof", "anyof"):
        raise invalid_request(f"Invalid condition: {t_out.attrs['condition']}")
    for t in tests.children:
        if t.name not in TESTS:
            raise invalid_request(f"Invalid test: {t.name}")
        t_out.children.append(_strip(t))
    dst.children.append(t_out)
    nested = src.child("nestedRule")
    actions = src.child("filterActions")
    if actions is not None:
        if strict_ns and actions.ns != NS_MAIL:
            raise missing_element("filterActions")
        a_out = El("filterActions", NS_MAIL)
        for a in actions.children:
            if a.name not in ACTIONS:
                raise invalid_request(f"Invalid action: {a.name}")
            if a.name in ADMIN_ONLY and not admin:
                raise parse_error(f"{a.name[6:].lower()} action is not allowed in user scripts")
            if a.name in ACTIONS_8710 and v < (8, 7, 10):
                raise invalid_request(f"Invalid action: {a.name}")
            if "copy" in a.attrs and v < (8, 7, 10):
                raise invalid_request(f"unknown attribute copy on {a.name}")
            a_out.children.append(_strip(a))
        dst.children.append(a_out)
    if nested is not None:
        n_out = El("nestedRule", NS_MAIL)
        _normalize_body(nested, n_out, v, admin, strict_ns, top=False)
        dst.children.append(n_out)
    if actions is None and nested is None and top:
        raise missing_element("filterActions")


def _strip(el: El) -> El:
    out = El(el.name, NS_MAIL, {k: v for k, v in el.attrs.items() if k != "index"}, [], el.text)
    out.children = [_strip(c) for c in el.children]
    return out


def render_rules(rules: list[El], ns: str = NS_MAIL) -> El:
    """The <filterRules> element a Get*FilterRules response carries (server-added index=)."""
    out = El("filterRules", ns)
    for rule in rules:
        r = rule.copy().set_ns(NS_MAIL)
        r.ns = ns
        if r.attrs.get("name") is None:
            r.attrs.pop("name", None)
        _add_indexes(r)
        out.children.append(r)
    return out


def _add_indexes(el: El) -> None:
    for c in el.children:
        if c.name in ("filterTests", "filterActions"):
            for i, item in enumerate(c.children):
                item.attrs = {"index": str(i), **item.attrs}
        elif c.name == "nestedRule":
            _add_indexes(c)


# ---- Sieve rendering (what ends up in zimbraMailSieveScript) --------------------------------


def _q(s: str | None) -> str:
    return '"' + (s or "").replace("\\", "\\\\").replace('"', '\\"') + '"'


def _test_sieve(t: El) -> str:
    neg = "not " if t.attrs.get("negative") in ("1", "true") else ""
    a = t.attrs
    cmp = a.get("stringComparison", "contains")
    if t.name in ("headerTest", "mimeHeaderTest"):
        hdrs = ", ".join(_q(h) for h in (a.get("header") or "").split(","))
        body = f"header :{cmp} [{hdrs}] {_q(a.get('value'))}"
    elif t.name in ("addressTest", "envelopeTest"):
        kind = "address" if t.name == "addressTest" else "envelope"
        part = a.get("part", "all")
        body = f"{kind} :{part} :{cmp} [{_q(a.get('header'))}] {_q(a.get('value'))}"
    elif t.name == "headerExistsTest":
        body = f"exists {_q(a.get('header'))}"
    elif t.name == "sizeTest":
        body = f"size :{a.get('numberComparison', 'over')} {a.get('s', '0')}"
    elif t.name == "bodyTest":
        body = f"body :contains {_q(a.get('value'))}"
    elif t.name == "trueTest":
        body = "true"
    else:
        args = " ".join(f":{k} {_q(v)}" for k, v in a.items() if k != "negative")
        body = f"{t.name[:-4].lower()} {args}".strip()
    return neg + body


def _action_sieve(act: El) -> str:
    a = act.attrs
    copy = ":copy " if a.get("copy") in ("1", "true") else ""
    match act.name:
        case "actionKeep":
            return "keep;"
        case "actionDiscard":
            return "discard;"
        case "actionStop":
            return "stop;"
        case "actionFileInto":
            return f"fileinto {copy}{_q(a.get('folderPath'))};"
        case "actionRedirect":
            return f"redirect {copy}{_q(a.get('a'))};"
        case "actionFlag":
            return f"flag {_q(a.get('flagName'))};"
        case "actionTag":
            return f"tag {_q(a.get('tagName'))};"
        case "actionReject" | "actionEreject":
            return f"{act.name[6:].lower()} text:\n{act.text or ''}\n.\n;"
        case "actionNotify":
            return f"notify {_q(a.get('a'))} {_q(a.get('su'))} {_q(_content(act))};"
        case "actionReply":
            return f"reply {_q(_content(act))};"
        case _:
            args = " ".join(f":{k} {_q(v)}" for k, v in a.items())
            return f"{act.name[6:].lower()} {args};".replace(" ;", ";")


def _content(el: El) -> str:
    c = el.child("content")
    return (c.text if c is not None else el.text) or ""


def _body_sieve(rule: El, indent: str) -> list[str]:
    tests = rule.child("filterTests")
    cond = tests.attrs.get("condition", "allof") if tests is not None else "allof"
    parts = [_test_sieve(t) for t in tests.children] if tests is not None else []
    lines = [f"{indent}if {cond} ({', '.join(parts)}) {{"]
    nested = rule.child("nestedRule")
    if nested is not None:
        lines.extend(_body_sieve(nested, indent + "    "))
    actions = rule.child("filterActions")
    for act in actions.children if actions is not None else []:
        lines.append(indent + "    " + _action_sieve(act))
    lines.append(indent + "}")
    return lines


def to_sieve(rules: list[El]) -> str:
    lines = [
        'require ["fileinto", "copy", "reject", "tag", "flag", "variables", "log", "enotify"];',
        "",
    ]
    for rule in rules:
        name = rule.attrs.get("name")
        if name is not None:
            lines.append(f"# {name}")
        body = _body_sieve(rule, "")
        if rule.attrs.get("active") == "0":
            body[0] = body[0].replace("if ", "disabled_if ", 1)
        lines.extend(body)
    return "\n".join(lines) + "\n"
