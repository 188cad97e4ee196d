"""What alertd's TLS accepts, listed and compared with the profile it
promises (ARCHITECTURE.md, "TLS"): Mozilla's "intermediate" without DHE.

TLS 1.2: only ECDHE with AES-GCM or ChaCha20-Poly1305, for an ECDSA and for
an RSA certificate; TLS 1.3: OpenSSL's three suites; groups X25519, P-256,
P-384; no TLS 1.0 or 1.1; the client's order of suites wins.

Every TLS 1.2 suite this OpenSSL knows (`openssl ciphers ALL:COMPLEMENTOFALL`)
is offered alone by a client at security level 0, so that nothing is refused
on the client's side and hidden from the test: a suite the client cannot
offer at all (PSK and SRP, which need credentials neither side has) is
listed apart, and must be nothing else.
"""
import socket
import ssl
import subprocess
import warnings

import pytest

from alertd_fixture import alertd_factory, tls_cert  # noqa: F401
from conftest import wait_for_port

PROFILE_12 = {
    "ecdsa": {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
              "ECDHE-ECDSA-CHACHA20-POLY1305"},
    "rsa": {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-RSA-CHACHA20-POLY1305"},
}
PROFILE_13 = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
OTHER_13 = {"TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"}


def all_tls12_ciphers():
    r = subprocess.run(["openssl", "ciphers", "-tls1_2", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                       capture_output=True, text=True, timeout=10, check=True)
    names = set(r.stdout.strip().split(":")) - PROFILE_13 - OTHER_13
    assert len(names) > 100, names  # the whole list, not a default subset
    return names


def client(version, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = version
    ctx.set_ciphers((ciphers or "ALL:COMPLEMENTOFALL") + ":@SECLEVEL=0")
    return ctx


def handshake(port, ctx):
    """The suite agreed, or ("refused", reason) / ("client", reason) when the
    refusal came from the server / from the client itself."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                return t.cipher()[0]
        except ssl.SSLError as e:
            side = "client" if e.reason in ("NO_CIPHERS_AVAILABLE",
                                            "NO_PROTOCOLS_AVAILABLE") else "refused"
            return side, e.reason
        except (ConnectionResetError, BrokenPipeError) as e:
            return "refused", repr(e)


def s_client(port, *args):
    """`openssl s_client` output (stdout and stderr) for one handshake."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
                       input="", capture_output=True, text=True, timeout=15)
    return r.stdout + r.stderr


def agreed(out):
    for line in out.splitlines():
        if ", Cipher is " in line:
            return line.rsplit(" ", 1)[1]
    raise AssertionError(out)


@pytest.fixture(scope="module")
def rsa_cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("rsa")
    cert, key = str(d / "rsa.crt"), str(d / "rsa.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(params=["ecdsa", "rsa"])
def server(request, alertd_factory, tls_cert, rsa_cert):  # noqa: F811
    """(kind, alertd serving an ECDSA P-256 or an RSA 2048 certificate)."""
    if request.param == "ecdsa":
        return "ecdsa", alertd_factory()
    srv = alertd_factory("--tls-cert", rsa_cert[0], "--tls-key", rsa_cert[1], start=False)
    srv.spawn()  # the fixture's readiness check trusts the ECDSA certificate only
    wait_for_port(srv.port)
    return "rsa", srv


def test_tls12_accepts_exactly_the_profile(server):
    kind, srv = server
    accepted, client_side = set(), set()
    for name in sorted(all_tls12_ciphers()):
        got = handshake(srv.port, client(ssl.TLSVersion.TLSv1_2, name))
        if got == name:
            accepted.add(name)
        elif got[0] == "client":
            client_side.add(name)
        else:
            assert got[0] == "refused", (name, got)
    assert accepted == PROFILE_12[kind]
    # What the client could not offer needs credentials the server has not.
    assert client_side and all("PSK" in n or n.startswith("SRP-") for n in client_side), \
        client_side
    # Among what was refused: every CBC, SHA-1 and static-RSA suite.
    for gone in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA256",
                 "ECDHE-RSA-AES256-SHA", "AES128-GCM-SHA256", "AES256-SHA",
                 "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-CHACHA20-POLY1305"):
        assert gone not in accepted and gone not in client_side


def test_tls13_suites_and_groups(server):
    kind, srv = server
    for suite in sorted(PROFILE_13 | OTHER_13):
        out = s_client(srv.port, "-tls1_3", "-ciphersuites", suite)
        if suite in PROFILE_13:
            assert agreed(out) == suite, out
        else:
            assert "(NONE)" in out and "handshake failure" in out, out
    # TLS 1.2 with an ECDSA certificate also needs the certificate's own
    # curve among the client's groups: P-256 comes second, never chosen
    # before the group tested.
    for version in ("-tls1_2", "-tls1_3"):
        for group, temp in (("X25519", "X25519"), ("P-384", "secp384r1")):
            extra = ":P-256" if version == "-tls1_2" and kind == "ecdsa" else ""
            out = s_client(srv.port, version, "-groups", group + extra)
            assert f"Server Temp Key: {temp}" in out or f"ECDH, {temp}" in out, out
        for group in ("X448", "P-521", "ffdhe2048"):
            out = s_client(srv.port, version, "-groups", f"{group}:P-256")
            assert "prime256v1" in out, f"{group} chosen: {out}"


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls10_and_11_refused_by_the_server(server, version):
    _, srv = server
    got = handshake(srv.port, client(version, "DEFAULT"))
    assert got[0] == "refused", got


def test_the_client_order_wins(server):
    kind, srv = server
    sig = "ECDSA" if kind == "ecdsa" else "RSA"
    chacha, aes = f"ECDHE-{sig}-CHACHA20-POLY1305", f"ECDHE-{sig}-AES128-GCM-SHA256"
    assert handshake(srv.port, client(ssl.TLSVersion.TLSv1_2, f"{chacha}:{aes}")) == chacha
    assert handshake(srv.port, client(ssl.TLSVersion.TLSv1_2, f"{aes}:{chacha}")) == aes
    out = s_client(srv.port, "-tls1_3", "-ciphersuites",
                   "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384")
    assert agreed(out) == "TLS_CHACHA20_POLY1305_SHA256", out
