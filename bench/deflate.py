#!/usr/bin/python3
"""bench/deflate.py — what permessage-deflate costs and saves alertd (issue #15).

A small local measurement, not `make bench`: one alertd (one worker) and a
private redis-server, started here, and Python clients on loopback TLS.

  * wire bytes per alert: a ~600-byte alert frame as the reader's TCP socket
    receives it (TLS record included), plain and compressed, counted by a
    byte-counting TCP relay between client and server;
  * server CPU per delivery: N idle clients of one kind (plain, or offering
    permessage-deflate as Chromium does) get A alerts; the server's CPU time
    (/proc/PID/stat) from the first publish to the last frame read, over
    N x A deliveries, on a fresh alertd for each kind;
  * RSS per idle connection of each kind (the same runs, before the alerts).

Usage: bench/deflate.py [--build DIR] [-n N] [-a ALERTS] [--json FILE]
Prints a Markdown table (README.md, "permessage-deflate"). The machine is
shared and noisy: compare within one run.
"""
import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

OFFER = "permessage-deflate; client_max_window_bits"  # what Chromium sends
SUMMARY = ("Residents of three coastal towns were told to move to higher ground after the "
           "quake, which struck at a depth of 10 km about 80 km offshore. The national "
           "agency said waves of up to one metre were possible within the hour; ferries "
           "stayed in port and schools in the region closed for the day. Officials will give an "
           "update at noon.")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("-n", type=int, default=1000, help="clients of each kind (1000)")
    p.add_argument("-a", "--alerts", type=int, default=40, help="alerts per run (40)")
    p.add_argument("--json", help="write the figures here too")
    return p.parse_args()


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Relay:
    """127.0.0.1:port -> the server, counting the bytes the server sends."""

    def __init__(self, target):
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        self.target, self.down = target, 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        c, _ = self.lsock.accept()
        s = socket.create_connection(("127.0.0.1", self.target))
        threading.Thread(target=self._pipe, args=(c, s, False), daemon=True).start()
        self._pipe(s, c, True)

    def _pipe(self, a, b, count):
        while True:
            data = a.recv(65536)
            if not data:
                b.close()
                return
            if count:
                self.down += len(data)
            b.sendall(data)


async def upgrade(port, ctx, offer):
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                         server_hostname="127.0.0.1")
    w.write(("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: alert.v1\r\n"
             + (f"Sec-WebSocket-Extensions: {offer}\r\n" if offer else "") + "\r\n").encode())
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 30)
    assert (b"permessage-deflate" in head) == bool(offer), head
    await read_frame(r)  # hello
    return r, w


async def read_frame(r):
    h = await r.readexactly(2)
    n = h[1] & 0x7F
    if n == 126:
        n = int.from_bytes(await r.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await r.readexactly(8), "big")
    payload = await r.readexactly(n)
    return h[0], payload


def push(redis_url, i):
    from conftest import run_alert
    r = run_alert("push", "--headline", f"Magnitude 6.{i % 10} earthquake strikes off the coast",
                  "--summary", SUMMARY, "--topic", "world", "--topic", "science", redis=redis_url)
    assert r.returncode == 0, r.stderr


async def wire_bytes(srv):
    """(frame length, bytes on the wire) for one alert, plain and deflated."""
    out = {}
    for kind, offer in (("plain", None), ("deflate", OFFER)):
        relay = Relay(srv.port)
        r, w = await upgrade(relay.port, srv.ctx, offer)
        await asyncio.sleep(0.3)
        before = relay.down
        await asyncio.get_running_loop().run_in_executor(None, push, srv.redis_url, 0)
        b0, payload = await read_frame(r)
        await asyncio.sleep(0.3)
        out[kind] = {"rsv1": bool(b0 & 0x40), "payload": len(payload),
                     "wire": relay.down - before}
        w.close()
    return out


async def deliveries(srv, n, alerts, offer):
    held = []
    sem = asyncio.Semaphore(8)

    async def one():
        async with sem:
            held.append(await upgrade(srv.port, srv.ctx, offer))
    await asyncio.gather(*(one() for _ in range(50)))
    await asyncio.sleep(0.3)
    rss0 = srv.rss_kib()
    await asyncio.gather(*(one() for _ in range(n)))
    await asyncio.sleep(0.3)
    rss = (srv.rss_kib() - rss0) / n
    total = alerts * len(held)
    got = 0

    async def reader(r):
        nonlocal got
        for _ in range(alerts):
            await read_frame(r)
            got += 1
    cpu0 = cpu_s(srv.proc.pid)
    readers = [asyncio.create_task(reader(r)) for r, _ in held]
    loop = asyncio.get_running_loop()
    for i in range(alerts):
        await loop.run_in_executor(None, push, srv.redis_url, i)
        await asyncio.sleep(0.1)
    await asyncio.wait_for(asyncio.gather(*readers), 120)
    cpu = cpu_s(srv.proc.pid) - cpu0
    assert got == total
    for _, w in held:
        w.close()
    return {"rss_kib_per_idle_conn": round(rss, 3), "deliveries": total,
            "cpu_us_per_delivery": round(cpu * 1e6 / total, 2)}


def main():
    args = parse_args()
    os.environ["ALERT_BUILD"] = args.build
    import alertd_fixture as fx  # noqa: E402 (reads ALERT_BUILD)
    from conftest import RedisServer
    import subprocess
    tmp = tempfile.mkdtemp(prefix="alertd-deflate-bench-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key,
                    "-out", cert], check=True, capture_output=True)
    tls = fx.TlsCert(cert, key)
    redis = RedisServer(tmp).start()
    results = {"n": args.n, "alerts": args.alerts}
    try:
        for kind, offer in (("plain", None), ("deflate", OFFER)):
            srv = fx.AlertdServer(tmp, redis.url, tls, extra=["--max-per-ip", "100000",
                                                              "--log-level", "warn"]).start()
            try:
                if kind == "plain":
                    results["wire"] = asyncio.run(wire_bytes(srv))
                results[kind] = asyncio.run(deliveries(srv, args.n, args.alerts, offer))
            finally:
                srv.stop()
    finally:
        redis.stop()
    w, p, d = results["wire"], results["plain"], results["deflate"]
    print(json.dumps(results, indent=1))
    print("| clients | kind | alert frame payload (B) | on the wire, TLS included (B) "
          "| CPU / delivery (µs) | RSS / idle conn (KiB) |")
    print("|---:|---|---:|---:|---:|---:|")
    for kind, r in (("plain", p), ("deflate", d)):
        print(f"| {args.n:,} | {kind} | {w[kind]['payload']} | {w[kind]['wire']} "
              f"| {r['cpu_us_per_delivery']} | {r['rss_kib_per_idle_conn']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
