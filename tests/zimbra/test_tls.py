"""Real TLS on loopback: the CA bundle, the environment's bundle, --insecure, a wrong CA."""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.wiretap import Wiretap, wiretap
from zcomp.sandbox import Sandbox
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.errors import ZimbraTLSError
from zcomp.zimbra.model import Secret
from zcomp.zimbra.operations import GetAccount
from zcomp.zimbra.settings import ConnectionSettings
from zcomp.zimbra.soap import SoapChannel


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https(sandbox: Sandbox, ca: trustme.CA) -> Iterator[Wiretap]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with wiretap(sandbox.urls[0], tls=context) as tap:
        yield tap


def _client(url: str, **kwargs: object) -> ZimbraClient:
    settings = ConnectionSettings(
        url=url,
        admin="admin@sandbox.test",
        password=lambda: Secret("sandbox"),
        token_cache="off",
        **kwargs,  # type: ignore[arg-type]
    )
    return ZimbraClient(settings)


def test_ca_bundle_verifies_even_when_the_environment_names_another(
    https: Wiretap, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "zimbra-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    other = trustme.CA()
    wrong = tmp_path / "other-ca.pem"
    other.cert_pem.write_to_path(str(wrong))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(wrong))
    with _client(https.base_url, ca_bundle=bundle) as client:
        assert client.call(GetAccount("alice@sandbox.test")).name == "alice@sandbox.test"


def test_an_unknown_ca_is_a_tls_error(https: Wiretap, tmp_path: Path) -> None:
    wrong = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong))
    with _client(https.base_url, ca_bundle=wrong) as client, pytest.raises(ZimbraTLSError) as err:
        client.call(GetAccount("alice@sandbox.test"))
    assert err.value.exit_code == 4
    assert "\n" not in err.value.message and https.base_url.split("//")[1] in err.value.message
    assert https.exchanges == []  # nothing, the password least of all, was sent


def test_insecure_talks_to_an_unverified_server(https: Wiretap) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # --insecure is explicit: no urllib3 warning per call
        with _client(https.base_url, insecure=True) as client:
            assert client.call(GetAccount("alice@sandbox.test")).name == "alice@sandbox.test"


def test_with_no_ca_bundle_configured_the_environment_names_the_ca(
    https: Wiretap, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zcomp reads the environment once per endpoint, not per request: REQUESTS_CA_BUNDLE
    still counts when the configuration names no CA bundle."""
    bundle = tmp_path / "zimbra-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with _client(https.base_url) as client:
        assert client.call(GetAccount("alice@sandbox.test")).name == "alice@sandbox.test"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with _client(https.base_url) as client, pytest.raises(ZimbraTLSError):
        client.call(GetAccount("alice@sandbox.test"))  # the system CAs do not know it


def test_proxy_variables_are_read_once_per_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "mail.inside.example")
    outside = SoapChannel("https://mail.example:7071/service/admin/soap/", **_CHANNEL)
    inside = SoapChannel("https://mail.inside.example:7071/service/admin/soap/", **_CHANNEL)
    try:
        assert outside.session.proxies == {"https": "http://proxy.example:3128"}
        assert inside.session.proxies == {}
        assert not outside.session.trust_env  # ~/.netrc is never read, nor sent to Zimbra
    finally:
        outside.close()
        inside.close()


_CHANNEL: dict[str, Any] = {"verify": True, "timeout": (1.0, 1.0), "user_agent": "zcomp-test"}
