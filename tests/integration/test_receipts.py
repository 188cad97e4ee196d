"""Receipts: what reached readers, counted per alert by every node.

Written from the contract (proto/PROTOCOL.md "Receipts", ARCHITECTURE.md,
alert(1) `stats`), with real nodes sharing one redis-server, real WebSocket
and SSE clients over TLS, and the real `alert` CLI:

- two nodes, 100 WebSocket clients (some acking) and 20 SSE clients:
  `alert stats` reports exactly the sockets written and the acks sent, on 2
  nodes, with latencies above 0 and below the test's duration;
- a client acking 1,000 times, acking an alert it never got (filtered out,
  published before it came, never published) changes nothing;
- `alert push --wait` prints the same report after waiting;
- a malformed ack is a bad_request naming `id`; --receipts-days 0 counts
  nothing.
"""
import asyncio
import json
import re
import time

from alertd_fixture import (alertd_factory, apush, connect_many, metric, push,  # noqa: F401
                            recv_alert_ids, recv_hello, recv_json, run, tls_cert)
from conftest import run_alert

FRAMES = ("--max-frames-per-sec", "5000")  # the abusive client sends 1,000 frames


def stats(redis, alert_id):
    r = run_alert("stats", alert_id, "--json", redis=redis)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_stats(redis, alert_id, want, timeout=20.0):
    """alert stats --json once `want` (a dict of top-level values) holds."""
    deadline = time.monotonic() + timeout
    while True:
        s = stats(redis, alert_id)
        if all(s.get(k) == v for k, v in want.items()):
            return s
        assert time.monotonic() < deadline, f"stats never reached {want}: {s}"
        time.sleep(0.2)


def wait_metric(srv, name, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        got = metric(srv, name)
        if got == want:
            return
        assert time.monotonic() < deadline, f"{name} is {got}, not {want}"
        time.sleep(0.1)


class SseReader:
    """A raw /v1/sse reader on the loop: waits for an alert's event."""

    async def open(self, srv):
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", srv.port, ssl=srv.ctx, server_hostname="localhost")
        self.writer.write(b"GET /v1/sse HTTP/1.1\r\nHost: localhost\r\n"
                          b"Accept: text/event-stream\r\n\r\n")
        self.buf = b""
        await self.until(b"event: hello")
        return self

    async def until(self, needle, timeout=10.0):
        deadline = time.monotonic() + timeout
        while needle not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, f"no {needle!r} on the SSE stream: {self.buf[-300:]!r}"
            data = await asyncio.wait_for(self.reader.read(65536), left)
            assert data, "SSE stream closed"
            self.buf += data

    def close(self):
        self.writer.close()


async def ack(ws, *ids):
    await ws.send(json.dumps({"type": "ack", "id": ids[0] if len(ids) == 1 else list(ids)}))


def test_receipts_count_exactly_the_sockets_written_and_the_acks_sent(alertd_factory,
                                                                      redis_server):
    a = alertd_factory("--node", "rcpt-a", *FRAMES)
    b = alertd_factory("--node", "rcpt-b", *FRAMES)
    started = time.monotonic()
    acking = {a: 30, b: 20}

    async def main():
        ws = {a: await connect_many(a, 50), b: await connect_many(b, 50)}
        sse = [await SseReader().open(srv) for srv in (a, b) for _ in range(10)]
        # A client that never gets world alerts.
        sport = await a.connect("topics=sport")
        await recv_hello(sport)
        before = await apush(redis_server, "Before", topics=["world"])
        for srv in (a, b):
            await asyncio.gather(*(recv_alert_ids(w, 1) for w in ws[srv]))

        flash = await apush(redis_server, "Flash", topics=["world"], urgency="flash")
        for srv in (a, b):
            got = await asyncio.gather(*(recv_alert_ids(w, 1) for w in ws[srv]))
            assert got == [[flash]] * 50
        for r in sse:
            await r.until(f"id: {flash}\n".encode())
        for srv in (a, b):
            for w in ws[srv][:acking[srv]]:
                await ack(w, flash)

        s = await asyncio.to_thread(wait_stats, redis_server, flash, {"readers": 120, "acks": 50})
        elapsed_ms = (time.monotonic() - started) * 1000
        assert s["nodes"] == 2, s
        assert sorted((n["node"], n["readers"], n["acks"]) for n in s["per_node"]) == \
            [("rcpt-a", 60, 30), ("rcpt-b", 60, 20)], s
        for key in ("to_socket_ms", "to_screen_ms"):
            q = s[key]
            assert 0 < q["p50"] <= q["p99"] < elapsed_ms, (key, q, elapsed_ms)
        assert metric(a, "alertd_acks_total") == 30 and metric(b, "alertd_acks_total") == 20

        # Abuse changes nothing.
        w = ws[a][0]
        for _ in range(1000):  # an acking client, again and again
            await ack(w, flash)
        await ack(w, *([flash] * 32))
        await ack(ws[a][49], "1-0", before)  # never published; and one it got: counts
        await ack(sport, flash)  # filtered out: never sent to it
        late = await a.connect()
        await recv_hello(late)
        await ack(late, flash)  # published before it came
        await ack(ws[b][49], flash, flash)  # one counts, the second does not
        # Acks are handled in order on each connection: once the refusals
        # are counted, every one of them is in. A marker ack then proves a
        # flush came after them, on each node.
        await asyncio.to_thread(wait_metric, a, "alertd_acks_refused_total", 1000 + 32 + 3)
        await asyncio.to_thread(wait_metric, b, "alertd_acks_refused_total", 1)
        m = await apush(redis_server, "Marker")
        for srv in (a, b):
            assert await recv_alert_ids(ws[srv][1], 1) == [m]
        return ws, sse, sport, late, before, flash, m

    async def finish(ws, sse, sport, late, before, flash, m):
        await ack(ws[a][1], m)
        await ack(ws[b][1], m)
        await asyncio.to_thread(wait_stats, redis_server, m, {"acks": 2})
        again = stats(redis_server, flash)
        assert (again["readers"], again["acks"]) == (120, 51), again
        old = stats(redis_server, before)
        assert (old["readers"], old["acks"]) == (120, 1), old  # ws[a][49]'s ack of `before`
        for srv in (a, b):
            for w in ws[srv]:
                await w.close()
        await sport.close()
        await late.close()
        for r in sse:
            r.close()

    async def everything():
        await finish(*await main())

    run(everything(), timeout=150)


def test_push_wait_prints_the_report(alertd_factory, redis_server):
    srv = alertd_factory("--node", "rcpt-wait")

    async def main():
        async with srv.connect() as ws:
            await recv_hello(ws)
            cli = asyncio.create_task(asyncio.to_thread(
                run_alert, "push", "--headline", "Waited", "--wait", "2500ms",
                redis=redis_server))
            frame = await recv_json(ws, timeout=10)
            assert frame["type"] == "alert", frame
            await ack(ws, frame["alert"]["id"])
            return frame["alert"]["id"], await cli

    alert_id, r = run(main())
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == alert_id, r.stdout
    assert re.fullmatch(
        re.escape(alert_id) + r": reached 1 reader on 1 node, 1 acknowledged; "
        r"p50/p99 [\d.]+/[\d.]+ ms to socket, [\d.]+/[\d.]+ ms to screen", lines[1]), lines
    human = run_alert("stats", alert_id, redis=redis_server)
    assert human.returncode == 0 and human.stdout.strip() == lines[1], human


def test_a_malformed_ack_is_a_bad_request_and_receipts_can_be_off(alertd_factory,
                                                                   redis_server):
    off = alertd_factory("--receipts-days", "0")

    async def main():
        async with off.connect() as ws:
            await recv_hello(ws)
            await ws.send('{"type":"ack","id":12}')
            err = await recv_json(ws)
            assert err["type"] == "error" and err["code"] == "bad_request", err
            assert "id must be an alert id" in err["message"], err
            alert_id = await apush(redis_server, "Off")
            assert await recv_alert_ids(ws, 1) == [alert_id]
            await ack(ws, alert_id)
            await ws.send('{"type":"ping"}')
            assert (await recv_json(ws))["type"] == "pong"  # the ack was handled
            return alert_id

    alert_id = run(main())
    assert metric(off, "alertd_acks_total") == 0
    time.sleep(1.5)  # more than one flush period: nothing may arrive
    s = stats(redis_server, alert_id)
    assert (s["readers"], s["nodes"], s["acks"]) == (0, 0, 0), s
    assert s["to_socket_ms"] is None and s["to_screen_ms"] is None, s
    r = run_alert("stats", "not-an-id", redis=redis_server)
    assert r.returncode == 2 and "not an alert id" in r.stderr, r.stderr
