"""--proxy-protocol: behind an L4 balancer, the per-address limits count the
client the balancer names in its PROXY header, not the balancer.

A real HAProxy (Debian's, `mode tcp`, `send-proxy` / `send-proxy-v2`)
stands in front of alertd, and clients connect to it from several loopback
addresses; other tests write the header by hand to alertd directly, to
check what a malformed, partial or missing one gets. Readiness and metrics
come from --metrics-listen: the readers' port now wants a header first.
"""
import asyncio
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import time

import pytest
import websockets

from alertd_fixture import alertd_factory, recv_hello, run, tls_cert  # noqa: F401
from conftest import ROOT, free_port, wait_for_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def plain_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def metric(mport, name):
    for line in plain_get(mport, "/metrics")[1].splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def wait_until(what, cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.05)


def start_alertd(alertd_factory, *extra):  # noqa: F811
    """alertd with --proxy-protocol; ready once its metrics port says so."""
    mport = free_port()
    srv = alertd_factory("--proxy-protocol", "--metrics-listen", f"127.0.0.1:{mport}", *extra,
                         start=False)
    srv.spawn()
    wait_for_port(mport)
    wait_until("alertd ready", lambda: plain_get(mport, "/readyz")[0] == 200)
    srv.mport = mport
    return srv


def simple_haproxy_cfg(port, stats, backend_port, server_opts):
    return f"""global
    stats socket {stats} level admin
defaults
    mode tcp
    timeout connect 3s
    timeout client 30s
    timeout server 30s
frontend readers
    bind 127.0.0.1:{port}
    default_backend alertd
backend alertd
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host alertd
    http-check expect status 200
    server a1 127.0.0.1:{backend_port} {server_opts}
"""


def deploy_haproxy_env(port, stats, backend_port):
    """deploy/haproxy.cfg as shipped, its addresses given through the
    environment variables it reads: loopback ports of the test's, its one
    node at backend_port (alertd-2 keeps its default name, which does not
    resolve here: HAProxy disables it)."""
    return {"ALERTD_LB_BIND": f"127.0.0.1:{port}", "ALERTD_LB_STATS": f"127.0.0.1:{free_port()}",
            "ALERTD_LB_ADMIN": stats, "ALERTD_1": f"127.0.0.1:{backend_port}"}


class Haproxy:
    """A private HAProxy (its own config, ports and stats socket)."""

    def __init__(self, workdir, make_cfg=None, make_env=None):
        self.port = free_port()
        self.stats = os.path.join(str(workdir), f"haproxy-{self.port}.sock")
        env = dict(os.environ)
        if make_env:
            self.cfg = os.path.join(ROOT, "deploy", "haproxy.cfg")
            env.update(make_env(self.port, self.stats))
        else:
            self.cfg = os.path.join(str(workdir), f"haproxy-{self.port}.cfg")
            with open(self.cfg, "w") as f:
                f.write(make_cfg(self.port, self.stats))
        check = subprocess.run([HAPROXY, "-c", "-q", "-f", self.cfg], capture_output=True,
                               text=True, timeout=10, env=env)
        assert check.returncode == 0, check.stderr + check.stdout
        self.log = open(os.path.join(str(workdir), f"haproxy-{self.port}.log"), "wb")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_for_port(self.port)

    def server_status(self, backend, server):
        """A server's state in HAProxy's eyes: UP, DOWN, ..."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(3)
            s.connect(self.stats)
            s.sendall(b"show stat\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        for line in out.decode().splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == backend and fields[1] == server:
                return fields[17]
        raise AssertionError(f"no server {backend}/{server} in HAProxy's stats: {out!r}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def haproxy_factory(tmp_path):
    """make(backend_port, server_opts) -> Haproxy in front of backend_port with
    simple_haproxy_cfg; make(backend_port, deploy=True) with deploy/haproxy.cfg."""
    made = []

    def make(backend_port, server_opts="", deploy=False):
        if deploy:
            h = Haproxy(tmp_path, make_env=lambda p, s: deploy_haproxy_env(p, s, backend_port))
        else:
            h = Haproxy(tmp_path, lambda p, s: simple_haproxy_cfg(p, s, backend_port, server_opts))
        made.append(h)
        return h

    yield make
    for h in made:
        h.stop()


async def ws_from(srv, port, source):
    """A WebSocket to 127.0.0.1:port from source address `source`, its hello
    read; None if the connection was closed before the hello."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        ws = await websockets.connect(srv.url(), sock=sock, ssl=srv.ctx, open_timeout=5,
                                      server_hostname="localhost",
                                      close_timeout=2, ping_interval=None,
                                      subprotocols=["alert.v1"])
    except (OSError, websockets.InvalidHandshake, asyncio.TimeoutError, EOFError):
        sock.close()
        return None
    await recv_hello(ws)
    return ws


@pytest.mark.parametrize("send_proxy", ["send-proxy", "send-proxy-v2"])
def test_per_address_limit_counts_the_clients_behind_haproxy(alertd_factory,  # noqa: F811
                                                             haproxy_factory, send_proxy):
    srv = start_alertd(alertd_factory, "--max-per-ip", "2")
    hap = haproxy_factory(srv.port, send_proxy)

    async def main():
        a = [await ws_from(srv, hap.port, "127.0.0.2") for _ in range(2)]
        assert all(a), "two readers from 127.0.0.2 through HAProxy were refused"
        assert await ws_from(srv, hap.port, "127.0.0.2") is None, \
            "a third reader from 127.0.0.2 was let in past --max-per-ip 2"
        b = [await ws_from(srv, hap.port, "127.0.0.3") for _ in range(2)]
        assert all(b), "another address behind the same HAProxy was refused"
        for ws in a + b:
            await ws.close()

    run(main())
    assert metric(srv.mport, "alertd_per_ip_refused_total") == 1
    assert metric(srv.mport, "alertd_proxy_header_refused_total") == 0


def test_haproxy_health_checks_with_the_header_see_the_node_up(alertd_factory,  # noqa: F811
                                                                haproxy_factory):
    srv = start_alertd(alertd_factory)
    # check-send-proxy: the checks carry a header too (v2 LOCAL).
    hap = haproxy_factory(srv.port, "send-proxy-v2 check check-ssl verify none "
                                    "check-send-proxy inter 200ms rise 1 fall 1")
    wait_until("HAProxy marking alertd UP", lambda: hap.server_status("alertd", "a1") == "UP")
    assert metric(srv.mport, "alertd_proxy_header_refused_total") == 0


def test_the_shipped_haproxy_cfg_passes_readers_with_their_address(alertd_factory,  # noqa: F811
                                                                   haproxy_factory):
    srv = start_alertd(alertd_factory, "--max-per-ip", "1")
    hap = haproxy_factory(srv.port, deploy=True)
    # Its checks (inter 2s, rise 2) need a few seconds to see the node UP.
    wait_until("deploy/haproxy.cfg marking the node UP",
               lambda: hap.server_status("alertd_nodes", "alertd-1") == "UP", timeout=15)

    async def main():
        a = await ws_from(srv, hap.port, "127.0.0.2")
        b = await ws_from(srv, hap.port, "127.0.0.3")
        assert a and b, "readers from two addresses through deploy/haproxy.cfg were refused"
        assert await ws_from(srv, hap.port, "127.0.0.2") is None, "max-per-ip 1 let a second in"
        await a.close()
        await b.close()

    run(main())
    assert metric(srv.mport, "alertd_proxy_header_refused_total") == 0


def raw_tls_ws(srv, preamble, split_at=None, pause=0.0, source="127.0.0.1"):
    """Sends `preamble` (the header, maybe in two parts) straight to alertd,
    then TLS and a WebSocket upgrade by hand; returns the first frame's
    bytes, or None if alertd closed the connection."""
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=8,
                                   source_address=(source, 0))
    try:
        cut = len(preamble) if split_at is None else split_at
        raw.sendall(preamble[:cut])
        if cut < len(preamble):
            time.sleep(pause)
            raw.sendall(preamble[cut:])
        tls = srv.ctx.wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"GET /v1/ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        data = b""
        while b"\"hello\"" not in data:
            chunk = tls.recv(4096)
            if not chunk:
                return None
            data += chunk
        tls.close()
        return data
    except (OSError, ssl.SSLError):
        return None
    finally:
        raw.close()


def cpu_seconds(pid):
    """CPU time used by pid and its children (the worker processes)."""
    total = 0.0
    pids = [pid] + [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    for p in pids:
        fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def v1(src):
    return f"PROXY TCP4 {src} 127.0.0.1 40000 443\r\n".encode()


def test_the_address_in_the_header_is_the_one_counted(alertd_factory):  # noqa: F811
    srv = start_alertd(alertd_factory, "--max-per-ip", "1")
    held = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    held.sendall(v1("198.51.100.7"))  # holds 198.51.100.7's one place
    tls = srv.ctx.wrap_socket(held, server_hostname="localhost")  # counted once through
    try:
        assert raw_tls_ws(srv, v1("198.51.100.7")) is None, "a second 198.51.100.7 got in"
        # Every connection comes from 127.0.0.1: were that counted, this would fail too.
        assert raw_tls_ws(srv, v1("198.51.100.8")) is not None, "198.51.100.8 was refused"
    finally:
        tls.close()
    assert metric(srv.mport, "alertd_per_ip_refused_total") == 1


def test_a_header_in_two_parts_is_waited_for(alertd_factory):  # noqa: F811
    srv = start_alertd(alertd_factory)
    header = v1("203.0.113.5")
    assert raw_tls_ws(srv, header, split_at=9, pause=0.3) is not None
    # v2 LOCAL (what a balancer's check sends): the socket's own address stands.
    local = bytes([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
                   0x20, 0x00, 0x00, 0x00])
    assert raw_tls_ws(srv, local, split_at=13, pause=0.3) is not None
    assert metric(srv.mport, "alertd_proxy_header_refused_total") == 0


def test_connections_without_a_valid_header_are_closed(alertd_factory):  # noqa: F811
    srv = start_alertd(alertd_factory)
    assert raw_tls_ws(srv, b"") is None, "TLS without a PROXY header was served"
    assert raw_tls_ws(srv, b"PROXY TCP4 1.2.3.999 127.0.0.1 1 2\r\n") is None
    assert raw_tls_ws(srv, b"PROXY TCP4 1.2.3.4 127.0.0.1 1 2\n") is None  # no CR
    assert metric(srv.mport, "alertd_proxy_header_refused_total") == 3
    # A plain TCP check (connect, close) is not a refusal.
    socket.create_connection(("127.0.0.1", srv.port), timeout=3).close()
    # Half a header, then silence: closed when its time is up, and waited
    # for without spinning on the bytes that did come.
    t0, cpu0 = time.monotonic(), cpu_seconds(srv.proc.pid)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=12) as s:
        s.sendall(b"PROXY TCP4 1.2.")
        try:
            assert s.recv(1) == b"", "alertd answered half a header"
        except ConnectionResetError:
            pass  # closed with the half header unread: a reset
    waited = time.monotonic() - t0
    assert 4.0 <= waited <= 8.0, f"half a header was closed after {waited:.1f}s, not ~5"
    busy = cpu_seconds(srv.proc.pid) - cpu0
    assert busy < 1.0, f"alertd used {busy:.2f}s of CPU waiting {waited:.1f}s for a header"
    assert metric(srv.mport, "alertd_proxy_header_refused_total") == 4
    # The node serves on.
    assert raw_tls_ws(srv, v1("192.0.2.1")) is not None
