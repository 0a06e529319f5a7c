"""Pure units: URL normalisation, token exp decoding, redaction, filter rule round trip."""

from __future__ import annotations

import pytest
from lxml import etree

from zcomp.exitcodes import ConfigError
from zcomp.zimbra.filters import rules_from_xml, rules_to_xml
from zcomp.zimbra.model import FilterRule, Node
from zcomp.zimbra.ns import ADMIN, MAIL, el
from zcomp.zimbra.redact import redact
from zcomp.zimbra.tokens import token_expiry_ms, token_fields
from zcomp.zimbra.urls import admin_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://mail.example.edu:7071", "https://mail.example.edu:7071/service/admin/soap/"),
        ("https://mail.example.edu:7071/", "https://mail.example.edu:7071/service/admin/soap/"),
        ("https://h:7071/service/admin/soap", "https://h:7071/service/admin/soap/"),
        ("http://127.0.0.1:9/service/admin/soap/", "http://127.0.0.1:9/service/admin/soap/"),
    ],
)
def test_admin_url(given: str, expected: str) -> None:
    assert admin_url(given) == expected


@pytest.mark.parametrize("bad", ["mail.example.edu:7071", "ftp://h/", ""])
def test_admin_url_rejects(bad: str) -> None:
    with pytest.raises(ConfigError):
        admin_url(bad)


def test_token_exp_is_read_locally() -> None:
    data = "id=36:0e5b7c4a-0000-4000-8000-000000000001;exp=13:1700000000000;vv=1:3;type=6:zimbra;"
    token = f"0_{'ab' * 20}_{data.encode().hex()}"
    assert token_expiry_ms(token) == 1_700_000_000_000
    assert token_fields(token)["vv"] == "3"
    assert token_expiry_ms("garbage") is None
    assert token_expiry_ms("0_ab_zz") is None


def test_redact_xml_and_json() -> None:
    text = (
        "<AuthRequest><name>a</name><password>hunter2</password></AuthRequest>"
        '<ns0:authToken>0_tok</ns0:authToken><SetPasswordRequest id="1" newPassword="pw2"/>'
        "<newPassword>pw3</newPassword>"
        '{"password": "pw4", "authToken": [{"_content": "tok5"}], "name": "keep"}'
    )
    out = redact(text)
    for secret in ("hunter2", "0_tok", "pw2", "pw3", "pw4", "tok5"):
        assert secret not in out
    assert "<name>a</name>" in out and '"keep"' in out


SERVER_RULES = f"""
<GetFilterRulesResponse xmlns="{MAIL}"><filterRules>
  <filterRule name="evil" active="1">
    <filterTests condition="anyof">
      <headerTest index="0" header="subject" stringComparison="contains" value="invoice"/>
      <addressTest index="1" header="from" part="all" stringComparison="is" value="bank@x"
        negative="1"/>
    </filterTests>
    <filterActions>
      <actionRedirect index="0" a="drop@evil.example" copy="1"/>
      <actionFileInto index="1" folderPath="Trash"/>
      <actionStop index="2"/>
    </filterActions>
  </filterRule>
  <filterRule active="0">
    <filterVariables><filterVariable name="v" value="1"/></filterVariables>
    <filterTests><trueTest index="0"/></filterTests>
    <nestedRule>
      <filterTests condition="allof"><bodyTest index="0" value="x"/></filterTests>
      <filterActions><actionReply index="0"><content>away</content></actionReply></filterActions>
    </nestedRule>
  </filterRule>
</filterRules></GetFilterRulesResponse>
"""


def test_filter_rules_parse_and_round_trip() -> None:
    rules = rules_from_xml(etree.fromstring(SERVER_RULES))
    evil, unnamed = rules
    assert evil.name == "evil" and evil.condition == "anyof" and evil.active
    assert evil.tests[1] == Node(
        "addressTest",
        {
            "header": "from",
            "part": "all",
            "stringComparison": "is",
            "value": "bank@x",
            "negative": "1",
        },
    )
    assert [a.tag for a in evil.actions] == ["actionRedirect", "actionFileInto", "actionStop"]
    assert "index" not in evil.actions[0].attrs
    assert unnamed.name is None and not unnamed.active and unnamed.condition is None
    assert unnamed.variables == [Node("filterVariable", {"name": "v", "value": "1"})]
    assert unnamed.nested is not None
    assert unnamed.nested.actions == [Node("actionReply", children=[Node("content", text="away")])]
    assert [a.tag for a in unnamed.all_actions()] == ["actionReply"]

    # Written back (user side) and read again: identical, and the unnamed rule stays unnamed.
    request = el(MAIL, "ModifyFilterRulesRequest")
    rules_to_xml(request, MAIL, tuple(rules))
    assert rules_from_xml(request) == rules
    assert request[0][1].get("name") is None

    # Admin side: filterRules/filterRule are urn:zimbraAdmin, everything inside urn:zimbraMail.
    admin = el(ADMIN, "ModifyFilterRulesRequest")
    rules_to_xml(admin, ADMIN, (evil,))
    rule = admin[0][0]
    assert rule.tag == f"{{{ADMIN}}}filterRule"
    assert {etree.QName(c).namespace for c in rule.iter() if c is not rule} == {MAIL}
    assert rules_from_xml(admin) == [evil]


def test_filter_rule_dict_round_trip() -> None:
    rules = rules_from_xml(etree.fromstring(SERVER_RULES))
    assert [FilterRule.from_dict(r.to_dict()) for r in rules] == rules
