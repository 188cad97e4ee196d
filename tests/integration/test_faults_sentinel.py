"""Fault suite (issue #16): a Sentinel failover while durable alerts flow.

A master with two replicas, watched by a Sentinel; two alertd nodes and the
publisher find the master through it (redis+sentinel://). Alerts are pushed
with `alert push --durable` (WAIT for one replica after the publish) to 100
readers, and the master is SIGKILLed midway: Sentinel promotes a replica.
Every push that exited 0 (so a replica confirmed it) must be in the new
master's stream and reach every reader, gap or no gap; a push that exited 3
must be nowhere; exit 4 (unknown) and 5 (published, not confirmed) may go
either way.
"""
import asyncio
import json
import os
import signal
import time

import pytest

from alertd_fixture import alertd_factory, run, tls_cert  # noqa: F401
from conftest import RedisServer
from faultkit import (EXIT_NOT_DURABLE, EXIT_NOT_PUBLISHED, EXIT_PUBLISHED, EXIT_UNKNOWN, Crowd,
                      Publisher, check_promise, figures, reader_figures, start_readers,
                      stop_readers, wait_all)
from test_sentinel import MASTER, Sentinel, wait_until

READERS = 100
KILL_AFTER = 20         # pushes before the master is killed
AFTER = 15              # pushes confirmed durable on the new master, at least
PUSH_PAUSE = 0.1


@pytest.fixture
def watched_pair(tmp_path):
    """(master, [replica, replica], sentinel): everything in sync and seen."""
    dirs = [tmp_path / n for n in ("master", "replica-1", "replica-2", "sentinel")]
    for d in dirs:
        d.mkdir()
    fast = ["--repl-diskless-sync-delay", "0"]
    master = RedisServer(str(dirs[0]), extra=fast).start()
    replicas = [RedisServer(str(d), extra=fast + ["--replicaof", "127.0.0.1", str(master.port)])
                .start() for d in dirs[1:3]]
    for r in replicas:
        wait_until("a replica in sync",
                   lambda: "master_link_status:up" in r.cli("INFO", "replication"))
    sentinel = Sentinel(dirs[3], master.port)
    wait_until("Sentinel seeing both replicas", lambda: all(
        str(r.port) in sentinel.cli("SENTINEL", "replicas", MASTER) for r in replicas))
    yield master, replicas, sentinel
    sentinel.stop()
    for srv in replicas + [master]:
        srv.stop()


def stream_headlines(srv):
    """{id: headline} of the whole stream on srv."""
    r = srv.client()
    return {eid: json.loads(fields["item"]).get("headline")
            for eid, fields in r.xrange("alert:stream", "-", "+")}


def test_durable_alerts_survive_a_failover(watched_pair, alertd_factory, tls_cert):  # noqa: F811
    master, replicas, sentinel = watched_pair
    url = f"redis+sentinel://127.0.0.1:{sentinel.port}/{MASTER}"
    nodes = [alertd_factory("--node", f"sentinel-{i}", "--log-level", "info", redis=url)
             for i in range(2)]
    pub = Publisher(url, f"failover-{os.getpid()}", extra=["--durable"])
    out = {}

    async def phases(crowd):
        readers, out["connect_s"] = await start_readers(crowd, READERS, [n.url() for n in nodes])
        while len(pub.pushes) < KILL_AFTER:
            await pub.push()
            await asyncio.sleep(PUSH_PAUSE)
        killed = time.monotonic()
        await asyncio.to_thread(master.stop, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while len([p for p in pub.pushes if p.at > killed and p.status == EXIT_PUBLISHED]) \
                < AFTER:
            assert time.monotonic() < deadline, f"too few durable pushes after the kill: " \
                f"{pub.tally()}; last: {pub.pushes[-1].stderr}"
            p = await pub.push()
            if p.status == EXIT_PUBLISHED and "first_s" not in out:
                out["first_s"] = time.monotonic() - killed
            await asyncio.sleep(PUSH_PAUSE)
        last = pub.pushes[-1]
        await wait_all(readers, lambda r: r.last_id == last.id, 60, f"holding {last.id}")
        return readers

    async def main():
        crowd = Crowd(tls_cert.cert)
        try:
            return await phases(crowd)
        finally:
            await stop_readers(crowd.readers)

    readers = run(main(), timeout=150)
    new_port = sentinel.master_port()
    new_master = next(r for r in replicas if r.port == new_port)
    stream = stream_headlines(new_master)
    durable = {p.id for p in pub.by_status(EXIT_PUBLISHED)}
    lost = sorted(durable - set(stream))
    refused = {p.headline for p in pub.by_status(EXIT_NOT_PUBLISHED)}
    stored_refused = sorted(h for h in stream.values() if h in refused)
    problems = check_promise(readers, pub, strict=durable)
    tally = pub.tally()
    text = figures("Sentinel failover during durable pushes (--durable, WAIT 1 replica)", [
        ("topology", f"master + 2 replicas, 1 Sentinel; {len(nodes)} alertd nodes"),
        ("connect", f"{READERS} readers in {out['connect_s']:.1f}s"),
        ("pushes", f"{len(pub.pushes)}: " +
         ", ".join(f"exit {k}: {v}" for k, v in sorted(tally.items()))),
        ("failover", f"master SIGKILLed after push {KILL_AFTER}; replica :{new_port} promoted; "
                     f"first durable push {out.get('first_s', -1):.1f}s after the kill"),
        ("new master", f"{len(stream)} entries; durable pushes missing: {len(lost)}; "
                       f"refused pushes stored: {len(stored_refused)}"),
        *reader_figures(readers),
        ("promise", "kept" if not problems else f"{len(problems)} breaches"),
    ])
    assert new_port in (r.port for r in replicas), text
    assert set(tally) <= {EXIT_PUBLISHED, EXIT_NOT_PUBLISHED, EXIT_UNKNOWN, EXIT_NOT_DURABLE}, \
        [p.stderr for p in pub.pushes][-3:]
    assert tally.get(EXIT_NOT_PUBLISHED, 0) + tally.get(EXIT_UNKNOWN, 0) > 0, \
        f"no push met the failover\n{text}"
    assert lost == [], f"durable alerts lost in the failover: {lost}\n{text}"
    assert stored_refused == [], text
    assert problems == [], text + "\n" + "\n".join(problems[:20])
