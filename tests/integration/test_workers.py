"""alertd with several worker processes sharing the port, the listening
socket's errors, and the per-address connection limit."""
import asyncio
import os
import re
import selectors
import signal
import socket
import ssl
import subprocess
import time

import pytest
import websockets

from alertd_fixture import (ALERTD, alertd_factory, apush, https_get, metric,  # noqa: F401
                            recv_alert_ids, recv_hello, run, tls_cert)
from conftest import free_port


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def test_two_workers_share_the_port_and_the_node_counts_as_one(alertd_factory, redis_server):
    srv = alertd_factory("--workers", "2")
    assert len(children(srv.proc.pid)) == 2
    assert metric(srv, "alertd_workers") == 2

    async def main():
        clients = [await srv.connect() for _ in range(40)]
        try:
            for ws in clients:
                await recv_hello(ws)
            a = await apush(redis_server, "Both workers")
            got = await asyncio.gather(*(recv_alert_ids(ws, 1) for ws in clients))
            assert all(g == [a] for g in got)
            # Metrics answered by either worker count every client.
            for _ in range(4):
                assert metric(srv, "alertd_connections") == 40
            # The kernel spread the connections over both workers' sockets.
            out = subprocess.run(["ss", "-tnpH", "state", "established",
                                  f"( sport = :{srv.port} )"],
                                 capture_output=True, text=True).stdout
            per_worker = [out.count(f"pid={pid},") for pid in children(srv.proc.pid)]
            assert sum(per_worker) >= 40 and min(per_worker) > 0, per_worker
        finally:
            await asyncio.gather(*(ws.close() for ws in clients), return_exceptions=True)

    run(main())


def test_a_worker_that_dies_is_started_again(alertd_factory, redis_server):
    srv = alertd_factory("--workers", "2")
    victim = children(srv.proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kids = children(srv.proc.pid)
        if len(kids) == 2 and victim not in kids:
            break
        time.sleep(0.1)
    assert len(children(srv.proc.pid)) == 2 and victim not in children(srv.proc.pid)
    srv.wait_ready(15)


def test_busy_port_is_one_clear_error(alertd_factory):
    srv = alertd_factory()
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{srv.port}", "--plain", "--workers", "2"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{srv.port}" in r.stderr
    assert "in use" in r.stderr


def test_a_second_multi_worker_alertd_on_the_port_is_refused(alertd_factory):
    # Both would set SO_REUSEPORT, which lets the kernel split connections
    # between them: the second must fail instead, and the first keep it all.
    srv = alertd_factory("--workers", "2")
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{srv.port}", "--plain", "--workers", "3"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1, r.stderr
    assert f"cannot listen on 127.0.0.1:{srv.port}" in r.stderr
    assert "another process listens there" in r.stderr
    for _ in range(20):  # every connection still reaches the first one (TLS)
        assert srv.get("/healthz")[0] == 200


def test_connections_per_address_are_limited(alertd_factory):
    srv = alertd_factory("--max-per-ip", "3")

    async def main():
        kept = [await srv.connect() for _ in range(3)]
        for ws in kept:
            await recv_hello(ws)
        try:
            await srv.connect()
            refused = False
        except (OSError, websockets.InvalidHandshake, asyncio.TimeoutError, EOFError):
            refused = True
        assert refused, "a fourth connection from one address was accepted"
        await kept[0].close()
        await asyncio.sleep(0.3)
        again = await srv.connect()  # a place is free again
        await recv_hello(again)
        await again.close()
        for ws in kept[1:]:
            await ws.close()

    run(main())
    assert metric(srv, "alertd_per_ip_refused_total") >= 1


def tls_connect(srv, source="127.0.0.1"):
    """A TLS handshake from `source`: True if it completed, False if the
    server closed the connection first."""
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=3,
                                      source_address=(source, 0)) as raw:
            with srv.ctx.wrap_socket(raw, server_hostname="localhost"):
                return True
    except (OSError, ssl.SSLError):
        return False


def test_new_connections_per_address_per_second_are_limited(alertd_factory):
    srv = alertd_factory("--max-rate-per-ip", "5")
    time.sleep(1.1)  # a fresh second: the readiness checks spent part of theirs
    got = [tls_connect(srv) for _ in range(30)]
    # 5 a second; the burst may straddle two of alertd's seconds.
    assert 5 <= sum(got) <= 10, got
    assert tls_connect(srv, source="127.0.0.2"), "another address has its own budget"
    time.sleep(1.1)
    assert tls_connect(srv), "the budget comes back the next second"
    assert metric(srv, "alertd_per_ip_rate_refused_total") == got.count(False)


def test_sigterm_while_a_worker_restarts_stops_everything(alertd_factory):
    srv = alertd_factory("--workers", "2")
    kids = children(srv.proc.pid)
    os.kill(kids[0], signal.SIGKILL)
    time.sleep(0.2)  # the supervisor has it down for a restart in a second
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=10) == 0
    srv.exit_checked = True
    for pid in kids:
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_workers_stop_when_their_supervisor_is_killed(alertd_factory):
    # Orphaned workers kept serving with nobody to restart them or pass on
    # signals, and held the port: alertd could not be started again there.
    srv = alertd_factory("--workers", "2", "--drain-seconds", "1")
    kids = children(srv.proc.pid)

    async def main():
        ws = await srv.connect()
        await recv_hello(ws)
        srv.kill()  # SIGKILL to the supervisor alone
        # The workers drain as on SIGTERM: the client is told 1001.
        try:
            await asyncio.wait_for(ws.recv(), 10)
            raise AssertionError("a frame instead of the close")
        except websockets.ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 1001, e

    run(main())
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in kids):
        assert time.monotonic() < deadline, f"workers {kids} outlived their supervisor"
        time.sleep(0.05)
    srv.start()  # the port is free again
    assert len(children(srv.proc.pid)) == 2


def _quota_cgroup(tmp_name, quota_us, period_us=100000):
    """A cgroup (v1 cpu controller or v2) limited to quota/period CPUs; its
    directory, or None when this machine does not let us make one."""
    v1 = "/sys/fs/cgroup/cpu"
    v2 = "/sys/fs/cgroup"
    try:
        if os.path.exists(os.path.join(v1, "cpu.cfs_quota_us")):
            d = os.path.join(v1, tmp_name)
            os.mkdir(d)
            with open(os.path.join(d, "cpu.cfs_period_us"), "w") as f:
                f.write(str(period_us))
            with open(os.path.join(d, "cpu.cfs_quota_us"), "w") as f:
                f.write(str(quota_us))
            return d
        if os.path.exists(os.path.join(v2, "cgroup.controllers")):
            d = os.path.join(v2, tmp_name)
            os.mkdir(d)
            with open(os.path.join(d, "cpu.max"), "w") as f:
                f.write(f"{quota_us} {period_us}")
            return d
    except OSError:
        return None
    return None


def _default_workers(cgroup_dir, tls_cert):
    """Starts alertd without --workers (in cgroup_dir if given) and reads how
    many workers it chose from its first log lines."""
    argv = [ALERTD, "--listen", f"127.0.0.1:{free_port()}", "--redis", "redis://127.0.0.1:1",
            "--tls-cert", tls_cert.cert, "--tls-key", tls_cert.key]
    if cgroup_dir:
        argv = ["sh", "-c", f'echo $$ > {cgroup_dir}/cgroup.procs && exec "$@"', "sh", *argv]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while sel.select(timeout=max(0.0, deadline - time.monotonic())):
                line = proc.stdout.readline()
                m = re.search(r'msg="workers started" workers=(\d+)', line)
                if m:
                    return int(m.group(1))
                if "listening on" in line and "proc=" not in line:
                    return 1  # one worker runs in the main process
                if not line:
                    break
        raise AssertionError("alertd did not say how many workers it runs")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_default_workers_follow_a_cpu_quota(tls_cert):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: a quota cannot lower the default")
    name = f"alertd-test-{os.getpid()}"
    d = _quota_cgroup(name, 100000)  # one CPU's worth, whatever the CPUs
    if d is None:
        pytest.skip("cannot make a cgroup with a CPU quota here (needs root and a writable cgroupfs)")
    try:
        assert _default_workers(None, tls_cert) == len(os.sched_getaffinity(0))
        assert _default_workers(d, tls_cert) == 1
    finally:
        os.rmdir(d)


def retry_delays_by_worker(log_text):
    """The Redis retry delays each worker logged, in order: {proc: [ms...]}."""
    delays = {}
    for line in log_text.splitlines():
        if "redis unavailable" not in line:
            continue
        proc = re.search(r"\bproc=(\S+)", line)
        ms = re.search(r"\bretry_ms=(\d+)", line)
        if proc and ms:
            delays.setdefault(proc.group(1), []).append(int(ms.group(1)))
    return delays


def test_workers_retry_redis_out_of_step(alertd_factory):
    """Full jitter is only worth having if every worker draws its own: with
    one seed shared by the workers forked from one process, they all came
    back to a restarted Redis at the same instants."""
    dead = f"redis://127.0.0.1:{free_port()}"
    srv = alertd_factory("--workers", "3", redis=dead, ready=False)
    deadline = time.monotonic() + 15
    delays = {}
    while time.monotonic() < deadline:
        delays = retry_delays_by_worker(open(srv.log, encoding="utf-8", errors="replace").read())
        if len(delays) == 3 and all(len(d) >= 5 for d in delays.values()):
            break
        time.sleep(0.2)
    assert len(delays) == 3 and all(len(d) >= 5 for d in delays.values()), delays
    firsts = {proc: tuple(d[:5]) for proc, d in delays.items()}
    assert len(set(firsts.values())) == 3, f"workers drew the same delays: {firsts}"
    for d in delays.values():  # still within the documented bounds: 50 ms .. 2.05 s
        assert all(50 <= ms < 2050 for ms in d), d


def test_a_node_name_too_long_stops_alertd_at_start():
    """Checked before the workers exist: each one would refuse it and be
    started again, forever."""
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{free_port()}", "--plain",
                        "--workers", "2", "--node", "n" * 600],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2, r.stderr
    assert "--node: at most 512 bytes" in r.stderr, r.stderr
