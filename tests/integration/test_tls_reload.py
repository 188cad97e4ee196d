"""TLS certificate reload on SIGHUP: new connections get the new
certificate; a broken pair is refused and the served one stays."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

from alertd_fixture import alertd_factory, tls_cert  # noqa: F401
from conftest import wait_for_port


def served_cert_der(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.getpeercert(binary_form=True)


def make_cert(directory, name):
    cert, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def test_sighup_reloads_certificate_and_refuses_a_broken_one(alertd_factory, tmp_path):
    live_cert, live_key = str(tmp_path / "live.crt"), str(tmp_path / "live.key")
    a_cert, a_key = make_cert(str(tmp_path), "a")
    b_cert, b_key = make_cert(str(tmp_path), "b")
    shutil.copy(a_cert, live_cert)
    shutil.copy(a_key, live_key)
    srv = alertd_factory("--tls-cert", live_cert, "--tls-key", live_key, start=False)
    srv.spawn()  # its own certificates: the fixture's readiness check would not trust them
    wait_for_port(srv.port)
    with open(a_cert) as f:
        a_der = ssl.PEM_cert_to_DER_cert(f.read())
    with open(b_cert) as f:
        b_der = ssl.PEM_cert_to_DER_cert(f.read())
    assert served_cert_der(srv.port) == a_der

    shutil.copy(b_cert, live_cert)
    shutil.copy(b_key, live_key)
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while served_cert_der(srv.port) != b_der and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served_cert_der(srv.port) == b_der

    # A key that does not match is refused: the served certificate stays.
    shutil.copy(a_key, live_key)
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert served_cert_der(srv.port) == b_der
    assert srv.proc.poll() is None
    with open(srv.log) as f:
        assert "TLS reload refused" in f.read()
