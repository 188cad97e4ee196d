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


def wait_served(port, der, timeout=8.0):
    deadline = time.monotonic() + timeout
    while served_cert_der(port) != der:
        assert time.monotonic() < deadline, "the new certificate was not served"
        time.sleep(0.1)


def der_of(cert):
    with open(cert) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def test_replaced_files_are_reloaded_without_a_signal(alertd_factory, tmp_path):
    """certbot or a deploy script renaming new files over the old ones: the
    node notices by itself (no SIGHUP) and serves the new certificate."""
    live = tmp_path / "live"
    live.mkdir()
    a_cert, a_key = make_cert(str(tmp_path), "a")
    b_cert, b_key = make_cert(str(tmp_path), "b")
    shutil.copy(a_cert, live / "cert.pem")
    shutil.copy(a_key, live / "key.pem")
    srv = alertd_factory("--tls-cert", str(live / "cert.pem"), "--tls-key", str(live / "key.pem"),
                         "--workers", "2", start=False)
    srv.spawn()
    wait_for_port(srv.port)
    assert served_cert_der(srv.port) == der_of(a_cert)

    # An unrelated file in the directory changes nothing.
    (live / "README").write_text("not a certificate\n")
    time.sleep(2)
    with open(srv.log) as f:
        assert "TLS certificate reloaded" not in f.read()

    for name, src in (("key.pem", b_key), ("cert.pem", b_cert)):
        shutil.copy(src, live / (name + ".tmp"))
        os.rename(live / (name + ".tmp"), live / name)
    wait_served(srv.port, der_of(b_cert))
    with open(srv.log) as f:
        log = f.read()
    assert "key files changed on disk: reloading" in log
    assert "TLS reload refused" not in log, "key and certificate were read as one change"


def test_kubernetes_secret_swap_is_reloaded(alertd_factory, tmp_path):
    """A mounted Secret: cert.pem -> ..data/cert.pem, and an update swaps
    the ..data link to a new directory in one rename."""
    mount = tmp_path / "tls"
    mount.mkdir()
    a_cert, a_key = make_cert(str(tmp_path), "a")
    b_cert, b_key = make_cert(str(tmp_path), "b")
    for version, (cert, key) in (("v1", (a_cert, a_key)), ("v2", (b_cert, b_key))):
        (mount / version).mkdir()
        shutil.copy(cert, mount / version / "tls.crt")
        shutil.copy(key, mount / version / "tls.key")
    os.symlink("v1", mount / "..data")
    os.symlink("..data/tls.crt", mount / "tls.crt")
    os.symlink("..data/tls.key", mount / "tls.key")
    srv = alertd_factory("--tls-cert", str(mount / "tls.crt"), "--tls-key", str(mount / "tls.key"),
                         start=False)
    srv.spawn()
    wait_for_port(srv.port)
    assert served_cert_der(srv.port) == der_of(a_cert)

    os.symlink("v2", mount / "..data_tmp")
    os.rename(mount / "..data_tmp", mount / "..data")
    wait_served(srv.port, der_of(b_cert))
