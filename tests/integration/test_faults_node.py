"""Fault suite (issue #16): a node dies under its readers.

One alertd node (two workers, ticket keys from a file, as a fleet shares
them) is SIGKILLed while alerts are pushed to 2,000 readers and started
again at once; the readers reconnect with the protocol's backoff and
`since`, and miss nothing: Redis kept every alert, so no gap is excused.
Then 3,000 more readers join, the node is killed and restarted again, and
all 5,000 reconnect in the same instant (a storm: no jitter, the worst
case), offering the TLS session tickets they were given before the restart.
The figures say how long until every reader had its hello again and how many
handshakes resumed.
"""
import asyncio
import os
import time

from alertd_fixture import alertd_factory, run, tls_cert  # noqa: F401
from faultkit import (EXIT_PUBLISHED, Crowd, Publisher, Reader, check_promise, crash_node,
                      figures, raise_nofile, reader_figures, start_readers, stop_readers,
                      wait_all)

FIRST = 2000
STORM = 5000
PUSHES = 30             # pushed around the first kill
KILL_AFTER = 10         # pushes made before it
PUSH_PAUSE = 0.1
STORM_BOUND = 90.0      # seconds for 5,000 readers to be back after the storm starts
STORM_RESUMED = 0.95    # share of the storm's handshakes that must resume
HANDSHAKES = 100        # handshakes this one-thread client keeps in flight


def test_a_killed_node_loses_nothing_and_survives_a_reconnect_storm(alertd_factory, tls_cert,  # noqa: F811
                                                                   tmp_path, redis_server):
    raise_nofile(2 * STORM + 1024)
    keyfile = tmp_path / "tickets.key"
    keyfile.write_bytes(os.urandom(80))
    node = alertd_factory("--workers", "2", "--max-per-ip", "100000",
                          "--tls-ticket-key", str(keyfile), "--log-level", "info")
    pub = Publisher(redis_server.url, f"node-fault-{os.getpid()}")
    out = {}

    async def kill_and_restart(readers):
        killed = time.monotonic()
        await asyncio.to_thread(crash_node, node)
        await wait_all(readers, lambda r: not r.connected.is_set(), 30, "seeing the node go")
        await asyncio.to_thread(node.start)
        out["ready_s"] = time.monotonic() - killed
        await wait_all(readers, lambda r: r.connected.is_set(), 60, "connected again")
        out["back_s"] = time.monotonic() - killed

    async def first_phase(crowd):
        readers, out["connect_s"] = await start_readers(crowd, FIRST, [node.url()])
        while len(pub.pushes) < PUSHES:
            if len(pub.pushes) == KILL_AFTER:
                # Pushes go on while the node is away: Redis keeps them.
                restart = asyncio.ensure_future(kill_and_restart(readers))
            await pub.push()
            await asyncio.sleep(PUSH_PAUSE)
        await restart
        last = await pub.push_until_published("last")
        await wait_all(readers, lambda r: r.last_id == last.id, 60, f"holding {last.id}")
        return readers

    async def storm_phase(crowd, readers):
        t0 = time.monotonic()
        more = [Reader(crowd, [node.url()]).start() for _ in range(STORM - len(readers))]
        await wait_all(more, lambda r: r.connected.is_set(), 120, "connected")
        out["join_s"] = time.monotonic() - t0
        # A reader resumes from the last alert it got (a new one would load
        # /v1/alerts first): one alert for everyone before the crash.
        joined = await pub.push_until_published("joined")
        await wait_all(more, lambda r: r.last_id == joined.id, 60, f"holding {joined.id}")
        readers = readers + more
        for r in readers:
            r.keep_ticket()
        before = (sum(r.connections for r in readers), sum(r.resumed for r in readers))
        storm = asyncio.Event()
        for r in readers:
            r.hold = storm
        await asyncio.to_thread(crash_node, node)
        await wait_all(readers, lambda r: not r.connected.is_set(), 30, "seeing the node go")
        # Published while the node is down: the storm's readers replay them.
        await pub.push_until_published("while down 1")
        await pub.push_until_published("while down 2")
        await asyncio.to_thread(node.start)
        t0 = time.monotonic()
        storm.set()
        out["storm_s"] = await wait_all(readers, lambda r: r.connected.is_set(), STORM_BOUND,
                                        "connected again after the storm")
        out["storm_conns"] = sum(r.connections for r in readers) - before[0]
        out["storm_resumed"] = sum(r.resumed for r in readers) - before[1]
        last = await pub.push_until_published("after the storm")
        await wait_all(readers, lambda r: r.last_id == last.id, 60, f"holding {last.id}")
        out["storm_total_s"] = time.monotonic() - t0
        return readers

    async def main():
        crowd = Crowd(tls_cert.cert, open_timeout=60, handshakes=HANDSHAKES)
        try:
            readers = await first_phase(crowd)
            first = check_promise(readers, pub, strict={p.id for p in pub.pushes if p.id})
            out["first_figures"] = reader_figures(readers)
            out["first_gaps"] = sum(len(r.gaps) for r in readers)
            return await storm_phase(crowd, readers), first
        finally:
            await stop_readers(crowd.readers)

    readers, first_problems = run(main(), timeout=300)
    storm_problems = check_promise(readers, pub, strict={p.id for p in pub.pushes if p.id})
    tally = pub.tally()
    text = figures("a node SIGKILLed under 2,000 readers, then a 5,000-reader storm", [
        ("connect", f"{FIRST} readers in {out['connect_s']:.1f}s"),
        ("pushes", f"{len(pub.pushes)}: " +
         ", ".join(f"exit {k}: {v}" for k, v in sorted(tally.items()))),
        ("kill 1", f"after push {KILL_AFTER}; ready again {out['ready_s']:.1f}s after the kill, "
                   f"every reader back (hello) after {out['back_s']:.1f}s"),
        *[("  " + k, v) for k, v in out["first_figures"]],
        ("  promise", "kept" if not first_problems else f"{len(first_problems)} breaches"),
        ("join", f"{STORM - FIRST} more readers in {out['join_s']:.1f}s"),
        ("kill 2", f"2 alerts pushed while down, then {STORM} readers at once"),
        ("storm", f"all {STORM} back (hello) in {out['storm_s']:.1f}s, at most "
                  f"{HANDSHAKES} handshakes in flight from this client "
                  f"(bound {STORM_BOUND:.0f}s); "
                  f"TLS resumed {out['storm_resumed']} of {out['storm_conns']} "
                  f"({100.0 * out['storm_resumed'] / max(1, out['storm_conns']):.1f}%)"),
        ("", f"replayed and the next alert held by all in {out['storm_total_s']:.1f}s"),
        *[("  " + k, v) for k, v in reader_figures(readers)],
        ("promise", "kept" if not storm_problems else f"{len(storm_problems)} breaches"),
    ])
    assert set(tally) == {EXIT_PUBLISHED}, text  # Redis never went away
    assert first_problems == [], text + "\n" + "\n".join(first_problems[:20])
    assert out["first_gaps"] == 0, text
    assert storm_problems == [], text + "\n" + "\n".join(storm_problems[:20])
    assert not any(r.gaps for r in readers), text
    assert out["storm_resumed"] >= STORM_RESUMED * out["storm_conns"], text
