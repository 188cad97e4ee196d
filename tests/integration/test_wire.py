"""A strict wire: the WebSocket handshake as RFC 6455 asks it, the header
budget answered with 431, methods, HEAD, request bodies that never turn into
a second request, HSTS and Origin patterns.

Real alertd over real TLS. Requests a conforming client would never send are
written by hand on an ssl socket; every answer is read whole (status line,
headers, Content-Length body), and a closed connection is told apart from a
silent one: lws 4.1 closed on most of these without a word.
"""
import base64
import http.client
import os
import socket

import pytest

from alertd_fixture import (alertd, alertd_factory, https_get, recv_hello, run,  # noqa: F401
                            tls_cert, wait_status)

KEY = base64.b64encode(os.urandom(16)).decode()


# ---------------------------------------------------------------------------
# Raw HTTP over TLS
# ---------------------------------------------------------------------------
class Raw:
    """One TLS connection on which requests are written as bytes and
    answers read one by one."""

    def __init__(self, srv, timeout=5.0):
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
        self.sock = srv.ctx.wrap_socket(sock, server_hostname="localhost")
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, OSError):
            data = b""
        if not data:
            raise EOFError(f"closed; unparsed: {self.buf[:200]!r}")
        self.buf += data

    def answer(self, head_request=False):
        """(status, {header: value}, body) of the next answer."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        hdrs = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            k = k.strip().lower()
            hdrs[k] = hdrs[k] + ", " + v.strip() if k in hdrs else v.strip()
        length = 0 if head_request else int(hdrs.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, hdrs, body

    def closed(self, timeout=5.0):
        """True when the server ends the connection with nothing more."""
        self.sock.settimeout(timeout)
        try:
            self._fill()
        except EOFError:
            return self.buf == b""
        except socket.timeout:
            return False
        return False

    def close(self):
        self.sock.close()


def request(path="/healthz", method="GET", headers=(), body=b""):
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def upgrade(path="/v1/ws", method="GET", key=KEY, version="13", protocol="alert.v1",
            connection="Upgrade", extra=()):
    headers = ["Upgrade: websocket"]
    if connection is not None:
        headers.append(f"Connection: {connection}")
    if key is not None:
        headers.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        headers.append(f"Sec-WebSocket-Version: {version}")
    if protocol is not None:
        headers.append(f"Sec-WebSocket-Protocol: {protocol}")
    return request(path, method, [*headers, *extra])


def one(srv, data, head_request=False):
    """The answer to one request on a fresh connection, and whether the
    server then closed it."""
    r = Raw(srv)
    try:
        r.send(data)
        answer = r.answer(head_request)
        return answer, r.closed(timeout=3)
    finally:
        r.close()


# ---------------------------------------------------------------------------
# The WebSocket handshake
# ---------------------------------------------------------------------------
def test_a_good_handshake_by_hand_upgrades(alertd):
    (status, hdrs, _), _ = one(alertd, upgrade())
    assert status == 101, (status, hdrs)
    assert hdrs["sec-websocket-protocol"] == "alert.v1"


@pytest.mark.parametrize("key", ["", "short", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQA=",
                                 "dGhlIHNhbXBsZSBub25j-Q==", "x" * 200, None])
def test_a_malformed_key_gets_400_naming_the_header(alertd, key):
    (status, hdrs, body), closed = one(alertd, upgrade(key=key))
    assert status == 400, (key, status, body)
    assert b"Sec-WebSocket-Key" in body, body
    assert closed


@pytest.mark.parametrize("version", ["8", "14", "13, 8", None])
def test_another_version_gets_426_with_the_one_spoken(alertd, version):
    (status, hdrs, body), closed = one(alertd, upgrade(version=version))
    assert status == 426, (version, status, body)
    assert hdrs["sec-websocket-version"] == "13"
    assert b"Sec-WebSocket-Version" in body
    assert closed


@pytest.mark.parametrize("protocol,why", [
    ("chat", b"the subprotocol here is alert.v1"),
    ("chat,,alert.v1", b"Sec-WebSocket-Protocol"),          # lws 4.1: closed, no word
    ("123, alert.v1", b"Sec-WebSocket-Protocol"),           # lws took it for a number
    ("x" * 70 + ", alert.v1", b"Sec-WebSocket-Protocol"),   # a name over 63 bytes
    (", ".join(["p%03d" % i for i in range(30)]) + ", alert.v1", b"Sec-WebSocket-Protocol"),
])
def test_a_refused_subprotocol_gets_400_not_a_silent_close(alertd, protocol, why):
    (status, _, body), closed = one(alertd, upgrade(protocol=protocol))
    assert status == 400, (protocol, status, body)
    assert why in body, body
    assert closed


@pytest.mark.parametrize("connection", [None, "keep-alive", "upgrad", "Upgrade, , x"])
def test_a_connection_header_without_upgrade_gets_400(alertd, connection):
    (status, _, body), closed = one(alertd, upgrade(connection=connection))
    assert status == 400, (connection, status, body)
    assert b"Connection" in body


def test_an_upgrade_by_another_method_gets_405_with_allow(alertd):
    (status, hdrs, body), closed = one(alertd, upgrade(method="POST"))
    assert status == 405, (status, body)
    assert hdrs["allow"] == "GET, HEAD"
    (status, _, _), _ = one(alertd, upgrade(path="/elsewhere"))
    assert status == 404


def test_the_library_client_still_connects(alertd):
    async def main():
        async with alertd.connect() as ws:
            await recv_hello(ws)
        async with alertd.connect(subprotocols=None) as ws:  # offering none is fine
            await recv_hello(ws)
    run(main())


# ---------------------------------------------------------------------------
# The header budget
# ---------------------------------------------------------------------------
def cookie(nbytes):
    return f"Cookie: c={'x' * (nbytes - 2)}"


def test_headers_over_the_budget_get_431_and_a_warning(alertd):
    (status, hdrs, body), closed = one(alertd, request("/v1/alerts", headers=[cookie(20000)]))
    assert status == 431, (status, body)
    assert b"16384" in body
    assert closed
    (status, _, body), _ = one(alertd, upgrade(extra=[cookie(20000)]))
    assert status == 431, (status, body)
    # Far past lws' own buffer: still one cut header, still answered.
    (status, _, _), _ = one(alertd, request("/healthz", headers=[cookie(200000)]))
    assert status == 431
    with open(alertd.log) as f:
        lines = [ln for ln in f if "answered 431" in ln]
    assert len(lines) >= 3 and all("level=warn" in ln for ln in lines), lines
    # Browsers' several KiB of cookies are served, by HTTP and WebSocket.
    (status, _, _), _ = one(alertd, request("/healthz", headers=[cookie(12000)]))
    assert status == 200
    (status, _, _), _ = one(alertd, upgrade(extra=[cookie(12000)]))
    assert status == 101


def test_the_budget_is_a_setting(alertd_factory):
    srv = alertd_factory("--max-header-bytes", "32768")
    (status, _, _), _ = one(srv, request("/healthz", headers=[cookie(20000)]))
    assert status == 200
    small = alertd_factory("--max-header-bytes", "4096")
    (status, _, body), _ = one(small, request("/healthz", headers=[cookie(5000)]))
    assert status == 431 and b"4096" in body


def test_a_long_query_counts_against_the_budget(alertd):
    (status, _, _), _ = one(alertd, request("/v1/alerts?topics=" + "a" * 17000))
    assert status == 431


# ---------------------------------------------------------------------------
# Methods and HEAD
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_every_405_carries_allow_and_closes(alertd, method):
    (status, hdrs, body), closed = one(alertd, request("/v1/alerts", method,
                                                       ["Content-Length: 0"]))
    assert status == 405, (method, status)
    assert hdrs["allow"] == "GET, HEAD"
    assert hdrs["connection"] == "close" and closed


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/v1/alerts?limit=5", "/", "/metrics",
                                  "/v1/ws", "/nothing-here", "/v1/alerts?limit=0"])
def test_head_answers_as_get_does_without_the_body(alertd, path):
    wait_status(alertd.port, "/readyz", alertd.ctx, 200)
    r = Raw(alertd)
    try:
        r.send(request(path))
        gs, gh, gbody = r.answer()
        r.send(request(path, "HEAD"))
        hs, hh, hbody = r.answer(head_request=True)
        # keep-alive: the answer after a HEAD parses (nothing was left behind)
        r.send(request("/healthz"))
        status, _, body = r.answer()
        assert (status, body) == (200, b"ok\n"), (path, status, body)
    finally:
        r.close()
    assert hs == gs, (path, gs, hs)
    assert hbody == b""
    assert int(hh["content-length"]) == len(gbody), (path, hh, len(gbody))
    skip = {"date", "content-length"}
    assert {k: v for k, v in hh.items() if k not in skip} == \
        {k: v for k, v in gh.items() if k not in skip}, path


def test_head_on_the_event_stream_gets_its_headers_only(alertd):
    get = Raw(alertd)
    try:
        get.send(request("/v1/sse"))
        gs, gh, _ = get.answer(head_request=True)  # the stream goes on: headers only
    finally:
        get.close()
    (hs, hh, _), closed = one(alertd, request("/v1/sse", "HEAD"), head_request=True)
    assert (hs, hh["content-type"]) == (200, "text/event-stream")
    assert hh == gh
    # A stream has no length: lws says so with Connection: close, for both.
    assert hh["connection"] == "close" and closed


# ---------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------
HIDDEN = request("/hidden-second-request")


def test_a_request_hidden_in_a_content_length_body_is_never_answered(alertd):
    r = Raw(alertd)
    try:
        r.send(request("/healthz", headers=[f"Content-Length: {len(HIDDEN)}"], body=HIDDEN))
        status, _, body = r.answer()
        assert (status, body) == (200, b"ok\n")
        r.send(request("/v1/alerts?limit=1"))
        status, _, body = r.answer()
        assert status == 200 and body.startswith(b'{"alerts"'), (status, body)
        r.sock.settimeout(1)
        with pytest.raises((socket.timeout, EOFError)):
            r.answer()  # nothing for the hidden request
    finally:
        r.close()


def test_a_chunked_body_is_refused_and_never_parsed(alertd):
    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(HIDDEN), HIDDEN)
    (status, hdrs, body), closed = one(
        alertd, request("/healthz", headers=["Transfer-Encoding: chunked"], body=chunk))
    assert status == 413, (status, body)
    assert b"Transfer-Encoding" in body
    assert hdrs["connection"] == "close" and closed


@pytest.mark.parametrize("length,want", [("-5", 400), ("5, 5", 400), ("abc", 400),
                                         ("1000000", 413)])
def test_a_content_length_not_read_gets_an_answer_and_a_close(alertd, length, want):
    (status, hdrs, body), closed = one(
        alertd, request("/healthz", headers=[f"Content-Length: {length}"], body=HIDDEN))
    assert status == want, (length, status, body)
    assert b"Content-Length" in body
    assert hdrs["connection"] == "close" and closed


@pytest.mark.parametrize("query", ["lang=not_a_tag!", "lang=" + "e" * 3000,
                                   "topics=world&lang=" + "e" * 3000 + "&limit=5",
                                   "lang=en,fr,de,es,it,pt,nl,sv,da"])
def test_errors_about_lang_name_lang(alertd, query):
    """A lang argument too long to keep used to be blamed on limit (REST)
    or topics: the first name looked up after it was dropped."""
    for path in ("/v1/alerts", "/v1/sse"):
        status, _, body = https_get(alertd.port, f"{path}?{query}", alertd.ctx)
        assert status == 400 and body.count(b"lang") >= 1, (path, query[:40], body)
        assert b"limit" not in body and b"topics" not in body, (path, query[:40], body)


# ---------------------------------------------------------------------------
# HSTS
# ---------------------------------------------------------------------------
def test_hsts_on_https_answers_and_configurable(alertd_factory):
    srv = alertd_factory()
    for path in ("/healthz", "/v1/alerts", "/nothing-here"):
        _, hdrs, _ = https_get(srv.port, path, srv.ctx)
        assert hdrs["strict-transport-security"] == "max-age=31536000", path
    (_, hdrs, _), _ = one(srv, upgrade(version="8"))
    assert hdrs["strict-transport-security"] == "max-age=31536000"
    r = Raw(srv)
    try:
        r.send(request("/v1/sse"))
        _, hdrs, _ = r.answer(head_request=True)
        assert hdrs["strict-transport-security"] == "max-age=31536000"
    finally:
        r.close()
    short = alertd_factory("--hsts-max-age", "60")
    assert https_get(short.port, "/healthz", short.ctx)[1]["strict-transport-security"] == \
        "max-age=60"
    off = alertd_factory("--hsts-max-age", "0")
    assert "strict-transport-security" not in https_get(off.port, "/healthz", off.ctx)[1]


def test_no_hsts_on_the_plain_metrics_port(alertd_factory):
    from conftest import free_port
    mport = free_port()
    srv = alertd_factory("--metrics-listen", f"127.0.0.1:{mport}")
    conn = http.client.HTTPConnection("127.0.0.1", mport, timeout=3)
    try:
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        assert resp.getheader("strict-transport-security") is None
    finally:
        conn.close()
    assert "strict-transport-security" in https_get(srv.port, "/healthz", srv.ctx)[1]


# ---------------------------------------------------------------------------
# Origin
# ---------------------------------------------------------------------------
def test_a_refused_origin_gets_403_before_the_upgrade(alertd_factory):
    srv = alertd_factory("--allowed-origin", "https://*.example.org",
                         "--allowed-origin", "https://example.org")
    for origin in ("https://news.example.org", "https://a.b.example.org", "https://example.org"):
        (status, _, body), _ = one(srv, upgrade(extra=[f"Origin: {origin}"]))
        assert status == 101, (origin, status, body)
    for origin in ("https://badexample.org", "http://news.example.org",
                   "https://news.example.org:8443", "https://example.org.evil.example", "null",
                   "https://" + "a" * 300 + ".example.org"):
        (status, hdrs, body), closed = one(srv, upgrade(extra=[f"Origin: {origin}"]))
        assert status == 403, (origin, status, body)
        assert b"Origin" in body and closed
    assert https_get(srv.port, "/v1/sse", srv.ctx,
                     headers={"Origin": "https://evil.example"})[0] == 403
    _, hdrs, _ = https_get(srv.port, "/v1/alerts", srv.ctx,
                           headers={"Origin": "https://www.example.org"})
    assert hdrs.get("access-control-allow-origin") == "https://www.example.org"


def test_a_pattern_too_wide_stops_alertd_at_start(alertd_factory):
    srv = alertd_factory("--allowed-origin", "https://*.org", start=False)
    srv.spawn()
    assert srv.wait_exit(10) == 2
    with open(srv.log) as f:
        assert "--allowed-origin" in f.read()
