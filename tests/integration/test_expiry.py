"""Expiry: after an alert's `expires_at` a node neither replays nor lists it.

PROTOCOL.md, section 9: a client drops an alert at its `expires_at` (no
frame says so); a node leaves it out of replays after `since` and out of
`GET /v1/alerts` once that time has passed. Live delivery is not checked
against it. `alert push --expires` sets it.
"""
import asyncio
import json
import time

from alertd_fixture import (alertd, alertd_factory, apush, recv_alert_ids,  # noqa: F401
                            recv_hello, recv_json, run, tls_cert)
from conftest import run_alert


def rest_ids(srv):
    status, _, body = srv.get("/v1/alerts?limit=100")
    assert status == 200, body
    return [a["id"] for a in json.loads(body)["alerts"]]


def test_expired_alerts_are_neither_replayed_nor_listed(alertd, redis_server):
    async def main():
        async with alertd.connect() as live:
            await recv_hello(live)
            before = await apush(redis_server, "Before")
            r = await asyncio.to_thread(run_alert, "push", "--headline", "Short-lived",
                                        "--expires", "2s", redis=redis_server)
            assert r.returncode == 0, r.stderr
            short = r.stdout.strip()
            after = await apush(redis_server, "After")
            assert await recv_alert_ids(live, 3) == [before, short, after]
            expires = time.time() + 2.0

            # Before its time it is replayed and listed like any other.
            assert rest_ids(alertd) == [after, short, before]
            async with alertd.connect(f"since={before}") as ws:
                await recv_hello(ws)
                assert await recv_alert_ids(ws, 2, allow=()) == [short, after]
                frame = await recv_json(ws)
                assert frame["type"] == "replayed" and frame["count"] == 2, frame

            await asyncio.sleep(max(0.0, expires - time.time()) + 0.3)
            assert rest_ids(alertd) == [after, before]
            async with alertd.connect(f"since={before}") as ws:
                await recv_hello(ws)
                assert await recv_alert_ids(ws, 1, allow=()) == [after]
                frame = await recv_json(ws)
                assert frame == {"type": "replayed", "count": 1, "last_id": after}, frame
            # The item carries the time the client applies itself.
            items = json.loads(run_alert("list", "--json", redis=redis_server).stdout)
            assert [i for i in items if i["id"] == short][0]["expires_at"]

    run(main())
