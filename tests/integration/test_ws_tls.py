"""alertd TLS and Origin policy.

"One port, TLS by default (OpenSSL; TLS 1.2+; ECDSA or RSA certificate; ALPN
http/1.1)" and "allowed Origin list for browsers (cross-site WebSocket
hijacking)" (ARCHITECTURE.md, proto/PROTOCOL.md section 1). The certificate is a self-signed ECDSA P-256 one.
"""
import socket
import ssl
import subprocess
import warnings

import pytest
import websockets

from alertd_fixture import (ALERTD, alertd, alertd_factory,  # noqa: F401
                            listening_addresses, recv_hello, run, tls_cert)
from conftest import free_port


def handshake(srv, ctx):
    """A bare TLS handshake to the server; returns the SSLSocket's (version, alpn)."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            return t.version(), t.selected_alpn_protocol()


def test_tls_1_1_refused(alertd, tls_cert):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = tls_cert.client_context(min_version=ssl.TLSVersion.TLSv1_1,
                                      max_version=ssl.TLSVersion.TLSv1_1)
    # Let this client really offer TLS 1.1 (OpenSSL 3 refuses it locally at
    # the default security level); the refusal must come from the server.
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        got = handshake(alertd, ctx)
    except ssl.SSLError as e:
        assert "NO_PROTOCOLS_AVAILABLE" not in str(e), f"client-side refusal: {e}"
    except (ConnectionResetError, BrokenPipeError):
        pass
    else:
        raise AssertionError(f"TLS 1.1 handshake accepted: {got}")
    assert alertd.get("/healthz")[0] == 200


def test_tls_1_2_and_1_3_accepted_with_websocket(alertd, tls_cert):
    for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
                          (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
        ctx = tls_cert.client_context(min_version=version, max_version=version)
        got, _ = handshake(alertd, ctx)
        assert got == name

        async def main():
            async with websockets.connect(alertd.url(), ssl=ctx, ping_interval=None,
                                          open_timeout=10) as ws:
                await recv_hello(ws)
                obj = ws.transport.get_extra_info("ssl_object")
                return obj.version()

        assert run(main()) == got


def test_tls_alpn_http11(alertd, tls_cert):
    ctx = tls_cert.client_context(alpn=["http/1.1"])
    _, alpn = handshake(alertd, ctx)
    assert alpn == "http/1.1"


def test_tls_alpn_http11_chosen_over_h2(alertd, tls_cert):
    """The contract names one ALPN protocol, http/1.1: a client also offering h2
    (every browser does) still gets http/1.1, which the WebSocket upgrade needs."""
    ctx = tls_cert.client_context(alpn=["h2", "http/1.1"])
    _, alpn = handshake(alertd, ctx)
    assert alpn == "http/1.1"


def test_tls_serves_the_configured_certificate(alertd, tls_cert):
    """The client verifies the server against our certificate alone, by its
    127.0.0.1 IP SAN."""
    ctx = tls_cert.client_context()
    with socket.create_connection(("127.0.0.1", alertd.port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            cert = t.getpeercert()
            assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]
            assert dict(x[0] for x in cert["subject"])["commonName"] == "localhost"


def test_listen_binds_only_the_given_address(alertd):
    """--listen 127.0.0.1:PORT listens on 127.0.0.1 alone, not on every
    interface (a node meant to sit behind a local balancer must not be
    reachable from outside)."""
    with open(alertd.log) as f:
        assert "listening on" in f.read()
    assert listening_addresses(alertd.port) == ["0100007F"], \
        f"listening on {listening_addresses(alertd.port)} (0100007F = 127.0.0.1, " \
        "zeros = any address)"


# ---------------------------------------------------------------------------
# Origin
# ---------------------------------------------------------------------------
async def refused(srv, origin):
    """True when the upgrade is refused with HTTP 403, before any upgrade;
    False when the connection opens."""
    try:
        ws = await srv.connect(origin=origin)
    except websockets.InvalidStatusCode as e:
        assert e.status_code == 403, f"origin {origin}: status {e.status_code}, want 403"
        return True
    await ws.close()
    return False


def test_ws_origin_allow_list(alertd_factory):
    srv = alertd_factory("--allowed-origin", "https://news.example")

    async def main():
        for bad in ("https://evil.example", "https://news.example.evil.example",
                    "http://news.example", "null"):
            assert await refused(srv, bad), f"origin {bad} was accepted"
        async with srv.connect(origin="https://news.example") as ws:
            await recv_hello(ws)
        async with srv.connect() as ws:  # no Origin: not a browser, allowed
            await recv_hello(ws)

    run(main())


def test_ws_origin_allow_list_repeatable(alertd_factory):
    srv = alertd_factory("--allowed-origin", "https://news.example",
                         "--allowed-origin", "https://www.news.example")

    async def main():
        for good in ("https://news.example", "https://www.news.example"):
            async with srv.connect(origin=good) as ws:
                await recv_hello(ws)
        assert await refused(srv, "https://evil.example")

    run(main())


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_certificate_that_does_not_load_stops_alertd_at_start(tls_cert, tmp_path, workers):
    """Checked once, before any worker exists: a single worker used to log
    and then crash, and several were restarted in a loop."""
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    cases = {
        "missing": (str(tmp_path / "nothing.pem"), tls_cert.key),
        "garbage": (str(garbage), tls_cert.key),
        "a key that is not one": (tls_cert.cert, str(garbage)),
    }
    for name, (cert, key) in cases.items():
        r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{free_port()}", "--workers", workers,
                            "--tls-cert", cert, "--tls-key", key],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (name, r.returncode, r.stderr)
        assert f"--tls-cert {cert} / --tls-key {key} do not load" in r.stderr, (name, r.stderr)
