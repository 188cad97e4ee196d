"""Corrections fold on the server (issue #12): after a retraction no node
serves the retracted text again (REST, SSE, WebSocket replays, `alert list`),
whether it was running, cut off from Redis when it happened, or started
afterwards; live clients still get the retraction as its own frame; an
update leaves only the newest version of its story.

Real redis-server (restarted to cut a node off), real alertd processes, real
TLS clients, alerts published with the real CLI.
"""
import asyncio
import json
import time

from alertd_fixture import (alertd_factory, https_get, metric, push, recv_hello,  # noqa: F401
                            recv_json, run, tls_cert)
from conftest import run_alert
from test_http import Sse

SECRET = {"summary": "SECRET-SUMMARY", "url": "https://news.example/SECRET-URL",
          "image": {"url": "https://img.example/SECRET-IMAGE.jpg", "caption": "SECRET-CAPTION"}}


def rest(srv, query=""):
    status, _, body = https_get(srv.port, "/v1/alerts" + query, srv.ctx)
    assert status == 200, (status, body)
    return body.decode()


def wait_rest_has(srv, alert_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while alert_id not in rest(srv, "?limit=200"):
        assert time.monotonic() < deadline, f"{alert_id} never reached the node\n{srv.tail()}"
        time.sleep(0.1)


async def ws_replay(srv, since):
    """Every frame of a WebSocket replay after `since`, as raw text."""
    async with srv.connect(f"since={since}") as ws:
        await recv_hello(ws)
        frames = []
        while True:
            msg = await asyncio.wait_for(ws.recv(), 5)
            frames.append(msg)
            if json.loads(msg)["type"] in ("replayed", "gap"):
                return frames


def sse_replay(srv, since):
    """Every event of an SSE replay after `since`: (raw data, alert ids)."""
    s = Sse(srv, f"?since={since}")
    try:
        data, ids = [], []
        while True:
            ev = s.events(1, kinds=("alert", "replayed", "gap"))[0]
            data.append(ev["data"])
            if ev["event"] != "alert":
                return "\n".join(data), ids
            ids.append(ev["id"])
    finally:
        s.close()


def alert_ids(frames):
    return [json.loads(f)["alert"]["id"] for f in frames if json.loads(f)["type"] == "alert"]


def assert_no_secret(text, where):
    assert "SECRET" not in text, f"{where} serves the retracted text: {text[:2000]}"


def test_a_retraction_is_never_served_again_by_any_node(alertd_factory, redis_server):
    a = alertd_factory("--log-level", "info")
    cut = alertd_factory("--log-level", "info")  # cut off from Redis during the retraction

    async def main():
        before = push(redis_server, "Before everything")
        async with a.connect() as live:
            await recv_hello(live)
            secret = push(redis_server, "SECRET-HEADLINE", fields=SECRET)
            other = push(redis_server, "Other news")
            frame = await recv_json(live)
            assert frame["alert"]["id"] == secret and frame["alert"]["headline"] == \
                "SECRET-HEADLINE"
            assert (await recv_json(live))["alert"]["id"] == other
            wait_rest_has(cut, other)

            cut.pause()
            try:
                redis_server.stop()
                redis_server.start()
                r = run_alert("retract", secret, "--reason", "legal", redis=redis_server)
                assert r.returncode == 0, r.stderr
                retraction = r.stdout.strip()
            finally:
                cut.resume()

            # The live client gets the retraction as its own frame.
            frame = await recv_json(live, timeout=20)
            assert frame["type"] == "alert" and frame["alert"]["id"] == retraction
            assert frame["alert"]["kind"] == "retraction" and frame["alert"]["ref"] == secret

        late = alertd_factory("--log-level", "info")  # started after the retraction
        wait_rest_has(cut, retraction)
        assert metric(cut, "alertd_redis_reconnects_total") >= 1, "the node was not cut off"
        for srv in (a, cut, late):
            wait_rest_has(srv, retraction)
            body = rest(srv, "?limit=200")
            assert_no_secret(body, f"REST on {srv.port}")
            assert [x["id"] for x in json.loads(body)["alerts"]] == [retraction, other, before]

            frames = await ws_replay(srv, before)
            assert_no_secret("\n".join(frames), f"a WebSocket replay on {srv.port}")
            assert alert_ids(frames) == [other, retraction]
            assert json.loads(frames[-1])["type"] == "replayed"

            data, ids = await asyncio.to_thread(sse_replay, srv, before)
            assert_no_secret(data, f"an SSE replay on {srv.port}")
            assert ids == [other, retraction]

        for args in (("list",), ("list", "--json")):
            r = run_alert(*args, redis=redis_server)
            assert r.returncode == 0, r.stderr
            assert_no_secret(r.stdout, "alert " + " ".join(args))
            assert retraction in r.stdout

    run(main(), timeout=120)


def test_an_update_leaves_only_the_newest_version(alertd_factory, redis_server):
    srv = alertd_factory()

    async def main():
        before = push(redis_server, "Before")
        story = push(redis_server, "STORY-V1")
        u2 = run_alert("update", story, "--headline", "STORY-V2", redis=redis_server)
        assert u2.returncode == 0, u2.stderr
        u3 = run_alert("update", u2.stdout.strip(), "--headline", "STORY-V3",
                       redis=redis_server)
        assert u3.returncode == 0, u3.stderr
        newest = u3.stdout.strip()
        late = alertd_factory()
        for node in (srv, late):
            wait_rest_has(node, newest)
            doc = json.loads(rest(node))
            assert [x["id"] for x in doc["alerts"]] == [newest, before]
            assert doc["alerts"][0]["headline"] == "STORY-V3"
            assert doc["alerts"][0]["ref"] == story and doc["alerts"][0]["version"] == 3
            frames = await ws_replay(node, before)
            assert alert_ids(frames) == [newest]
            assert "STORY-V1" not in "".join(frames) and "STORY-V2" not in "".join(frames)
            data, ids = await asyncio.to_thread(sse_replay, node, before)
            assert ids == [newest] and "STORY-V2" not in data
            # A client that had the original resumes from it: the newest only.
            frames = await ws_replay(node, story)
            assert alert_ids(frames) == [newest]
        r = run_alert("list", redis=redis_server)
        assert "STORY-V3" in r.stdout and "STORY-V1" not in r.stdout \
            and "STORY-V2" not in r.stdout

    run(main(), timeout=90)
