"""What a new TLS connection's first answer looks like on the wire.

A TLS 1.3 server's session ticket, the 101 and the hello frame leave in one
TCP segment: sent apart, they were small segments in flight together, the
client delayed its ACK, and Linux sent a spurious loss probe for nearly
every connection. A client with Nagle's algorithm (which waits for the ACK
of its Finished before sending its request) is still answered at once.
A WebSocket upgrade to any other path, and any HTTP/2 (h2c) upgrade, is
refused without harming the server.
"""
import socket
import ssl
import struct
import time

from alertd_fixture import alertd, alertd_factory, tls_cert  # noqa: F401

UPGRADE = ("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: alert.v1\r\n\r\n")
HELLO = b'"type":"hello"'


def data_segments_in(sock):
    """tcpi_data_segs_in from the kernel's struct tcp_info (Linux >= 4.6):
    the TCP segments with data this socket received."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("I", info, 152)[0]


def open_tls13(srv, nodelay):
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(nodelay))
    ctx = srv.tls.client_context(min_version=ssl.TLSVersion.TLSv1_3)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def read_until(t, marker):
    data = b""
    while marker not in data:
        chunk = t.recv(4096)
        assert chunk, f"closed before {marker!r}: {data[:200]!r}"
        data += chunk
    return data


def test_ticket_101_and_hello_arrive_in_one_segment(alertd):
    for _ in range(3):
        with open_tls13(alertd, nodelay=True) as t:
            t.sendall(UPGRADE.format(path="/v1/ws").encode())
            data = read_until(t, HELLO)
            assert data.startswith(b"HTTP/1.1 101"), data[:80]
            time.sleep(0.05)  # anything sent apart would be in by now
            # One segment for the server's handshake flight, one for the rest.
            assert data_segments_in(t) == 2, data_segments_in(t)
            assert t.session.has_ticket


def test_a_client_with_nagle_is_answered_at_once(alertd):
    """Such a client holds its request until its Finished is acknowledged:
    a held ticket must not make it wait for the server's delayed ACK
    (40 ms or more)."""
    fastest = float("inf")
    for _ in range(5):
        with open_tls13(alertd, nodelay=False) as t:
            start = time.monotonic()
            t.sendall(UPGRADE.format(path="/v1/ws").encode())
            read_until(t, HELLO)
            fastest = min(fastest, time.monotonic() - start)
    assert fastest < 0.03, f"fastest upgrade of 5 took {fastest * 1000:.1f} ms"


def test_an_https_request_gets_its_answer_and_ticket(alertd):
    with open_tls13(alertd, nodelay=False) as t:
        t.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = read_until(t, b"\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 200"), data[:80]
        assert t.session.has_ticket


def test_websocket_upgrade_elsewhere_is_refused_and_the_server_lives(alertd):
    for path in ("/", "/v1/wss", "/v1/alerts"):
        with open_tls13(alertd, nodelay=True) as t:
            t.sendall(UPGRADE.format(path=path).encode())
            data = read_until(t, b"\r\n\r\n")
            assert b" 404 " in data.split(b"\r\n", 1)[0], data[:80]
            assert b"connect to /v1/ws" in data + t.recv(4096)
    assert alertd.running(), alertd.tail()
    with open_tls13(alertd, nodelay=True) as t:
        t.sendall(UPGRADE.format(path="/v1/ws").encode())
        assert read_until(t, HELLO).startswith(b"HTTP/1.1 101")


def test_http2_upgrade_is_refused(alertd):
    """lws would switch to HTTP/2 on an h2c upgrade, even inside TLS: a code
    path nothing here serves or tests, so it is refused."""
    for path in ("/v1/ws", "/healthz"):
        with open_tls13(alertd, nodelay=True) as t:
            t.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: h2c\r\n"
                      "Connection: Upgrade, HTTP2-Settings\r\n"
                      "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n".encode())
            data = read_until(t, b"\r\n\r\n")
            assert b" 400 " in data.split(b"\r\n", 1)[0], data[:80]
    assert alertd.running(), alertd.tail()
    assert alertd.get("/healthz")[0] == 200


def test_an_unknown_subprotocol_is_told_why(alertd):
    with open_tls13(alertd, nodelay=True) as t:
        t.sendall(UPGRADE.replace("alert.v1", "chat.v2").format(path="/v1/ws").encode())
        data = read_until(t, b"\r\n\r\n")
        assert b" 400 " in data.split(b"\r\n", 1)[0], data[:80]
        assert b"subprotocol here is alert.v1" in data + t.recv(4096)
    with open_tls13(alertd, nodelay=True) as t:  # several offered, ours among them
        t.sendall(UPGRADE.replace("alert.v1", "chat.v2, alert.v1").format(path="/v1/ws").encode())
        assert read_until(t, HELLO).startswith(b"HTTP/1.1 101")


def test_subprotocols_are_matched_as_whole_tokens(alertd):
    """alert.v10 or alert.v1x contain alert.v1 but are other subprotocols:
    each gets the 400 that names ours (lws would close without a word)."""
    for offered in ("alert.v10", "xalert.v1", "alert.v1x, chat"):
        with open_tls13(alertd, nodelay=True) as t:
            t.sendall(UPGRADE.replace("alert.v1", offered).format(path="/v1/ws").encode())
            data = read_until(t, b"\r\n\r\n")
            assert b" 400 " in data.split(b"\r\n", 1)[0], (offered, data[:80])
    with open_tls13(alertd, nodelay=True) as t:  # spaces around list items are not part of them
        t.sendall(UPGRADE.replace("alert.v1", "alert.v10 ,  alert.v1 ").format(path="/v1/ws")
                  .encode())
        assert read_until(t, HELLO).startswith(b"HTTP/1.1 101")
