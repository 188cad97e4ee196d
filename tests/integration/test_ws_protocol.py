"""alertd against misbehaving clients: bad frames, limits, silence, broken TLS.

Each case checks the documented reaction (proto/PROTOCOL.md: client frames,
heartbeats, limits, close codes) and that the server goes on serving afterwards.
"""
import asyncio
import json
import socket
import ssl
import struct
import time

import websockets

from alertd_fixture import (OP_BINARY, OP_PING, OP_TEXT, RawWs, alertd,  # noqa: F401
                            alertd_factory, apush, expect_closed, ping_pong, recv_alert_ids,
                            recv_hello, recv_json, run, tls_cert)

FRAME_MAX = 4096


def assert_still_serving(srv):
    """The process is alive, /healthz answers and a new client gets hello and pong."""
    assert srv.running(), f"alertd died\n{srv.tail()}"
    assert srv.get("/healthz")[0] == 200

    async def main():
        async with srv.connect() as ws:
            hello = await recv_hello(ws)
            assert hello["v"] == 1
            await ping_pong(ws)

    run(main(), timeout=20)


async def send_and_expect_close(ws, payload, timeout=5.0):
    """Sends a message; returns the close code the server ends with."""
    try:
        await ws.send(payload)
    except (websockets.ConnectionClosed, websockets.InvalidState):
        # Closed while we were still sending (InvalidState: in the middle of
        # a fragmented message); the close code is the one received.
        await asyncio.wait_for(ws.wait_closed(), timeout)
        return ws.close_code
    exc, frames = await expect_closed(ws, timeout)
    for f in frames:  # anything before the close must still be protocol frames
        assert isinstance(f, str), f"binary frame from server: {f!r}"
    return exc.code


# ---------------------------------------------------------------------------
# frames the server refuses
# ---------------------------------------------------------------------------
def test_ws_binary_frame_closes_1003(alertd):
    async def main():
        async with alertd.connect(compression=None) as ws:
            await recv_hello(ws)
            assert await send_and_expect_close(ws, b'{"type":"ping"}') == 1003

    run(main())
    assert_still_serving(alertd)


def test_ws_frame_of_exactly_4_kib_is_accepted(alertd):
    msg = '{"type":"ping"}'
    msg += " " * (FRAME_MAX - len(msg))  # whitespace is valid JSON
    assert len(msg.encode()) == FRAME_MAX

    async def main():
        async with alertd.connect(compression=None) as ws:
            await recv_hello(ws)
            await ws.send(msg)
            assert await recv_json(ws) == {"type": "pong"}

    run(main())


def test_ws_frame_over_4_kib_closes_1009(alertd):
    for size in (FRAME_MAX + 1, 64 * 1024):
        msg = '{"type":"ping"}'
        msg += " " * (size - len(msg))

        async def main():
            async with alertd.connect(compression=None) as ws:
                await recv_hello(ws)
                code = await send_and_expect_close(ws, msg)
                assert code == 1009, f"{size}-byte frame: close {code}, want 1009"

        run(main())
    assert_still_serving(alertd)


def test_ws_oversized_message_compressed_or_fragmented_closes_1009(alertd):
    """The 4 KiB limit holds for the message, however it travels: compressed
    with permessage-deflate (if the server accepts it) or in small fragments."""
    big = '{"type":"subscribe","topics":[' + ",".join(['"world"'] * 10000) + "]}"
    assert len(big) > 64 * 1024

    async def compressed():
        async with alertd.connect() as ws:  # offers permessage-deflate
            await recv_hello(ws)
            code = await send_and_expect_close(ws, big)
            assert code == 1009, f"deflate={bool(ws.extensions)}: close {code}, want 1009"

    async def fragmented():
        async with alertd.connect(compression=None) as ws:
            await recv_hello(ws)

            async def pieces():
                # Paced, so the server's close frame reaches us before we
                # would write into a socket it has already closed (a reset
                # would make our kernel drop the close frame unread).
                for i in range(0, len(big), 2000):
                    yield big[i:i + 2000]
                    await asyncio.sleep(0.02)

            code = await send_and_expect_close(ws, pieces())
            assert code == 1009, f"fragmented: close {code}, want 1009"

    run(compressed())
    run(fragmented())
    assert_still_serving(alertd)


def test_ws_bad_frames_get_error_bad_request_and_stay_open(alertd, redis_server):
    bad = ['{"type":', "not json at all", "[1,2,3]", '"ping"', "{}", '{"type":"frobnicate"}',
           '{"type":42}', "{\"type\":\"ping\"} {\"type\":\"ping\"}"]

    async def main():
        async with alertd.connect() as ws:
            await recv_hello(ws)
            for text in bad[:5]:  # fewer than any sane "repeated abuse" threshold
                await ws.send(text)
                frame = await recv_json(ws)
                assert frame["type"] == "error", f"{text!r} -> {frame}"
                assert frame["code"] == "bad_request", f"{text!r} -> {frame}"
                assert isinstance(frame.get("message"), str), frame
            await ping_pong(ws)
            a = await apush(redis_server, "Still subscribed")
            assert await recv_alert_ids(ws, 1) == [a]
        async with alertd.connect() as ws:
            await recv_hello(ws)
            for text in bad[5:]:
                await ws.send(text)
                frame = await recv_json(ws)
                assert frame["type"] == "error", f"{text!r} -> {frame}"
                assert frame["code"] == "bad_request", f"{text!r} -> {frame}"
            await ping_pong(ws)

    run(main())


def test_ws_malformed_subscribe_is_bad_request(alertd, redis_server):
    """A subscribe whose fields do not have the documented shapes (topics and
    lang are arrays of strings, since an id) is not a subscribe: bad_request,
    and the filter in place stays as it was."""
    bad = ['{"type":"subscribe","topics":"sports"}', '{"type":"subscribe","lang":"de"}',
           '{"type":"subscribe","topics":[1,2]}', '{"type":"subscribe","since":"yesterday"}']

    async def main():
        async with alertd.connect("topics=world") as ws:
            await recv_hello(ws)
            for text in bad:
                await ws.send(text)
                frame = await recv_json(ws)
                assert frame["type"] == "error" and frame["code"] == "bad_request", \
                    f"{text} -> {frame}"
            await apush(redis_server, "S", topics=["sports"], lang="de")
            w = await apush(redis_server, "W", topics=["world"], lang="en")
            assert await recv_alert_ids(ws, 1) == [w]

    run(main())


def test_ws_repeated_abuse_closes_1008(alertd):
    limit = 32  # "repeated abuse": the contract's example is 20 bad frames

    async def main():
        async with alertd.connect() as ws:
            await recv_hello(ws)
            for i in range(limit):
                try:
                    await ws.send("this is not json")
                    frame = await recv_json(ws)
                except websockets.ConnectionClosed as e:
                    assert e.code == 1008, f"closed with {e.code} after {i + 1} bad frames"
                    return i + 1
                assert frame["type"] == "error" and frame["code"] == "bad_request", frame
            exc, _ = await expect_closed(ws, timeout=3)
            assert exc.code == 1008, f"closed with {exc.code}"
            return limit

    n = run(main())
    print(f"closed after {n} bad frames")
    assert_still_serving(alertd)


def test_ws_invalid_utf8_text_closes_1007(alertd):
    ws = RawWs(alertd.port, alertd.ctx)
    try:
        fin, op, payload = ws.recv_frame()
        assert op == OP_TEXT and json.loads(payload)["type"] == "hello"
        ws.send_frame(OP_TEXT, b'{"type":"ping","x":"\xff\xfe\xc3"}')
        code, frames = ws.read_until_close(timeout=5)
        assert code == 1007, f"close code {code}, want 1007; frames before: {frames}"
    finally:
        ws.close()
    assert_still_serving(alertd)


def test_ws_plain_http_on_tls_port_is_closed(alertd):
    for request in (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                    b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    b"Sec-WebSocket-Version: 13\r\n\r\n",
                    b"\x00" * 300):
        with socket.create_connection(("127.0.0.1", alertd.port), timeout=5) as s:
            s.sendall(request)
            deadline = time.monotonic() + 5
            got = b""
            while True:
                assert time.monotonic() < deadline, f"not closed within 5 s; got {got!r}"
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    break
                except socket.timeout:
                    continue
                if not data:
                    break
                got += data
    assert_still_serving(alertd)


def client_hello_bytes(ctx):
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    data = out.read()
    assert data and data[0] == 0x16, "not a TLS handshake record"
    return data


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def test_ws_tcp_reset_mid_tls_handshake_server_keeps_serving(alertd):
    hello = client_hello_bytes(alertd.ctx)
    for i in range(30):
        s = socket.create_connection(("127.0.0.1", alertd.port), timeout=5)
        cut = (0, 5, len(hello) // 2, len(hello))[i % 4]  # nothing, header, half, all
        if cut:
            s.sendall(hello[:cut])
        if i % 3 == 0:
            time.sleep(0.02)  # let the server start on it
        reset(s)
    assert_still_serving(alertd)
    # And a client that reset mid-WebSocket-upgrade.
    raw = socket.create_connection(("127.0.0.1", alertd.port), timeout=5)
    t = alertd.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    t.sendall(b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: web")
    time.sleep(0.05)
    reset(t)
    assert_still_serving(alertd)


# ---------------------------------------------------------------------------
# heartbeat
# ---------------------------------------------------------------------------
def test_ws_heartbeat_closes_silent_client_keeps_answering_one(alertd_factory):
    srv = alertd_factory(heartbeat=1)

    async def main():
        good = await srv.connect()  # websockets answers pings by itself
        hello = await recv_hello(good)
        assert hello["heartbeat"] == 1

        def silent_client():
            ws = RawWs(srv.port, srv.ctx)
            try:
                t0 = time.monotonic()
                pings = []
                code, frames = ws.read_until_close(
                    timeout=8, on_frame=lambda op, p: pings.append(op) if op == OP_PING else 0)
                return time.monotonic() - t0, code, pings, frames
            finally:
                ws.close()

        elapsed, code, pings, frames = await asyncio.to_thread(silent_client)
        assert pings, f"no WebSocket ping in {elapsed:.1f}s with --heartbeat 1: {frames}"
        assert 1.0 <= elapsed <= 4.5, \
            f"silent client closed after {elapsed:.1f}s with --heartbeat 1 (close {code})"
        # The answering client outlived it and is still served.
        await asyncio.sleep(max(0.0, 5.0 - elapsed))
        await ping_pong(good)
        await good.close()

    run(main(), timeout=30)


def test_ws_browser_style_json_ping_keeps_connection(alertd_factory):
    """A client answering WebSocket pings and sending {"type":"ping"} is served
    well past two heartbeats."""
    srv = alertd_factory(heartbeat=1)

    async def main():
        async with srv.connect() as ws:
            await recv_hello(ws)
            for _ in range(8):
                await asyncio.sleep(0.5)
                await ping_pong(ws)

    run(main(), timeout=30)


# ---------------------------------------------------------------------------
# connection limit
# ---------------------------------------------------------------------------
def test_ws_max_connections_4029(alertd_factory):
    srv = alertd_factory("--max-connections", "3")

    async def main():
        held = []
        for _ in range(3):
            ws = await srv.connect()
            await recv_hello(ws)
            held.append(ws)
        try:
            try:
                extra = await srv.connect()
            except websockets.InvalidStatusCode as e:
                raise AssertionError(f"4th connection refused with HTTP {e.status_code}, "
                                     "not closed with 4029")
            exc, frames = await expect_closed(extra, timeout=5)
            assert exc.code == 4029, f"4th connection closed with {exc.code}: {frames}"
            # A slot freed is a slot usable again.
            await held.pop().close()
            for _ in range(20):  # the server notices the close asynchronously
                ws = await srv.connect()
                try:
                    await recv_hello(ws)
                    held.append(ws)
                    break
                except (AssertionError, websockets.ConnectionClosed):
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("no connection accepted after one was closed")
        finally:
            for ws in held:
                await ws.close()

    run(main())
