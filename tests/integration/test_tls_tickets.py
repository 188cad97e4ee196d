"""TLS session tickets: a reconnecting client resumes its session on any
worker, across a restart when the keys come from --tls-ticket-key, and
through a key rotation on SIGHUP; a bad key file is a clear error."""
import os
import signal
import socket
import ssl
import subprocess
import time

import http.client

from alertd_fixture import alertd_factory, tls_cert  # noqa: F401
from conftest import ALERTD, wait_for_port


def fetch_healthz(srv, session=None):
    """One HTTPS request on a new connection: (session for the next one,
    whether this one resumed). Reading to the end also reads the ticket."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as raw:
        with srv.ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            assert data.startswith(b"HTTP/1.1 200"), data[:80]
            return s.session, s.session_reused


def resumed_in_a_row(srv, session, n):
    """Reconnects n times, each time with the ticket the previous connection
    brought, as browsers do (a TLS 1.3 ticket is for one use): counts the
    connections that resumed and brought a fresh ticket."""
    good = 0
    for _ in range(n):
        fresh, reused = fetch_healthz(srv, session)
        # OpenSSL names a client session by a hash of its ticket: a new
        # ticket is a new id; without one the old session comes back.
        good += reused and fresh.has_ticket and fresh.id != session.id
        session = fresh
    return session, good


def write_keys(path, *keys):
    with open(path, "wb") as f:
        f.write(b"".join(keys))


def wait_log(srv, text, times=1, timeout=5.0):
    """Waits until the server's log holds text `times` times."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(srv.log) as f:
            if f.read().count(text) >= times:
                return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not logged {times} times:\n{srv.tail()}")


def test_a_ticket_resumes_on_every_worker(alertd_factory):
    # Four workers share the port; the kernel hands each new connection to
    # any of them. With per-worker keys about 3 in 4 resumptions failed.
    srv = alertd_factory("--workers", "4")
    session, _ = fetch_healthz(srv)
    _, resumed_with_fresh_ticket = resumed_in_a_row(srv, session, 40)
    assert resumed_with_fresh_ticket == 40


def test_ticket_keys_from_a_file_survive_a_restart(alertd_factory, tmp_path):
    keyfile = str(tmp_path / "tickets.key")
    write_keys(keyfile, os.urandom(80))
    srv = alertd_factory("--tls-ticket-key", keyfile, "--workers", "2")
    session, _ = fetch_healthz(srv)
    srv.stop()
    srv.start()
    session, reused = fetch_healthz(srv, session)
    assert reused, "the ticket from before the restart was not accepted"

    # Without the file the keys are new at every start: the same client
    # gets a full handshake (and still connects).
    plain = alertd_factory()
    session, _ = fetch_healthz(plain)
    plain.stop()
    plain.start()
    _, reused = fetch_healthz(plain, session)
    assert not reused


def test_sighup_rotates_ticket_keys(alertd_factory, tmp_path):
    keyfile = str(tmp_path / "tickets.key")
    k1, k2, k3 = os.urandom(80), os.urandom(80), os.urandom(80)
    write_keys(keyfile, k1)
    srv = alertd_factory("--tls-ticket-key", keyfile)
    # Three clients with tickets under k1 (a client uses a ticket once).
    k1_tickets = [fetch_healthz(srv)[0] for _ in range(3)]

    # k2 now issues tickets; k1's are still accepted (and renewed under k2).
    write_keys(keyfile, k2, k1)
    srv.proc.send_signal(signal.SIGHUP)
    wait_log(srv, "session ticket keys reloaded")
    under_k2, reused = fetch_healthz(srv, k1_tickets[0])
    assert reused

    # A file that is not whole keys is refused: the keys in use stay.
    write_keys(keyfile, k3[:79])
    srv.proc.send_signal(signal.SIGHUP)
    wait_log(srv, "session ticket keys not reloaded")
    assert "holds 79 bytes" in srv.tail()
    _, reused = fetch_healthz(srv, k1_tickets[1])
    assert reused
    assert srv.running()

    # k1 retired: its last unused ticket gets a full handshake (and the
    # client still connects); k2's tickets still resume.
    write_keys(keyfile, k3, k2)
    srv.proc.send_signal(signal.SIGHUP)
    wait_log(srv, "session ticket keys reloaded", times=2)
    _, reused = fetch_healthz(srv, k1_tickets[2])
    assert not reused
    _, reused = fetch_healthz(srv, under_k2)
    assert reused


def test_bad_ticket_key_file_is_refused_at_start(tls_cert, tmp_path):
    cases = {
        "missing": (None, "No such file or directory"),
        "empty": (b"", "holds 0 bytes"),
        "short": (os.urandom(79), "holds 79 bytes"),
        "nine keys": (os.urandom(9 * 80), "holds 720 bytes"),
    }
    for name, (content, why) in cases.items():
        path = str(tmp_path / name.replace(" ", "_"))
        if content is not None:
            write_keys(path, content)
        r = subprocess.run([ALERTD, "--listen", "127.0.0.1:1", "--tls-cert", tls_cert.cert,
                            "--tls-key", tls_cert.key, "--tls-ticket-key", path],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (name, r.stderr)
        assert f"--tls-ticket-key {path}: " in r.stderr, (name, r.stderr)
        assert why in r.stderr, (name, r.stderr)
    # A directory is not a key file either.
    r = subprocess.run([ALERTD, "--listen", "127.0.0.1:1", "--tls-ticket-key", str(tmp_path)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "not a regular file" in r.stderr, r.stderr


def test_plain_mode_reads_no_ticket_key_file(alertd_factory, tmp_path):
    # Behind a TLS-terminating balancer there is no TLS here: the key file
    # is not read, so a stale path does not stop the server.
    srv = alertd_factory("--plain", "--tls-ticket-key", str(tmp_path / "none"), start=False)
    srv.spawn()
    wait_for_port(srv.port)
    deadline = time.monotonic() + 10
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=3)
            conn.request("GET", "/healthz")
            assert conn.getresponse().status == 200
            break
        except OSError:
            assert time.monotonic() < deadline and srv.running(), srv.tail()
            time.sleep(0.1)
