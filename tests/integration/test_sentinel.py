"""redis+sentinel://: alertd and `alert` find the Redis master through Redis
Sentinel, and follow it through a failover without losing an alert.

Real parts only: a master and a replica (redis-server), one Sentinel
(`redis-server --sentinel`) watching them with a 1 s down-after time, and,
listed before it, two that do not work: an address nothing listens on
(refused at once) and a socket that takes connections but never answers
(its second runs out), so that every lookup passes over dead Sentinels.
"""
import asyncio
import os
import signal
import socket
import subprocess
import time

import pytest

from alertd_fixture import (alertd_factory, apush, recv_alert_ids, recv_hello,  # noqa: F401
                            run, tls_cert)
from conftest import ALERTD, RedisServer, free_port, run_alert, wait_for_port

MASTER = "news"


class Sentinel:
    def __init__(self, workdir, master_port):
        self.port = free_port()
        self.dir = str(workdir)
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write(f"""port {self.port}
bind 127.0.0.1
dir {self.dir}
sentinel resolve-hostnames no
sentinel monitor {MASTER} 127.0.0.1 {master_port} 1
sentinel down-after-milliseconds {MASTER} 1000
sentinel failover-timeout {MASTER} 5000
""")
        self.proc = subprocess.Popen(["redis-server", self.conf, "--sentinel"],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "sentinel.log"), "ab"))
        wait_for_port(self.port)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                              text=True, timeout=10).stdout

    def master_port(self):
        out = self.cli("SENTINEL", "get-master-addr-by-name", MASTER).split()
        return int(out[1]) if len(out) == 2 else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def wait_until(what, cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.1)


@pytest.fixture
def watched(tmp_path):
    """(master, replica, sentinel, url): a replicated pair and its Sentinel."""
    dirs = [tmp_path / n for n in ("master", "replica", "sentinel")]
    for d in dirs:
        d.mkdir()
    master = RedisServer(str(dirs[0])).start()
    replica = RedisServer(str(dirs[1]), extra=["--replicaof", "127.0.0.1",
                                               str(master.port)]).start()
    wait_until("the replica in sync",
               lambda: "master_link_status:up" in replica.cli("INFO", "replication"))
    sentinel = Sentinel(dirs[2], master.port)
    wait_until("Sentinel seeing the replica",
               lambda: str(replica.port) in sentinel.cli("SENTINEL", "replicas", MASTER))
    dead = free_port()
    mute = socket.socket()  # the kernel completes connections; nobody answers
    mute.bind(("127.0.0.1", 0))
    mute.listen(64)
    url = (f"redis+sentinel://127.0.0.1:{dead},127.0.0.1:{mute.getsockname()[1]},"
           f"127.0.0.1:{sentinel.port}/{MASTER}")
    yield master, replica, sentinel, url
    mute.close()
    sentinel.stop()
    replica.stop()
    master.stop()


def test_alert_publishes_through_sentinel_and_says_what_is_wrong(watched, tmp_path):
    master, _, sentinel, url = watched
    t0 = time.monotonic()
    r = run_alert("push", "--headline", "Through Sentinel", redis=url)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    # The mute Sentinel costs its second, not the 5 s a Redis command gets.
    assert took < 4.5, f"the push took {took:.1f}s past a Sentinel that does not answer"
    assert master.cli("XLEN", "alert:stream").strip() == "1"
    r = run_alert("status", redis=url)
    assert r.returncode == 0, r.stderr

    dead = url.split("//")[1].split(",")[0]
    r = run_alert("push", "--headline", "x", redis=url.replace(f"/{MASTER}", "/nosuch"))
    assert r.returncode == 3, r.stderr
    assert 'knows no master "nosuch"' in r.stderr and dead in r.stderr, r.stderr
    assert r.stderr.count("127.0.0.1:") >= 3, r.stderr  # what each Sentinel said
    r = run_alert("push", "--headline", "x", redis=f"redis+sentinel://{dead}/{MASTER}")
    assert r.returncode == 3 and "no Sentinel gave the address" in r.stderr, r.stderr
    r = run_alert("push", "--headline", "x", redis=f"redis+sentinel://{dead}")
    assert r.returncode == 2 and "needs the master's name" in r.stderr, r.stderr


def test_alertd_stops_on_an_unknown_master_name(watched, tls_cert):  # noqa: F811
    _, _, sentinel, _ = watched
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{free_port()}", "--redis",
                        f"redis+sentinel://127.0.0.1:{sentinel.port}/nosuch",
                        "--tls-cert", tls_cert.cert, "--tls-key", tls_cert.key,
                        "--workers", "1"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 78, r.stdout + r.stderr
    assert 'knows no master \\"nosuch\\"' in r.stdout + r.stderr, r.stdout + r.stderr


def test_a_failover_loses_no_alert(watched, alertd_factory):  # noqa: F811
    master, replica, sentinel, url = watched
    srv = alertd_factory(redis=url)

    async def main():
        ws = await srv.connect()
        await recv_hello(ws)
        first = await apush(url, "Before the failover")
        assert await recv_alert_ids(ws, 1) == [first]
        assert master.cli("WAIT", "1", "2000").strip() == "1", "the replica has not got it"

        master.stop(signal.SIGKILL)
        # `alert push` fails (exit 3) until Sentinel has promoted the replica.
        deadline = time.monotonic() + 30
        while True:
            r = await asyncio.to_thread(run_alert, "push", "--headline", "After the failover",
                                        redis=url)
            if r.returncode == 0:
                second = r.stdout.strip()
                break
            assert r.returncode == 3, r.stderr
            assert time.monotonic() < deadline, f"no publish within 30 s: {r.stderr}"
            await asyncio.sleep(0.3)
        assert sentinel.master_port() == replica.port
        # The node found the new master through Sentinel and caught up.
        assert await recv_alert_ids(ws, 1, timeout=20) == [second]
        again = await srv.connect(f"since={first}")
        await recv_hello(again)
        assert await recv_alert_ids(again, 1) == [second]
        await ws.close()
        await again.close()

    run(main())
    assert srv.get("/readyz")[0] == 200
    with open(srv.log) as f:
        log = f.read()
    assert f"master=127.0.0.1:{replica.port}" in log, srv.tail()
