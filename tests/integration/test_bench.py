"""alert-bench, the load generator of issue 5, against real servers.

A real alertd (alertd_fixture), a real redis-server, alerts published the
way alert-bench publishes them for each target: through the real `alert`
CLI for alertd, with a plain PUBLISH for a relay that forwards Redis
messages verbatim (as nchan and the Node peer do; here a few lines of
python3-websockets). Every run is bounded by alert-bench's own deadlines
and by the subprocess timeout.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request

import pytest

from alertd_fixture import OP_TEXT, RawWs, alertd, alertd_factory, tls_cert  # noqa: F401
from conftest import BUILD, ROOT, free_port, wait_for_port

BENCH = os.path.join(BUILD, "alert-bench")


def bench(*args, timeout=60):
    """Runs alert-bench; returns (CompletedProcess, the --json result or None)."""
    out = None
    argv = [BENCH, *map(str, args)]
    if "--json" in argv:
        out = argv[argv.index("--json") + 1]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    result = None
    if out and os.path.exists(out):
        with open(out) as f:
            result = json.load(f)
    return r, result


def check_latency(lat, limit_ms):
    """The latency block is a sane distribution in milliseconds."""
    assert lat is not None
    assert 0 <= lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"]
    assert lat["min"] <= lat["mean"] <= lat["max"]
    assert lat["max"] < limit_ms, lat


# ---------------------------------------------------------------------------
# Against alertd
# ---------------------------------------------------------------------------
def test_bench_alertd_every_client_gets_every_alert_once(alertd, redis_server, tls_cert,
                                                         tmp_path):
    out = tmp_path / "bench.json"
    r, res = bench("--url", alertd.url(), "--ca", tls_cert.cert, "--clients", 50,
                   "--rate", 500, "--alerts", 5, "--alert-rate", 10, "--redis", redis_server.url,
                   "--server-pid", alertd.proc.pid, "--settle", 0.2, "--drain", 10,
                   "--label", "alertd", "--json", out)
    assert r.returncode == 0, r.stderr
    assert "OK: every client received every alert exactly once" in r.stderr, r.stderr
    assert res["ok"] is True and res["problems"] == ""
    assert res["label"] == "alertd" and res["mode"] == "alertd"

    conn = res["connect"]
    assert (conn["attempted"], conn["established"], conn["failed"]) == (50, 50, 0)
    assert conn["tls_version"] == "TLSv1.3" and conn["cipher"] == "TLS_AES_256_GCM_SHA384"
    assert conn["handshakes_per_s"] > 0 and conn["client_cpu_us_per_handshake"] > 0

    d = res["delivery"]
    assert d["expected"] == 250 and d["deliveries"] == 250
    assert d["missing"] == 0 and d["duplicates"] == 0 and d["dropped"] == 0
    assert d["complete_clients"] == 50
    assert d["other_frames"] >= 50  # every connection's hello
    assert 550 <= d["frame_bytes_min"] <= d["frame_bytes_max"] <= 650, d

    check_latency(res["latency_ms"], 10000)
    check_latency(res["relay_latency_ms"], 10000)
    assert res["latency_ms"]["count"] == 250
    reach = res["reach_all_ms"]
    assert reach["alerts"] == 5 and reach["alerts_reaching_all"] == 5
    assert 0 < reach["median"] <= reach["max"] <= res["latency_ms"]["max"] + 0.001

    pub = res["publish"]
    assert (pub["published"], pub["errors"], pub["seen_on_redis"]) == (5, 0, 5)

    srv = res["server"]
    assert srv["pids"] == [alertd.proc.pid] and srv["procs"] == 1
    assert srv["rss_kib_idle"] > 0 and srv["cpu_us_per_delivery"] >= 0
    assert res["client_cpu"]["total_s"] > 0


def test_bench_burst_puts_a_routine_backlog_before_each_flash(alertd, redis_server, tls_cert,
                                                              tmp_path):
    """--burst B: B routine alerts straight into Redis before each measured
    (flash) alert; every client still gets every flash once, and the burst."""
    out = tmp_path / "bench.json"
    r, res = bench("--url", alertd.url(), "--ca", tls_cert.cert, "--clients", 20,
                   "--alerts", 3, "--alert-rate", 5, "--burst", 100, "--redis", redis_server.url,
                   "--settle", 0.2, "--drain", 10, "--json", out)
    assert r.returncode == 0, r.stderr
    assert res["params"]["burst"] == 100
    d = res["delivery"]
    assert d["deliveries"] == 60 and d["missing"] == 0 and d["duplicates"] == 0
    assert d["other_frames"] > 20  # hellos, and routine alerts (the flashes overtake some)
    assert int(redis_server.cli("XLEN", "alert:stream")) == 303
    assert res["reach_all_ms"]["alerts_reaching_all"] == 3
    r, _ = bench("--publish-mode", "publish", "--channel", "c", "--burst", 10)
    assert r.returncode == 2 and "--burst needs --publish-mode alertd" in r.stderr


def test_bench_resume_two_workers(alertd, redis_server, tls_cert, tmp_path):
    """--resume: everyone reconnects with its session ticket; --procs 2
    splits the clients over two worker processes."""
    out = tmp_path / "bench.json"
    r, res = bench("--url", alertd.url(), "--ca", tls_cert.cert, "--clients", 40, "--procs", 2,
                   "--sources", 4, "--resume", "--alerts", 3, "--alert-rate", 20,
                   "--redis", redis_server.url, "--settle", 0.1, "--drain", 10, "--json", out)
    assert r.returncode == 0, r.stderr
    assert res["params"]["procs"] == 2
    assert res["connect"]["established"] == 40 and res["connect"]["tickets"] == 40
    assert res["resume"]["established"] == 40 and res["resume"]["resumed"] == 40
    assert res["delivery"]["deliveries"] == 120 and res["delivery"]["duplicates"] == 0


class Reader:
    """A plain (uncompressed) reader beside alert-bench, keeping every text
    message it receives, in a thread of its own."""

    def __init__(self, port, ctx, path, headers=("Sec-WebSocket-Protocol: alert.v1",)):
        self.ws = RawWs(port, ctx, path=path, headers=list(headers))
        assert "sec-websocket-extensions" not in self.ws.headers
        self.texts, self.stop = [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                _, op, payload = self.ws.recv_frame(timeout=0.2)
            except TimeoutError:
                continue
            if op == OP_TEXT:
                self.texts.append(payload)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.ws.close()


def alert_lines(texts):
    return [t for t in texts if t.startswith(b'{"type":"alert"')]


def test_bench_deflate_and_fields_match_a_plain_reader(alertd, redis_server, tls_cert, tmp_path):
    """--deflate: alert-bench offers permessage-deflate (no context takeover
    either way), alertd compresses, and what alert-bench inflates is, byte
    for byte, what a plain reader beside it receives, whole items and
    --fields compact ones alike; the TCP bytes per delivery it counts are
    the frame plus TLS records, fewer compressed than plain."""
    ctx = tls_cert.client_context()
    compact = "headline,urgency,url,ext"
    runs = {}
    for name, extra, path in (("plain", [], "/v1/ws"), ("deflate", ["--deflate"], "/v1/ws"),
                              ("compact", ["--deflate", "--fields", compact],
                               f"/v1/ws?fields={compact}")):
        reader = Reader(alertd.port, ctx, path)
        rec, out = tmp_path / f"{name}.txt", tmp_path / f"{name}.json"
        try:
            r, res = bench("--url", alertd.url(), "--ca", tls_cert.cert, "--subprotocol",
                           "alert.v1", "--clients", 5, "--alerts", 4, "--alert-rate", 10,
                           "--redis", redis_server.url, "--settle", 0.2, "--drain", 10,
                           "--record", rec, "--json", out, *extra)
            assert r.returncode == 0, r.stderr
            deadline = time.monotonic() + 10
            while len(alert_lines(reader.texts)) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            reader.close()
        got = alert_lines(rec.read_bytes().split(b"\n"))
        assert len(got) == 4 and got == alert_lines(reader.texts), (got, reader.texts)
        runs[name] = (res, got)

    plain, deflate, comp = (runs[k][0] for k in ("plain", "deflate", "compact"))
    assert plain["params"]["deflate"] is False and deflate["params"]["deflate"] is True
    assert comp["params"]["fields"] == compact
    assert plain["connect"]["deflate"] == 0 and plain["delivery"]["deflated"] == 0
    for res in (deflate, comp):
        assert res["connect"]["deflate"] == 5, res["connect"]
        assert res["delivery"]["deflated"] == res["delivery"]["deliveries"] == 20
    # Compact items carry only what was asked for (and id, kind, ref).
    item = json.loads(runs["compact"][1][0])["alert"]
    assert set(item) <= {"id", "kind", "ref", "headline", "urgency", "url", "ext"}, item
    assert "summary" in json.loads(runs["deflate"][1][0])["alert"]

    # Every client's TCP bytes were counted; per delivery, the plain frame
    # (600 B within 2, and its 4-byte header) plus one TLS 1.3 record's
    # 22 bytes, within what a ping or session ticket could add.
    for res in (plain, deflate, comp):
        assert res["delivery"]["wire_conns"] == 5, res["delivery"]
    pd = plain["delivery"]
    assert 550 <= pd["frame_bytes_min"] and pd["frame_bytes_max"] <= 650
    assert pd["ws_bytes_per_delivery"] == pd["frame_bytes_max"] + 4 or \
        pd["frame_bytes_min"] != pd["frame_bytes_max"]
    assert pd["ws_bytes_per_delivery"] + 22 <= pd["wire_bytes_per_delivery"] \
        <= pd["ws_bytes_per_delivery"] + 60, pd
    dd, cd = deflate["delivery"], comp["delivery"]
    assert dd["ws_bytes_per_delivery"] < pd["ws_bytes_per_delivery"]
    assert dd["wire_bytes_per_delivery"] < pd["wire_bytes_per_delivery"]
    assert cd["wire_bytes_per_delivery"] < dd["wire_bytes_per_delivery"]
    assert dd["frame_bytes_max"] == pd["frame_bytes_max"] or \
        abs(dd["frame_bytes_max"] - pd["frame_bytes_max"]) <= 2  # inflated sizes


def test_bench_fails_when_nothing_listens(redis_server, tls_cert, tmp_path):
    """Bounded, and exit status 1, when no client can connect."""
    out = tmp_path / "bench.json"
    r, res = bench("--url", f"wss://127.0.0.1:{free_port()}/v1/ws", "--ca", tls_cert.cert,
                   "--clients", 10, "--alerts", 1, "--redis", redis_server.url,
                   "--connect-timeout", 2, "--settle", 0, "--drain", 1, "--json", out,
                   timeout=30)
    assert r.returncode == 1, r.stderr
    assert res["ok"] is False and "0 of 10 clients connected" in res["problems"]
    assert res["connect"]["failures"]["connect"] == 10


def test_bench_usage_errors():
    r, _ = bench("--publish-mode", "publish")
    assert r.returncode == 2 and "--channel" in r.stderr
    r, _ = bench("--url", "wss://192.0.2.1:443/")
    assert r.returncode == 2 and "127.0.0.0/8" in r.stderr
    r, _ = bench("--clients", 0)
    assert r.returncode == 2


# ---------------------------------------------------------------------------
# Publish mode, against a relay that forwards Redis messages verbatim
# ---------------------------------------------------------------------------
RELAY = textwrap.dedent("""
    import asyncio, ssl, sys
    import redis.asyncio as aioredis
    import websockets

    port, cert, key, redis_port, channel = sys.argv[1:6]
    clients = set()

    async def handler(ws, path=None):
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async def main():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ps = aioredis.Redis(port=int(redis_port)).pubsub()
        await ps.subscribe(channel)
        async with websockets.serve(handler, "127.0.0.1", int(port), ssl=ctx):
            async for m in ps.listen():
                if m["type"] == "message":
                    websockets.broadcast(clients, m["data"].decode())

    asyncio.run(main())
""")


def test_bench_publish_mode_through_a_verbatim_relay(redis_server, tls_cert, tmp_path):
    port = free_port()
    relay = subprocess.Popen([sys.executable, "-c", RELAY, str(port), tls_cert.cert, tls_cert.key,
                              str(redis_server.port), "bench:relay"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port)
        out = tmp_path / "bench.json"
        r, res = bench("--url", f"wss://localhost:{port}/", "--ca", tls_cert.cert,
                       "--clients", 20, "--alerts", 4, "--alert-rate", 20,
                       "--publish-mode", "publish", "--channel", "bench:relay", "--size", 700,
                       "--redis", redis_server.url, "--server-pid", relay.pid,
                       "--settle", 0.1, "--drain", 10, "--json", out)
        assert r.returncode == 0, r.stderr
        assert res["mode"] == "publish" and res["params"]["channel"] == "bench:relay"
        assert res["delivery"]["deliveries"] == 80 and res["delivery"]["duplicates"] == 0
        # The relay forwards the frame as built: exactly --size bytes.
        assert res["delivery"]["frame_bytes_min"] == res["delivery"]["frame_bytes_max"] == 700
        assert res["publish"]["other_subscribers"] == 1  # the relay
        check_latency(res["latency_ms"], 10000)
    finally:
        relay.kill()
        relay.wait(timeout=10)


# ---------------------------------------------------------------------------
# nchan-http mode, against the nginx + nchan peer of `make bench`
# ---------------------------------------------------------------------------
NCHAN_START = os.path.join(ROOT, "bench", "peers", "nchan", "start.sh")
HAVE_NCHAN = shutil.which("nginx") is not None and any(
    os.path.exists(p) for p in ("/usr/lib/nginx/modules/ngx_nchan_module.so",
                                "/usr/share/nginx/modules/ngx_nchan_module.so"))


def wait_nchan(pub_port, redis, proc, timeout=15.0):
    """Until nchan holds its Redis subscription and its publisher answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "nginx exited while starting"
        if " sub=1 " in redis.cli("CLIENT", "LIST"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{pub_port}/pub/ready", timeout=1)
                return
            except urllib.error.HTTPError as e:
                if e.code != 503:
                    return
            except OSError:
                pass
        time.sleep(0.1)
    raise AssertionError("nchan not ready")


@pytest.mark.skipif(not (HAVE_NCHAN and os.path.exists(NCHAN_START)),
                    reason="nginx + libnginx-mod-nchan (scripts/bench-deps.sh) not installed")
@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
def test_bench_nchan_http_mode(redis_server, tls_cert, tmp_path, deflate):
    """nchan-http mode; with deflate, nchan's own permessage-deflate
    (start.sh --deflate: nchan_deflate_message_for_websocket) read by
    alert-bench --deflate: every alert compressed, and inflated to what a
    plain reader beside it gets."""
    port, pub = free_port(), free_port()
    nginx = subprocess.Popen([NCHAN_START, "--port", str(port), "--pub-port", str(pub),
                              "--redis-port", str(redis_server.port), "--cert", tls_cert.cert,
                              "--key", tls_cert.key, "--dir", str(tmp_path / "nchan"),
                              *(["--deflate"] if deflate else [])],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reader = None
    try:
        wait_nchan(pub, redis_server, nginx)
        reader = Reader(port, tls_cert.client_context(), "/sub/alerts", headers=())
        out, rec = tmp_path / "bench.json", tmp_path / "record.txt"
        r, res = bench("--url", f"wss://127.0.0.1:{port}/sub/alerts", "--ca", tls_cert.cert,
                       "--clients", 30, "--alerts", 4, "--alert-rate", 20,
                       "--publish-mode", "nchan-http",
                       "--publish-url", f"http://127.0.0.1:{pub}/pub/alerts",
                       "--server-pid", nginx.pid, "--settle", 0.1, "--drain", 10,
                       "--record", rec, "--json", out, *(["--deflate"] if deflate else []))
        assert r.returncode == 0, r.stderr
        assert res["mode"] == "nchan-http"
        d = res["delivery"]
        assert res["connect"]["deflate"] == (30 if deflate else 0)
        assert d["deflated"] == (120 if deflate else 0)
        if deflate:
            assert d["ws_bytes_per_delivery"] < 500 and d["wire_bytes_per_delivery"] < 530, d
        else:  # the 600-byte message, its 4-byte header, one TLS 1.3 record (22)
            assert d["ws_bytes_per_delivery"] == 604
            assert 626 <= d["wire_bytes_per_delivery"] <= 660, d
        deadline = time.monotonic() + 10
        while len(alert_lines(reader.texts)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        got = alert_lines(rec.read_bytes().split(b"\n"))
        assert len(got) == 4 and got == alert_lines(reader.texts)
        assert res["delivery"]["deliveries"] == 120 and res["delivery"]["duplicates"] == 0
        assert res["delivery"]["frame_bytes_max"] == 600
        # nchan's Redis traffic is its own: no relay latency, end-to-end only.
        assert res["relay_latency_ms"] is None and res["relay_reach_all_ms"] is None
        assert res["publish"]["errors"] == 0 and res["publish"]["seen_on_redis"] == 0
        check_latency(res["latency_ms"], 10000)
        assert res["server"]["procs"] >= 2  # the master and its worker
    finally:
        if reader:
            reader.close()
        nginx.send_signal(signal.SIGTERM)
        try:
            nginx.wait(timeout=15)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait(timeout=10)


# ---------------------------------------------------------------------------
# --tls-write-limit
# ---------------------------------------------------------------------------
def test_tls_write_limit_reports_a_rate(tmp_path):
    out = tmp_path / "tlsw.json"
    r, res = bench("--tls-write-limit", 20, "--duration", 1, "--json", out, timeout=30)
    assert r.returncode == 0, r.stderr
    assert res["mode"] == "tls-write-limit" and res["connections"] == 20
    assert res["record_bytes"] == 600 and res["tls_version"] == "TLSv1.3"
    for part in ("tls", "plain_write", "seal_only"):
        assert res[part]["records"] > 0 and res[part]["records_per_s"] > 0, res[part]
        assert res[part]["cpu_us_per_record"] > 0
    assert "records/s" in r.stderr
