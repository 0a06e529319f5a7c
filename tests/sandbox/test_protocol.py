# ruff: noqa: E501 - raw SOAP bodies read best on one line
"""Envelope, fault shapes, JSON form, batch, endpoints (zimbra-soap.md §1, §5)."""

from __future__ import annotations

import json

import pytest

from tests.sandbox.rawsoap import ADMIN, S11, S12, RawSoap, js_fault_code
from zcomp.sandbox import Sandbox

GET_ALICE = f'<GetAccountRequest xmlns="{ADMIN}"><account by="name">alice@sandbox.test</account></GetAccountRequest>'


def test_soap12_fault_shape(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        r = c.xml(GET_ALICE, token=None)
        assert r.status == 500
        assert r.content_type.startswith("text/xml")
        assert r.root.tag == f"{{{S12}}}Envelope"
        fault = r.body
        assert fault.tag == f"{{{S12}}}Fault"
        assert fault.findtext(f"{{{S12}}}Code/{{{S12}}}Value") == "soap:Sender"
        assert fault.findtext(f"{{{S12}}}Reason/{{{S12}}}Text") == "no valid authtoken present"
        assert (
            fault.findtext(f"{{{S12}}}Detail/{{urn:zimbra}}Error/{{urn:zimbra}}Code")
            == "service.AUTH_REQUIRED"
        )
    finally:
        c.close()


def test_soap11_fault_children_unqualified(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        r = c.xml(GET_ALICE, token=None, soap="11")
        assert r.status == 500 and r.root.tag == f"{{{S11}}}Envelope"
        assert r.body.findtext("faultcode") == "soap:Client"
        assert r.body.findtext("faultstring") == "no valid authtoken present"
        assert (
            r.body.findtext("detail/{urn:zimbra}Error/{urn:zimbra}Code") == "service.AUTH_REQUIRED"
        )
        assert r.fault_code == "service.AUTH_REQUIRED"
    finally:
        c.close()


def test_json_fault_shape(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        status, doc = c.js(
            "GetAccountRequest", ADMIN, {"account": {"by": "name", "_content": "x"}}, token=None
        )
        assert status == 500
        assert doc["_jsns"] == "urn:zimbraSoap"
        fault = doc["Body"]["Fault"]
        assert fault["Code"] == {"Value": "soap:Sender"}
        assert fault["Reason"]["Text"] == "no valid authtoken present"
        assert fault["Detail"]["Error"]["Code"] == "service.AUTH_REQUIRED"
        assert fault["Detail"]["Error"]["_jsns"] == "urn:zimbra"
    finally:
        c.close()


@pytest.mark.parametrize("soap", ["11", "12"])
def test_attribute_and_element_forms_and_prefixes(sandbox: Sandbox, soap: str) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        c.admin_login()
        alice = sandbox.account("alice@sandbox.test")
        zeep_style = (
            f'<ns0:ModifyAccountRequest xmlns:ns0="{ADMIN}" id="{alice.id}">'
            '<ns0:a n="zimbraPrefReplyToEnabled">FALSE</ns0:a></ns0:ModifyAccountRequest>'
        )
        assert c.xml(zeep_style, soap=soap).status == 200
        element_style = (
            f'<ModifyAccountRequest xmlns="{ADMIN}"><id>{alice.id}</id>'
            '<a n="zimbraPrefReplyToEnabled">TRUE</a></ModifyAccountRequest>'
        )
        r = c.xml(element_style, soap=soap)
        assert r.status == 200
        assert r.attrs()["zimbraPrefReplyToEnabled"] == ["TRUE"]
        attr_auth = f'<AuthRequest xmlns="{ADMIN}" name="admin@sandbox.test" password="sandbox"/>'
        assert c.xml(attr_auth, token=None, soap=soap).status == 200
    finally:
        c.close()


def test_json_request_and_response(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        status, doc = c.js(
            "AuthRequest", ADMIN, {"name": "admin@sandbox.test", "password": "sandbox"}, token=None
        )
        assert status == 200
        token = doc["Body"]["AuthResponse"]["authToken"][0]["_content"]
        status, doc = c.js(
            "GetAccountRequest",
            ADMIN,
            {"account": {"by": "name", "_content": "alice@sandbox.test"}},
            token=token,
        )
        assert status == 200
        acct = doc["Body"]["GetAccountResponse"]["account"][0]
        assert acct["name"] == "alice@sandbox.test"
        assert doc["Body"]["GetAccountResponse"]["_jsns"] == ADMIN
    finally:
        c.close()


def test_xml_replies_encode_text_as_zimbra_does(sandbox: Sandbox) -> None:
    """Element.XMLElement.xmlEncode: a character XML 1.0 cannot carry is "?", tab, newline and
    CR are written as they are, "&<>" escaped (and '"' in attributes). A value set over JSON
    with an ESC in it must still give an XML reply that parses."""
    c = RawSoap(sandbox.admin_url)
    try:
        token = c.admin_login()
        zid = c.xml(GET_ALICE).attrs()["zimbraId"][0]
        value = 'a\x1bb\x00c\r\nd\te "&<>"'
        status, doc = c.js(
            "ModifyAccountRequest",
            ADMIN,
            {"id": zid, "a": [{"n": "description", "_content": value}]},
            token=token,
        )
        assert status == 200, doc
        r = c.xml(GET_ALICE)
        assert r.status == 200
        assert b'<a n="description">a?b?c\r\nd\te "&amp;&lt;&gt;"</a>' in r.raw
        # A parser reads the CR LF as LF (XML's end-of-line handling), as from Zimbra.
        assert r.attrs()["description"] == ['a?b?c\nd\te "&<>"']
        status, doc = c.js("GetAccountRequest", ADMIN, {"account": {"by": "id", "_content": zid}})
        [js] = [
            a["_content"]
            for a in doc["Body"]["GetAccountResponse"]["account"][0]["a"]
            if a["n"] == "description"
        ]
        assert js == value  # JSON carries every character
    finally:
        c.close()


def test_format_js_header_switches_response(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        c.admin_login()
        r_status, ctype, data = c.post(
            (
                f'<soap:Envelope xmlns:soap="{S12}"><soap:Header><context xmlns="urn:zimbra">'
                f'<authToken>{c.token}</authToken><format type="js"/></context></soap:Header>'
                f"<soap:Body>{GET_ALICE}</soap:Body></soap:Envelope>"
            ).encode()
        )
        assert r_status == 200 and ctype == "text/javascript;charset=utf-8"  # SoapJSProtocol
        assert (
            json.loads(data)["Body"]["GetAccountResponse"]["account"][0]["name"]
            == "alice@sandbox.test"
        )
    finally:
        c.close()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (
            b"<soap:Envelope xmlns:soap='" + S12.encode() + b"'><soap:Body><unclosed></soap:Body>",
            "service.PARSE_ERROR",
        ),
        (b"{not json", "service.PARSE_ERROR"),
        (b" <soap:Envelope/>", "service.PARSE_ERROR"),  # leading space routes to the JSON parser
        (b"<Envelope xmlns='urn:other'><Body/></Envelope>", "service.INVALID_REQUEST"),
    ],
)
def test_malformed_requests(sandbox: Sandbox, raw: bytes, code: str) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        status, _, data = c.post(raw)
        assert status == 500
        assert code.encode() in data
    finally:
        c.close()


def test_unknown_document_and_admin_on_user_endpoint(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        c.admin_login()
        assert (
            c.xml(f'<NoSuchThingRequest xmlns="{ADMIN}"/>').fault_code == "service.UNKNOWN_DOCUMENT"
        )
        r = c.xml(GET_ALICE, path="/service/soap/")
        assert r.fault_code == "service.UNKNOWN_DOCUMENT"
        r = c.xml('<GetAppSpecificPasswordsRequest xmlns="urn:zimbraAccount"/>')
        assert r.fault_code == "service.UNKNOWN_DOCUMENT"
    finally:
        c.close()


def test_only_first_body_child_is_dispatched(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        c.admin_login()
        alice = sandbox.account("alice@sandbox.test")
        body = GET_ALICE + (
            f'<ModifyAccountRequest xmlns="{ADMIN}" id="{alice.id}">'
            '<a n="zimbraAccountStatus">locked</a></ModifyAccountRequest>'
        )
        assert c.xml(body).status == 200
        assert alice.first("zimbraAccountStatus") == "active"
    finally:
        c.close()


@pytest.mark.parametrize(
    ("onerror", "expected"), [(None, 3), ("continue", 3), ("stop", 2), ("Continue", 2)]
)
def test_batch_onerror_and_request_ids(
    sandbox: Sandbox, onerror: str | None, expected: int
) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        c.admin_login()
        attr = f' onerror="{onerror}"' if onerror else ""
        body = (
            f'<BatchRequest xmlns="urn:zimbra"{attr}>'
            f'<GetAccountRequest xmlns="{ADMIN}" requestId="1"><account by="name">bob@sandbox.test</account></GetAccountRequest>'
            f'<GetAccountRequest xmlns="{ADMIN}" requestId="2"><account by="name">nobody@sandbox.test</account></GetAccountRequest>'
            f'<GetAccountRequest xmlns="{ADMIN}" requestId="3"><account by="name">carol@sandbox.test</account></GetAccountRequest>'
            "</BatchRequest>"
        )
        r = c.xml(body)
        assert r.status == 200
        kids = list(r.body)
        assert len(kids) == expected
        assert [k.get("requestId") for k in kids] == ["1", "2", "3"][:expected]
        assert kids[1].tag == f"{{{S12}}}Fault"
        assert kids[1].findtext(".//{urn:zimbra}Code") == "account.NO_SUCH_ACCOUNT"
    finally:
        c.close()


def test_json_batch(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        c.admin_login()
        status, doc = c.js(
            "BatchRequest",
            "urn:zimbra",
            {
                "GetAccountRequest": [
                    {
                        "_jsns": ADMIN,
                        "requestId": "a",
                        "account": {"by": "name", "_content": "bob@sandbox.test"},
                    },
                    {
                        "_jsns": ADMIN,
                        "requestId": "b",
                        "account": {"by": "name", "_content": "zz@sandbox.test"},
                    },
                ]
            },
        )
        assert status == 200
        batch = doc["Body"]["BatchResponse"]
        assert batch["GetAccountResponse"][0]["requestId"] == "a"
        assert batch["Fault"][0]["requestId"] == "b"
        assert batch["Fault"][0]["Detail"]["Error"]["Code"] == "account.NO_SUCH_ACCOUNT"
    finally:
        c.close()


def test_request_id_echoed_on_single_request(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        c.admin_login()
        r = c.xml(GET_ALICE.replace("<GetAccountRequest ", '<GetAccountRequest requestId="77" '))
        assert r.body.get("requestId") == "77"
    finally:
        c.close()


def test_cookie_fallback(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        token = c.admin_login()
        r = c.xml(GET_ALICE, token=None, headers={"Cookie": f"ZM_ADMIN_AUTH_TOKEN={token}"})
        assert r.status == 200
        _, doc = c.js("NoOpRequest", "urn:zimbraMail", {}, token=None)
        assert js_fault_code(doc) == "service.AUTH_REQUIRED"
    finally:
        c.close()


def test_garbage_and_forged_tokens_are_auth_required(sandbox: Sandbox) -> None:
    c = RawSoap(sandbox.admin_url)
    try:
        token = c.admin_login()
        assert c.xml(GET_ALICE, token="garbage").fault_code == "service.AUTH_REQUIRED"
        key, mac, data = token.split("_")
        forged = f"{key}_{'0' * len(mac)}_{data}"
        assert c.xml(GET_ALICE, token=forged).fault_code == "service.AUTH_REQUIRED"
    finally:
        c.close()
