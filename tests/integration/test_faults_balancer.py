"""Fault suite (issue #16): a node behind HAProxy dies.

Three alertd nodes behind HAProxy, run with deploy/haproxy.cfg as it is
(L4 TLS passthrough, leastconn, PROXY protocol v2, /readyz checks over TLS),
its addresses given through the environment variables the file reads. 300
readers connect through HAProxy while alerts are pushed; one node is
SIGKILLed. Its readers reconnect through HAProxy with the protocol's backoff
and `since`, land on the other nodes and resume there: nothing lost (Redis
lost nothing, so no gap is excused), nothing twice.
"""
import asyncio
import http.client
import os
import shutil
import socket
import subprocess
import time

import pytest

from alertd_fixture import alertd_factory, run, tls_cert  # noqa: F401
from conftest import ROOT, free_port, wait_for_port
from faultkit import (EXIT_PUBLISHED, Crowd, Publisher, check_promise, crash_node, figures,
                      raise_nofile, reader_figures, start_readers, stop_readers, wait_all)

HAPROXY_CFG = os.path.join(ROOT, "deploy", "haproxy.cfg")
READERS = 300
PUSHES = 60
KILL_AFTER = 20
PUSH_PAUSE = 0.1

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None,
                                reason="haproxy is not installed (make deps installs it)")


class Haproxy:
    """haproxy -db -f deploy/haproxy.cfg on loopback ports of our own."""

    def __init__(self, workdir, nodes):
        self.port = free_port()
        self.admin = free_port()
        self.env = dict(os.environ,
                        ALERTD_LB_BIND=f"127.0.0.1:{self.port}",
                        ALERTD_LB_STATS=f"127.0.0.1:{free_port()}",
                        ALERTD_LB_ADMIN=f"ipv4@127.0.0.1:{self.admin}")
        for i, n in enumerate(nodes):
            self.env[f"ALERTD_{i + 1}"] = f"127.0.0.1:{n.port}"
        self.log = os.path.join(str(workdir), "haproxy.log")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", HAPROXY_CFG], env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port)
            wait_for_port(self.admin)
        except TimeoutError:
            self.stop()
            raise AssertionError(f"haproxy did not start:\n{self.tail()}")

    def command(self, line):
        with socket.create_connection(("127.0.0.1", self.admin), timeout=5) as s:
            s.sendall(line.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode()

    def servers(self):
        """{server name: status} of the alertd backend ("UP", "DOWN", ...)."""
        lines = self.command("show stat").splitlines()
        head = lines[0].lstrip("# ").split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(head, line.split(",")))
            if row.get("pxname") == "alertd_nodes" and row.get("svname") not in (
                    "FRONTEND", "BACKEND"):
                out[row["svname"]] = row["status"]
        return out

    def tail(self, n=30):
        with open(self.log, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def test_a_node_killed_behind_haproxy_loses_its_readers_to_the_others(
        alertd_factory, tls_cert, tmp_path, redis_server):  # noqa: F811
    raise_nofile(4 * READERS + 256)
    keyfile = tmp_path / "tickets.key"
    keyfile.write_bytes(os.urandom(80))
    nodes = [proxied_node(alertd_factory, f"lb-{i + 1}", "--tls-ticket-key", str(keyfile))
             for i in range(3)]
    lb = Haproxy(tmp_path, nodes)
    victim = nodes[1]
    out = {}

    async def main():
        deadline = time.monotonic() + 20
        while set(lb.servers().values()) != {"UP"}:
            assert time.monotonic() < deadline, f"HAProxy sees {lb.servers()}\n{lb.tail()}"
            await asyncio.sleep(0.2)
        crowd = Crowd(tls_cert.cert)
        try:
            return await phases(crowd)
        finally:
            await stop_readers(crowd.readers)

    async def phases(crowd):
        url = f"wss://127.0.0.1:{lb.port}/v1/ws"
        readers, out["connect_s"] = await start_readers(crowd, READERS, [url])
        out["spread"] = spread(readers)
        pub = Publisher(redis_server.url, f"lb-fault-{os.getpid()}")
        on_victim = [r for r in readers if r.node == "lb-2"]
        while len(pub.pushes) < PUSHES:
            if len(pub.pushes) == KILL_AFTER:
                killed = time.monotonic()
                await asyncio.to_thread(crash_node, victim)
            await pub.push()
            await asyncio.sleep(PUSH_PAUSE)
        await wait_all(on_victim, lambda r: r.connected.is_set() and r.node != "lb-2", 60,
                       "resumed on another node")
        out["back_s"] = time.monotonic() - killed
        last = await pub.push_until_published("last")
        await wait_all(readers, lambda r: r.last_id == last.id, 60, f"holding {last.id}")
        out["lb"] = lb.servers()
        out["moved"] = spread(on_victim)
        return readers, on_victim, pub

    try:
        readers, on_victim, pub = run(main(), timeout=150)
    finally:
        lb.stop()
    problems = check_promise(readers, pub, strict={p.id for p in pub.pushes if p.id})
    text = figures("3 nodes behind HAProxy (deploy/haproxy.cfg), one SIGKILLed", [
        ("connect", f"{READERS} readers through HAProxy in {out['connect_s']:.1f}s: "
                    f"{out['spread']}"),
        ("pushes", f"{len(pub.pushes)}: " +
         ", ".join(f"exit {k}: {v}" for k, v in sorted(pub.tally().items()))),
        ("kill", f"lb-2 after push {KILL_AFTER}: its {len(on_victim)} readers resumed on "
                 f"{out['moved']}, all within {out['back_s']:.1f}s"),
        ("HAProxy", f"servers {out['lb']}"),
        *reader_figures(readers),
        ("promise", "kept" if not problems else f"{len(problems)} breaches"),
    ])
    assert len(on_victim) > READERS // 6, text  # leastconn gave the victim its share
    assert out["lb"].get("alertd-2", "").startswith("DOWN"), text
    assert problems == [], text + "\n" + "\n".join(problems[:20])
    assert not any(r.gaps for r in readers), text


def proxied_node(alertd_factory, name, *extra):  # noqa: F811
    """A node that wants a PROXY header on the readers' port (as HAProxy
    sends), ready once its plain metrics port says so."""
    mport = free_port()
    srv = alertd_factory("--proxy-protocol", "--metrics-listen", f"127.0.0.1:{mport}",
                         "--node", name, "--log-level", "info", *extra, start=False)
    srv.spawn()
    deadline = time.monotonic() + 15
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", mport, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return srv
        except OSError:
            pass
        finally:
            conn.close()
        assert time.monotonic() < deadline, f"{name} not ready\n{srv.tail()}"
        time.sleep(0.05)


def spread(readers):
    count = {}
    for r in readers:
        count[r.node] = count.get(r.node, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(count.items()))
