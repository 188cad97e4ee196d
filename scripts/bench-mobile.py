#!/usr/bin/python3
"""bench-mobile.py: how often an idle mobile reader is woken (issue #15),
measured against real alertd processes this script starts.

Heartbeat wake-ups per idle connection per hour: --clients idle clients
that answer pings, on a node of their own, for --window seconds: once
asking for nothing (the default heartbeat), once asking for more than the
maximum (clamped to it), both at once. Each client notes when its hello
and each ping arrived (each ping wakes a phone's radio); the wake-up period
is the mean time between one and the next (alertd pings a connection a
heartbeat after it last heard from it: the upgrade, then each pong), and
per hour is 3600 over it. A window of one longest heartbeat and some slack
(--window, 320 s by default) thus measures the maximum too, which a count
of pings alone would need many heartbeats to pin down; the count in the
window and the server's alertd_sweep_visits_total are reported beside it.
Bytes on the wire per alert are not measured here: alert-bench counts
them in every run of `make bench` (--deflate, --fields; bench/README.md).

Writes --json and --md (a table for the README). Stops every process it
started, by pid. Usage: scripts/bench-mobile.py --build DIR --redis URL
--cert CRT --key KEY [--window S] [--clients K]
[--heartbeat D --heartbeat-max M] --json OUT --md OUT
"""
import argparse
import base64
import json
import os
import selectors
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.request

OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Client:
    """A WebSocket client over TLS through memory BIOs; pings are answered
    with pongs, and when each arrived is kept in `wakes`."""

    def __init__(self, port, ctx, query=""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.inb, self.outb = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inb, self.outb, server_hostname="localhost")
        self.buf, self.pings, self.frames, self.wakes = b"", 0, [], []
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._recv()
        key = base64.b64encode(os.urandom(16)).decode()
        self._send(f"GET /v1/ws{'?' + query if query else ''} HTTP/1.1\r\nHost: localhost\r\n"
                   f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: alert.v1\r\n\r\n"
                   .encode())
        while b"\r\n\r\n" not in self.buf:
            self.pump()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0] + b" ":
            raise RuntimeError(f"upgrade refused: {head[:200]!r}")
        self.upgraded = True
        self._frames()  # the hello comes with the 101

    def _flush(self):
        data = self.outb.read()
        if data:
            self.sock.sendall(data)

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed")
        self.inb.write(data)

    def _send(self, data):
        self.tls.write(data)
        self._flush()

    def pump(self):
        """One socket read; decrypted bytes into buf, whole frames into frames."""
        self._recv()
        while True:
            try:
                self.buf += self.tls.read(65536)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
        self._flush()  # key updates, if any
        if getattr(self, "upgraded", False):
            self._frames()

    def _frames(self):
        while len(self.buf) >= 2:
            op, n, i = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
            if n == 126:
                n, i = struct.unpack("!H", self.buf[2:4])[0], 4
            elif n == 127:
                n, i = struct.unpack("!Q", self.buf[2:10])[0], 10
            if len(self.buf) < i + n:
                return
            payload, self.buf = self.buf[i:i + n], self.buf[i + n:]
            if op == OP_PING:
                self.pings += 1
                self.wakes.append(time.monotonic())
                mask = os.urandom(4)
                self._send(bytes([0x80 | OP_PONG, 0x80 | len(payload)]) + mask +
                           bytes(b ^ mask[k % 4] for k, b in enumerate(payload)))
            elif op == OP_CLOSE:
                raise EOFError("closed by the server")
            else:
                self.frames.append((i, payload))

    def next_frame(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not self.frames:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame")
            self.sock.settimeout(left)
            self.pump()
        return self.frames.pop(0)

    def close(self):
        self.sock.close()


class Alertd:
    def __init__(self, args, extra=()):
        self.port = free_port()
        self.metrics_port = free_port()
        self.log = open(os.path.join(args.tmp, f"alertd-{self.port}.log"), "wb")
        self.proc = subprocess.Popen(
            [os.path.join(args.build, "alertd"), "--listen", f"127.0.0.1:{self.port}",
             "--redis", args.redis, "--tls-cert", args.cert, "--tls-key", args.key,
             "--metrics-listen", f"127.0.0.1:{self.metrics_port}",
             "--workers", "1", "--log-level", "warn", *extra],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.ctx = ssl.create_default_context(cafile=args.cert)
        deadline = time.monotonic() + 30
        while self.get("/readyz")[0] != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"alertd did not become ready (see {self.log.name})")
            time.sleep(0.1)

    def get(self, path):
        try:
            with urllib.request.urlopen(f"https://localhost:{self.port}{path}", context=self.ctx,
                                        timeout=3) as r:
                return r.status, r.read()
        except OSError:
            return 0, b""

    def metric(self, name):
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=3) as r:
            text = r.read().decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise RuntimeError(f"no {name} in /metrics")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def wakeups(args, query, label):
    """Pings per idle connection per hour, client- and server-side."""
    node = Alertd(args, ["--heartbeat", str(args.heartbeat), "--heartbeat-min", "1",
                         "--heartbeat-max", str(args.heartbeat_max)])
    clients, hello = [], {"heartbeat": 0}
    try:
        sel = selectors.DefaultSelector()
        for _ in range(args.clients):
            c = Client(node.port, node.ctx, query)
            hello = json.loads(c.next_frame()[1])
            c.wakes.append(time.monotonic())  # the hello: the last traffic before idling
            clients.append(c)
            sel.register(c.sock, selectors.EVENT_READ, c)
        visits0, t0 = node.metric("alertd_sweep_visits_total"), time.monotonic()
        while time.monotonic() - t0 < args.window:
            for key, _ in sel.select(timeout=0.5):
                key.data.sock.settimeout(5)
                key.data.pump()
        elapsed = time.monotonic() - t0
        visits = node.metric("alertd_sweep_visits_total") - visits0
        pings = sum(c.pings for c in clients)
        per_hour = 3600.0 / elapsed / args.clients
        gaps = [b - a for c in clients for a, b in zip(c.wakes, c.wakes[1:])]
        period = sum(gaps) / len(gaps) if gaps else None
        return {"label": label, "query": query, "heartbeat": hello["heartbeat"],
                "clients": args.clients, "window_s": round(elapsed, 1), "pings": pings,
                "periods": len(gaps), "period_s": round(period, 2) if period else None,
                "wakeups_per_conn_hour": round(3600.0 / period, 1) if period else None,
                "pings_per_conn_hour": round(pings * per_hour, 1),
                "sweep_visits_per_conn_hour": round(visits * per_hour, 1),
                "expected_per_conn_hour": round(3600.0 / hello["heartbeat"], 1)}
    finally:
        for c in clients:
            c.close()
        node.stop()


def markdown(res):
    rows = ["| idle connection | heartbeat (s) | window (s) | pings | wake-up period (s) "
            "| wake-ups / conn / hour (expected) | pings counted / conn / hour "
            "| sweep looks / conn / hour |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for h in res["heartbeat"]:
        rows.append(f"| {h['label']} | {h['heartbeat']} | {h['window_s']} | {h['pings']} "
                    f"| {h['period_s'] if h['period_s'] is not None else '—'} "
                    f"| {h['wakeups_per_conn_hour'] if h['wakeups_per_conn_hour'] is not None else '—'} "
                    f"({h['expected_per_conn_hour']}) | {h['pings_per_conn_hour']} "
                    f"| {h['sweep_visits_per_conn_hour']} |")
    return "\n".join(rows) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", required=True)
    p.add_argument("--redis", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--window", type=float, default=320.0)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--heartbeat", type=int, default=25)
    p.add_argument("--heartbeat-max", type=int, default=300)
    p.add_argument("--json", required=True)
    p.add_argument("--md", required=True)
    args = p.parse_args()
    args.tmp = os.path.dirname(os.path.abspath(args.json))
    res = {"heartbeat": [None, None]}
    # Both idle measurements at once, each on a node of its own.
    errors = []

    def run(i, query, label):
        try:
            res["heartbeat"][i] = wakeups(args, query, label)
        except Exception as e:  # reported below, after both ended
            errors.append(f"{label}: {e!r}")

    threads = [threading.Thread(target=run, args=(0, "", "default")),
               threading.Thread(target=run, args=(1, "heartbeat=86400",
                                                  "maximum (asked for more)"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("bench-mobile: " + "; ".join(errors))
    with open(args.json, "w") as f:
        json.dump(res, f, indent=1)
    with open(args.md, "w") as f:
        f.write(markdown(res))
    sys.stdout.write(markdown(res))


if __name__ == "__main__":
    main()
