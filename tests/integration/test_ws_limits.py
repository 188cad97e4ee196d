"""alertd against clients that break the WebSocket protocol or ask too much.

proto/PROTOCOL.md, sections 6 and 7: a close frame with a code no endpoint
may send, or a 1-byte payload, is a protocol error answered with close 1002
(never an echo of what the client sent); a client sending frames faster
than --max-frames-per-sec is closed with 4030, one asking for replays
(since) more often than --max-replays-per-min with 4031; a reader closed as
a slow consumer (4001) that reads again finds the 4001 close frame.

Raw frames go over a hand-made TLS WebSocket client (RawWs) where a
library would refuse to send them.
"""
import json
import os
import struct
import threading
import time

import pytest

from alertd_fixture import (OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, Eof, RawWs,  # noqa: F401
                            alertd, alertd_factory, metric, tls_cert)

OP_CONT = 0x0


def raw_client(srv, query=""):
    """A RawWs past its hello frame."""
    ws = RawWs(srv.port, srv.ctx, path="/v1/ws" + (f"?{query}" if query else ""))
    fin, op, payload = ws.recv_frame()
    assert op == OP_TEXT and json.loads(payload)["type"] == "hello", payload
    return ws


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


def server_close(ws, timeout=5.0):
    """Reads (skipping data frames) until the server's close frame: its raw
    payload, or None when the stream ended without one."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no close frame from the server"
        try:
            fin, op, payload = ws.recv_frame(left)
        except Eof:
            return None
        if op == OP_CLOSE:
            return payload


def ping_pong_raw(ws):
    ws.send_text('{"type":"ping"}')
    fin, op, payload = ws.recv_frame()
    assert op == OP_TEXT and json.loads(payload) == {"type": "pong"}, (op, payload)


def assert_still_serving(srv):
    ws = raw_client(srv)
    try:
        ping_pong_raw(ws)
    finally:
        ws.close()


# ---------------------------------------------------------------------------
# protocol errors: 1002
# ---------------------------------------------------------------------------
INVALID_CLOSE_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
SECRET = b"client-reason-xyz"


def test_ws_close_with_invalid_code_answered_1002_without_echo(alertd):
    for code in INVALID_CLOSE_CODES:
        ws = raw_client(alertd)
        try:
            ws.send_frame(OP_CLOSE, close_payload(code, SECRET))
            payload = server_close(ws)
        finally:
            ws.close()
        assert payload is not None, f"close {code}: the stream ended without a close frame"
        got = struct.unpack("!H", payload[:2])[0]
        assert got == 1002, f"client close {code}: answered {got} {payload[2:]!r}, want 1002"
        assert SECRET not in payload, f"client close {code}: its reason echoed: {payload!r}"
        assert payload[2:] == b"protocol error", payload
    assert_still_serving(alertd)


def test_ws_close_with_1_byte_payload_answered_1002(alertd):
    ws = raw_client(alertd)
    try:
        ws.send_frame(OP_CLOSE, b"\x03")
        payload = server_close(ws)
    finally:
        ws.close()
    assert payload is not None and len(payload) >= 2, f"answered {payload!r}"
    assert struct.unpack("!H", payload[:2])[0] == 1002, payload
    assert_still_serving(alertd)


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1008, 1011, 3000, 4000, 4999])
def test_ws_valid_close_is_echoed(alertd, code):
    """A valid close ends the connection as RFC 6455 says: the code comes back."""
    ws = raw_client(alertd)
    try:
        ws.send_frame(OP_CLOSE, close_payload(code, b"bye"))
        payload = server_close(ws)
    finally:
        ws.close()
    assert payload is not None and struct.unpack("!H", payload[:2])[0] == code, payload


def test_ws_empty_close_is_answered_without_a_code(alertd):
    ws = raw_client(alertd)
    try:
        ws.send_frame(OP_CLOSE, b"")
        payload = server_close(ws)
    finally:
        ws.close()
    assert payload == b"", f"answered {payload!r}"


@pytest.mark.parametrize("what,frames", [
    ("reserved opcode 3", [(0x83, b"x")]),
    ("RSV1 without an extension", [(0x80 | 0x40 | OP_TEXT, b'{"type":"ping"}')]),
    ("fragmented ping", [(OP_PING, b"hb")]),
    ("continuation with nothing to continue", [(0x80 | OP_CONT, b"x")]),
])
def test_ws_malformed_frames_close_1002(alertd, what, frames):
    """Framing errors lws itself detects: close 1002 (lws frames that close)."""
    ws = raw_client(alertd)
    try:
        for first_byte, payload in frames:
            key = os.urandom(4)
            masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            ws.sock.sendall(bytes([first_byte, 0x80 | len(payload)]) + key + masked)
        payload = server_close(ws)
    finally:
        ws.close()
    assert payload is not None, f"{what}: no close frame"
    assert struct.unpack("!H", payload[:2])[0] == 1002, f"{what}: answered {payload!r}"


@pytest.mark.xfail(strict=True, reason="lws 4.1.6 reads an unmasked client frame as if masked "
                   "with a zero key (the server never checks the mask bit; lws added the check "
                   "after 4.1) and its public API does not show the bit: see PROTOCOL.md, "
                   "section 6")
def test_ws_unmasked_frame_closes_1002(alertd):
    ws = raw_client(alertd)
    try:
        ws.send_frame(OP_TEXT, b'{"type":"ping"}', mask=False)
        payload = server_close(ws, timeout=3)
    except AssertionError:
        payload = None
    finally:
        ws.close()
    assert payload is not None and struct.unpack("!H", payload[:2])[0] == 1002, payload


# ---------------------------------------------------------------------------
# frame rate: 4030
# ---------------------------------------------------------------------------
def test_ws_frames_over_the_rate_close_4030(alertd_factory):
    srv = alertd_factory("--max-frames-per-sec", "5")
    # Pongs count too (lws 4.1 reports only those with a payload): five
    # unsolicited ones use the burst up...
    ws = raw_client(srv)
    try:
        for _ in range(5):
            ws.send_frame(OP_PONG, b"hb")
        # ...and the next frame, whatever it is, is one too many.
        ws.send_text('{"type":"ping"}')
        payload = server_close(ws)
    finally:
        ws.close()
    assert payload is not None and struct.unpack("!H", payload[:2])[0] == 4030, payload
    assert payload[2:] == b"too many frames"
    assert metric(srv, "alertd_frame_rate_closes_total") == 1

    # A fragmented message is one frame: five of them, in three parts each.
    ws = raw_client(srv)
    try:
        for _ in range(5):
            ws.send_frame(OP_TEXT, b'{"type":', fin=False)
            ws.send_frame(OP_CONT, b'"ping"', fin=False)
            ws.send_frame(OP_CONT, b"}")
            fin, op, payload = ws.recv_frame()
            assert json.loads(payload) == {"type": "pong"}, payload
    finally:
        ws.close()
    assert metric(srv, "alertd_frame_rate_closes_total") == 1


def test_ws_frames_within_the_rate_are_served(alertd_factory):
    srv = alertd_factory("--max-frames-per-sec", "5")
    ws = raw_client(srv)
    try:
        t0 = time.monotonic()
        for i in range(15):  # 3 s at 5 a second
            while time.monotonic() < t0 + i * 0.22:
                time.sleep(0.01)
            ping_pong_raw(ws)
    finally:
        ws.close()
    assert metric(srv, "alertd_frame_rate_closes_total") == 0


# ---------------------------------------------------------------------------
# replay rate: 4031
# ---------------------------------------------------------------------------
def seed_history(redis, n, size=200):
    """n alerts in the stream before alertd starts: a complete history, so
    since=0-0 replays all of it. Returns their ids."""
    r = redis.client()
    pipe = r.pipeline(transaction=False)
    ids = []
    for i in range(n):
        item = {"kind": "alert", "version": 1, "urgency": "bulletin",
                "headline": f"History {i} " + "h" * size, "summary": "s" * size,
                "lang": "en", "published_at": "2026-01-01T00:00:00.000Z"}
        ids.append(f"{1700000000000 + i}-0")
        pipe.xadd("alert:stream", {"item": json.dumps(item)}, id=ids[-1])
    pipe.execute()
    return ids


def read_replay(ws, timeout=10.0):
    """Reads one replay: (alert count, the replayed frame)."""
    alerts = 0
    deadline = time.monotonic() + timeout
    while True:
        fin, op, payload = ws.recv_frame(max(0.01, deadline - time.monotonic()))
        assert op == OP_TEXT, (op, payload[:80])
        frame = json.loads(payload)
        if frame["type"] == "alert":
            alerts += 1
        elif frame["type"] == "replayed":
            return alerts, frame
        else:
            raise AssertionError(f"unexpected frame in a replay: {frame}")


def test_ws_replays_over_the_rate_close_4031(alertd_factory, redis_server):
    ids = seed_history(redis_server, 5)
    srv = alertd_factory("--max-replays-per-min", "2")
    sub = {"type": "subscribe", "since": ids[1]}
    ws = raw_client(srv, f"since={ids[0]}")  # the first replay
    try:
        assert read_replay(ws)[0] == 4
        ws.send_text(json.dumps(sub))  # the second
        assert read_replay(ws)[0] == 3
        for _ in range(3):  # subscribes without since are not replays
            ws.send_text('{"type":"subscribe","topics":[]}')
        ping_pong_raw(ws)
        ws.send_text(json.dumps(sub))  # the third within a minute
        payload = server_close(ws)
    finally:
        ws.close()
    assert payload is not None and struct.unpack("!H", payload[:2])[0] == 4031, payload
    assert payload[2:] == b"too many replays"
    assert metric(srv, "alertd_replay_rate_closes_total") == 1
    assert metric(srv, "alertd_frame_rate_closes_total") == 0
    assert_still_serving(srv)


def server_cpu_seconds(srv):
    with open(f"/proc/{srv.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ws_history_replay_flood_from_one_socket_is_cut_short(alertd_factory, redis_server):
    """Asking for the whole history (since=0-0) again and again: with the
    default limits the connection gets six replays, then 4031. Prints the
    server's CPU time over the flood (issue #16: 4.6 CPU-s in 10 s before)."""
    n = 2000
    seed_history(redis_server, n)
    srv = alertd_factory()
    ws = raw_client(srv)
    ws.sock.settimeout(1.0)
    sub = json.dumps({"type": "subscribe", "since": "0-0"})
    stop = time.monotonic() + 10
    seen = {"bytes": 0, "replayed": 0, "end": None}

    def reader():
        tail = b""
        while time.monotonic() < stop:
            try:
                data = ws.sock.recv(1 << 20)
            except OSError as e:  # a timeout or a reset
                if "timed out" in str(e):
                    continue
                seen["end"] = repr(e)
                return
            if not data:
                seen["end"] = "EOF"
                return
            seen["bytes"] += len(data)
            both = tail + data
            seen["replayed"] += both.count(b'"type":"replayed"') - tail.count(b'"type":"replayed"')
            if b"\x88\x12\x0f\xbftoo many replays" in both:
                seen["end"] = "4031"
                return
            tail = both[-40:]

    cpu0 = server_cpu_seconds(srv)
    t0 = time.monotonic()
    t = threading.Thread(target=reader)
    t.start()
    sent = 0
    try:
        while time.monotonic() < stop and t.is_alive() and seen["end"] is None:
            try:
                ws.send_text(sub)
            except OSError:
                break
            sent += 1
            time.sleep(0.002)
        t.join()
    finally:
        ws.close()
    cpu = server_cpu_seconds(srv) - cpu0
    print(f"since=0-0 flood, {n} alerts held: {sent} subscribes in "
          f"{time.monotonic() - t0:.1f}s, {seen['replayed']} replays finished, "
          f"{seen['bytes'] / 1e6:.1f} MB read, server CPU {cpu:.2f} s, end {seen['end']}")
    assert seen["end"] == "4031", seen
    assert seen["replayed"] <= 6, seen
    assert metric(srv, "alertd_replay_rate_closes_total") == 1


# ---------------------------------------------------------------------------
# slow consumer: 4001 when it reads again
# ---------------------------------------------------------------------------
def test_ws_stalled_reader_finds_4001_when_it_reads_again(alertd_factory, redis_server):
    srv = alertd_factory("--max-queue", "16", heartbeat=120)
    stalled = RawWs(srv.port, srv.ctx, rcvbuf=4096)
    fin, op, payload = stalled.recv_frame()
    assert json.loads(payload)["type"] == "hello"
    r = redis_server.client()
    pad = "p" * 1900
    item = {"kind": "alert", "version": 1, "urgency": "bulletin", "headline": "Big",
            "summary": "s" * 1000, "lang": "en", "published_at": "2026-01-01T00:00:00.000Z",
            "ext": {"pad": pad}}
    published = 0
    deadline = time.monotonic() + 60
    try:
        # Publish until the node gives up on the client (it reads nothing).
        while metric(srv, "alertd_slow_consumer_closes_total") < 1:
            assert time.monotonic() < deadline, f"not closed for lag after {published} alerts"
            pipe = r.pipeline(transaction=False)
            for _ in range(100):
                alert_id = f"{1800000000000 + published}-0"
                pipe.xadd("alert:stream", {"item": json.dumps(item)}, id=alert_id)
                pipe.publish("alert:live", json.dumps({"id": alert_id, **item}))
                published += 1
            pipe.execute()
            time.sleep(0.05)
        # Some seconds later (more than a close frame's usual wait, less than
        # the bound for a lagging one), it reads again: what was written,
        # then 4001.
        time.sleep(5)
        alerts = 0
        while True:
            fin, op, payload = stalled.recv_frame(timeout=10)
            if op != OP_TEXT:
                break
            alerts += 1
    except Eof:
        raise AssertionError(f"EOF after {alerts} frames, no close frame") from None
    finally:
        stalled.close()
    print(f"{published} alerts published; the stalled reader read {alerts} frames, then close")
    assert op == OP_CLOSE, (op, payload[:40])
    assert struct.unpack("!H", payload[:2])[0] == 4001, payload
    assert payload[2:] == b"slow consumer"
    assert alerts < published
