"""Fixtures and helpers for the alertd WebSocket tests (test_ws*.py).

Everything here follows the contracts in ARCHITECTURE.md / proto/PROTOCOL.md, not
the server's code: a real `alertd` on a free loopback port with a real TLS
certificate (self-signed ECDSA P-256, made with `openssl req` per session), a
real `redis-server` (conftest's `redis_server`), alerts published through the
real `alert` CLI, and real WebSocket clients (python3-websockets 10.4, asyncio
API). A few tests need what a conforming client library refuses to do (stop
reading, never answer pings, send invalid UTF-8): `RawWs` is a deliberately
small hand-made client for those.

Test modules import the fixtures they use by name:

    from alertd_fixture import alertd, alertd_factory, tls_cert  # noqa: F401

Nothing here sleeps without a bound: every wait has a deadline.
"""
import asyncio
import base64
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import time

import pytest
import websockets

from conftest import ALERTD, PROTO, free_port, run_alert

ID_RE = re.compile(r"^[0-9]+-[0-9]+$")
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
READY_TIMEOUT = 10.0


# ---------------------------------------------------------------------------
# Ids
# ---------------------------------------------------------------------------
def idkey(alert_id):
    """An alert id "<ms>-<seq>" as a tuple that sorts like the ids do."""
    ms, seq = alert_id.split("-")
    return int(ms), int(seq)


def assert_increasing(ids, what="ids"):
    keys = [idkey(i) for i in ids]
    for a, b, ia, ib in zip(keys, keys[1:], ids, ids[1:]):
        assert a < b, f"{what} not strictly increasing: {ia} then {ib} in {ids}"


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------
class TlsCert:
    def __init__(self, cert, key):
        self.cert = cert
        self.key = key

    def client_context(self, alpn=None, min_version=None, max_version=None):
        """A verifying client context that trusts only our certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.cert)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        if min_version is not None:
            ctx.minimum_version = min_version
        if max_version is not None:
            ctx.maximum_version = max_version
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return TlsCert(cert, key)


# ---------------------------------------------------------------------------
# HTTP over TLS
# ---------------------------------------------------------------------------
def _get(conn, path, headers):
    """(status, headers dict, body bytes) of GET path on `conn`, then closed."""
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def https_get(port, path, ctx, timeout=3.0, headers=None):
    """(status, headers dict, body bytes) of GET https://127.0.0.1:port/path."""
    return _get(http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout), path, headers)


def http_get(port, path, timeout=3.0, headers=None):
    """(status, headers dict, body bytes) of GET http://127.0.0.1:port/path
    (plain HTTP: the metrics port)."""
    return _get(http.client.HTTPConnection("127.0.0.1", port, timeout=timeout), path, headers)


def wait_status(port, path, ctx, want, timeout=10.0, proc=None):
    """Polls GET path until it answers `want`; returns the seconds it took."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"alertd exited with {proc.returncode} while waiting for "
                                 f"{path} -> {want}")
        try:
            last = https_get(port, path, ctx, timeout=1.0)[0]
            if last == want:
                return time.monotonic() - t0
        except (OSError, http.client.HTTPException) as e:
            last = repr(e)
        time.sleep(0.05)
    raise AssertionError(f"GET {path} did not answer {want} within {timeout}s (last: {last})")


# ---------------------------------------------------------------------------
# The server under test
# ---------------------------------------------------------------------------
class AlertdServer:
    """One `alertd` child process; stop() and start() again keep the ports.

    /metrics is served on a plain-HTTP metrics port (--metrics-listen), as in
    production: `metrics_port`, the test's own if its arguments name one;
    none with metrics=False.

    stop() sends SIGTERM and asserts exit status 0 (so a sanitizer build's
    leak report fails the test); kill() is SIGKILL and asserts nothing.
    """

    def __init__(self, workdir, redis_url, tls, heartbeat=25, extra=(), port=None, env=None,
                 metrics=True):
        self.dir = str(workdir)
        self.env = env
        self.port = port or free_port()
        self.redis_url = redis_url
        self.tls = tls
        self.heartbeat = heartbeat
        self.extra = [str(a) for a in extra]
        self.metrics_port = None
        if "--metrics-listen" in self.extra:
            mlisten = self.extra[self.extra.index("--metrics-listen") + 1]
            self.metrics_port = int(mlisten.rsplit(":", 1)[1])
        elif metrics:
            self.metrics_port = free_port()
            self.extra[:0] = ["--metrics-listen", f"127.0.0.1:{self.metrics_port}"]
        self.proc = None
        self.exit_checked = False  # a test looked at the exit status itself
        self.log = os.path.join(self.dir, f"alertd-{self.port}.log")
        self.ctx = tls.client_context()

    # -- process ----------------------------------------------------------
    def argv(self):
        # A heartbeat below the default --heartbeat-min (10) lowers it: tests
        # want silent clients found in seconds. Later flags in extra win.
        hb_min = ["--heartbeat-min", str(self.heartbeat)] if self.heartbeat < 10 else []
        return [ALERTD, "--listen", f"127.0.0.1:{self.port}", "--redis", self.redis_url,
                "--prefix", "alert", "--tls-cert", self.tls.cert, "--tls-key", self.tls.key,
                "--heartbeat", str(self.heartbeat), *hb_min, "--workers", "1",
                "--log-level", "debug", *self.extra]

    def spawn(self):
        """Starts the process without waiting for readiness."""
        assert self.proc is None or self.proc.poll() is not None, "alertd already running"
        self.exit_checked = False
        with open(self.log, "ab") as log:
            log.write(f"==== {' '.join(self.argv())}\n".encode())
            env = None
            if self.env:
                env = dict(os.environ)
                env.update(self.env)
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.dir, env=env)
        return self

    def start(self, ready=True, timeout=READY_TIMEOUT):
        """Starts alertd; with ready=True waits (bounded) for /readyz 200."""
        self.spawn()
        try:
            if ready:
                self.wait_ready(timeout)
            else:
                self.wait_serving(timeout)
        except BaseException:
            print(self.tail())
            raise
        return self

    def wait_serving(self, timeout=READY_TIMEOUT):
        return wait_status(self.port, "/healthz", self.ctx, 200, timeout, self.proc)

    def wait_ready(self, timeout=READY_TIMEOUT):
        return wait_status(self.port, "/readyz", self.ctx, 200, timeout, self.proc)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Signals and waits; for SIGTERM asserts exit status 0."""
        assert self.proc is not None, "alertd was never started"
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(f"alertd did not exit within {timeout}s of signal "
                                     f"{sig}\n{self.tail()}")
        rc = self.proc.returncode
        self.exit_checked = True
        if sig == signal.SIGTERM:
            assert rc == 0, f"alertd exited with status {rc} after SIGTERM\n{self.tail()}"
        return rc

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.exit_checked = True

    def wait_exit(self, timeout):
        """Waits for the process to end by itself; returns its exit status."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"alertd still running after {timeout}s\n{self.tail()}")
        self.exit_checked = True
        return rc

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def tail(self, lines=60):
        try:
            with open(self.log, "rb") as f:
                data = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no alertd log)"
        return f"---- last {lines} lines of {self.log}\n" + "\n".join(data[-lines:])

    # -- clients ----------------------------------------------------------
    def url(self, query=""):
        return f"wss://127.0.0.1:{self.port}/v1/ws" + (f"?{query}" if query else "")

    def get(self, path, timeout=3.0):
        return https_get(self.port, path, self.ctx, timeout)

    def metrics(self, timeout=3.0):
        """The Prometheus text of GET /metrics on the metrics port."""
        status, _, body = http_get(self.metrics_port, "/metrics", timeout)
        assert status == 200, f"/metrics answered {status}: {body!r}"
        return body.decode()

    def connect(self, query="", subprotocols=("alert.v1",), **kw):
        """websockets.connect(...) to /v1/ws, TLS verified, no client pings."""
        kw.setdefault("ping_interval", None)
        kw.setdefault("open_timeout", 10)
        kw.setdefault("close_timeout", 3)
        kw.setdefault("max_size", 2 ** 20)
        return websockets.connect(self.url(query), ssl=self.ctx,
                                  subprotocols=list(subprotocols) if subprotocols else None,
                                  **kw)


@pytest.fixture
def alertd_factory(redis_server, tls_cert, tmp_path):
    """make(*extra_args, heartbeat=25, redis=None, start=True, env=None, tls=None,
    metrics=True) -> AlertdServer.

    `tls` (a TlsCert) replaces the session's certificate: its --tls-cert and
    --tls-key, and what the server's client context trusts.

    Every server made is stopped with SIGTERM at teardown (exit status 0
    asserted) and the tail of its log printed (pytest shows it on failure).
    """
    servers = []

    def make(*extra, heartbeat=25, redis=None, start=True, ready=True, env=None, tls=None,
             metrics=True):
        url = redis if isinstance(redis, str) else (redis or redis_server).url
        srv = AlertdServer(tmp_path, url, tls or tls_cert, heartbeat=heartbeat, extra=extra,
                           env=env, metrics=metrics)
        servers.append(srv)
        if start:
            srv.start(ready=ready)
        return srv

    yield make
    errors = []
    for srv in servers:
        if srv.proc is None:
            continue
        if srv.proc.poll() is None:
            try:
                srv.resume()  # in case a test left it stopped
                srv.stop(signal.SIGTERM)
            except AssertionError as e:
                errors.append(str(e))
        elif srv.proc.returncode != 0 and not srv.exit_checked:
            errors.append(f"alertd exited on its own with status {srv.proc.returncode}")
        print(srv.tail())
    assert not errors, "\n".join(errors)


@pytest.fixture
def alertd(alertd_factory):
    return alertd_factory()


def asan_options(**opts):
    """ASAN_OPTIONS with `opts` added to whatever the environment has (they
    only matter when the binary is built with SANITIZER=address)."""
    extra = ":".join(f"{k}={v}" for k, v in opts.items())
    have = os.environ.get("ASAN_OPTIONS")
    return {"ASAN_OPTIONS": f"{have}:{extra}" if have else extra}


# ---------------------------------------------------------------------------
# Publishing (the real CLI)
# ---------------------------------------------------------------------------
def push(redis, headline="Breaking", topics=(), lang=None, ext=None, urgency=None,
         summary=None, fields=None):
    """`alert push`; returns the new id. With `ext` or `fields` (more item
    fields), the item goes in as JSON on stdin (`-f -`)."""
    if ext is not None or fields:
        item = {"headline": headline}
        if ext is not None:
            item["ext"] = ext
        item.update(fields or {})
        if summary:
            item["summary"] = summary
        if topics:
            item["topics"] = list(topics)
        if lang:
            item["lang"] = lang
        if urgency:
            item["urgency"] = urgency
        r = run_alert("push", "-f", "-", redis=redis, input=json.dumps(item))
    else:
        args = ["push", "--headline", headline]
        for t in topics:
            args += ["--topic", t]
        if lang:
            args += ["--lang", lang]
        if urgency:
            args += ["--urgency", urgency]
        if summary:
            args += ["--summary", summary]
        r = run_alert(*args, redis=redis)
    assert r.returncode == 0, f"alert push failed ({r.returncode}): {r.stderr}"
    alert_id = r.stdout.strip()
    assert ID_RE.match(alert_id), f"alert push printed {r.stdout!r}, not an id"
    return alert_id


async def apush(redis, *args, **kw):
    """push() off the event loop, so connected clients keep reading meanwhile."""
    return await asyncio.to_thread(push, redis, *args, **kw)


def load_frame(name):
    with open(os.path.join(PROTO, "examples", "frames", f"{name}.json")) as f:
        return json.load(f)


# ---------------------------------------------------------------------------
# WebSocket helpers (python3-websockets)
# ---------------------------------------------------------------------------
def run(coro, timeout=90):
    """Runs a coroutine to completion with an overall deadline."""
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


async def recv_json(ws, timeout=5.0):
    """The next frame, parsed; fails if none comes within `timeout` seconds."""
    try:
        msg = await asyncio.wait_for(ws.recv(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"no frame from the server within {timeout:.1f}s") from None
    assert isinstance(msg, str), f"server sent a binary frame: {msg!r}"
    frame = json.loads(msg)
    assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
    return frame


async def recv_hello(ws, timeout=5.0):
    frame = await recv_json(ws, timeout)
    assert frame["type"] == "hello", f"first frame is not hello: {frame}"
    return frame


async def connect_many(srv, n, concurrency=40, timeout=20.0):
    """n WebSocket clients on srv, each past its hello; at most `concurrency`
    handshakes at a time."""
    sem = asyncio.Semaphore(concurrency)

    async def open_one():
        async with sem:
            ws = await srv.connect()
            await recv_hello(ws, timeout=timeout)
            return ws

    return await asyncio.gather(*(open_one() for _ in range(n)))


def metric(srv, name):
    """One unlabelled metric from srv's /metrics, as a float."""
    for line in srv.metrics().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name} in /metrics")


def delivery_counters(srv):
    """(alertd_deliveries_total, alertd_alert_writes_total) from srv's /metrics."""
    text = srv.metrics()
    return tuple(int(float(re.search(rf"^alertd_{name} (\S+)", text, re.M).group(1)))
                 for name in ("deliveries_total", "alert_writes_total"))


async def recv_alert_ids(ws, n, timeout=10.0, allow=("replayed",)):
    """The ids of the next n `alert` frames. Other frames fail the test unless
    their type is in `allow` (a `replayed` with count 0 where no replay was
    asked for is tolerated by default: the contract leaves that open)."""
    ids = []
    deadline = time.monotonic() + timeout
    while len(ids) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"got {len(ids)} of {n} alerts within {timeout}s: {ids}")
        try:
            frame = await recv_json(ws, left)
        except AssertionError as e:
            if not str(e).startswith("no frame"):
                raise
            raise AssertionError(f"got {len(ids)} of {n} alerts within {timeout}s: {ids}") \
                from None
        if frame["type"] == "alert":
            ids.append(frame["alert"]["id"])
        elif frame["type"] in allow and not (frame["type"] == "replayed"
                                             and frame.get("count")):
            continue
        else:
            raise AssertionError(f"unexpected frame while waiting for alerts: {frame} "
                                 f"(after {ids})")
    return ids


async def expect_closed(ws, timeout=5.0):
    """Reads until the server closes; returns the ConnectionClosed (code, frames read)."""
    frames = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"connection not closed within {timeout}s; read {frames}")
        try:
            msg = await asyncio.wait_for(ws.recv(), left)
            frames.append(msg)
        except websockets.ConnectionClosed as e:
            return e, frames
        except asyncio.TimeoutError:
            raise AssertionError(f"connection not closed within {timeout}s; read {frames}")


async def ping_pong(ws, timeout=5.0):
    """Sends {"type":"ping"} and waits for {"type":"pong"} (skipping alerts)."""
    await ws.send(json.dumps({"type": "ping"}))
    deadline = time.monotonic() + timeout
    while True:
        frame = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if frame["type"] == "pong":
            return
        assert frame["type"] in ("alert", "replayed"), f"expected pong, got {frame}"


# ---------------------------------------------------------------------------
# RawWs: a minimal hand-made WebSocket client over TLS, for misbehaving
# ---------------------------------------------------------------------------
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class Eof(Exception):
    """The server closed the TCP/TLS stream (FIN, close_notify or reset)."""


class RawWs:
    """Connects with TLS, does the HTTP upgrade by hand, then sends and reads
    frames exactly as told: no automatic pongs, no UTF-8 validation."""

    def __init__(self, port, ctx, path="/v1/ws", rcvbuf=None, timeout=5.0, headers=()):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        self.local_port = sock.getsockname()[1]
        self.sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13", *headers]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            assert time.monotonic() < deadline, f"no upgrade response: {self.buf!r}"
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        head = head.decode("latin-1")
        status = head.split("\r\n")[0]
        assert " 101 " in status + " ", f"upgrade refused: {head}"
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        hdrs = {ln.split(":", 1)[0].strip().lower(): ln.split(":", 1)[1].strip()
                for ln in head.split("\r\n")[1:] if ":" in ln}
        assert hdrs.get("sec-websocket-accept") == accept, f"bad accept in {head}"
        self.headers = hdrs  # the 101's headers, names lowercased

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError,
                ssl.SSLZeroReturnError) as e:
            raise Eof(repr(e))
        except ssl.SSLError as e:
            raise Eof(repr(e))
        if not data:
            raise Eof("EOF")
        self.buf += data

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send_frame(self, opcode, payload, fin=True, mask=True, rsv1=False):
        head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
        n = len(payload)
        m = 0x80 if mask else 0
        if n < 126:
            head += bytes([m | n])
        elif n < 65536:
            head += bytes([m | 126]) + struct.pack("!H", n)
        else:
            head += bytes([m | 127]) + struct.pack("!Q", n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            head += key
        self.sock.sendall(head + payload)

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode() if isinstance(text, str) else text)

    def parse_frame(self):
        """(fin, opcode, payload) from the buffer, or None if incomplete; the
        frame's RSV1 bit (permessage-deflate) is left in self.last_rsv1."""
        b = self.buf
        if len(b) < 2:
            return None
        fin, op, masked, n = b[0] & 0x80, b[0] & 0x0F, b[1] & 0x80, b[1] & 0x7F
        rsv1 = bool(b[0] & 0x40)
        i = 2
        if n == 126:
            if len(b) < 4:
                return None
            n, i = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, i = struct.unpack("!Q", b[2:10])[0], 10
        assert not masked, "server frames must not be masked"
        if len(b) < i + n:
            return None
        payload, self.buf = b[i:i + n], b[i + n:]
        self.last_rsv1 = rsv1
        return bool(fin), op, payload

    def recv_frame(self, timeout=5.0):
        """The next frame; raises Eof when the stream ends, TimeoutError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.parse_frame()
            if f is not None:
                return f
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame")
            self.sock.settimeout(left)
            try:
                self._fill()
            except socket.timeout:
                raise TimeoutError("no frame")

    def read_until_close(self, timeout=10.0, on_frame=None):
        """Reads (never answering pings) until a close frame or EOF.
        Returns (close code or None, [(opcode, payload), ...] before it)."""
        frames = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"not closed within {timeout}s; "
                                     f"{len(frames)} frames read")
            try:
                fin, op, payload = self.recv_frame(left)
            except Eof:
                return None, frames
            except TimeoutError:
                raise AssertionError(f"not closed within {timeout}s; "
                                     f"{len(frames)} frames read")
            if op == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.close_reason = payload[2:]
                return code, frames
            frames.append((op, payload))
            if on_frame:
                on_frame(op, payload)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# /proc/net/tcp: does the server still hold a connection open?
# ---------------------------------------------------------------------------
TCP_ESTABLISHED = "01"
TCP_LISTEN = "0A"
V4_MAPPED = "0000000000000000FFFF0000"  # ::ffff:0:0/96 as /proc/net/tcp6 spells it


def _proc_net_tcp():
    """(local "ADDR:PORT", remote "ADDR:PORT", state) of every IPv4 and IPv6
    TCP socket; v4-mapped IPv6 addresses are given in their IPv4 form."""
    rows = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, remote = (x[len(V4_MAPPED):] if x.startswith(V4_MAPPED) else x
                                     for x in parts[1:3])
                    rows.append((local, remote, parts[3]))
        except FileNotFoundError:
            pass
    return rows


def server_side_tcp_state(server_port, client_port):
    """The TCP state (hex string) of the server's end of the connection from
    127.0.0.1:client_port, or None if it no longer exists."""
    want_local = f"0100007F:{server_port:04X}"
    want_remote = f"0100007F:{client_port:04X}"
    for local, remote, st in _proc_net_tcp():
        if local == want_local and remote == want_remote:
            return st
    return None


def listening_addresses(port):
    """The local addresses ("0100007F", "00000000", 32 hex digits for IPv6)
    of the sockets listening on `port`."""
    return sorted(local.rsplit(":", 1)[0] for local, _, st in _proc_net_tcp()
                  if st == TCP_LISTEN and local.endswith(f":{port:04X}"))
