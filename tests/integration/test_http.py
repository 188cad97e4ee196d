"""alertd's HTTP side: /v1/alerts, /v1/sse, static files, /metrics, CORS.

Real alertd over real TLS, a real redis-server, alerts pushed with the CLI.
"""
import gzip
import os
import json
import socket
import ssl
import time

from alertd_fixture import (alertd, alertd_factory, http_get, https_get, push,  # noqa: F401
                            tls_cert)


def get_json(srv, path, headers=None):
    status, hdrs, body = https_get(srv.port, path, srv.ctx, headers=headers)
    return status, hdrs, (json.loads(body) if body and status == 200 else body)


# ---------------------------------------------------------------------------
# /v1/alerts
# ---------------------------------------------------------------------------
def test_rest_alerts_newest_first_with_filters_limit_and_since(alertd, redis_server):
    a = push(redis_server, "A", topics=["world"], lang="en")
    b = push(redis_server, "B", topics=["sport"], lang="de")
    c = push(redis_server, "C", topics=["world", "sport"], lang="en")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status, _, doc = get_json(alertd, "/v1/alerts")
        if status == 200 and doc["last_id"] == c:
            break
        time.sleep(0.05)
    assert [x["id"] for x in doc["alerts"]] == [c, b, a]
    assert doc["alerts"][0]["headline"] == "C"
    assert [x["id"] for x in get_json(alertd, "/v1/alerts?topics=world")[2]["alerts"]] == [c, a]
    assert [x["id"] for x in get_json(alertd, "/v1/alerts?lang=de")[2]["alerts"]] == [b]
    assert [x["id"] for x in get_json(alertd, "/v1/alerts?limit=1")[2]["alerts"]] == [c]
    assert [x["id"] for x in get_json(alertd, f"/v1/alerts?since={a}")[2]["alerts"]] == [c, b]


def test_rest_alerts_bad_query_is_400_naming_the_parameter(alertd):
    for query, word in [("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"),
                        ("since=yesterday", "since"), ("topics=Not%20A%20Slug", "topics"),
                        # not UTF-8 once decoded, or cut inside a character (found by fuzzing)
                        ("lang=en%C3", "lang"), ("topics=" + "a" * 39 + "%C3%A9", "topics")]:
        status, _, body = https_get(alertd.port, f"/v1/alerts?{query}", alertd.ctx)
        assert status == 400, (query, status)
        assert word in body.decode(), (query, body)
    # A NUL in the query is refused outright by the HTTP parser; the server goes on.
    try:
        status = https_get(alertd.port, "/v1/alerts?since=1-0%00", alertd.ctx)[0]
        assert status == 400
    except (ConnectionError, OSError, __import__("http").client.HTTPException):
        pass
    assert https_get(alertd.port, "/healthz", alertd.ctx)[0] == 200


def test_rest_alerts_etag_and_short_cache(alertd, redis_server):
    push(redis_server, "Cached")
    time.sleep(0.3)
    status, hdrs, _ = https_get(alertd.port, "/v1/alerts", alertd.ctx)
    assert status == 200 and hdrs["etag"].startswith('"')
    assert "max-age=2" in hdrs["cache-control"]
    status, _, body = https_get(alertd.port, "/v1/alerts", alertd.ctx,
                                headers={"If-None-Match": hdrs["etag"]})
    assert status == 304 and body == b""
    push(redis_server, "Changed")
    time.sleep(0.3)
    status, hdrs2, _ = https_get(alertd.port, "/v1/alerts", alertd.ctx,
                                 headers={"If-None-Match": hdrs["etag"]})
    assert status == 200 and hdrs2["etag"] != hdrs["etag"]


def test_cors_only_for_allowed_origins(alertd_factory):
    srv = alertd_factory("--allowed-origin", "https://news.example")
    _, hdrs, _ = https_get(srv.port, "/v1/alerts", srv.ctx,
                           headers={"Origin": "https://news.example"})
    assert hdrs.get("access-control-allow-origin") == "https://news.example"
    assert "Origin" in hdrs.get("vary", "")
    _, hdrs, _ = https_get(srv.port, "/v1/alerts", srv.ctx,
                           headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in hdrs


# ---------------------------------------------------------------------------
# /v1/sse
# ---------------------------------------------------------------------------
class Sse:
    """A raw SSE reader over TLS: events as dicts {event, id, data}."""

    def __init__(self, srv, query="", headers=()):
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        self.sock = srv.ctx.wrap_socket(raw, server_hostname="localhost")
        req = f"GET /v1/sse{query} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
        req += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        self.sock.sendall(req.encode())
        self.buf = b""
        self.text = b""  # de-chunked event text not yet parsed
        head = self._until(b"\r\n\r\n")
        self.status = int(head.split(b" ")[1])
        self.headers = head.decode()
        self.chunked = b"transfer-encoding: chunked" in head.lower()

    def _fill(self, deadline):
        self.sock.settimeout(max(0.05, deadline - time.monotonic()))
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("stream closed")
        self.buf += data

    def _until(self, sep, deadline=None):
        deadline = deadline or time.monotonic() + 5
        while sep not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(sep, 1)
        return head

    def events(self, n, timeout=5.0, kinds=("alert",)):
        """The next n events whose type is in kinds (comments and others skipped)."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            self.text += self._dechunk()
            while b"\n\n" in self.text and len(out) < n:
                block, self.text = self.text.split(b"\n\n", 1)
                ev = {"comment": []}
                for line in block.decode().split("\n"):
                    if line.startswith(":"):
                        ev["comment"].append(line)
                    elif ":" in line:
                        k, v = line.split(":", 1)
                        ev[k] = v[1:] if v.startswith(" ") else v
                if ev.get("event") in kinds or (not ev.get("event") and "comment" in kinds
                                                and ev["comment"]):
                    out.append(ev)
            if len(out) == n:
                return out
            if time.monotonic() > deadline:
                raise AssertionError(f"got {len(out)} of {n} events: {out}")
            try:
                self._fill(deadline)
            except socket.timeout:
                pass

    def _dechunk(self):
        if not self.chunked:
            data, self.buf = self.buf, b""
            return data
        out = b""
        while b"\r\n" in self.buf:
            size_line, rest = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                break
            out += rest[:size]
            self.buf = rest[size + 2:]
        return out

    def close(self):
        self.sock.close()


def test_sse_hello_live_and_resume_with_last_event_id(alertd, redis_server):
    first = push(redis_server, "Before")
    time.sleep(0.3)
    s = Sse(alertd, "?topics=world")
    try:
        assert s.status == 200 and "text/event-stream" in s.headers
        hello = s.events(1, kinds=("hello",))[0]
        assert json.loads(hello["data"])["last_id"] == first
        push(redis_server, "Elsewhere", topics=["sport"])
        w1 = push(redis_server, "World 1", topics=["world"])
        ev = s.events(1)[0]
        assert ev["id"] == w1 and json.loads(ev["data"])["headline"] == "World 1"
    finally:
        s.close()
    w2 = push(redis_server, "World 2", topics=["world"])
    w3 = push(redis_server, "World 3", topics=["world"])
    s = Sse(alertd, "?topics=world", headers=[("Last-Event-ID", w1)])
    try:
        evs = s.events(2)
        assert [e["id"] for e in evs] == [w2, w3]
        replayed = s.events(1, kinds=("replayed",))[0]
        assert json.loads(replayed["data"])["count"] == 2
    finally:
        s.close()


def test_sse_heartbeat_comments(alertd_factory):
    srv = alertd_factory(heartbeat=1)
    s = Sse(srv)
    try:
        pings = s.events(2, timeout=5, kinds=("comment",))
        assert all(": ping" in e["comment"] for e in pings)
    finally:
        s.close()


def test_sse_bad_since_is_400(alertd):
    s = Sse(alertd, "?since=bogus")
    try:
        assert s.status == 400
    finally:
        s.close()


# ---------------------------------------------------------------------------
# static files and operations endpoints
# ---------------------------------------------------------------------------
def test_static_widget_gzip_etag_and_versioned_url(alertd):
    status, hdrs, body = https_get(alertd.port, "/ticker.js", alertd.ctx)
    assert status == 200 and hdrs["content-type"].startswith("text/javascript")
    assert "max-age=300" in hdrs["cache-control"]
    status, zhdrs, zbody = https_get(alertd.port, "/ticker.js", alertd.ctx,
                                     headers={"Accept-Encoding": "gzip"})
    assert zhdrs.get("content-encoding") == "gzip" and gzip.decompress(zbody) == body
    assert len(zbody) < len(body)
    status, _, _ = https_get(alertd.port, "/ticker.js", alertd.ctx,
                             headers={"If-None-Match": hdrs["etag"]})
    assert status == 304
    status, hdrs, page = https_get(alertd.port, "/", alertd.ctx)
    assert status == 200 and hdrs["content-type"].startswith("text/html")
    assert b"ticker.js" in page


def test_unknown_path_404_and_ws_path_426(alertd):
    assert https_get(alertd.port, "/nope", alertd.ctx)[0] == 404
    assert https_get(alertd.port, "/v1/ws", alertd.ctx)[0] == 426


def test_metrics_count_alerts_and_deliveries(alertd, redis_server):
    push(redis_server, "Counted")
    time.sleep(0.3)
    status, hdrs, body = http_get(alertd.metrics_port, "/metrics")
    text = body.decode()
    assert status == 200 and hdrs["content-type"].startswith("text/plain; version=0.0.4")
    values = {line.split(" ")[0]: float(line.split(" ")[1])
              for line in text.splitlines() if line and not line.startswith("#")}
    assert values["alertd_alerts_in_total"] >= 1
    assert values["alertd_ready"] == 1
    assert values["alertd_redis_connected"] == 1
    assert 'alertd_delivery_latency_seconds_bucket{le="+Inf"}' in values
    for name in ("alertd_connections", "alertd_slow_consumer_closes_total",
                 "alertd_replays_total", "alertd_tls_handshake_failures_total"):
        assert name in values, name


def test_sse_client_that_hangs_up_is_released(alertd):
    """lws does not read an HTTP connection mid-response, so a gone SSE client
    must be noticed by alertd itself: released within a few seconds, and no
    busy loop on its end-of-file meanwhile."""
    s = Sse(alertd)
    s.events(1, kinds=("hello",))
    s.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = alertd.metrics()
        if "\nalertd_connections 0\n" in text:
            break
        time.sleep(0.2)
    assert "\nalertd_connections 0\n" in text
    with open(f"/proc/{alertd.proc.pid}/stat") as f:
        before = sum(int(x) for x in f.read().split()[13:15])
    time.sleep(1.0)
    with open(f"/proc/{alertd.proc.pid}/stat") as f:
        after = sum(int(x) for x in f.read().split()[13:15])
    hz = os.sysconf("SC_CLK_TCK")
    assert (after - before) / hz < 0.2, "alertd is busy while idle"
