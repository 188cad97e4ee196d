"""Smoke test of the benchmark's peers (issue #5), so they cannot silently rot.

Each peer is started the way `make bench` starts it (bench/peers/*/start.sh),
on free loopback ports, against the fixtures' real redis-server, with a
self-signed ECDSA P-256 certificate. One python3-websockets client connects
over TLS 1.3, one alert is published the way the bench feeds that peer, and
the test asserts it arrives:

- nginx + nchan: POST to nchan's HTTP publisher location (nchan's Redis
  storage is written by its own Lua scripts; a Redis PUBLISH never reaches
  its subscribers). The test also checks the message went through Redis, so a
  configuration that silently falls back to nchan's shared memory fails.
- Node (ws + redis): a Redis PUBLISH of the whole frame on alert:live
  (alert-bench's `--publish-mode publish`); the peer relays it verbatim. An
  `alert push` (the script that feeds alertd) reaches it the same way.

Nothing is skipped: missing nginx/nchan or node modules are installed by
scripts/bench-deps.sh, and if that fails the test fails saying so.
"""
import asyncio
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import websockets

from alertd_fixture import tls_cert  # noqa: F401
from conftest import ROOT, free_port, wait_for_port

PEERS = os.path.join(ROOT, "bench", "peers")
NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so"


def peers_missing():
    missing = []
    if not shutil.which("nginx") or not os.path.exists(NCHAN_MODULE):
        missing.append("nginx + libnginx-mod-nchan")
    if not shutil.which("node"):
        missing.append("node")
    for mod in ("ws", "redis"):
        if not os.path.isdir(os.path.join(PEERS, "node", "node_modules", mod)):
            missing.append(f"npm module {mod}")
    return missing


@pytest.fixture(scope="module")
def bench_deps():
    missing = peers_missing()
    if missing:
        r = subprocess.run([os.path.join(ROOT, "scripts", "bench-deps.sh")],
                           capture_output=True, text=True, timeout=600)
        still = peers_missing()
        if r.returncode != 0 or still:
            pytest.fail(f"benchmark peers need {', '.join(still or missing)}; "
                        f"scripts/bench-deps.sh exited {r.returncode}: {r.stderr[-2000:]}")


@pytest.fixture
def cert(tls_cert):
    """The peers use the same self-signed certificate as alertd's tests."""
    return tls_cert.cert, tls_cert.key


class Peer:
    """A start.sh run in the foreground; stopped by its pid (start.sh execs the server)."""

    def __init__(self, argv, port, log):
        self.port = port
        self.log = log
        self.proc = subprocess.Popen(argv, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_listening(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"peer exited {self.proc.returncode}:\n{self.output()}")
            try:
                wait_for_port(self.port, timeout=0.2)
                return
            except TimeoutError:
                pass
        raise AssertionError(f"peer not listening on {self.port} after {timeout}s:\n{self.output()}")

    def output(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only what it started
                self.proc.wait(timeout=5)
        return self.proc.returncode


def wait_nchan_ready(pub_port, redis, workers, peer, timeout=20.0):
    """nchan answers 503 until a worker's Redis connections are up: ready when
    every worker holds its Redis subscription and the publisher location
    answers something else than 503 (404: no such channel yet)."""
    deadline = time.monotonic() + timeout
    status, subs = None, 0
    while time.monotonic() < deadline:
        if peer.proc.poll() is not None:
            raise AssertionError(f"nginx exited {peer.proc.returncode}:\n{peer.output()}")
        subs = sum(1 for line in redis.cli("CLIENT", "LIST").splitlines() if " sub=1 " in line)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{pub_port}/pub/ready", timeout=2) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        except OSError:
            status = None
        if subs >= workers and status not in (None, 503):
            return
        time.sleep(0.05)
    raise AssertionError(f"nchan not ready after {timeout}s (publisher {status}, "
                         f"{subs}/{workers} Redis subscriptions):\n{peer.output()}")


def client_ctx(crt):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=crt)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


async def receive_one(url, crt, publish, timeout=10.0):
    """Connects, checks TLS 1.3, runs publish() off the loop, returns the first frame."""
    async with websockets.connect(url, ssl=client_ctx(crt), open_timeout=timeout,
                                  close_timeout=2) as ws:
        tls = ws.transport.get_extra_info("ssl_object")
        assert tls.version() == "TLSv1.3", tls.version()
        await asyncio.sleep(0.2)  # let the subscription settle on the server side
        await asyncio.to_thread(publish)
        return await asyncio.wait_for(ws.recv(), timeout)


def run(coro, timeout=25):
    return asyncio.run(asyncio.wait_for(coro, timeout))


ITEM = {"headline": "Peer smoke test", "summary": "x" * 400, "ext": {"bench": {"t_ns": 1}}}


def test_nchan_peer_relays_http_published_message_through_redis(bench_deps, cert, redis_server,
                                                                 tmp_path):
    crt, key = cert
    port, pub_port = free_port(), free_port()
    peer = Peer([os.path.join(PEERS, "nchan", "start.sh"), "--port", str(port),
                 "--pub-port", str(pub_port), "--redis-port", str(redis_server.port),
                 "--cert", crt, "--key", key, "--dir", str(tmp_path / "nchan"), "--workers", "2"],
                port, str(tmp_path / "nchan.out"))
    try:
        peer.wait_listening()
        wait_nchan_ready(pub_port, redis_server, 2, peer)
        pid_file = tmp_path / "nchan" / "nginx.pid"
        assert int(pid_file.read_text()) == peer.proc.pid, "start.sh must exec nginx (pid file)"
        body = json.dumps(ITEM).encode()

        def publish():
            req = urllib.request.Request(f"http://127.0.0.1:{pub_port}/pub/alerts", data=body,
                                         method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as r:
                assert r.status in (201, 202), r.status

        got = run(receive_one(f"wss://127.0.0.1:{port}/sub/alerts", crt, publish))
        assert isinstance(got, str), "nchan must send a text frame"
        assert json.loads(got) == ITEM
        # The message went through nchan's Redis storage, not shared memory only.
        keys = redis_server.cli("--scan", "--pattern", "{channel:*alerts}*").split()
        assert any(k.endswith(":messages") for k in keys), f"no nchan keys in Redis: {keys}"
    finally:
        rc = peer.stop()
    assert rc == 0, f"nginx did not stop cleanly on SIGTERM ({rc}):\n{peer.output()}"
    assert not pid_file.exists(), "nginx left its pid file behind"


def test_node_peer_relays_redis_publish(bench_deps, cert, redis_server, tmp_path):
    crt, key = cert
    port = free_port()
    peer = Peer([os.path.join(PEERS, "node", "start.sh"), "--port", str(port),
                 "--redis-port", str(redis_server.port), "--cert", crt, "--key", key],
                port, str(tmp_path / "node.out"))
    try:
        peer.wait_listening()  # it listens once subscribed
        frame = json.dumps({"type": "alert", "alert": dict(ITEM, id="1-0")})

        def publish():
            n = redis_server.cli("PUBLISH", "alert:live", frame).strip()
            assert n == "1", f"PUBLISH reached {n!r} subscribers, not the peer's one"

        got = run(receive_one(f"wss://127.0.0.1:{port}/", crt, publish))
        assert isinstance(got, str), "the node peer must send a text frame"
        assert got == frame
    finally:
        rc = peer.stop()
    assert rc == 0, f"node did not stop cleanly on SIGTERM ({rc}):\n{peer.output()}"
