"""Mobile readers (issue #15): a heartbeat each client negotiates within the
operator's range, and compact alerts with only the fields a client asks for.

proto/PROTOCOL.md sections 1, 2, 5 and 6. Real alertd over real TLS, real
WebSocket and SSE clients, alerts published with the real `alert` CLI.
"""
import asyncio
import json
import os
import subprocess
import threading
import time

import websockets

from alertd_fixture import (OP_PING, RawWs, alertd, alertd_factory, apush, expect_closed,  # noqa: F401
                            https_get, metric, push, recv_alert_ids, recv_hello, recv_json, run,
                            tls_cert)
from conftest import ALERT, BUILD, ROOT, run_alert
from test_http import Sse

ALWAYS = {"id", "kind", "ref"}  # sig and kid too, once alerts carry them (issue #13)
VARIANTS = 8  # HUBMSG_VARIANTS: compact field sets a node encodes


def ranged(factory, *extra, heartbeat=20):
    """A node whose clients may ask for heartbeats from 2 to 60 s."""
    return factory("--heartbeat-min", "2", "--heartbeat-max", "60", *extra, heartbeat=heartbeat)


# ---------------------------------------------------------------------------
# heartbeat=: clamped, stated in hello, followed
# ---------------------------------------------------------------------------
CLAMPS = [("heartbeat=1", 2), ("heartbeat=0", 2), ("heartbeat=7", 7), ("heartbeat=60", 60),
          ("heartbeat=61", 60), ("heartbeat=99999999999999999999999", 60), ("", 20),
          ("heartbeat=", 20)]
GARBAGE = ["heartbeat=abc", "heartbeat=-5", "heartbeat=2.5", "heartbeat=%2B5", "heartbeat=5s"]


def test_ws_heartbeat_is_clamped_into_the_range_and_stated_in_hello(alertd_factory):
    srv = ranged(alertd_factory)

    async def main():
        for query, want in CLAMPS:
            async with srv.connect(query) as ws:
                hello = await recv_hello(ws)
                assert hello["heartbeat"] == want, (query, hello)
        for query in GARBAGE:
            async with srv.connect(query) as ws:
                frame = await recv_json(ws)
                assert frame["type"] == "error" and frame["code"] == "bad_request", (query, frame)
                assert "heartbeat must be a whole number of seconds" in frame["message"], frame
                assert "2-60" in frame["message"], frame
                exc, _ = await expect_closed(ws)
                assert exc.code == 1008, (query, exc)

    run(main())


def test_sse_heartbeat_is_clamped_into_the_range_and_stated_in_hello(alertd_factory):
    srv = ranged(alertd_factory)
    for query, want in CLAMPS:
        s = Sse(srv, "?" + query)
        try:
            hello = json.loads(s.events(1, kinds=("hello",))[0]["data"])
            assert hello["heartbeat"] == want, (query, hello)
        finally:
            s.close()
    for query in GARBAGE:
        status, _, body = https_get(srv.port, "/v1/sse?" + query, srv.ctx)
        assert status == 400, (query, status)
        assert b"heartbeat must be a whole number of seconds" in body, body


def silent(srv, query, timeout):
    """A client that never answers: (seconds until closed or None, ping times)."""
    ws = RawWs(srv.port, srv.ctx, path="/v1/ws?" + query)
    t0 = time.monotonic()
    pings = []
    try:
        _, frames = ws.read_until_close(
            timeout=timeout,
            on_frame=lambda op, p: pings.append(time.monotonic() - t0) if op == OP_PING else 0)
        return time.monotonic() - t0, pings
    except AssertionError:
        return None, pings  # still open at the deadline
    finally:
        ws.close()


def test_a_silent_client_is_closed_after_two_of_its_own_heartbeats(alertd_factory):
    srv = ranged(alertd_factory, heartbeat=30)
    results = {}

    def watch(name, query, timeout):
        results[name] = silent(srv, query, timeout)

    threads = [threading.Thread(target=watch, args=("short", "heartbeat=2", 14)),
               threading.Thread(target=watch, args=("long", "heartbeat=40", 9))]
    for t in threads:
        t.start()

    async def answering():
        # The library answers pings: kept well past two of its heartbeats.
        async with srv.connect("heartbeat=2") as ws:
            hello = await recv_hello(ws)
            assert hello["heartbeat"] == 2
            await asyncio.sleep(7)
            await ws.send('{"type":"ping"}')
            assert (await recv_json(ws))["type"] == "pong"

    run(answering())
    for t in threads:
        t.join()
    closed, pings = results["short"]
    # Loop seconds are whole and the sweep ticks once a second: a second of
    # slack each way, and more for a loaded machine.
    assert pings and 1.0 <= pings[0] <= 5.0, f"first ping at {pings} with heartbeat=2"
    assert closed is not None and 3.0 <= closed <= 9.0, \
        f"heartbeat=2: silent client closed after {closed}s, pings at {pings}"
    # Its neighbour asked for 40 s: neither pinged nor closed meanwhile.
    closed, pings = results["long"]
    assert closed is None and pings == [], f"heartbeat=40: closed {closed}, pings {pings}"
    assert metric(srv, "alertd_heartbeats_total") >= 1


def test_sse_heartbeat_comments_follow_the_negotiated_value(alertd_factory):
    srv = ranged(alertd_factory, heartbeat=30)
    fast, slow = Sse(srv, "?heartbeat=2"), Sse(srv, "?heartbeat=60")
    try:
        fast.events(2, timeout=8, kinds=("comment",))
        try:
            slow.events(1, timeout=1, kinds=("comment",))
            raise AssertionError("a heartbeat=60 stream had a comment within seconds")
        except AssertionError as e:
            assert "got 0 of 1" in str(e), e
    finally:
        fast.close()
        slow.close()


# ---------------------------------------------------------------------------
# fields=: compact alerts
# ---------------------------------------------------------------------------
FULL = {"summary": "A long summary nobody on the lock screen reads.",
        "url": "https://news.example/quake", "byline": "Desk", "topics": ["world"],
        "urgency": "flash"}


def test_ws_fields_delivers_only_the_fields_asked_and_the_always_present_ones(alertd,
                                                                            redis_server):
    async def main():
        compact = await alertd.connect("fields=headline,url")
        full = await alertd.connect()
        hello = await recv_hello(compact)
        assert hello["fields"] == ["id", "kind", "ref", "headline", "url", "kid", "sig"], hello
        assert "fields" not in await recv_hello(full)
        first = await apush(redis_server, "Quake", fields=FULL)
        frame = await recv_json(compact)
        assert frame["type"] == "alert"
        assert frame["alert"] == {"id": first, "kind": "alert", "headline": "Quake",
                                  "url": FULL["url"]}, frame
        whole = (await recv_json(full))["alert"]
        assert whole["summary"] == FULL["summary"] and whole["topics"] == ["world"], whole
        # An update and a retraction keep what a client needs to fold them.
        r = run_alert("update", first, "--headline", "Quake: 7.1", redis=redis_server)
        assert r.returncode == 0, r.stderr
        update = r.stdout.strip()
        r = run_alert("retract", first, redis=redis_server)
        assert r.returncode == 0, r.stderr
        retraction = r.stdout.strip()
        got = [(await recv_json(compact))["alert"] for _ in range(2)]
        # (an update carries the story's url on: alert update keeps it)
        assert set(got[0]) <= ALWAYS | {"headline", "url"}, got
        assert (got[0]["id"], got[0]["kind"], got[0]["ref"], got[0]["headline"]) == \
            (update, "update", first, "Quake: 7.1"), got
        assert set(got[1]) <= ALWAYS | {"headline", "url"} and got[1]["kind"] == "retraction"
        assert got[1]["id"] == retraction and got[1]["ref"] == first, got
        assert [a["id"] for a in [(await recv_json(full))["alert"] for _ in range(2)]] == \
            [update, retraction]
        await compact.close()
        await full.close()

    run(main())


def test_fields_replays_in_the_clients_field_set(alertd, redis_server):
    a = push(redis_server, "Before", fields=FULL)
    b = push(redis_server, "Missed", fields=FULL)

    async def main():
        async with alertd.connect(f"since={a}&fields=urgency") as ws:
            await recv_hello(ws)
            frame = await recv_json(ws)
            assert frame["alert"] == {"id": b, "kind": "alert", "urgency": "flash"}, frame
            assert (await recv_json(ws))["type"] == "replayed"

    # The node loads the stream at start: wait until it holds b.
    deadline = time.monotonic() + 5
    while json.loads(https_get(alertd.port, "/v1/alerts", alertd.ctx)[2])["last_id"] != b:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run(main())


def test_unknown_field_names_are_refused_naming_them(alertd):
    async def main():
        async with alertd.connect("fields=headline,colour,size") as ws:
            frame = await recv_json(ws)
            assert frame["type"] == "error" and frame["code"] == "bad_request", frame
            assert '"colour", "size"' in frame["message"], frame
            exc, _ = await expect_closed(ws)
            assert exc.code == 1008

    run(main())
    for path in ("/v1/sse?fields=colour", "/v1/alerts?fields=headline,colour"):
        status, _, body = https_get(alertd.port, path, alertd.ctx)
        assert status == 400 and b"fields: unknown" in body and b"colour" in body, (path, body)


def test_sse_and_rest_take_fields_too(alertd, redis_server):
    s = Sse(alertd, "?fields=headline")
    try:
        hello = json.loads(s.events(1, kinds=("hello",))[0]["data"])
        assert hello["fields"] == ["id", "kind", "ref", "headline", "kid", "sig"], hello
        alert_id = push(redis_server, "Compact", fields=FULL)
        ev = s.events(1)[0]
        assert ev["id"] == alert_id
        assert json.loads(ev["data"]) == {"id": alert_id, "kind": "alert", "headline": "Compact"}
    finally:
        s.close()
    status, _, body = https_get(alertd.port, "/v1/alerts?fields=url,urgency", alertd.ctx)
    doc = json.loads(body)
    assert status == 200 and doc["alerts"] == [{"id": alert_id, "kind": "alert",
                                                "urgency": "flash", "url": FULL["url"]}], doc
    assert doc["fields"] == ["id", "kind", "ref", "urgency", "url", "kid", "sig"], doc
    doc = json.loads(https_get(alertd.port, "/v1/alerts", alertd.ctx)[2])
    assert "fields" not in doc and doc["alerts"][0]["summary"] == FULL["summary"], doc


def test_past_the_variant_limit_a_client_gets_the_full_item(alertd, redis_server):
    names = ["version", "urgency", "headline", "summary", "url", "byline", "credit", "lang",
             "topics"]

    async def main():
        held = []
        for name in names[:VARIANTS]:
            ws = await alertd.connect(f"fields={name}")
            assert "fields" in await recv_hello(ws)
            held.append(ws)
        # One set more than the node encodes: the full item, and hello says so.
        extra = await alertd.connect("fields=" + names[VARIANTS])
        assert "fields" not in await recv_hello(extra)
        assert metric(alertd, "alertd_fields_full_total") == 1
        # A set already in use is shared, not refused.
        shared = await alertd.connect("fields=" + names[0])
        assert (await recv_hello(shared))["fields"][3] == names[0]
        alert_id = await apush(redis_server, "Many", fields=FULL)
        whole = (await recv_json(extra))["alert"]
        assert whole["summary"] == FULL["summary"] and whole["id"] == alert_id, whole
        assert set((await recv_json(held[3]))["alert"]) == ALWAYS - {"ref"} | {"summary"}
        assert set((await recv_json(shared))["alert"]) == ALWAYS - {"ref"} | {"version"}
        # When a set's readers are gone, its slot serves the next new set.
        await held[3].close()
        await extra.close()
        await asyncio.sleep(0.3)
        again = await alertd.connect("fields=" + names[VARIANTS])
        assert (await recv_hello(again))["fields"][3] == names[VARIANTS]
        later = await apush(redis_server, "Later", fields=FULL)
        assert (await recv_json(again))["alert"] == {"id": later, "kind": "alert",
                                                     "topics": ["world"]}
        for ws in held + [shared, again]:
            await ws.close()

    run(main())


def test_tail_fields_asks_for_compact_alerts(alertd, redis_server, tls_cert):  # noqa: F811
    alert_id = push(redis_server, "For the terminal", fields=FULL)
    r = subprocess.run([ALERT, "tail", "--server", f"wss://localhost:{alertd.port}",
                        "--ca", tls_cert.cert, "--since", "0-0", "--fields", "headline",
                        "--json", "--count", "1", "--timeout", "20"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"id": alert_id, "kind": "alert",
                                    "headline": "For the terminal"}, r.stdout
    bad = run_alert("tail", "--fields", "headline,colour")
    assert bad.returncode == 2 and '"colour"' in bad.stderr, bad.stderr


def test_bench_mobile_measures_wakeups(redis_server, tls_cert, tmp_path):  # noqa: F811
    """scripts/bench-mobile.py (make bench), briefly: heartbeats of 1 and 2 s.
    The wake-up period it derives is the heartbeat's, and per hour is 3600
    over it; bytes per alert are alert-bench's (test_bench.py)."""
    out, md = tmp_path / "mobile.json", tmp_path / "mobile.md"
    r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "bench-mobile.py"),
                        "--build", BUILD, "--redis", redis_server.url, "--cert", tls_cert.cert,
                        "--key", tls_cert.key, "--window", "5", "--clients", "3",
                        "--heartbeat", "1", "--heartbeat-max", "2", "--json", str(out),
                        "--md", str(md)], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert "wire" not in res
    default, maximum = res["heartbeat"]
    assert (default["heartbeat"], maximum["heartbeat"]) == (1, 2), res["heartbeat"]
    # 5 s of idle: about 5 and 2.5 pings per connection, a second's slack.
    assert 3 * 3 <= default["pings"] <= 3 * 6, default
    assert 3 * 1 <= maximum["pings"] <= 3 * 3, maximum
    # Every ping after the hello is one period: the heartbeat, within the
    # sweep's second either way (alertd counts in whole loop seconds), and
    # a loaded machine's lateness.
    for h in (default, maximum):
        assert h["periods"] == h["pings"], h
        assert h["heartbeat"] - 1 <= h["period_s"] <= h["heartbeat"] + 1.6, h
        assert abs(h["wakeups_per_conn_hour"] * h["period_s"] / 3600 - 1) < 0.01, h
    assert maximum["wakeups_per_conn_hour"] < default["wakeups_per_conn_hour"]
    assert maximum["sweep_visits_per_conn_hour"] < default["sweep_visits_per_conn_hour"]
    assert "| maximum (asked for more) | 2 |" in md.read_text()
