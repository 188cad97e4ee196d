"""permessage-deflate (RFC 7692) without per-connection compressors.

alertd accepts a client's permessage-deflate offer with
server_no_context_takeover and client_no_context_takeover, sends every
reader that negotiated it the same compressed copy of each alert frame (made
once per node), reads compressed client frames with one inflater per worker
bounded by the 4 KiB client frame limit, and gives a client that did not
offer it plain frames. Real TLS, real redis-server, real clients: Python's
websockets and hand-written frames (RawWs) where the bytes matter.
"""
import asyncio
import json
import ssl
import zlib

import pytest

from alertd_fixture import (OP_CLOSE, OP_PING, OP_TEXT, RawWs, alertd,  # noqa: F401
                            alertd_factory, apush, asan_options, metric, push, recv_alert_ids,
                            recv_hello, recv_json, run, tls_cert)
from conftest import SANITIZED

PMD_RESPONSE = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
CHROME_OFFER = "permessage-deflate; client_max_window_bits"
FRAME_MAX = 4096
TAIL = b"\x00\x00\xff\xff"


def deflate_message(text, tail=False):
    """A client's compressed message: raw DEFLATE, no context, tail removed."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = z.compress(text.encode() if isinstance(text, str) else text) + z.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(TAIL)
    return data if tail else data[:-4]


def inflate_message(payload):
    """What a client with a fresh inflater reads from one compressed frame."""
    return zlib.decompressobj(-15).decompress(payload + TAIL)


def pmd_ws(srv, offer=CHROME_OFFER):
    return RawWs(srv.port, srv.ctx, headers=[f"Sec-WebSocket-Extensions: {offer}"])


def read_json_frames(ws, n, timeout=10.0):
    """n text frames as (rsv1, text) pairs, inflating those with RSV1 set."""
    out = []
    while len(out) < n:
        fin, op, payload = ws.recv_frame(timeout)
        assert fin and op == OP_TEXT, f"unexpected frame {op} {payload[:60]!r}"
        out.append((ws.last_rsv1, inflate_message(payload) if ws.last_rsv1 else payload))
    return out


def test_negotiated_response_is_exact_and_alerts_are_compressed_once(alertd):
    """The 101 names exactly our parameters; hello is plain, the alert frame
    comes compressed (RSV1) and inflates, with a fresh inflater, to the same
    bytes a plain client gets."""
    deflated, plain = pmd_ws(alertd), RawWs(alertd.port, alertd.ctx)
    try:
        assert deflated.headers.get("sec-websocket-extensions") == PMD_RESPONSE, deflated.headers
        assert "sec-websocket-extensions" not in plain.headers, plain.headers
        [(rsv1, hello)] = read_json_frames(deflated, 1)
        assert not rsv1 and json.loads(hello)["type"] == "hello"
        read_json_frames(plain, 1)
        big = "Magnitude 7.1 earthquake strikes off the coast " * 2
        ids = [push(alertd.redis_url, headline=big[:280], summary="aftershocks expected " * 20),
               push(alertd.redis_url, headline="second")]
        got_z, got_plain = read_json_frames(deflated, 2), read_json_frames(plain, 2)
        assert [r for r, _ in got_plain] == [False, False]
        assert got_z[0][0], "a 600-byte alert frame should come compressed"
        assert [t for _, t in got_z] == [t for _, t in got_plain], "items differ"
        assert [json.loads(t)["alert"]["id"] for _, t in got_z] == ids
        assert metric(alertd, "alertd_ws_deflate_clients") == 1
        assert metric(alertd, "alertd_ws_deflate_bytes_saved_total") > 0
    finally:
        deflated.close()
        plain.close()


def test_websockets_library_negotiates_and_gets_identical_items(alertd):
    """Python's websockets offers permessage-deflate by default: it accepts
    our response, compresses what it sends (each message on its own, as
    told) and receives the same items as a client without compression."""
    async def main():
        async with alertd.connect() as z, alertd.connect(compression=None) as plain:
            [ext] = z.extensions
            assert ext.name == "permessage-deflate"
            assert ext.remote_no_context_takeover and ext.local_no_context_takeover
            assert plain.extensions == []
            await recv_hello(z)
            await recv_hello(plain)
            # Compressed client messages, several in a row: each inflates on
            # its own (a context carried over would fail the second).
            for _ in range(3):
                await z.send('{"type":"ping"}')
                assert (await recv_json(z))["type"] == "pong"
            await z.send('{"type":"subscribe","topics":["world","science"]}')
            await z.send('{"type":"ping"}')
            assert (await recv_json(z))["type"] == "pong"
            await plain.send('{"type":"subscribe","topics":["world","science"]}')
            await plain.send('{"type":"ping"}')
            assert (await recv_json(plain))["type"] == "pong"
            summary = "Tsunami warnings were issued for coastal areas. " * 10
            sent = [await apush(alertd.redis_url, headline=f"Quake {i}", topics=["world"],
                                summary=summary) for i in range(5)]
            texts = {}
            for name, ws in (("deflate", z), ("plain", plain)):
                texts[name] = [await asyncio.wait_for(ws.recv(), 10) for _ in sent]
            assert texts["deflate"] == texts["plain"]
            assert [json.loads(t)["alert"]["id"] for t in texts["deflate"]] == sent
    run(main())
    assert metric(alertd, "alertd_ws_deflate_clients") == 0, "gauge not back to 0 after close"


def test_compressed_client_frames_fragmented_and_interleaved_with_a_ping(alertd):
    """A compressed message in several frames, with a WebSocket ping between
    them, is read whole: the ping is answered and the message handled."""
    ws = pmd_ws(alertd)
    try:
        read_json_frames(ws, 1)
        data = deflate_message('{"type":"ping"}')
        ws.send_frame(OP_TEXT, data[:3], fin=False, rsv1=True)
        ws.send_frame(OP_PING, b"mid")
        ws.send_frame(0x0, data[3:], fin=True)
        fin, op, payload = ws.recv_frame()
        assert (op, payload) == (0xA, b"mid"), (op, payload)
        [(rsv1, text)] = read_json_frames(ws, 1)
        assert json.loads(text) == {"type": "pong"}
        # An uncompressed message on the same connection is fine too.
        ws.send_text('{"type":"ping"}')
        assert json.loads(read_json_frames(ws, 1)[0][1]) == {"type": "pong"}
    finally:
        ws.close()


def test_a_message_inflating_to_the_limit_is_taken_one_byte_more_closes_1009(alertd):
    at_limit = '{"type":"ping"}'.ljust(FRAME_MAX)
    ws = pmd_ws(alertd)
    try:
        read_json_frames(ws, 1)
        ws.send_frame(OP_TEXT, deflate_message(at_limit), rsv1=True)
        assert json.loads(read_json_frames(ws, 1)[0][1]) == {"type": "pong"}
        ws.send_frame(OP_TEXT, deflate_message(at_limit + " "), rsv1=True)
        code, frames = ws.read_until_close()
        assert code == 1009, f"close {code}, frames {frames}"
    finally:
        ws.close()


def test_decompression_bomb_closes_1009_and_costs_nothing(alertd_factory):
    """64 MiB of zeros in ~64 KiB would be refused at the frame limit; the
    largest bomb that fits (4 KiB of DEFLATE, inflating to ~4 MiB) is
    refused once 4 KiB came out: memory stays flat, the node serves on."""
    # Under AddressSanitizer freed memory sits in a quarantine that would
    # count as RSS: keep it out of the measure.
    alertd = alertd_factory(env=asan_options(quarantine_size_mb=0))
    bomb = deflate_message(b"{" + b" " * (4 << 20))
    assert len(bomb) <= FRAME_MAX, len(bomb)
    rss0 = alertd.rss_kib()
    for _ in range(20):
        ws = pmd_ws(alertd)
        try:
            read_json_frames(ws, 1)
            ws.send_frame(OP_TEXT, bomb, rsv1=True)
            code, _ = ws.read_until_close()
            assert code == 1009, f"close {code}"
        finally:
            ws.close()
    assert alertd.rss_kib() - rss0 < 2048, "inflating bombs grew the server"
    check_serving(alertd)


def test_corrupt_or_context_dependent_compressed_frames_close_1007(alertd):
    """Not DEFLATE, a message that refers to the previous one (a client
    ignoring client_no_context_takeover), or invalid UTF-8 once inflated."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = z.compress(b'{"type":"ping"}') + z.flush(zlib.Z_SYNC_FLUSH)
    second = z.compress(b'{"type":"ping"}') + z.flush(zlib.Z_SYNC_FLUSH)
    cases = [("garbage", [b"\xff\xff\xff\xff not deflate"]),
             ("context takeover", [first[:-4], second[:-4]]),
             ("invalid UTF-8", [deflate_message(b'{"type":"ping","x":"\xff\xfe"}')])]
    for name, messages in cases:
        ws = pmd_ws(alertd)
        try:
            read_json_frames(ws, 1)
            for m in messages[:-1]:
                ws.send_frame(OP_TEXT, m, rsv1=True)
                assert json.loads(read_json_frames(ws, 1)[0][1]) == {"type": "pong"}, name
            ws.send_frame(OP_TEXT, messages[-1], rsv1=True)
            code, frames = ws.read_until_close()
            assert code == 1007, f"{name}: close {code}, frames {frames}"
            assert ws.close_reason == b"invalid UTF-8 or compressed data", ws.close_reason
        finally:
            ws.close()
    check_serving(alertd)


def test_rsv1_without_negotiation_closes_1002(alertd):
    ws = RawWs(alertd.port, alertd.ctx)
    try:
        read_json_frames(ws, 1)
        ws.send_frame(OP_TEXT, deflate_message('{"type":"ping"}'), rsv1=True)
        code, frames = ws.read_until_close()
        assert code == 1002, f"close {code}, frames {frames}"
    finally:
        ws.close()


def test_offers_we_cannot_honour_are_declined_with_plain_frames(alertd):
    """server_max_window_bits (our window is our own), unknown or repeated
    parameters, a bad window size: no extension in the 101, plain frames,
    and the client can still talk."""
    for offer in ("permessage-deflate; server_max_window_bits=10",
                  "permessage-deflate; x-unknown",
                  "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                  "permessage-deflate; client_max_window_bits=16",
                  # two offers: lws 4.1 would fail the upgrade on the second
                  "permessage-deflate, permessage-deflate; client_max_window_bits",
                  "x-webkit-deflate-frame"):
        ws = pmd_ws(alertd, offer)
        try:
            assert "sec-websocket-extensions" not in ws.headers, (offer, ws.headers)
            read_json_frames(ws, 1)
            ws.send_text('{"type":"ping"}')
            assert read_json_frames(ws, 1) == [(False, b'{"type":"pong"}')], offer
        finally:
            ws.close()
    # Acceptable variants all get the one response.
    for offer in ("permessage-deflate", "x-webkit-deflate-frame, permessage-deflate",
                  "permessage-deflate; client_max_window_bits=10; server_no_context_takeover",
                  'permessage-deflate; client_max_window_bits="12"'):
        ws = pmd_ws(alertd, offer)
        try:
            assert ws.headers.get("sec-websocket-extensions") == PMD_RESPONSE, (offer, ws.headers)
        finally:
            ws.close()


def check_serving(srv):
    async def main():
        async with srv.connect() as ws:
            await recv_hello(ws)
            await ws.send('{"type":"ping"}')
            assert (await recv_json(ws))["type"] == "pong"
    run(main(), timeout=20)


async def open_idle(srv, n, offer, concurrency=50):
    """n idle WebSocket clients, upgraded by hand (with the extension offer
    or without) and past their hello; returns their stream writers."""
    sem = asyncio.Semaphore(concurrency)
    head = ("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: alert.v1\r\n"
            + (f"Sec-WebSocket-Extensions: {offer}\r\n" if offer else "") + "\r\n").encode()

    async def one():
        async with sem:
            r, w = await asyncio.open_connection("127.0.0.1", srv.port, ssl=srv.ctx,
                                                 server_hostname="127.0.0.1")
            w.write(head)
            response = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 20)
            assert (b"permessage-deflate" in response) == bool(offer), response
            frame = await asyncio.wait_for(r.readexactly(2), 20)
            await asyncio.wait_for(r.readexactly(frame[1] & 0x7F), 20)  # hello: < 126 bytes
            return w

    return await asyncio.gather(*(one() for _ in range(n)))


def idle_rss_growth(srv, n, offer):
    """KiB the server grows by for n idle clients, after 50 to warm it up.
    Few handshakes at a time: each holds header and TLS buffers that are
    pooled after, and a varying peak would hide what a connection keeps."""
    async def main():
        held = await open_idle(srv, 50, offer, concurrency=4)
        await asyncio.sleep(0.3)
        rss0 = srv.rss_kib()
        held += await open_idle(srv, n, offer, concurrency=4)
        await asyncio.sleep(0.3)
        grown = srv.rss_kib() - rss0
        assert metric(srv, "alertd_ws_deflate_clients") == (50 + n if offer else 0)
        for w in held:
            w.close()
        return grown
    return run(main(), timeout=300)


@pytest.mark.skipif(SANITIZED, reason="ASan's allocator and quarantine make RSS say nothing of "
                    "the real build's; `make test` measures that")
def test_idle_deflate_clients_cost_no_more_memory(alertd_factory):
    """1,000 idle clients that negotiated permessage-deflate cost the server
    no more than 0.5 KiB each above 1,000 that did not (there is no
    per-connection zlib state to cost anything)."""
    n = 1000
    plain_kib = idle_rss_growth(alertd_factory("--max-per-ip", "5000"), n, None)
    deflate_kib = idle_rss_growth(alertd_factory("--max-per-ip", "5000"), n, CHROME_OFFER)
    extra = (deflate_kib - plain_kib) / n
    print(f"idle RSS: plain {plain_kib / n:.2f} KiB/conn, deflate {deflate_kib / n:.2f} "
          f"KiB/conn, difference {extra:+.3f} KiB/conn")
    assert extra <= 0.5, f"{extra:.3f} KiB more per idle deflate client"
