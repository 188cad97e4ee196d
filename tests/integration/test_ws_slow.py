"""alertd and a client that stops reading.

"A client that cannot keep up is never allowed to grow server memory without
bound: its queue is bounded and it is closed with 4001." (proto/PROTOCOL.md, section 4)
"""
import asyncio
import json
import time

from alertd_fixture import (OP_TEXT, TCP_ESTABLISHED, RawWs, alertd_factory,  # noqa: F401
                            apush, asan_options, assert_increasing, idkey, recv_hello,
                            recv_json, run, server_side_tcp_state, tls_cert)

# Large alerts (~6 KB, every text field near its limit), so that the bytes
# pushed outgrow what the kernel buffers for one connection (on Linux the
# server's send buffer autotunes up to tcp_wmem max, 4 MB here) and then
# any sane per-client queue, within a bounded number of pushes.
PAD = "x" * 1900
BIG = {"summary": "s" * 1000, "byline": "b" * 200, "credit": "c" * 300,
       "url": "https://news.example/" + "u" * 2000}
BATCH = 50
MAX_ALERTS = 1600      # ~9.5 MB in all
RSS_GROWTH_MAX_KIB = 50 * 1024


def test_ws_stalled_client_closed_4001_others_unaffected(alertd_factory, redis_server):
    # A small history too, so a design that keeps one tail per client into
    # the shared history also has to give up on the stalled client.
    # Heartbeat long: the close must come from the queue bound, not silence.
    # Under AddressSanitizer, freed memory sits in a quarantine (256 MB by
    # default) that would count as RSS: keep it small enough for the bound.
    srv = alertd_factory("--history", "200", heartbeat=120,
                         env=asan_options(quarantine_size_mb=8))

    async def main():
        good = await srv.connect()
        await recv_hello(good)
        stalled = RawWs(srv.port, srv.ctx, rcvbuf=4096)
        fin, op, payload = stalled.recv_frame()
        assert op == OP_TEXT and json.loads(payload)["type"] == "hello"
        # From here on `stalled` reads nothing until the end.

        received = []

        async def read_good():
            while True:
                frame = await recv_json(good, timeout=120)
                assert frame["type"] == "alert", frame
                received.append(frame["alert"]["id"])

        reader = asyncio.create_task(read_good())
        rss0 = srv.rss_kib()
        rss_max = rss0
        pushed = []
        closed_after = None
        t0 = time.monotonic()
        try:
            while len(pushed) < MAX_ALERTS:
                batch = await asyncio.gather(*(
                    apush(redis_server, f"Big {len(pushed) + i}", ext={"pad": PAD},
                          fields=BIG)
                    for i in range(BATCH)))
                pushed += batch
                rss_max = max(rss_max, srv.rss_kib())
                if server_side_tcp_state(srv.port, stalled.local_port) != TCP_ESTABLISHED:
                    closed_after = len(pushed)
                    break
                assert not reader.done(), reader.exception()
            if closed_after is None:  # give a lazy close a bounded chance
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    if server_side_tcp_state(srv.port, stalled.local_port) != TCP_ESTABLISHED:
                        closed_after = len(pushed)
                        break
                    await asyncio.sleep(0.2)
            print(f"pushed {len(pushed)} alerts in {time.monotonic() - t0:.1f}s; "
                  f"stalled client closed after {closed_after}; "
                  f"RSS {rss0} -> max {rss_max} KiB")
            assert closed_after is not None, \
                f"stalled client still open after {len(pushed)} alerts of ~6 KB"

            # The reading client got everything, in order, once.
            want = sorted(pushed, key=idkey)
            deadline = time.monotonic() + 60
            while len(received) < len(want) and time.monotonic() < deadline:
                assert not reader.done(), reader.exception()
                await asyncio.sleep(0.1)
            assert received == want, \
                f"reading client: {len(received)} of {len(want)} alerts, or out of order"
            rss_max = max(rss_max, srv.rss_kib())
            assert rss_max - rss0 < RSS_GROWTH_MAX_KIB, f"RSS grew {rss_max - rss0} KiB"
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await good.close()

        # Now read what the stalled client was sent: alerts in order, then
        # the close, 4001 if the close frame made it.
        def drain():
            ids = []

            def on_frame(op, payload):
                if op == OP_TEXT:
                    frame = json.loads(payload)
                    if frame.get("type") == "alert":
                        ids.append(frame["alert"]["id"])

            code, _ = stalled.read_until_close(timeout=30, on_frame=on_frame)
            return code, ids

        try:
            code, ids = await asyncio.to_thread(drain)
        finally:
            stalled.close()
        assert code in (None, 4001), f"stalled client closed with {code}, want 4001"
        print(f"stalled client: {len(ids)} alerts then close code {code}")
        assert len(ids) < len(pushed), "stalled client was closed yet got everything"
        assert_increasing(ids, "stalled client's alerts")
        assert set(ids) <= set(pushed)

    run(main(), timeout=170)


def test_ws_slow_reader_that_keeps_up_is_not_closed(alertd_factory, redis_server):
    """A client that reads, slowly but steadily, through a modest burst is not
    mistaken for a stalled one."""
    srv = alertd_factory(heartbeat=120)

    async def main():
        async with srv.connect(max_queue=1) as ws:
            await recv_hello(ws)
            pushed = await asyncio.gather(*(apush(redis_server, f"Burst {i}",
                                                  ext={"pad": PAD}, fields=BIG)
                                            for i in range(50)))
            got = []
            deadline = time.monotonic() + 30
            while len(got) < len(pushed):
                assert time.monotonic() < deadline, f"{len(got)} of {len(pushed)}"
                frame = await recv_json(ws, timeout=10)
                assert frame["type"] == "alert", frame
                got.append(frame["alert"]["id"])
                await asyncio.sleep(0.01)
            assert got == sorted(pushed, key=idkey)

    run(main())
