"""ZimbraClient over real HTTP against the canned loopback server in fake_server.py."""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.zimbra.conftest import ADMIN_PASSWORD, PasswordSource
from tests.zimbra.fake_server import (
    AUTH_OK,
    SOAP12,
    TOKEN,
    Exchange,
    FakeZimbra,
    Reply,
    fault,
    fault_reply,
    ok,
    serve,
    zimbra_like,
)
from zcomp.exitcodes import ExitCode
from zcomp.zimbra import operations as rq
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.errors import (
    NOT_RUN,
    ZimbraAuthError,
    ZimbraConnectionError,
    ZimbraFault,
    ZimbraProtocolError,
    ZimbraTimeout,
    ZimbraTLSError,
)
from zcomp.zimbra.model import Account, Modified, Secret
from zcomp.zimbra.settings import ConnectionSettings

Settings = Callable[..., ConnectionSettings]
FakeClient = Callable[..., tuple[FakeZimbra, ZimbraClient]]
ACCOUNT = (
    '<GetAccountResponse xmlns="urn:zimbraAdmin"><account name="u@x.test" id="id-1">'
    '<a n="zimbraAccountStatus">active</a><a n="zimbraMailForwardingAddress">a@evil</a>'
    '<a n="zimbraMailForwardingAddress">b@evil</a><newThing z="1"/></account>'
    "<csrfToken>later-versions-add-this</csrfToken></GetAccountResponse>"
)


def account_reply(ex: Exchange) -> Reply:
    return ok(ACCOUNT)


def test_call_sends_zimbra_shapes_and_parses(make_settings: Settings) -> None:
    with serve(zimbra_like({"GetAccountRequest": account_reply})) as fake:
        settings = make_settings(fake.url)
        with ZimbraClient(settings) as client:
            got = client.call(rq.GetAccount("U@x.test", attrs=("zimbraAccountStatus",)))
            again = client.call(rq.GetAccount("u@x.test"))
        assert (
            got
            == again
            == Account(
                "id-1",
                "u@x.test",
                {
                    "zimbraAccountStatus": ["active"],
                    "zimbraMailForwardingAddress": ["a@evil", "b@evil"],
                },
            )
        )
        assert fake.names() == ["AuthRequest", "GetAccountRequest", "GetAccountRequest"]
        assert client.round_trips == 3
        assert isinstance(settings.password, PasswordSource) and settings.password.calls == 1

        auth = fake.exchanges[0]
        assert auth.body.findtext("{urn:zimbraAdmin}password") == ADMIN_PASSWORD
        assert auth.header is not None and auth.header.find("{urn:zimbra}authToken") is None
        assert not auth.raw.startswith(b"\xef\xbb\xbf") and auth.raw.startswith(b"<")

        req = fake.exchanges[1]
        assert req.body.tag == "{urn:zimbraAdmin}GetAccountRequest"
        assert req.body.get("attrs") == "zimbraAccountStatus" and req.body.get("applyCos") == "0"
        acct = req.body.find("{urn:zimbraAdmin}account")
        assert acct is not None and acct.get("by") == "name" and acct.text == "U@x.test"
        header = req.header
        assert header is not None
        assert header.findtext("{urn:zimbra}authToken") == TOKEN
        assert header.find("{urn:zimbra}nosession") is not None
        ua = header.find("{urn:zimbra}userAgent")
        assert ua is not None and ua.get("name") == "zcomp" and ua.get("version")


def test_as_account_header_and_user_namespace(make_settings: Settings) -> None:
    prefs = (
        '<GetPrefsResponse xmlns="urn:zimbraAccount"><pref name="zimbraPrefMailForwardingAddress">'
        'x@evil</pref><pref name="zimbraPrefFromAddress">u@x.test</pref></GetPrefsResponse>'
    )
    with serve(zimbra_like({"GetPrefsRequest": lambda ex: ok(prefs)})) as fake:
        with ZimbraClient(make_settings(fake.url)) as client:
            got = client.call(rq.GetPrefs(), as_account="id-1")
        assert got == {
            "zimbraPrefMailForwardingAddress": ["x@evil"],
            "zimbraPrefFromAddress": ["u@x.test"],
        }
        header = fake.exchanges[1].header
        assert header is not None
        account = header.find("{urn:zimbra}account")
        assert account is not None and account.get("by") == "id" and account.text == "id-1"
        assert fake.exchanges[1].body.tag == "{urn:zimbraAccount}GetPrefsRequest"


@pytest.mark.parametrize("soap", ["http://schemas.xmlsoap.org/soap/envelope/", SOAP12])
def test_fault_shapes_become_typed_faults(
    fake_client: FakeClient, make_settings: Settings, soap: str
) -> None:
    responder = zimbra_like(
        {
            "GetAccountRequest": lambda ex: fault_reply(
                "account.NO_SUCH_ACCOUNT", "no such account: u", soap
            )
        }
    )
    fake, client = fake_client(responder)
    with pytest.raises(ZimbraFault) as caught:
        client.call(rq.GetAccount("u"))
    assert caught.value.code == "account.NO_SUCH_ACCOUNT"
    assert caught.value.reason == "no such account: u"
    assert caught.value.exit_code == ExitCode.FAULT
    assert client.round_trips == 2  # a fault is an answer: never retried


@pytest.mark.parametrize(
    "code", ["account.AUTH_FAILED", "service.PERM_DENIED", "account.CHANGE_PASSWORD"]
)
def test_login_refused_is_auth_error(
    fake_client: FakeClient, make_settings: Settings, code: str
) -> None:
    responder = zimbra_like({"AuthRequest": lambda ex: fault_reply(code, "authentication failed")})
    fake, client = fake_client(responder)
    with pytest.raises(ZimbraAuthError) as caught:
        client.call(rq.GetAccount("u"))
    assert caught.value.exit_code == ExitCode.AUTH and caught.value.code == code


def test_relogin_once_on_expired_token(make_settings: Settings) -> None:
    answers = iter(
        [fault_reply("service.AUTH_EXPIRED", "auth credentials have expired"), ok(ACCOUNT)]
    )
    with serve(zimbra_like({"ModifyAccountRequest": lambda ex: next(answers)})) as fake:
        settings = make_settings(fake.url, token_cache="file")
        with ZimbraClient(settings) as client:
            assert client.call(rq.ModifyAccount("id-1", {"zimbraAccountStatus": "locked"})) == (
                Modified("id-1", "u@x.test")
            )
    # A write refused for its token did nothing, so it is sent again after the re-login.
    assert fake.names() == [
        "AuthRequest",
        "ModifyAccountRequest",
        "AuthRequest",
        "ModifyAccountRequest",
    ]


def test_relogin_only_once(fake_client: FakeClient, make_settings: Settings) -> None:
    expired = fault_reply("service.AUTH_REQUIRED", "no valid authtoken present")
    fake, client = fake_client(zimbra_like({"GetAccountRequest": lambda ex: expired}))
    with pytest.raises(ZimbraFault) as caught:
        client.call(rq.GetAccount("u"))
    assert caught.value.code == "service.AUTH_REQUIRED"
    assert fake.names().count("AuthRequest") == 2 and client.round_trips == 4


def test_token_file_cache_skips_login(make_settings: Settings, tmp_path: Path) -> None:
    with serve(zimbra_like({"GetAccountRequest": account_reply})) as fake:
        first = make_settings(fake.url, token_cache="file")
        with ZimbraClient(first) as client:
            client.call(rq.GetAccount("u"))
        cache_file = tmp_path / "state" / "admin-tokens.json"
        assert stat.S_IMODE(os.stat(cache_file).st_mode) == 0o600
        assert ADMIN_PASSWORD not in cache_file.read_text()

        second = make_settings(fake.url, token_cache="file")
        with ZimbraClient(second) as client:
            client.call(rq.GetAccount("u"))
        assert client.round_trips == 1
        assert isinstance(second.password, PasswordSource) and second.password.calls == 0


def test_keyring_cache(make_settings: Settings, memory_keyring: object) -> None:
    with serve(zimbra_like({"GetAccountRequest": account_reply})) as fake:
        with ZimbraClient(make_settings(fake.url, token_cache="auto")) as client:
            client.login()
        with ZimbraClient(make_settings(fake.url, token_cache="keyring")) as client:
            client.login()
            client.call(rq.GetAccount("u"))
        assert fake.names() == ["AuthRequest", "GetAccountRequest"]


def test_expired_cached_token_is_not_used(make_settings: Settings) -> None:
    with serve(zimbra_like({})) as fake:
        settings = make_settings(fake.url, token_cache="file")
        with ZimbraClient(settings, clock=lambda: 4_102_444_800.0) as client:
            client.login()
            client.login()  # TOKEN's exp is year 2100: at that clock it is already expired
        assert fake.names() == ["AuthRequest", "AuthRequest"]


def batch_reply(ex: Exchange) -> Reply:
    children = list(ex.body)
    ids = [c.get("requestId") for c in children]
    assert ex.body.get("onerror") in ("continue", "stop")
    assert ids == [str(n) for n in range(1, len(children) + 1)]
    parts = [
        f'<GetAccountResponse xmlns="urn:zimbraAdmin" requestId="{ids[0]}">'
        '<account name="a@x" id="id-a"/></GetAccountResponse>',
        fault("account.NO_SUCH_ACCOUNT", "no such account: b", request_id=ids[1]),
    ]
    if ex.body.get("onerror") == "continue":
        parts.append(f'<NoOpResponse xmlns="urn:zimbraMail" requestId="{ids[2]}"/>')
    # Children come back in any order: the client maps them by requestId.
    parts.reverse()
    return ok(f'<BatchResponse xmlns="urn:zimbra">{"".join(parts)}</BatchResponse>')


@pytest.mark.parametrize("stop", [False, True])
def test_batch_maps_results_faults_and_not_run(
    fake_client: FakeClient, make_settings: Settings, stop: bool
) -> None:
    reqs: list[rq.Request[Any]] = [rq.GetAccount("a@x"), rq.GetAccount("b@x"), rq.NoOp()]
    fake, client = fake_client(zimbra_like({"BatchRequest": batch_reply}))
    results = client.batch(reqs, stop_on_error=stop)
    assert results[0] == Account("id-a", "a@x")
    assert isinstance(results[1], ZimbraFault) and results[1].code == "account.NO_SUCH_ACCOUNT"
    assert results[2] is NOT_RUN if stop else results[2] is None
    assert client.round_trips == 2
    body = fake.exchanges[1].body
    assert body.tag == "{urn:zimbra}BatchRequest"
    assert body.get("onerror") == ("stop" if stop else "continue")
    assert [c.tag for c in body] == [
        "{urn:zimbraAdmin}GetAccountRequest",
        "{urn:zimbraAdmin}GetAccountRequest",
        "{urn:zimbraMail}NoOpRequest",
    ]


def test_batch_relogin_resends_only_refused_children(
    fake_client: FakeClient, make_settings: Settings
) -> None:
    calls: list[int] = []

    def respond(ex: Exchange) -> Reply:
        calls.append(len(ex.body))
        if len(calls) == 1:  # first child ran, then the token died: stop leaves the third
            return ok(
                '<BatchResponse xmlns="urn:zimbra">'
                '<ModifyAccountResponse xmlns="urn:zimbraAdmin" requestId="1">'
                '<account name="a@x" id="id-a"/></ModifyAccountResponse>'
                + fault("service.AUTH_EXPIRED", "auth credentials have expired", request_id="2")
                + "</BatchResponse>"
            )
        names = [etree.QName(c).localname for c in ex.body]
        assert names == ["FlushCacheRequest", "NoOpRequest"]
        return ok(
            '<BatchResponse xmlns="urn:zimbra"><FlushCacheResponse xmlns="urn:zimbraAdmin" '
            'requestId="1"/><NoOpResponse xmlns="urn:zimbraMail" requestId="2"/></BatchResponse>'
        )

    reqs: list[rq.Request[Any]] = [
        rq.ModifyAccount("id-a", {"zimbraAccountStatus": "locked"}),
        rq.FlushCache(("id-a",)),
        rq.NoOp(),
    ]
    fake, client = fake_client(zimbra_like({"BatchRequest": respond}))
    results = client.batch(reqs, stop_on_error=True)
    assert results == [Modified("id-a", "a@x"), None, None]
    assert calls == [3, 2]
    assert fake.names() == ["AuthRequest", "BatchRequest", "AuthRequest", "BatchRequest"]


def test_read_only_retried_write_not(make_settings: Settings, no_sleep: list[float]) -> None:
    failures = [fault_reply("service.FAILURE", "system failure: ldap")] * 2
    answers = iter([*failures, ok(ACCOUNT)])
    with (
        serve(
            zimbra_like(
                {
                    "GetAccountRequest": lambda ex: next(answers),
                    "ModifyAccountRequest": lambda ex: failures[0],
                }
            )
        ) as fake,
        ZimbraClient(make_settings(fake.url, retries=2), sleep=no_sleep.append) as client,
    ):
        assert client.call(rq.GetAccount("u")).id == "id-1"
        with pytest.raises(ZimbraFault):
            client.call(rq.ModifyAccount("id-1", {"zimbraAccountStatus": "locked"}))
        with pytest.raises(ZimbraFault):  # a batch holding a write is a write
            client.batch([rq.ModifyAccount("id-1", {}), rq.GetAccount("u")])
    assert fake.names().count("GetAccountRequest") == 3
    assert fake.names().count("ModifyAccountRequest") == 1
    assert len(no_sleep) == 2 and no_sleep[0] < no_sleep[1] <= 2.0


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (
            Reply(502, b"<html><head><title>502 Bad Gateway</title></head></html>", "text/html"),
            "HTML",
        ),
        (Reply(200, b"this is not xml", "text/plain"), "not a SOAP envelope"),
        (Reply(500, b"", "text/plain"), "empty body"),
        (Reply(200, b'<?xml version="1.0"?><foo/>'), "not a SOAP envelope"),
    ],
)
def test_non_soap_replies(
    fake_client: FakeClient, make_settings: Settings, reply: Reply, words: str
) -> None:
    fake, client = fake_client(zimbra_like({"GetAccountRequest": lambda ex: reply}), retries=0)
    with pytest.raises(ZimbraProtocolError) as caught:
        client.call(rq.GetAccount("u"))
    message = str(caught.value)
    assert words in message and fake.url in message and "\n" not in message
    assert caught.value.exit_code == ExitCode.CONNECTION


def test_dropped_connection(
    fake_client: FakeClient, make_settings: Settings, no_sleep: list[float]
) -> None:
    fake, client = fake_client(
        zimbra_like({"GetAccountRequest": lambda ex: Reply(drop=True)}),
        retries=1,
        sleep=no_sleep.append,
    )
    with pytest.raises(ZimbraConnectionError) as caught:
        client.call(rq.GetAccount("u"))
    assert fake.url in str(caught.value)
    assert fake.names().count("GetAccountRequest") == 2  # read-only: retried once


def test_timeout(make_settings: Settings) -> None:
    release = threading.Event()
    try:
        with serve(
            zimbra_like({"GetAccountRequest": lambda ex: Reply(delay_event=release)})
        ) as fake:
            settings = make_settings(fake.url, read_timeout=0.3, retries=0)
            with ZimbraClient(settings) as client, pytest.raises(ZimbraTimeout) as caught:
                client.call(rq.GetAccount("u"))
            release.set()
    finally:
        release.set()
    assert fake.url in str(caught.value) and caught.value.exit_code == ExitCode.CONNECTION


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused(make_settings: Settings) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with (
        ZimbraClient(make_settings(url, retries=0)) as client,
        pytest.raises(ZimbraConnectionError) as caught,
    ):
        client.login()
    assert "127.0.0.1" in str(caught.value) and "refused" in str(caught.value)


def test_tls_against_plain_http_port(make_settings: Settings) -> None:
    with serve(zimbra_like({})) as fake:
        url = f"https://127.0.0.1:{fake.port}"
        with ZimbraClient(make_settings(url)) as client, pytest.raises(ZimbraTLSError) as caught:
            client.login()
    assert f"https://127.0.0.1:{fake.port}/service/admin/soap/" in str(caught.value)
    assert client.round_trips == 1  # TLS failures are never retried


def test_debug_output_is_redacted(fake_client: FakeClient, make_settings: Settings) -> None:
    seen: list[str] = []
    empty = ok('<SetPasswordResponse xmlns="urn:zimbraAdmin"/>')
    fake, client = fake_client(
        zimbra_like({"SetPasswordRequest": lambda ex: empty}), debug=seen.append
    )
    result = client.call(rq.SetPassword("id-1", Secret("N3w-Scrambled-pw")))
    assert result.message is None
    text = "\n".join(seen)
    assert "SetPasswordRequest" in text and "AuthResponse" in text
    for secret in (ADMIN_PASSWORD, "N3w-Scrambled-pw", TOKEN):
        assert secret not in text
    assert fake.exchanges[1].body.findtext("{urn:zimbraAdmin}newPassword") == "N3w-Scrambled-pw"


def test_ca_bundle_wins_over_environment(
    fake_client: FakeClient,
    make_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not used: the server is plain http\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/env-bundle.pem")
    fake, client = fake_client(zimbra_like({"GetAccountRequest": account_reply}), ca_bundle=bundle)
    client.call(rq.GetAccount("u"))
    assert client._channel.transport.verify == str(bundle)


def test_login_server_trouble_is_not_an_auth_error(fake_client: FakeClient) -> None:
    broken = fault_reply("service.UNKNOWN_DOCUMENT", "unknown document: AuthRequest")
    fake, client = fake_client(zimbra_like({"AuthRequest": lambda ex: broken}))
    with pytest.raises(ZimbraFault) as caught:
        client.login()
    assert not isinstance(caught.value, ZimbraAuthError)
    assert caught.value.exit_code == ExitCode.FAULT


def test_user_write_needs_target(fake_client: FakeClient) -> None:
    fake, client = fake_client(zimbra_like({}))
    with pytest.raises(ValueError, match="as_account"):
        client.call(rq.ModifyFilterRules(()))
    with pytest.raises(ValueError, match="as_account"):
        client.batch([rq.NoOp(), rq.DeleteSignature(id="s1")])
    assert fake.exchanges == []


def test_auto_cache_falls_back_to_file_without_keyring(
    make_settings: Settings, no_keyring: object, tmp_path: Path
) -> None:
    with serve(zimbra_like({})) as fake:
        with ZimbraClient(make_settings(fake.url, token_cache="auto")) as client:
            client.login()
        with ZimbraClient(make_settings(fake.url, token_cache="auto")) as client:
            client.login()
    assert fake.names() == ["AuthRequest"]
    assert (tmp_path / "state" / "admin-tokens.json").exists()


def test_the_login_rides_out_more_dropped_connections_than_a_read(
    make_settings: Settings, no_sleep: list[float]
) -> None:
    # A run that cannot log in loses every account: five drops in a row are still survived.
    drops = iter([Reply(200, b"", drop=True)] * 5)
    with (
        serve(zimbra_like({"AuthRequest": lambda ex: next(drops, None) or ok(AUTH_OK)})) as fake,
        ZimbraClient(make_settings(fake.url, retries=2), sleep=no_sleep.append) as client,
    ):
        client.login()
    assert fake.names().count("AuthRequest") == 6
    assert len(no_sleep) == 5


def test_a_wrong_password_is_asked_once(make_settings: Settings, no_sleep: list[float]) -> None:
    refused = fault_reply("account.AUTH_FAILED", "authentication failed for [admin]")
    with (
        serve(zimbra_like({"AuthRequest": lambda ex: refused})) as fake,
        ZimbraClient(make_settings(fake.url), sleep=no_sleep.append) as client,
        pytest.raises(ZimbraFault),
    ):
        client.login()
    assert fake.names().count("AuthRequest") == 1 and no_sleep == []
