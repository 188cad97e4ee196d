"""Fault suite (issue #16): Redis goes away under load, and comes back.

Redis is restarted five times (SIGTERM and SIGKILL in turn) and then replaced
by an empty one (a new data directory on the same port) while 200 alerts are
pushed, one `alert push` after another, to 500 readers on two alertd nodes.
Meanwhile readers keep dropping their connection and resuming with `since`
on either node, as a reader whose network changes would. The promise is
checked for every reader (faultkit.check_promise): every push that exited 0
arrived exactly once or is covered by a gap, no push that exited 3 arrived
anywhere, and every reader's ids only grew.
"""
import asyncio
import os
import random
import signal
import time

from alertd_fixture import alertd_factory, run, tls_cert  # noqa: F401
from conftest import RedisServer
from faultkit import (EXIT_NOT_PUBLISHED, EXIT_PUBLISHED, EXIT_UNKNOWN, Crowd, Publisher,
                      check_promise, figures, raise_nofile, reader_figures, start_readers,
                      stop_readers, wait_all)

READERS = 500
PUSHES = 200
RESTART_AT = (25, 55, 85, 115, 145)  # pushes made before each restart
REPLACE_AT = 170                     # ... and before the empty Redis
PUSH_PAUSE = 0.03                    # seconds between two pushes
PUSH_PAUSE_FAILED = 0.15             # ... after one that failed, as a publisher backs off
CHURN_EVERY = 0.04                   # seconds between two readers resuming elsewhere


def test_redis_restarts_and_an_empty_redis_keep_the_promise(redis_server, alertd_factory,  # noqa: F811
                                                            tls_cert, tmp_path):  # noqa: F811
    raise_nofile(4 * READERS + 256)
    keyfile = tmp_path / "tickets.key"  # the nodes share ticket keys, as behind a balancer
    keyfile.write_bytes(os.urandom(80))
    nodes = [alertd_factory("--max-per-ip", "100000", "--node", f"redis-fault-{i}",
                            "--tls-ticket-key", str(keyfile)) for i in range(2)]
    urls = [n.url() for n in nodes]
    servers = [redis_server]  # the Redis in service is servers[-1]
    events = []

    def restart(sig):
        srv = servers[-1]
        srv.stop(sig)
        events.append(f"stopped ({signal.Signals(sig).name})")
        return srv

    async def chaos(pub, down):
        for i, at in enumerate(RESTART_AT + (REPLACE_AT,)):
            while len(pub.pushes) < at:
                await asyncio.sleep(0.01)
            sig = signal.SIGKILL if i % 2 else signal.SIGTERM
            await asyncio.to_thread(restart, sig)
            await asyncio.sleep(random.uniform(0.3, 1.0))  # pushes meet a dead Redis
            if at == REPLACE_AT:
                d = tmp_path / "redis-empty"
                d.mkdir()
                srv = RedisServer(str(d), port=redis_server.port)
                servers.append(srv)
            await asyncio.to_thread(servers[-1].start)
            events[-1] += f", back after {len(pub.pushes) - at} pushes" + \
                (" EMPTY" if at == REPLACE_AT else "")
        down.set()

    async def churn(readers, stop):
        while not stop.is_set():
            await random.choice(readers).drop(random.choice(urls))
            await asyncio.sleep(CHURN_EVERY)

    async def main():
        crowd = Crowd(tls_cert.cert)
        try:
            return await phases(crowd)
        finally:
            await stop_readers(crowd.readers)

    async def phases(crowd):
        readers, connect_s = await start_readers(crowd, READERS, urls)
        pub = Publisher(redis_server.url, f"redis-fault-{os.getpid()}")
        done, stop_churn = asyncio.Event(), asyncio.Event()
        chaos_task = asyncio.ensure_future(chaos(pub, done))
        churn_task = asyncio.ensure_future(churn(readers, stop_churn))
        t0 = time.monotonic()
        while len(pub.pushes) < PUSHES:
            p = await pub.push()
            await asyncio.sleep(PUSH_PAUSE if p.status == EXIT_PUBLISHED else PUSH_PAUSE_FAILED)
        await chaos_task
        stop_churn.set()
        await churn_task
        last = await pub.push_until_published("last")
        drain_s = await wait_all(readers, lambda r: r.last_id == last.id, 60,
                                 f"holding the last alert {last.id}")
        took = time.monotonic() - t0
        return crowd, readers, pub, connect_s, took, drain_s

    try:
        crowd, readers, pub, connect_s, took, drain_s = run(main(), timeout=170)
    finally:
        for srv in servers[1:]:
            srv.stop()
    tally = pub.tally()
    problems = check_promise(readers, pub)
    text = figures("Redis restarted 5 times, then replaced by an empty one", [
        ("nodes", f"{len(nodes)} alertd, readers resuming on either"),
        ("connect", f"{READERS} readers in {connect_s:.1f}s"),
        ("pushes", f"{len(pub.pushes)} in {took:.1f}s: " +
         ", ".join(f"exit {k}: {v}" for k, v in sorted(tally.items()))),
        *[(f"redis {i + 1}", e) for i, e in enumerate(events)],
        *reader_figures(readers),
        ("drain", f"every reader had the last alert {drain_s:.1f}s after it was pushed"),
        ("promise", "kept" if not problems else f"{len(problems)} breaches"),
    ])
    assert tally.get(EXIT_PUBLISHED, 0) >= PUSHES // 2, text
    assert tally.get(EXIT_NOT_PUBLISHED, 0) > 0, f"no push met a dead Redis\n{text}"
    assert set(tally) <= {EXIT_PUBLISHED, EXIT_NOT_PUBLISHED, EXIT_UNKNOWN}, \
        [p.stderr for p in pub.pushes if p.status not in (0, 3, 4)][:3]
    # The empty Redis lost what the nodes held: everyone was told.
    assert all(r.gaps for r in readers), text
    assert problems == [], text + "\n" + "\n".join(problems[:20])
