"""ZimbraClient costs: construction in a fresh process, and per-call overhead vs raw requests.

Run: .venv/bin/python -m tests.bench bench_client
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import requests

from tests.bench.report import figure
from tests.zimbra.fake_server import ok, serve, zimbra_like
from zcomp.zimbra import operations as rq
from zcomp.zimbra.client import ZimbraClient
from zcomp.zimbra.model import Secret
from zcomp.zimbra.settings import ConnectionSettings

FRESH = """
import time
t0 = time.perf_counter()
import zcomp.zimbra.client as c
t1 = time.perf_counter()
from zcomp.zimbra.settings import ConnectionSettings
from zcomp.zimbra.model import Secret
client = c.ZimbraClient(ConnectionSettings(url="https://127.0.0.1:7071", admin="a",
                        password=lambda: Secret("x"), token_cache="off"))
t2 = time.perf_counter()
client.close()
print(f"{(t1 - t0) * 1000:.1f} {(t2 - t1) * 1000:.1f}")
"""
REPLY = (
    '<GetAccountResponse xmlns="urn:zimbraAdmin"><account name="u@x" id="id-1">'
    '<a n="zimbraAccountStatus">active</a></account></GetAccountResponse>'
)
RAW = (
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>'
    b'<context xmlns="urn:zimbra"><authToken>t</authToken><nosession/></context></soap:Header>'
    b'<soap:Body><GetAccountRequest xmlns="urn:zimbraAdmin"><account by="name">u@x</account>'
    b"</GetAccountRequest></soap:Body></soap:Envelope>"
)


def fresh_process(runs: int = 7) -> tuple[float, float]:
    imports, builds = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", FRESH], capture_output=True, text=True, check=True
        ).stdout.split()
        imports.append(float(out[0]))
        builds.append(float(out[1]))
    return statistics.median(imports), statistics.median(builds)


def per_call(calls: int = 300) -> tuple[float, float]:
    with serve(zimbra_like({"GetAccountRequest": lambda ex: ok(REPLY)})) as fake:
        settings = ConnectionSettings(
            url=fake.url, admin="a", password=lambda: Secret("x"), token_cache="off"
        )
        with ZimbraClient(settings) as client:
            client.login()
            start = time.perf_counter()
            for _ in range(calls):
                client.call(rq.GetAccount("u@x"))
            zcomp_ms = (time.perf_counter() - start) * 1000 / calls
        with requests.Session() as session:
            start = time.perf_counter()
            for _ in range(calls):
                reply = session.post(fake.url, data=RAW, headers={"Content-Type": "text/xml"})
                assert reply.content
            raw_ms = (time.perf_counter() - start) * 1000 / calls
    return zcomp_ms, raw_ms


def main() -> None:
    imports, build = fresh_process()
    print(f"import zcomp.zimbra.client (fresh process, median): {imports:.1f} ms")
    print(f"first ZimbraClient() incl. zeep/requests import + WSDL parse: {build:.1f} ms")
    zcomp_ms, raw_ms = per_call()
    print(f"GetAccount via ZimbraClient: {zcomp_ms:.2f} ms/call (loopback)")
    print(f"same POST via raw requests:  {raw_ms:.2f} ms/call")
    print(f"client overhead: {zcomp_ms - raw_ms:.2f} ms/call")
    figure("import_ms", "import zcomp.zimbra.client (fresh process)", imports, "ms")
    figure("build_ms", "first ZimbraClient() (zeep, WSDL)", build, "ms")
    figure("call_ms", "GetAccount through ZimbraClient (loopback)", zcomp_ms, "ms")
    figure("overhead_ms", "client overhead per call over raw requests", zcomp_ms - raw_ms, "ms")


if __name__ == "__main__":
    main()
