"""--metrics-listen: /metrics (with /healthz and /readyz) on a separate,
plain-HTTP port for the scraper, and no longer on the readers' port."""
import asyncio
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time

import pytest

from alertd_fixture import alertd_factory, recv_hello, run, tls_cert  # noqa: F401
from conftest import ALERTD, ROOT, free_port


def plain_get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def gauge(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split(" ")[1])
    raise AssertionError(f"{name} not in /metrics")


def test_metrics_move_to_their_own_port(alertd_factory):
    mport = free_port()
    srv = alertd_factory("--metrics-listen", f"127.0.0.1:{mport}", "--workers", "2")

    status, body = plain_get(mport, "/metrics")
    assert status == 200 and "alertd_info" in body
    assert plain_get(mport, "/healthz") == (200, "ok\n")
    assert plain_get(mport, "/readyz")[0] == 200
    # Nothing for readers there: no alerts, no files, no WebSocket.
    for path in ("/v1/alerts", "/", "/ticker.js", "/v1/sse"):
        assert plain_get(mport, path)[0] == 404, path
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    assert plain_get(mport, "/v1/ws", upgrade)[0] == 404

    # The readers' port no longer shows /metrics, and still serves the rest.
    assert srv.get("/metrics")[0] == 404
    assert srv.get("/healthz")[0] == 200
    assert srv.get("/v1/alerts")[0] == 200

    # One scrape covers every worker: the connections on both add up.
    async def main():
        clients = [await srv.connect() for _ in range(6)]
        for ws in clients:
            await recv_hello(ws)
        deadline = time.monotonic() + 5
        while gauge(plain_get(mport, "/metrics")[1], "alertd_connections") != 6:
            assert time.monotonic() < deadline, plain_get(mport, "/metrics")[1]
            await asyncio.sleep(0.1)
        for ws in clients:
            await ws.close()

    run(main())


def test_metrics_port_errors_are_clear(tls_cert):
    port = free_port()
    for value, words in (("nonsense", "--metrics-listen: expected HOST:PORT"),
                         ("127.0.0.1:0", "--metrics-listen: port must be 1-65535")):
        r = subprocess.run([ALERTD, "--metrics-listen", value, "--version"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and words in r.stderr, r.stderr
    # The same port as --listen: the second bind fails, before any worker.
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{port}",
                        "--metrics-listen", f"127.0.0.1:{port}", "--tls-cert", tls_cert.cert,
                        "--tls-key", tls_cert.key, "--workers", "1"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1, r.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr


def test_the_dashboard_shows_every_metric_alertd_exports(alertd_factory):  # noqa: F811
    mport = free_port()
    alertd_factory("--metrics-listen", f"127.0.0.1:{mport}")
    families = re.findall(r"^# TYPE (\S+) ", plain_get(mport, "/metrics")[1], re.M)
    assert "alertd_proxy_header_refused_total" in families and len(families) > 15
    with open(os.path.join(ROOT, "deploy", "grafana-dashboard.json")) as f:
        board = json.load(f)
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p.get("targets", []))
    exprs += " " + " ".join(v.get("query", {}).get("query", "") if isinstance(v.get("query"), dict)
                            else str(v.get("query", ""))
                            for v in board.get("templating", {}).get("list", []))
    missing = [m for m in families if not re.search(rf"\b{m}(_bucket|_sum|_count)?\b", exprs)]
    assert missing == [], f"metrics deploy/grafana-dashboard.json does not show: {missing}"


def test_metrics_are_not_on_the_readers_port_unless_asked(alertd_factory):  # noqa: F811
    """/metrics shows the node's load and internals: by default only the
    metrics port serves it, and with no metrics port nobody does (logged);
    --public-metrics puts it on the readers' port too."""
    bare = alertd_factory(metrics=False)
    assert bare.metrics_port is None
    assert bare.get("/metrics")[0] == 404
    assert bare.get("/healthz")[0] == 200 and bare.get("/readyz")[0] == 200
    with open(bare.log) as f:
        assert "/metrics is not served: set --metrics-listen" in f.read()

    public = alertd_factory("--public-metrics", metrics=False)
    status, hdrs, body = public.get("/metrics")
    assert status == 200 and b"alertd_info" in body
    assert hdrs["content-type"].startswith("text/plain; version=0.0.4")

    both = alertd_factory("--public-metrics")
    assert both.get("/metrics")[0] == 200 and "alertd_info" in both.metrics()


def test_the_metrics_port_is_not_under_the_per_address_limits(alertd_factory):  # noqa: F811
    """--max-per-ip and --max-rate-per-ip guard the readers' port: a
    scraper (or a balancer's checks) from one address is never refused."""
    srv = alertd_factory("--max-per-ip", "2", "--max-rate-per-ip", "1000")
    held = []
    try:
        # Two readers' connections held (the fixture's readiness checks may
        # not have been released yet: retried until both are in).
        deadline = time.monotonic() + 10
        while len(held) < 2:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            try:
                held.append(srv.ctx.wrap_socket(s, server_hostname="localhost"))
            except (ssl.SSLError, OSError):
                s.close()
                assert time.monotonic() < deadline, "two connections were never taken"
                time.sleep(0.1)
        # The readers' limit is in force: a third connection is closed.
        with pytest.raises((ssl.SSLError, OSError)):
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
                srv.ctx.wrap_socket(s, server_hostname="localhost").close()
        refused = gauge(srv.metrics(), "alertd_per_ip_refused_total")
        assert refused >= 1
        # Idle connections to the metrics port past the limit, and scrapes.
        for _ in range(4):
            held.append(socket.create_connection(("127.0.0.1", srv.metrics_port), timeout=5))
        for _ in range(5):
            assert gauge(srv.metrics(), "alertd_per_ip_refused_total") == refused
    finally:
        for s in held:
            s.close()


def test_the_metrics_port_is_not_under_the_rate_limit(alertd_factory):  # noqa: F811
    srv = alertd_factory("--max-rate-per-ip", "1")
    # (The fixture's readiness polls on the readers' port may have been.)
    before = gauge(srv.metrics(), "alertd_per_ip_rate_refused_total")
    t0 = time.monotonic()
    for _ in range(10):  # none refused, though several come within a second
        assert "alertd_info" in srv.metrics()
    took = time.monotonic() - t0
    assert gauge(srv.metrics(), "alertd_per_ip_rate_refused_total") == before
    # The limit is in force on the readers' port meanwhile.
    for _ in range(5):
        try:
            srv.get("/healthz", timeout=2)
        except (OSError, http.client.HTTPException):
            pass
    assert gauge(srv.metrics(), "alertd_per_ip_rate_refused_total") > before, took
