"""Urgency under load (issue #12): a client that stops reading has routine
alerts shed (a `shed` frame says after which id to refetch them, counted in
alertd_shed_alerts_total) before it is closed with 4001, which comes only
when what cannot be shed (flashes) no longer fits its queue; a flash never is
the item shed, and a client that resumes after a flash sent ahead of order
still gets what it skipped.

Real alertd, real redis-server, alerts published with the real CLI, and a
hand-made client (RawWs) that can stop reading.
"""
import asyncio
import json
import re
import subprocess
import threading
import time

from alertd_fixture import (OP_CLOSE, OP_TEXT, RawWs, alertd_factory, apush,  # noqa: F401
                            https_get, idkey, metric, recv_hello, recv_json, run, tls_cert)
from conftest import ALERT

# Large alerts (~6 KB) so that what the kernel buffers for a stalled socket
# fills within a bounded number of pushes.
PAD = "x" * 1900
BIG = {"summary": "s" * 1000, "byline": "b" * 200, "credit": "c" * 300,
       "url": "https://news.example/" + "u" * 2000}
MAX_QUEUE = 20


async def push_many(redis, n, urgency, prefix, batch=25):
    ids = []
    while len(ids) < n:
        k = min(batch, n - len(ids))
        ids += await asyncio.gather(*(apush(redis, f"{prefix} {len(ids) + i}", urgency=urgency,
                                            ext={"pad": PAD}, fields=BIG) for i in range(k)))
    return sorted(ids, key=idkey)


def read_frames(ws, until, timeout=30.0):
    """Frames (type, parsed JSON) until `until(frame)` is true."""
    out = []
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"gave up after {len(out)} frames: {out[-3:]}"
        fin, op, payload = ws.recv_frame(timeout=max(0.1, deadline - time.monotonic()))
        if op == OP_CLOSE:
            raise AssertionError(f"closed: {payload!r} after {len(out)} frames")
        if op != OP_TEXT:
            continue
        frame = json.loads(payload)
        out.append(frame)
        if until(frame):
            return out


def test_a_stalled_client_sheds_routine_keeps_the_flash_then_4001(alertd_factory, redis_server):
    srv = alertd_factory("--max-queue", str(MAX_QUEUE), heartbeat=120)

    async def main():
        stalled = RawWs(srv.port, srv.ctx, rcvbuf=4096)
        assert json.loads(stalled.recv_frame()[2])["type"] == "hello"
        # From here `stalled` reads nothing until the flash is in.
        routine = await push_many(redis_server, 200, "routine", "Routine")
        flash = (await push_many(redis_server, 1, "flash", "FLASH"))[0]
        deadline = time.monotonic() + 20
        while flash not in https_get(srv.port, "/v1/alerts?limit=1", srv.ctx)[2].decode():
            assert time.monotonic() < deadline, "the flash never reached the node"
            await asyncio.sleep(0.1)
        assert metric(srv, "alertd_slow_consumer_closes_total") == 0

        # It reads again: whatever was already on its socket, a shed frame,
        # the flash, and only routine alerts within its queue.
        frames = await asyncio.to_thread(
            read_frames, stalled, lambda f: f["type"] == "alert" and f["alert"]["id"] == flash)
        # Then every routine alert not shed (the shed frames say how many).
        counted = {"alerts": 0, "shed": 0}

        def complete(f):
            counted["alerts" if f["type"] == "alert" else "shed"] += \
                1 if f["type"] == "alert" else f.get("count", 0)
            return counted["alerts"] + counted["shed"] >= len(routine) + 1

        for f in frames:
            complete(f)
        if counted["alerts"] + counted["shed"] < len(routine) + 1:
            frames += await asyncio.to_thread(read_frames, stalled, complete)
        stalled.send_text(json.dumps({"type": "ping"}))  # still open
        frames += await asyncio.to_thread(read_frames, stalled, lambda f: f["type"] == "pong")
        alerts = [f["alert"] for f in frames if f["type"] == "alert"]
        sheds = [f for f in frames if f["type"] == "shed"]
        got = [a["id"] for a in alerts]
        assert flash in got, "the flash was shed or lost"
        missing = sorted(set(routine) - set(got), key=idkey)
        print(f"stalled client: {len(got)} alerts, {len(sheds)} shed frames, "
              f"{len(missing)} routine shed")
        assert missing, "nothing was shed: the stall never filled the socket"
        assert sheds and sum(s["count"] for s in sheds) == len(missing)
        assert metric(srv, "alertd_shed_alerts_total") == len(missing)
        first_shed = frames.index(sheds[0])
        assert all(idkey(a) <= idkey(sheds[0]["after"])
                   for a in got[:len([f for f in frames[:first_shed] if f["type"] == "alert"])])
        assert all(idkey(m) > idkey(sheds[0]["after"]) for m in missing)
        assert all(idkey(m) <= idkey(sheds[-1]["through"]) for m in missing)
        # What it was told to refetch is there.
        body = https_get(srv.port, f"/v1/alerts?limit=200&since={sheds[0]['after']}",
                         srv.ctx)[2]
        refetched = {a["id"] for a in json.loads(body)["alerts"]}
        assert set(missing) <= refetched

        # Flashes cannot be shed: past its queue, the client is closed 4001.
        flashes = await push_many(redis_server, 3 * MAX_QUEUE, "flash", "Flash")
        deadline = time.monotonic() + 30
        while metric(srv, "alertd_slow_consumer_closes_total") == 0:
            assert time.monotonic() < deadline, "never closed for its flashes"
            await asyncio.sleep(0.2)

        def drain():
            ids = []

            def on_frame(op, payload):
                if op == OP_TEXT and json.loads(payload).get("type") == "alert":
                    ids.append(json.loads(payload)["alert"]["id"])

            code, _ = stalled.read_until_close(timeout=30, on_frame=on_frame)
            return code, ids

        try:
            code, ids = await asyncio.to_thread(drain)
        finally:
            stalled.close()
        assert code in (None, 4001), code
        assert set(ids) <= set(flashes) and len(ids) < len(flashes)

    run(main(), timeout=170)


def test_a_flash_ahead_of_order_and_a_resume_that_gets_what_it_skipped(alertd_factory,
                                                                        redis_server):
    """A flash that overtook older alerts carries "ahead": true; a client that
    drops right after it and resumes from its last in-order alert gets the
    skipped ones (and the flash again)."""
    srv = alertd_factory("--max-queue", "1000", heartbeat=120)

    async def main():
        base = (await push_many(redis_server, 1, "routine", "Base"))[0]
        stalled = RawWs(srv.port, srv.ctx, rcvbuf=4096, path=f"/v1/ws?since={base}")
        assert json.loads(stalled.recv_frame()[2])["type"] == "hello"
        assert json.loads(stalled.recv_frame()[2])["type"] == "replayed"
        routine = await push_many(redis_server, 150, "routine", "Routine")
        flash = (await push_many(redis_server, 1, "flash", "FLASH"))[0]
        deadline = time.monotonic() + 20
        while flash not in https_get(srv.port, "/v1/alerts?limit=1", srv.ctx)[2].decode():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        frames = await asyncio.to_thread(
            read_frames, stalled, lambda f: f["type"] == "alert" and f["alert"]["id"] == flash)
        stalled.close()
        ahead = frames[-1]
        in_order = [f["alert"]["id"] for f in frames[:-1] if f["type"] == "alert"]
        assert ahead.get("ahead") is True, "the flash came in order: nothing was behind it"
        assert metric(srv, "alertd_flash_ahead_total") >= 1
        assert len(in_order) < len(routine) and in_order == routine[:len(in_order)]
        resume = in_order[-1] if in_order else base
        async with srv.connect(f"since={resume}") as ws:
            await recv_hello(ws)
            ids = []
            while True:
                f = await recv_json(ws, timeout=20)
                if f["type"] == "replayed":
                    break
                assert "ahead" not in f, "a replay is in order"
                ids.append(f["alert"]["id"])
        assert ids == routine[len(in_order):] + [flash]

    run(main(), timeout=120)


def test_a_stalled_tail_prints_the_flash_once_and_names_what_was_shed(alertd_factory,
                                                                       redis_server, tls_cert):
    """`alert tail` whose reader stopped falls behind like any client: it
    prints the flash sent ahead exactly once, says on stderr which routine
    alerts were shed and where to fetch them, and never prints one twice."""
    srv = alertd_factory("--max-queue", str(MAX_QUEUE), heartbeat=120)
    proc = subprocess.Popen([ALERT, "tail", "--server", f"wss://localhost:{srv.port}", "--ca",
                             tls_cert.cert, "--json"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err, out = [], []

    def pump(f, dst):
        for line in f:
            dst.append(line.rstrip("\n"))

    threading.Thread(target=pump, args=(proc.stderr, err), daemon=True).start()
    try:
        deadline = time.monotonic() + 15
        while not any("connected to node" in e for e in err):
            assert time.monotonic() < deadline and proc.poll() is None, err
            time.sleep(0.05)

        async def publish():
            routine = await push_many(redis_server, 200, "routine", "Routine")
            return routine, (await push_many(redis_server, 1, "flash", "FLASH"))[0]

        # Nobody reads tail's output meanwhile: its pipe fills, it stops reading.
        routine, flash = run(publish(), timeout=120)
        threading.Thread(target=pump, args=(proc.stdout, out), daemon=True).start()
        shed_re = re.compile(r"warning: (\d+) routine alert\(s\) after (\S+) through (\S+) "
                             r"were shed.*since=(\S+) has them")

        def accounted():
            ids = {json.loads(line)["id"] for line in list(out)}
            shed = sum(int(m.group(1)) for m in map(shed_re.search, list(err)) if m)
            return ids, shed

        deadline = time.monotonic() + 60
        while True:
            ids, shed = accounted()
            if flash in ids and len(ids) + shed >= len(routine) + 1:
                break
            assert time.monotonic() < deadline, (len(ids), shed, err[-5:])
            time.sleep(0.1)
        time.sleep(0.5)  # anything printed twice would come now
        printed = [json.loads(line)["id"] for line in list(out)]
        print(f"stalled tail: {len(printed)} printed, {shed} shed")
        assert len(printed) == len(set(printed)), "an alert was printed twice"
        assert shed > 0, "nothing was shed: the stall never filled the socket"
        assert len(set(routine) - set(printed)) == shed
        assert printed.count(flash) == 1
    finally:
        proc.kill()
        proc.wait()
