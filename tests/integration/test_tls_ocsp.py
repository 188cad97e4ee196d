"""OCSP stapling from --tls-ocsp (ARCHITECTURE.md, "TLS"; src/server/staple.h).

Real responses, made offline here: a test CA, leaves it signs, and `openssl
ocsp` answering from an index file as the CA's own responder would
(`-index ... -rsigner ... -respout`). `openssl s_client -status` is the
client that asks (status_request) and prints what it was stapled; each
response is recognised by its signature, which no two share.
"""
import datetime
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from alertd_fixture import TlsCert, alertd_factory, tls_cert  # noqa: F401
from conftest import ALERTD, free_port


def sh(*args):
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{' '.join(args)}\n{r.stdout}{r.stderr}"
    return r.stdout


class Pki:
    """A CA, leaves it signs (serial -> files), and its OCSP answers."""

    def __init__(self, d):
        d.mkdir()
        self.d = str(d)
        self.ca, self.ca_key = self.path("ca.crt"), self.path("ca.key")
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-nodes", "-days", "3", "-subj", "/CN=alertd test CA", "-keyout", self.ca_key,
           "-out", self.ca, "-addext", "basicConstraints=critical,CA:TRUE",
           "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.index = []

    def path(self, name):
        return os.path.join(self.d, name)

    def leaf(self, serial, revoked=False, known=True):
        """A TlsCert (chain: leaf then CA) for localhost, serial `serial` (hex)."""
        key, csr, crt = (self.path(f"{serial}.{x}") for x in ("key", "csr", "crt"))
        sh("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-nodes", "-subj", "/CN=localhost", "-keyout", key, "-out", csr)
        ext = self.path("san.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        sh("openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
           "-set_serial", f"0x{serial}", "-days", "2", "-extfile", ext, "-out", crt)
        expiry = (datetime.datetime.utcnow() + datetime.timedelta(days=2)).strftime(
            "%y%m%d%H%M%SZ")
        revoked_at = datetime.datetime.utcnow().strftime("%y%m%d%H%M%SZ") if revoked else ""
        if known:  # else the responder answers "unknown" about it
            self.index.append(f"{'R' if revoked else 'V'}\t{expiry}\t{revoked_at}\t{serial}\t"
                              f"unknown\t/CN=localhost\n")
        with open(self.path("index.txt"), "w") as f:
            f.writelines(self.index)
        with open(self.path("index.txt.attr"), "w") as f:
            f.write("unique_subject = no\n")  # every leaf is CN=localhost
        chain = self.path(f"{serial}.chain.pem")
        with open(chain, "w") as out:
            for part in (crt, self.ca):
                with open(part) as f:
                    out.write(f.read())
        return TlsCert(chain, key)

    def respond(self, leaf, out, days=1):
        """The CA's OCSP response about `leaf` into `out` (DER), valid `days`."""
        req = out + ".req"
        crt = leaf.cert.replace(".chain.pem", ".crt")
        sh("openssl", "ocsp", "-issuer", self.ca, "-cert", crt, "-no_nonce", "-reqout", req)
        sh("openssl", "ocsp", "-index", self.path("index.txt"), "-rsigner", self.ca,
           "-rkey", self.ca_key, "-CA", self.ca, "-reqin", req, "-respout", out,
           "-ndays", str(days))
        return out

    def respond_expired(self, leaf, out):
        """A response whose nextUpdate has passed (`openssl ocsp` cannot
        date one in the past): signed with python3-cryptography."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509 import ocsp
        crt = leaf.cert.replace(".chain.pem", ".crt")
        with open(crt, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(self.ca, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        with open(self.ca_key, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        now = datetime.datetime.utcnow()
        resp = (ocsp.OCSPResponseBuilder()
                .add_response(cert, ca, hashes.SHA1(), ocsp.OCSPCertStatus.GOOD,
                              now - datetime.timedelta(days=2), now - datetime.timedelta(hours=1),
                              None, None)
                .responder_id(ocsp.OCSPResponderEncoding.NAME, ca)
                .sign(key, hashes.SHA256()))
        with open(out, "wb") as f:
            f.write(resp.public_bytes(serialization.Encoding.DER))
        return out


def signature(text):
    """The hex of the first "Signature Value" in an OCSP printout: the
    response's own signature."""
    m = re.search(r"Signature Value:\n((?:\s+[0-9a-f:]+\n)+)", text)
    assert m, text
    return re.sub(r"\s", "", m.group(1))


def file_signature(der):
    return signature(sh("openssl", "ocsp", "-respin", der, "-resp_text", "-noverify"))


def stapled(port, ca, version="-tls1_3"):
    """(signature of the staple or None, the s_client output)."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-status",
                        version, "-CAfile", ca], input="", capture_output=True, text=True,
                       timeout=15)
    out = r.stdout + r.stderr
    assert "Verify return code: 0 (ok)" in out, out
    if "OCSP response: no response sent" in out:
        return None, out
    assert "OCSP Response Status: successful" in out, out
    return signature(out), out


def wait_stapled(srv, ca, want, timeout=10.0, times=6):
    """Polls until `times` handshakes in a row get `want` (a signature or None)."""
    deadline = time.monotonic() + timeout
    row = 0
    while row < times:
        got, out = stapled(srv.port, ca)
        row = row + 1 if got == want else 0
        assert row or time.monotonic() < deadline, f"still stapled: {got}\n{srv.tail()}"
        if not row:
            time.sleep(0.1)


def replace(src, dst):
    """As a renewal does: a new file renamed over the old one."""
    shutil.copy(src, dst + ".new")
    os.rename(dst + ".new", dst)


def log_of(srv):
    with open(srv.log) as f:
        return f.read()


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


def test_staple_served_to_every_handshake_that_asks(alertd_factory, pki, tmp_path):  # noqa: F811
    leaf = pki.leaf("1001")
    der = pki.respond(leaf, str(tmp_path / "ocsp.der"))
    srv = alertd_factory("--tls-ocsp", der, "--workers", "2", tls=leaf)
    want = file_signature(der)
    for version in ("-tls1_2", "-tls1_3", "-tls1_2", "-tls1_3"):
        got, out = stapled(srv.port, pki.ca, version)
        assert got == want, out
        assert "Serial Number: 1001" in out and "Cert Status: good" in out, out
    assert "OCSP response stapled" in log_of(srv)
    # Without --tls-ocsp nothing is stapled.
    plain = alertd_factory(tls=leaf)
    assert stapled(plain.port, pki.ca)[0] is None


def test_staple_follows_the_file_and_the_certificate(alertd_factory, pki, tmp_path):  # noqa: F811
    """A refreshed response, a renewed certificate whose response comes a
    moment later, and a broken file: what is stapled follows, on every
    worker, without a signal (certwatch) and with SIGHUP."""
    a, b = pki.leaf("1001"), pki.leaf("1002")
    live = TlsCert(str(tmp_path / "live.pem"), str(tmp_path / "live.key"))
    der = str(tmp_path / "ocsp.der")
    replace(a.cert, live.cert)
    replace(a.key, live.key)
    replace(pki.respond(a, str(tmp_path / "a1.der")), der)
    srv = alertd_factory("--tls-ocsp", der, "--workers", "2", tls=live)
    wait_stapled(srv, pki.ca, file_signature(der))

    # The operator's cron job refreshes the response.
    a2 = pki.respond(a, str(tmp_path / "a2.der"), days=2)
    replace(a2, der)
    wait_stapled(srv, pki.ca, file_signature(a2))

    # A renewed certificate, its response not there yet: the old one names
    # another certificate, and is no longer stapled.
    replace(b.key, live.key)
    replace(b.cert, live.cert)
    wait_stapled(srv, pki.ca, None)
    assert "about another certificate" in log_of(srv)
    b1 = pki.respond(b, str(tmp_path / "b1.der"))
    replace(b1, der)
    wait_stapled(srv, pki.ca, file_signature(b1))

    # A file that is not a response: refused, the staple in use stays.
    replace(b.cert, der)
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while log_of(srv).count("OCSP response not reloaded") < 2:  # both workers
        assert time.monotonic() < deadline, srv.tail()
        time.sleep(0.1)
    wait_stapled(srv, pki.ca, file_signature(b1))
    assert srv.running()

    # And SIGHUP reads a good one again.
    b2 = pki.respond(b, str(tmp_path / "b2.der"), days=3)
    with open(b2, "rb") as src, open(der, "wb") as dst:
        dst.write(src.read())
    srv.proc.send_signal(signal.SIGHUP)
    wait_stapled(srv, pki.ca, file_signature(b2))


def start_fails(leaf, ocsp_file):
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{free_port()}", "--tls-cert", leaf.cert,
                        "--tls-key", leaf.key, "--tls-ocsp", ocsp_file, "--workers", "1"],
                       capture_output=True, text=True, timeout=15)
    assert r.returncode == 2, r.stderr
    return r.stderr


def test_a_file_that_is_not_a_response_stops_alertd_at_start(pki, tmp_path):
    leaf = pki.leaf("1001")
    missing = str(tmp_path / "missing.der")
    assert f"--tls-ocsp {missing}: No such file or directory" in start_fails(leaf, missing)
    assert "not a DER OCSP response" in start_fails(leaf, leaf.cert)
    good = pki.respond(leaf, str(tmp_path / "good.der"))
    with open(good, "rb") as f:
        data = f.read()
    half = str(tmp_path / "half.der")
    with open(half, "wb") as f:
        f.write(data[:len(data) // 2])
    assert "not a DER OCSP response" in start_fails(leaf, half)
    empty = str(tmp_path / "empty.der")
    open(empty, "wb").close()
    assert "empty: not an OCSP response" in start_fails(leaf, empty)
    # A busy responder's answer is an OCSP response with no status in it:
    # OCSPResponse { responseStatus tryLater(3) }, as a cron job may save.
    busy = str(tmp_path / "busy.der")
    with open(busy, "wb") as f:
        f.write(bytes([0x30, 0x03, 0x0A, 0x01, 0x03]))
    r = subprocess.run(["openssl", "ocsp", "-respin", busy, "-resp_text", "-noverify"],
                       capture_output=True, text=True, timeout=15)
    assert "Responder Error: trylater (3)" in r.stdout, r.stdout + r.stderr
    assert 'the responder answered "trylater"' in start_fails(leaf, busy)


@pytest.mark.parametrize("case", ["foreign", "expired", "unknown", "revoked"])
def test_a_doubtful_response_is_logged(alertd_factory, pki, tmp_path, case):  # noqa: F811
    """A response about another certificate, an expired one or one whose
    responder does not know the certificate: the node starts and serves,
    the operator is warned, and nothing is stapled: a client that checks
    the staple would refuse the connection, one given none goes on. A
    revocation is the CA's word: stapled, and logged as an error."""
    leaf = pki.leaf("1001", revoked=case == "revoked", known=case != "unknown")
    der = str(tmp_path / "ocsp.der")
    if case == "foreign":
        pki.respond(pki.leaf("1002"), der)
    elif case == "expired":
        pki.respond_expired(leaf, der)
    else:
        pki.respond(leaf, der)
    srv = alertd_factory("--tls-ocsp", der, tls=leaf)
    got, out = stapled(srv.port, pki.ca)
    log = log_of(srv)
    if case == "revoked":
        assert got == file_signature(der) and "Cert Status: revoked" in out, out
        assert "level=error" in log and "certificate is revoked" in log, log
    else:
        assert got is None, out
        reason = {"foreign": "about another certificate", "expired": "expired",
                  "unknown": "status unknown"}[case]
        assert re.search(rf'level=warn msg="OCSP response will not be stapled".*{reason}', log), \
            log
