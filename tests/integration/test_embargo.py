"""Embargoed alerts: `alert push --embargo-until` holds an alert outside the
stream; the nodes release it at its time, once.

ARCHITECTURE.md ("Redis": embargoes) and alert(1): until its time no node
delivers, replays, lists or counts it (WebSocket, SSE, REST, `alert list`);
at its time it is released exactly once, within a second, by whichever node
runs then (two here), or by the first node to start when none ran; its id is
given at release, so a client resuming with `since` never skips it.
`retract` of its handle cancels it, `update` replaces it.
"""
import asyncio
import http.client
import json
import re
import threading
import time

from alertd_fixture import (alertd_factory, apush, idkey, metric, push,  # noqa: F401
                            recv_alert_ids, recv_hello, recv_json, run, tls_cert)
from conftest import run_alert

HANDLE_RE = re.compile(r"^emb-[0-9a-f]{16}$")
ON_TIME = 1.0  # seconds a release may come after its time


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def hold(redis, headline, until, *extra):
    """`alert push --embargo-until`; returns the handle."""
    r = run_alert("push", "--headline", headline, "--embargo-until", until, *extra, redis=redis)
    assert r.returncode == 0, r.stderr
    handle = r.stdout.strip()
    assert HANDLE_RE.match(handle), r.stdout
    return handle


def pending(redis):
    """`alert list --embargoed --json`: {handle: entry}."""
    r = run_alert("list", "--embargoed", "--json", redis=redis)
    assert r.returncode == 0, r.stderr
    return {e["handle"]: e for e in json.loads(r.stdout)}


def release_time(redis, handle):
    """The wall-clock second the handle is due (from its release_at)."""
    at = pending(redis)[handle]["release_at"]
    return time.mktime(time.strptime(at[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone \
        + int(at[20:23]) / 1000


def headlines_listed(redis):
    r = run_alert("list", "--json", "--limit", "100", redis=redis)
    assert r.returncode == 0, r.stderr
    return [i.get("headline") for i in json.loads(r.stdout)]


def rest_headlines(srv):
    status, _, body = srv.get("/v1/alerts?limit=100")
    assert status == 200, body
    return [a.get("headline") for a in json.loads(body)["alerts"]]


def stream_headlines(redis):
    return [json.loads(f["item"]).get("headline")
            for _, f in redis.client().xrange("alert:stream")]


def released_total(*nodes):
    return sum(metric(n, "alertd_embargoes_released_total") for n in nodes)


class SseReader(threading.Thread):
    """A /v1/sse client reading in a thread: every alert event, with the
    wall-clock time it arrived."""

    def __init__(self, srv, last_event_id=None):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ctx,
                                                timeout=30)
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", "/v1/sse", headers=headers)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.status
        self.alerts = []  # (arrival time, item)
        self.hello = threading.Event()
        self.start()

    def run(self):
        ev = {}
        try:
            for raw in self.resp:
                line = raw.decode().rstrip("\r\n")
                if line.startswith(":"):
                    continue
                if line:
                    key, _, value = line.partition(":")
                    ev[key] = value[1:] if value.startswith(" ") else value
                    continue
                if ev.get("event") == "hello":
                    self.hello.set()
                elif ev.get("event") == "alert":
                    self.alerts.append((time.time(), json.loads(ev["data"])))
                ev = {}
        except (OSError, ValueError, http.client.HTTPException):
            pass  # closed by close()

    def close(self):
        self.conn.sock and self.conn.sock.close()


class WsReader:
    """A WebSocket client whose frames are read by a task: every alert, with
    the wall-clock time it arrived, and every other frame."""

    def __init__(self, ws):
        self.ws = ws
        self.alerts = []
        self.others = []
        self.task = asyncio.ensure_future(self._read())

    async def _read(self):
        try:
            async for msg in self.ws:
                frame = json.loads(msg)
                if frame["type"] == "alert":
                    self.alerts.append((time.time(), frame["alert"]))
                else:
                    self.others.append(frame)
        except Exception:  # noqa: BLE001 - closed at the end of the test
            pass

    @staticmethod
    async def open(srv, query=""):
        ws = await srv.connect(query)
        await recv_hello(ws)
        return WsReader(ws)

    async def close(self):
        await self.ws.close()
        self.task.cancel()


def copies(reader, headline):
    return [(t, a) for t, a in reader.alerts if a.get("headline") == headline]


async def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        await asyncio.sleep(0.02)


def assert_once(readers, headline):
    """Every reader has exactly one copy of `headline`; returns its id (the
    same everywhere)."""
    ids = set()
    for r in readers:
        got = copies(r, headline)
        assert len(got) == 1, f"{len(got)} copies of {headline!r}: {got}"
        ids.add(got[0][1]["id"])
    assert len(ids) == 1, ids
    return ids.pop()


def assert_once_on_time(readers, headline, due):
    """assert_once, each copy arrived within ON_TIME of `due`."""
    for r in readers:
        for arrived, _ in copies(r, headline):
            assert arrived - due <= ON_TIME, f"{headline!r} arrived {arrived - due:.3f}s late"
    return assert_once(readers, headline)


# ---------------------------------------------------------------------------
# Two nodes running across the release time
# ---------------------------------------------------------------------------
def test_embargo_invisible_until_its_time_then_delivered_once_on_two_nodes(
        redis_server, alertd_factory):
    a, b = alertd_factory(), alertd_factory()

    async def main():
        seen = push(redis_server, "Before")
        ws = [await WsReader.open(a, f"since={seen}"), await WsReader.open(b, f"since={seen}")]
        sse = [SseReader(a), SseReader(b)]
        for s in sse:
            assert s.hello.wait(10)

        handle = hold(redis_server, "Embargoed", "3s", "--topic", "world")
        due = release_time(redis_server, handle)
        meanwhile = await apush(redis_server, "Meanwhile")
        await wait_until(lambda: all(copies(r, "Meanwhile") for r in ws + sse), 10,
                         "the alert published meanwhile reaches every client")

        # Before its time: nowhere but `alert list --embargoed`.
        assert due - time.time() > 0.5, "the checks took too long to prove anything"
        assert "Embargoed" not in headlines_listed(redis_server)
        assert handle in pending(redis_server)
        for n in (a, b):
            assert rest_headlines(n) == ["Meanwhile", "Before"]
        assert stream_headlines(redis_server) == ["Before", "Meanwhile"]
        async with b.connect(f"since={seen}") as replay:  # a replay shows only what is public
            await recv_hello(replay)
            assert await recv_alert_ids(replay, 1, allow=()) == [meanwhile]
            assert (await recv_json(replay))["type"] == "replayed"
        assert released_total(a, b) == 0
        assert not any(copies(r, "Embargoed") for r in ws + sse)
        assert time.time() < due, "the checks ran past the release time"

        # At its time: every client gets it once, within a second.
        await wait_until(lambda: all(copies(r, "Embargoed") for r in ws + sse), 10,
                         "the released alert reaches every client")
        await asyncio.sleep(1.5)  # long enough for a second release to show
        released = assert_once_on_time(ws + sse, "Embargoed", due)
        item = copies(ws[0], "Embargoed")[0][1]
        assert item["kind"] == "alert" and item["version"] == 1 and item["topics"] == ["world"]
        # published_at is its release time, as `alert list --embargoed` said.
        assert abs(time.mktime(time.strptime(item["published_at"][:19], "%Y-%m-%dT%H:%M:%S"))
                   - time.timezone + int(item["published_at"][20:23]) / 1000 - due) < 0.002
        # Its id was given at release: newer than what was published meanwhile.
        assert idkey(released) > idkey(meanwhile)
        assert released_total(a, b) == 1
        assert stream_headlines(redis_server) == ["Before", "Meanwhile", "Embargoed"]
        assert pending(redis_server) == {}
        for n in (a, b):
            assert rest_headlines(n) == ["Embargoed", "Meanwhile", "Before"]

        # A client that had `meanwhile` and resumes from it gets the release.
        async with a.connect(f"since={meanwhile}") as resume:
            await recv_hello(resume)
            assert await recv_alert_ids(resume, 1, allow=()) == [released]
        for r in ws:
            await r.close()
        for s in sse:
            s.close()

    run(main())


# ---------------------------------------------------------------------------
# No node running at the release time
# ---------------------------------------------------------------------------
def test_embargo_due_while_no_node_runs_is_released_once_by_the_next_to_start(
        redis_server, alertd_factory):
    a, b = alertd_factory(), alertd_factory()
    seen = push(redis_server, "Before")
    handle = hold(redis_server, "Overdue", "2s")
    due = release_time(redis_server, handle)
    a.stop()
    b.stop()
    time.sleep(max(0.0, due - time.time()) + 1.0)
    assert stream_headlines(redis_server) == ["Before"]  # nobody released it
    assert handle in pending(redis_server)

    a.start()
    first_up = time.time()  # a is ready: subscribed and caught up
    b.start()

    async def main():
        readers = [await WsReader.open(n, f"since={seen}") for n in (a, b)]
        sse = SseReader(b, last_event_id=seen)
        await wait_until(lambda: all(copies(r, "Overdue") for r in readers + [sse]), 10,
                         "the overdue alert reaches every client")
        await asyncio.sleep(1.5)
        released = assert_once(readers + [sse], "Overdue")
        # Its id is Redis' clock at the release: within a second of the
        # first node being up.
        assert idkey(released)[0] / 1000 - first_up <= ON_TIME, released
        assert idkey(released) > idkey(seen)
        assert stream_headlines(redis_server) == ["Before", "Overdue"]
        assert released_total(a, b) == 1
        assert pending(redis_server) == {}
        for r in readers:
            await r.close()
        sse.close()

    run(main())
    with open(a.log) as fa, open(b.log) as fb:
        logs = fa.read() + fb.read()
    assert logs.count(f"handle={handle}") == 1, "released by exactly one worker"


# ---------------------------------------------------------------------------
# Cancel and replace
# ---------------------------------------------------------------------------
def test_embargo_cancel_and_replace_before_release(redis_server, alertd_factory):
    node = alertd_factory()

    async def main():
        reader = await WsReader.open(node)
        replaced = hold(redis_server, "First draft", "3s", "--topic", "world")
        cancelled = hold(redis_server, "Never published", "3s")
        due = release_time(redis_server, replaced)

        r = run_alert("update", replaced, "--headline", "Final", redis=redis_server)
        assert r.returncode == 0 and r.stdout.strip() == replaced, r.stderr
        r = run_alert("retract", cancelled, redis=redis_server)
        assert r.returncode == 0 and r.stdout.strip() == cancelled, r.stderr
        assert "never published" in r.stderr
        waiting = pending(redis_server)
        assert list(waiting) == [replaced]
        assert waiting[replaced]["item"]["headline"] == "Final"
        assert waiting[replaced]["item"]["topics"] == ["world"]  # the rest is kept
        assert release_time(redis_server, replaced) == due  # and so is its time

        # A cancelled handle is gone: a second retract says so.
        r = run_alert("retract", cancelled, redis=redis_server)
        assert r.returncode == 2 and "no such embargoed alert" in r.stderr, r.stderr

        await wait_until(lambda: copies(reader, "Final"), 10, "the replacement is released")
        await asyncio.sleep(1.5)
        released = assert_once_on_time([reader], "Final", due)
        item = copies(reader, "Final")[0][1]
        assert item["kind"] == "alert" and item["version"] == 1
        assert [a["headline"] for _, a in reader.alerts] == ["Final"]
        assert stream_headlines(redis_server) == ["Final"]

        # After its release the handle leads to the published alert.
        r = run_alert("retract", replaced, "--reason", "wrong", redis=redis_server)
        assert r.returncode == 0, r.stderr
        assert f"released as {released}" in r.stderr
        await wait_until(lambda: len(reader.alerts) == 2, 10, "the retraction arrives")
        retraction = reader.alerts[1][1]
        assert retraction["kind"] == "retraction" and retraction["ref"] == released
        await reader.close()

    run(main())


def test_embargo_update_can_move_the_release_time(redis_server, alertd_factory):
    node = alertd_factory()

    async def main():
        reader = await WsReader.open(node)
        handle = hold(redis_server, "Moved", "1s")
        r = run_alert("update", handle, "--embargo-until", "4s", redis=redis_server)
        assert r.returncode == 0 and r.stdout.strip() == handle, r.stderr
        due = release_time(redis_server, handle)
        await asyncio.sleep(2.0)
        assert reader.alerts == [] and handle in pending(redis_server)
        await wait_until(lambda: copies(reader, "Moved"), 10, "released at its new time")
        arrived = copies(reader, "Moved")[0][0]
        assert arrived >= due - 0.05, "released before its new time"
        assert_once_on_time([reader], "Moved", due)
        await reader.close()

    run(main())


# ---------------------------------------------------------------------------
# The CLI's rules (no node needed)
# ---------------------------------------------------------------------------
def test_embargo_cli_rules(redis_server):
    def fails(*args, status=2, says=""):
        r = run_alert(*args, redis=redis_server)
        assert r.returncode == status, (args, r.returncode, r.stderr)
        assert says in r.stderr, (args, r.stderr)

    fails("push", "--headline", "x", "--embargo-until", "soon", says="--embargo-until wants")
    fails("push", "--headline", "x", "--embargo-until", "2020-01-01T00:00:00Z",
          says="must be in the future")
    fails("push", "--headline", "x", "--embargo-until", "400d", says="--embargo-until wants")
    fails("push", "--headline", "x", "--embargo-until", "1h", "--expires", "30m",
          says="expires_at: must be after the release time")
    published = push(redis_server, "Public")
    fails("update", published, "--embargo-until", "1h", says="only for a new alert")
    fails("update", "emb-123", "--headline", "x", says="not an alert id")
    fails("retract", "emb-0123456789abcdef", says="no such embargoed alert")
    fails("list", "--embargoed", "--topic", "world", says="do not apply to --embargoed")

    # An idempotency key holds once: the retry prints the same handle.
    first = hold(redis_server, "Keyed", "1h", "--key", "emb-key-1")
    r = run_alert("push", "--headline", "Keyed", "--embargo-until", "1h", "--key", "emb-key-1",
                  redis=redis_server)
    assert r.returncode == 0 and r.stdout.strip() == first, r.stderr
    assert list(pending(redis_server)) == [first]

    # An RFC 3339 time works as well as a duration; an expiry after it is kept.
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))
    second = hold(redis_server, "At a time", at, "--expires", "3h")
    entry = pending(redis_server)[second]
    assert entry["release_at"] == at[:19] + ".000Z" == entry["item"]["published_at"]
    assert entry["item"]["expires_at"] > entry["release_at"]
    # Listed next first, and nothing of it in the history.
    assert [e for e in pending(redis_server)] == [first, second]
    assert stream_headlines(redis_server) == ["Public"]
