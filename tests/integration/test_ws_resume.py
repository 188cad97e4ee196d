"""alertd delivery promise: resume with `since`, gaps, Redis outages, node restarts.

"A client that reconnects with since = the last id it saw receives every later
matching alert exactly once, in order, as long as that id is still within the
history kept." (proto/PROTOCOL.md, section 4)
"""
import asyncio
import json
import signal
import time

import websockets

from alertd_fixture import (alertd, alertd_factory, apush, assert_increasing,  # noqa: F401
                            connect_many, idkey, metric, ping_pong, push, recv_alert_ids,
                            recv_hello, recv_json, run, tls_cert)
from conftest import run_alert


def test_ws_resume_with_since_gets_exactly_the_missed_alerts(alertd, redis_server):
    async def main():
        observer = await alertd.connect()
        await recv_hello(observer)
        async with alertd.connect() as ws:
            await recv_hello(ws)
            a0 = await apush(redis_server, "Seen")
            assert await recv_alert_ids(ws, 1) == [a0]
        missed = [await apush(redis_server, f"Missed {i}") for i in range(5)]
        assert_increasing(missed)
        # The node holds them all once a connected client has seen them.
        assert await recv_alert_ids(observer, 6) == [a0] + missed
        await observer.close()
        async with alertd.connect(f"since={a0}") as ws:
            hello = await recv_hello(ws)
            assert hello["last_id"] == missed[-1], hello
            assert await recv_alert_ids(ws, 5, allow=()) == missed
            frame = await recv_json(ws)
            assert frame == {"type": "replayed", "count": 5, "last_id": missed[-1]}, frame
            live = await apush(redis_server, "Live")
            assert await recv_alert_ids(ws, 1, allow=()) == [live]
            await ping_pong(ws)  # and nothing else was queued

    run(main())


def test_ws_resume_with_since_and_filter_replays_only_matching(alertd, redis_server):
    async def main():
        observer = await alertd.connect()
        await recv_hello(observer)
        a0 = push(redis_server, "Seen", topics=["world"])
        w = []
        for i in range(3):
            w.append(await apush(redis_server, f"W{i}", topics=["world"]))
            await apush(redis_server, f"S{i}", topics=["sports"])
        assert len(await recv_alert_ids(observer, 7)) == 7
        await observer.close()
        async with alertd.connect(f"topics=world&since={a0}") as ws:
            await recv_hello(ws)
            assert await recv_alert_ids(ws, 3, allow=()) == w
            frame = await recv_json(ws)
            assert frame["type"] == "replayed" and frame["count"] == 3, frame

    run(main())


def test_ws_resume_with_latest_id_replays_nothing(alertd, redis_server):
    async def main():
        # The node holds it once a connected client has seen it.
        async with alertd.connect() as ws:
            await recv_hello(ws)
            last = await apush(redis_server, "Only")
            assert await recv_alert_ids(ws, 1) == [last]
        async with alertd.connect(f"since={last}") as ws:
            await recv_hello(ws)
            frame = await recv_json(ws)
            assert frame["type"] == "replayed" and frame["count"] == 0, frame
            nxt = await apush(redis_server, "Next")
            assert await recv_alert_ids(ws, 1, allow=()) == [nxt]

    run(main())


def test_ws_since_older_than_history_gets_gap(alertd_factory, redis_server):
    srv = alertd_factory("--history", "20")

    async def main():
        ids = [await apush(redis_server, f"A{i}") for i in range(30)]
        assert_increasing(ids)
        # Let the node take them all in: a live client sees the last one.
        async with srv.connect(f"since={ids[-2]}") as ws:
            await recv_hello(ws)
            assert await recv_alert_ids(ws, 1, allow=()) == [ids[-1]]

        # since = the oldest id still kept (20 kept: ids[10..29]) -> no gap.
        async with srv.connect(f"since={ids[10]}") as ws:
            await recv_hello(ws)
            assert await recv_alert_ids(ws, 19, allow=()) == ids[11:]
            frame = await recv_json(ws)
            assert frame == {"type": "replayed", "count": 19, "last_id": ids[-1]}, frame

        # since = the very first: older than the history kept -> gap.
        async with srv.connect(f"since={ids[0]}") as ws:
            await recv_hello(ws)
            frame = await recv_json(ws)
            assert frame["type"] == "gap", frame
            assert frame["since"] == ids[0]
            assert frame["oldest"] in ids, frame
            assert 1 <= ids.index(frame["oldest"]) <= 10, \
                f"oldest kept {frame['oldest']} (index {ids.index(frame['oldest'])}) " \
                f"with --history 20 of 30"
            # The connection goes on live afterwards; whatever the node sends in
            # between must be in order and not repeat.
            live = await apush(redis_server, "After the gap")
            seen = []
            deadline = time.monotonic() + 10
            while live not in seen:
                assert time.monotonic() < deadline, f"live alert not received; got {seen}"
                f = await recv_json(ws, deadline - time.monotonic())
                if f["type"] == "alert":
                    seen.append(f["alert"]["id"])
                else:
                    assert f["type"] in ("replayed",), f
            assert_increasing(seen, "alerts after gap")

    run(main())


def test_ws_redis_outage_keeps_clients_and_loses_nothing(alertd_factory, redis_server):
    """Redis killed: /readyz 503, clients stay (ping/pong answered). An alert
    published while the node is disconnected and one published after it is
    back both reach every client, once, in order; /readyz 200 again.

    The node is SIGSTOPped for the moment Redis is restarted and the first
    alert published, so that alert deterministically lands while the node is
    not subscribed: only the catch-up from the stream can deliver it."""
    srv = alertd_factory()

    async def main():
        clients = []
        for q in ("", "topics=world", "lang=en"):
            ws = await srv.connect(q)
            await recv_hello(ws)
            clients.append(ws)
        try:
            a1 = await apush(redis_server, "Before", topics=["world"])
            for ws in clients:
                assert await recv_alert_ids(ws, 1) == [a1]

            redis_server.stop(signal.SIGKILL)
            await asyncio.to_thread(srv_wait_status, srv, "/readyz", 503)
            assert srv.get("/healthz")[0] == 200
            for ws in clients:
                await ping_pong(ws)
            await asyncio.sleep(1.0)  # a few reconnect attempts fail meanwhile
            for ws in clients:
                await ping_pong(ws)

            srv.pause()
            try:
                await asyncio.to_thread(redis_server.start)
                a2 = await apush(redis_server, "While disconnected", topics=["world"])
            finally:
                srv.resume()
            await asyncio.to_thread(srv.wait_ready, 20)
            a3 = await apush(redis_server, "After", topics=["world"])
            for ws in clients:
                assert await recv_alert_ids(ws, 2, timeout=15) == [a2, a3]
                await ping_pong(ws)  # nothing else (no duplicate of a1, a2 or a3)
            assert srv.get("/readyz")[0] == 200
        finally:
            for ws in clients:
                await ws.close()

    run(main(), timeout=120)


def srv_wait_status(srv, path, status, timeout=10.0):
    from alertd_fixture import wait_status
    return wait_status(srv.port, path, srv.ctx, status, timeout, srv.proc)


def test_ws_node_killed_and_restarted_clients_resume_losing_nothing(alertd_factory,
                                                                   redis_server):
    srv = alertd_factory()

    async def main():
        queries = ("", "topics=world", "lang=en")
        clients = []
        for q in queries:
            ws = await srv.connect(q)
            await recv_hello(ws)
            clients.append(ws)
        a1 = await apush(redis_server, "Before the crash", topics=["world"], lang="en")
        for ws in clients:
            assert await recv_alert_ids(ws, 1) == [a1]

        srv.kill()
        for ws in clients:
            try:
                await asyncio.wait_for(ws.recv(), 5)
                raise AssertionError("a frame arrived from a killed server")
            except websockets.ConnectionClosed:
                pass
        down = [await apush(redis_server, f"During downtime {i}", topics=["world"], lang="en")
                for i in range(3)]
        await asyncio.to_thread(srv.start)

        resumed = []
        for q in queries:
            ws = await srv.connect("&".join(x for x in (q, f"since={a1}") if x))
            hello = await recv_hello(ws)
            assert hello["last_id"] == down[-1], hello
            resumed.append(ws)
        try:
            for ws in resumed:
                assert await recv_alert_ids(ws, 3, allow=()) == down
                frame = await recv_json(ws)
                assert frame == {"type": "replayed", "count": 3, "last_id": down[-1]}, frame
            a5 = await apush(redis_server, "After the restart", topics=["world"], lang="en")
            for ws in resumed:
                assert await recv_alert_ids(ws, 1, allow=()) == [a5]
                await ping_pong(ws)
        finally:
            for ws in resumed:
                await ws.close()

    run(main(), timeout=120)


def test_ws_node_back_soon_after_short_redis_outage(alertd_factory, redis_server):
    """The node "reconnects with backoff": after a one-second outage it is
    subscribed and caught up again within a few seconds of Redis's return,
    and an alert published meanwhile reaches its clients as soon as it is.
    (The bound is generous: breaking news is meant to arrive "within a
    fraction of a second"; a node that only notices Redis is back after a
    long silence timer holds every alert back that long.)"""
    srv = alertd_factory()

    async def main():
        async with srv.connect() as ws:
            await recv_hello(ws)
            redis_server.stop(signal.SIGKILL)
            await asyncio.to_thread(srv_wait_status, srv, "/readyz", 503)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(redis_server.start)
            t0 = time.monotonic()
            a = await apush(redis_server, "Right after Redis came back")
            assert await recv_alert_ids(ws, 1, timeout=15) == [a]
            took = time.monotonic() - t0
            await asyncio.to_thread(srv.wait_ready, 15)
            assert took <= 5.0, f"alert reached the client {took:.1f}s after Redis was back"

    run(main(), timeout=60)


def test_ws_sigterm_right_after_losing_redis_exits_cleanly(alertd_factory, redis_server):
    """SIGTERM while the node is between Redis reconnect attempts: exit status 0
    (with SANITIZER=address, also no leak report)."""
    for delay in (0.0, 0.05, 0.3):
        if redis_server.proc is None:
            redis_server.start()
        srv = alertd_factory()
        redis_server.stop(signal.SIGKILL)
        time.sleep(delay)
        srv.stop(signal.SIGTERM)  # asserts exit status 0


def test_ws_sigterm_drains_clients_with_1001(alertd_factory):
    """Graceful drain on SIGTERM: every client gets close 1001 (going away),
    and the process exits 0."""
    srv = alertd_factory()

    async def main():
        clients = await connect_many(srv, 5)
        srv.proc.send_signal(signal.SIGTERM)
        codes = []
        for ws in clients:
            try:
                msg = await asyncio.wait_for(ws.recv(), 15)
                raise AssertionError(f"frame instead of a close: {msg}")
            except websockets.ConnectionClosed as e:
                codes.append(e.code)
        return codes

    codes = run(main(), timeout=40)
    assert codes == [1001] * 5, f"close codes on SIGTERM: {codes}"
    rc = srv.wait_exit(30)  # the drain ends by itself
    assert rc == 0, f"exit status {rc} after a drain\n{srv.tail()}"


def test_ws_drain_window_is_a_setting(alertd_factory):
    """--drain-seconds spreads the 1001 closes over the window (a big node's
    readers do not all reconnect at the same instant); 0 closes them all at
    once."""
    def close_times(window):
        srv = alertd_factory("--drain-seconds", str(window))

        async def main():
            clients = await connect_many(srv, 100, concurrency=25)
            loop = asyncio.get_running_loop()
            srv.proc.send_signal(signal.SIGTERM)
            sent = loop.time()

            async def closed_at(ws):
                try:
                    msg = await asyncio.wait_for(ws.recv(), window + 10)
                    raise AssertionError(f"frame instead of a close: {msg}")
                except websockets.ConnectionClosed as e:
                    assert e.code == 1001, e.code
                    return loop.time() - sent

            return await asyncio.gather(*(closed_at(ws) for ws in clients))

        times = run(main(), timeout=60)
        assert srv.wait_exit(window + 10) == 0, srv.tail()
        return min(times), max(times)

    first, last = close_times(0)
    assert last < 1.0, f"--drain-seconds 0: closes took {last:.2f} s"
    first, last = close_times(3)
    assert last - first > 1.5, f"--drain-seconds 3: closes spread over {last - first:.2f} s only"
    assert last < 3 + 2, f"--drain-seconds 3: last close after {last:.2f} s"


def test_ws_second_sigterm_during_drain_stops_cleanly(alertd_factory):
    """A second SIGTERM (an impatient operator, a supervisor's repeat) while
    the node drains its clients: it stops at once, cleanly (status 0)."""
    srv = alertd_factory()

    async def main():
        clients = await connect_many(srv, 5)
        srv.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.2)
        srv.proc.send_signal(signal.SIGTERM)
        rc = await asyncio.to_thread(srv.wait_exit, 10)
        for ws in clients:
            await ws.close()
        return rc

    rc = run(main(), timeout=40)
    assert rc == 0, f"exit status {rc} after a second SIGTERM during the drain\n{srv.tail()}"


async def recv_until_type(ws, want, timeout=10.0):
    """Frames until one of type `want`; returns (it, the ones before)."""
    before = []
    deadline = time.monotonic() + timeout
    while True:
        f = await recv_json(ws, max(0.1, deadline - time.monotonic()))
        if f["type"] == want:
            return f, before
        before.append(f)


def test_ws_resume_past_a_trimmed_stream_gets_gap(alertd_factory, redis_server):
    """The stream keeps ~100 of 250 alerts (--maxlen 100); a node started
    after that holds those 101 or so and no more, and nothing says there
    were others: a resume from the first alert must get gap, not the last
    101 and `replayed` with 148 skipped in silence."""
    srv = alertd_factory()
    ids = []
    for i in range(250):
        r = run_alert("push", "--headline", f"T{i}", "--maxlen", "100", redis=redis_server)
        assert r.returncode == 0, r.stderr
        ids.append(r.stdout.strip())
    srv.stop()
    srv.start()

    async def main():
        before = metric(srv, "alertd_gaps_total")
        async with srv.connect(f"since={ids[0]}") as ws:
            await recv_hello(ws)
            gap, earlier = await recv_until_type(ws, "gap")
            assert earlier == [], f"sent before the gap: {earlier[:3]}"
            assert gap["since"] == ids[0] and gap["oldest"] in ids[100:160], gap
            live = await apush(redis_server, "After the gap")
            assert await recv_alert_ids(ws, 1, allow=()) == [live]
        assert metric(srv, "alertd_gaps_total") == before + 1
        # A resume from an alert the node holds is still a replay.
        async with srv.connect(f"since={ids[-2]}") as ws:
            await recv_hello(ws)
            assert await recv_alert_ids(ws, 2, allow=()) == [ids[-1], live]
            assert (await recv_json(ws))["type"] == "replayed"

    run(main())


def test_ws_resume_after_redis_lost_its_data_gets_gap(alertd_factory, redis_server):
    """Redis comes back empty (lost its data) and the node restarts: a
    client resuming with an id from before is not served silence and then
    whatever comes: it gets gap when the next alert shows its id is gone."""
    srv = alertd_factory()
    ids = [push(redis_server, f"Before {i}") for i in range(3)]
    srv.stop()
    redis_server.cli("FLUSHALL")
    srv.start()

    async def main():
        async with srv.connect(f"since={ids[-1]}") as ws:
            await recv_hello(ws)
            after = await apush(redis_server, "After the loss")
            gap, earlier = await recv_until_type(ws, "gap")
            assert earlier == [], earlier
            assert gap["since"] == ids[-1], gap
            assert await recv_alert_ids(ws, 1, allow=()) == [after]

    run(main())


def test_ws_following_clients_are_told_when_redis_lost_what_the_node_missed(
        alertd_factory, redis_server):
    """The node is away (stopped, its connections cut) while Redis loses its
    data; back, it finds the stream no longer has the newest alert it held:
    alerts may have come and gone unseen, so every client following gets
    gap, then what is new. A resume from before that point gets gap too."""
    srv = alertd_factory()

    async def main():
        first = await apush(redis_server, "Seen")
        async with srv.connect() as ws:
            await recv_hello(ws)
            await asyncio.sleep(0.3)
            srv.pause()
            try:
                redis_server.cli("FLUSHALL")
                redis_server.cli("CLIENT", "KILL", "TYPE", "pubsub")
                redis_server.cli("CLIENT", "KILL", "TYPE", "normal")
                lost_after = push(redis_server, "Published while the node was away")
            finally:
                srv.resume()
            gap, earlier = await recv_until_type(ws, "gap", timeout=15)
            assert earlier == [], earlier
            assert gap["since"] == first, gap
            assert await recv_alert_ids(ws, 1, allow=()) == [lost_after]
        async with srv.connect(f"since={first}") as ws:
            await recv_hello(ws)
            gap, earlier = await recv_until_type(ws, "gap")
            assert earlier == [] and gap["since"] == first, (earlier, gap)

    run(main())


def test_ws_since_zero_replays_an_untrimmed_stream_and_gaps_a_trimmed_one(alertd_factory,
                                                                          redis_server):
    srv = alertd_factory()
    ids = [push(redis_server, f"Z{i}") for i in range(3)]
    srv.stop()
    srv.start()

    async def main():
        async with srv.connect("since=0-0") as ws:
            await recv_hello(ws)
            assert await recv_alert_ids(ws, 3, allow=()) == ids
            assert (await recv_json(ws))["type"] == "replayed"
        redis_server.cli("XTRIM", "alert:stream", "MAXLEN", "2")
        srv.stop()
        srv.start()
        async with srv.connect("since=0-0") as ws:
            await recv_hello(ws)
            gap, earlier = await recv_until_type(ws, "gap")
            assert earlier == [] and gap["since"] == "0-0", (earlier, gap)

    run(main())


def test_replays_are_counted_apart_from_the_latency_of_live_alerts(alertd, redis_server):
    """Two resuming clients used to move the publish->write histogram by
    the age of every replayed alert (5,000 s from two since=0-0 clients),
    enough to fire a "slow delivery" alert on a healthy node."""
    ids = [push(redis_server, f"R{i}") for i in range(20)]

    async def main():
        count0 = metric(alertd, "alertd_delivery_latency_seconds_count")
        replayed0 = metric(alertd, "alertd_replayed_deliveries_total")
        async with alertd.connect(f"since={ids[0]}") as ws:
            await recv_hello(ws)
            assert await recv_alert_ids(ws, 19, allow=()) == ids[1:]
            assert (await recv_json(ws))["type"] == "replayed"
            assert metric(alertd, "alertd_delivery_latency_seconds_count") == count0
            assert metric(alertd, "alertd_replayed_deliveries_total") == replayed0 + 19
            live = await apush(redis_server, "Live")
            assert await recv_alert_ids(ws, 1, allow=()) == [live]
            assert metric(alertd, "alertd_delivery_latency_seconds_count") == count0 + 1

    run(main())
