"""deploy/redis-acl.conf, for real.

The ACL file shipped in deploy/ is loaded into a private redis-server (its
`>change-me-...` placeholder passwords replaced by random ones, as an operator
would), then:

- `alertd` authenticates as the `alertd` user, becomes ready and stays ready:
  its SUBSCRIBE, its catch-up XREVRANGE/XRANGE and its once-a-second
  heartbeat PUBLISH are all allowed (a refused heartbeat would show as Redis
  reconnects within a second or two), and so is its release script;
- `alert push/update/retract/list/status` (and `push --durable`'s WAIT) as
  the `publisher` user work, a
  pushed alert reaches a client on /v1/sse, and so does an embargoed one
  (held by the publisher, released by the node), which `list --embargoed`
  shows until then and `retract` of its handle cancels;
- neither user can do more than that: a node may write the stream and the
  live channel only as far as releasing needs (XADD, PUBLISH on alert:live),
  never delete or trim them, never hold an embargo, touch the publisher's
  idempotency keys and version counters or any other key; the publisher
  cannot touch other keys or channels; nobody gets in without a password.
"""
import http.client
import json
import os
import re
import secrets
import time

import pytest
import redis as redislib

from conftest import ROOT, run_alert
from alertd_fixture import ID_RE, AlertdServer, https_get, metric, tls_cert  # noqa: F401

ACL_FILE = os.path.join(ROOT, "deploy", "redis-acl.conf")
PLACEHOLDER = re.compile(r">change-me-[A-Za-z0-9_-]*")
HEARTBEAT_WINDOW = 3.0  # alertd publishes its heartbeat every second


# ---------------------------------------------------------------------------
# The ACL file, with real passwords, in a private redis-server
# ---------------------------------------------------------------------------
def acl_with_passwords(tmp_path):
    """Writes a copy of deploy/redis-acl.conf with each placeholder password
    replaced; returns (path, {user: password})."""
    with open(ACL_FILE) as f:
        text = f.read()
    users, out = {}, []
    for line in text.splitlines():
        if not line.strip():
            out.append(line)
            continue
        # redis-server refuses comments in an ACL file: every line is a user.
        assert line.startswith("user "), f"not a user line in {ACL_FILE}: {line!r}"
        name = line.split()[1]
        found = PLACEHOLDER.findall(line)
        if " on " in f" {line} ":
            assert len(found) == 1, \
                f"user {name}: expected exactly one >change-me-... placeholder password"
        password = secrets.token_hex(16)
        users[name] = password
        out.append(PLACEHOLDER.sub(">" + password, line))
    path = tmp_path / "users.acl"
    path.write_text("\n".join(out) + "\n")
    os.chmod(path, 0o600)
    return str(path), users


@pytest.fixture
def acl_redis(redis_factory, tmp_path):
    """(redis server with the deploy ACL, {user: password})."""
    path, users = acl_with_passwords(tmp_path)
    assert {"default", "alertd", "publisher", "push", "ops"} <= set(users), users
    srv = redis_factory(extra=["--aclfile", path], user="ops", password=users["ops"])
    return srv, users


def url_for(srv, users, user):
    return f"redis://{user}:{users[user]}@127.0.0.1:{srv.port}"


def client_for(srv, users, user):
    return redislib.Redis(host="127.0.0.1", port=srv.port, username=user,
                          password=users[user], decode_responses=True,
                          socket_timeout=5)


def refused(fn, *args):
    """True when Redis answers fn(*args) with NOPERM; fails if it is allowed."""
    try:
        fn(*args)
    except redislib.exceptions.NoPermissionError:  # a NOPERM reply
        return True
    raise AssertionError(f"{fn.__name__}{args} was allowed")


# ---------------------------------------------------------------------------
# A /v1/sse reader (over TLS, as production runs)
# ---------------------------------------------------------------------------
class SseClient:
    def __init__(self, srv, timeout=10.0):
        self.conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ctx,
                                                timeout=timeout)
        self.conn.request("GET", "/v1/sse", headers={"Accept": "text/event-stream"})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.status
        assert "text/event-stream" in self.resp.getheader("content-type", "")

    def next_event(self, deadline):
        """The next event as a dict (event, id, data), comments skipped."""
        ev = {}
        while time.monotonic() < deadline:
            line = self.resp.readline()
            if not line:
                raise AssertionError(f"SSE stream ended; partial event {ev}")
            line = line.decode().rstrip("\r\n")
            if line == "":
                if ev:
                    return ev
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            ev[key] = value[1:] if value.startswith(" ") else value
        raise AssertionError("no complete SSE event before the deadline")

    def wait_for(self, kind, alert_id=None, timeout=10.0):
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            ev = self.next_event(deadline)
            seen.append(ev)
            if ev.get("event") == kind and (alert_id is None or ev.get("id") == alert_id):
                return ev
            assert time.monotonic() < deadline, f"no {kind} {alert_id} in {seen}"

    def close(self):
        self.conn.close()


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------
def test_alertd_and_publisher_work_through_the_acl(acl_redis, tls_cert, tmp_path):  # noqa: F811
    srv, users = acl_redis
    workers = 1
    pub = url_for(srv, users, "publisher")
    node = AlertdServer(tmp_path, url_for(srv, users, "alertd"), tls_cert,
                        extra=("--node", "acl-node"))
    node.start()  # waits for /readyz 200: authenticated, subscribed, caught up
    ready_at = time.monotonic()
    sse = None
    try:
        sse = SseClient(node)
        hello = json.loads(sse.wait_for("hello")["data"])
        assert hello["node"] == "acl-node"

        # A new alert, as the publisher: stored, published, delivered.
        r = run_alert("push", "--headline", "Published through the ACL", "--topic", "world",
                      "--key", "acl-1", redis=pub)
        assert r.returncode == 0, r.stderr
        first = r.stdout.strip()
        assert ID_RE.match(first), r.stdout
        assert "no alertd node" not in r.stderr, r.stderr  # the node is subscribed
        ev = sse.wait_for("alert", first)
        item = json.loads(ev["data"])
        assert item["headline"] == "Published through the ACL" and item["topics"] == ["world"]

        # The idempotency key (GET + SET alert:idem:*) works: no second publish.
        again = run_alert("push", "--headline", "Published through the ACL", "--topic",
                          "world", "--key", "acl-1", redis=pub)
        assert again.returncode == 0 and again.stdout.strip() == first, again.stderr

        # Update (XRANGE of the ref, the version counter GET/SET) and retraction.
        r = run_alert("update", first, "--headline", "Updated through the ACL", redis=pub)
        assert r.returncode == 0, r.stderr
        upd = json.loads(sse.wait_for("alert", r.stdout.strip())["data"])
        assert upd["kind"] == "update" and upd["ref"] == first and upd["version"] == 2
        r = run_alert("retract", first, "--reason", "test", redis=pub)
        assert r.returncode == 0, r.stderr
        ret = json.loads(sse.wait_for("alert", r.stdout.strip())["data"])
        assert ret["kind"] == "retraction" and ret["ref"] == first

        # --durable's WAIT is allowed: with no replica it confirms on none
        # (exit 5), where a refused WAIT would say NOPERM.
        r = run_alert("push", "--headline", "Durable through the ACL", "--durable",
                      "--durable-timeout", "50", redis=pub)
        assert r.returncode == 5, r.stderr
        assert "0 of the 1 replicas" in r.stderr and "NOPERM" not in r.stderr, r.stderr
        sse.wait_for("alert", r.stdout.strip())

        # list (XREVRANGE) and status (PUBSUB NUMSUB, XLEN) as the publisher.
        r = run_alert("list", "--json", redis=pub)
        assert r.returncode == 0, r.stderr
        assert first in r.stdout
        r = run_alert("status", "--json", redis=pub)
        assert r.returncode == 0, r.stderr
        status = json.loads(r.stdout)
        assert status["nodes"] == workers and status["stream_length"] == 4, status

        # An embargo: held and replaced by the publisher, listed, released by
        # the node (its release script, under the alertd user), delivered.
        r = run_alert("push", "--headline", "Embargoed through the ACL", "--embargo-until",
                      "2s", redis=pub)
        assert r.returncode == 0, r.stderr
        handle = r.stdout.strip()
        r = run_alert("update", handle, "--headline", "Replaced through the ACL", redis=pub)
        assert r.returncode == 0 and r.stdout.strip() == handle, r.stderr
        r = run_alert("list", "--embargoed", "--json", redis=pub)
        assert r.returncode == 0, r.stderr
        assert [e["handle"] for e in json.loads(r.stdout)] == [handle]
        cancelled = run_alert("push", "--headline", "Cancelled", "--embargo-until", "1s",
                              redis=pub).stdout.strip()
        r = run_alert("retract", cancelled, redis=pub)
        assert r.returncode == 0 and "cancelled" in r.stderr, r.stderr
        ev = sse.wait_for("alert", timeout=10.0)
        item = json.loads(ev["data"])
        assert item["headline"] == "Replaced through the ACL", item
        assert metric(node, "alertd_embargoes_released_total") == 1
        assert srv.client().xlen("alert:stream") == 5  # push, update, retract, durable, released

        # The heartbeat PUBLISH on alert:hb:* is allowed: after a few of them
        # the node never had to reconnect, and it is still ready.
        time.sleep(max(0.0, HEARTBEAT_WINDOW - (time.monotonic() - ready_at)))
        assert metric(node, "alertd_redis_reconnects_total") == 0, node.tail()
        assert metric(node, "alertd_redis_connected") == workers
        assert metric(node, "alertd_ready") == 1
        assert https_get(node.port, "/readyz", node.ctx)[0] == 200
        with open(node.log, encoding="utf-8", errors="replace") as f:
            log = f.read()
        assert "NOPERM" not in log and "redis unavailable" not in log, node.tail()
    finally:
        if sse:
            sse.close()
        node.stop()


def test_the_acl_grants_nothing_more(acl_redis):
    srv, users = acl_redis
    alertd = client_for(srv, users, "alertd")
    publisher = client_for(srv, users, "publisher")

    # Nobody gets in without a password.
    anon = redislib.Redis(host="127.0.0.1", port=srv.port, socket_timeout=5)
    with pytest.raises(redislib.exceptions.AuthenticationError):
        anon.ping()
    with pytest.raises(redislib.exceptions.RedisError):
        redislib.Redis(host="127.0.0.1", port=srv.port, username="default", password="x",
                       socket_timeout=5).ping()

    # A node: reads the stream, heartbeats and releases embargoes, nothing else.
    assert publisher.xadd("alert:stream", {"item": "{}"})
    assert alertd.ping() is True
    assert len(alertd.xrange("alert:stream")) == 1
    assert len(alertd.xrevrange("alert:stream", count=1)) == 1
    assert alertd.publish("alert:hb:probe", "1") == 0
    assert refused(alertd.delete, "alert:stream")
    assert refused(alertd.xtrim, "alert:stream", 0)
    assert refused(alertd.xdel, "alert:stream", "0-1")
    assert refused(alertd.get, "alert:idem:x")
    assert refused(alertd.set, "alert:idem:x", "1")
    assert refused(alertd.set, "alert:ver:x", "1")
    assert refused(alertd.hset, "alert:embargo", "emb-0000000000000000", "1 {}")
    assert refused(alertd.zadd, "alert:embargo:due", {"emb-0000000000000000": 1})
    assert refused(alertd.get, "alert:embargo:released:x")
    assert refused(alertd.publish, "other:live", "x")
    assert refused(alertd.xrange, "other:stream")
    assert refused(alertd.keys, "*")
    assert refused(alertd.config_get, "*")
    assert refused(alertd.eval, "return redis.call('GET', KEYS[1])", 1, "alert:idem:x")
    assert refused(alertd.eval, "return redis.call('SET', KEYS[1], 'x')", 1, "other:key")

    # ...so a node's credentials cannot publish or hold an alert (exit 3,
    # nothing stored).
    for extra in ((), ("--embargo-until", "1h")):
        r = run_alert("push", "--headline", "Forged", *extra,
                      redis=url_for(srv, users, "alertd"))
        assert r.returncode == 3, (r.returncode, r.stderr)
    assert srv.client().xlen("alert:stream") == 1
    assert srv.client().hlen("alert:embargo") == 0

    # The publisher: the alert keys and the live channel only.
    assert refused(publisher.publish, "alert:hb:probe", "1")
    assert refused(publisher.publish, "other:live", "x")
    assert refused(publisher.set, "other", "1")
    assert refused(publisher.get, "session:1")
    assert refused(publisher.delete, "alert:stream")
    assert refused(publisher.flushall)
    assert refused(publisher.keys, "*")
    assert refused(publisher.config_get, "*")
    assert refused(publisher.eval, "return 1", 1, "other:key")
    assert refused(publisher.hset, "other:hash", "a", "1")
    assert refused(publisher.zadd, "other:due", {"a": 1})


# ---------------------------------------------------------------------------
# The push gateway's user
# ---------------------------------------------------------------------------
class _Url:
    """What PushGateway needs of a Redis: its URL (here with the push user)."""

    def __init__(self, url):
        self.url = url


def test_the_push_gateway_works_through_the_acl(acl_redis, tls_cert, tmp_path):  # noqa: F811
    from push_fixture import PushGateway, make_vapid_key
    from webpush_standin import WebPushStandin

    srv, users = acl_redis
    pub = url_for(srv, users, "publisher")
    standin = WebPushStandin(tls_cert.cert, tls_cert.key)
    gw = PushGateway(tmp_path, _Url(url_for(srv, users, "push")), tls_cert,
                     make_vapid_key(tmp_path / "vapid.pem"),
                     ("--max-registrations-per-min", "0", "--claim-after", "3"))
    try:
        gw.start()  # ready: authenticated, both consumer groups made (XGROUP CREATE)
        started = time.monotonic()
        standin.vapid_public = gw.vapid_public_key()
        subs = [standin.subscribe(f"acl{i}") for i in range(3)]
        gone = standin.subscribe("gone")
        for s in subs + [gone]:
            status, _, body = gw.register(s, topics=["world"])  # HSET
            assert status == 201, body
        status, _, body = gw.register(subs[0], topics=["world"])  # a refresh
        assert status == 200, body
        standin.plan("gone", (410, {}))

        # XREADGROUP, the plan script (XPENDING, SET, XADD, XACK), the jobs'
        # reads (GET, SMEMBERS, HGETALL), SADD/EXPIRE of the done sets, the
        # finish script (XACK, XDEL, DEL), the 410's removal (EVAL HGET/HDEL).
        r = run_alert("push", "--headline", "Pushed through the ACL", "--topic", "world",
                      "--urgency", "flash", redis=pub)
        assert r.returncode == 0, r.stderr
        first = r.stdout.strip()
        standin.wait_accepted(len(subs))
        deadline = time.monotonic() + 30
        while gw.metric("jobs_done_total") < 1024 or gw.metric("removed_total") < 1:
            assert time.monotonic() < deadline, gw.log()
            time.sleep(0.05)
        assert standin.errors == []
        assert {n: [d["payload"]["id"] for d in v] for n, v in standin.accepted.items()} == \
            {s.name: [first] for s in subs}
        ops = srv.client()
        assert ops.xlen("alert:push:jobs") == 0
        assert sum(ops.hlen(k) for k in ops.keys("alert:push:reg:*")) == len(subs)

        # Unregistering (HDEL); and the takeover round (XAUTOCLAIM on both
        # groups), every --claim-after / 3 s: a few have run by now.
        rid = gw.register(subs[2], topics=["world"])[2]["id"]
        assert gw.api("DELETE", f"/v1/push/registrations/{rid}")[0] == 204
        time.sleep(max(0.0, started + 3.5 - time.monotonic()))
        assert gw.proc.poll() is None and gw.admin("GET", "/readyz")[0] == 200
        log = gw.log()
        assert "NOPERM" not in log, log
        assert users["push"] not in log, "the Redis password is never logged"
    finally:
        gw.stop()
        standin.stop()


def test_the_push_user_can_do_nothing_more(acl_redis):
    srv, users = acl_redis
    push = client_for(srv, users, "push")
    publisher = client_for(srv, users, "publisher")
    assert publisher.xadd("alert:stream", {"item": "{}"})

    # Its own keys, and the stream only through its consumer group.
    assert push.ping() is True
    push.xgroup_create("alert:stream", "push", id="0", mkstream=True)
    assert len(push.xreadgroup("push", "gw", {"alert:stream": ">"}, count=1)[0][1]) == 1
    assert push.hset("alert:push:reg:1", "x", "{}") == 1
    # Each command src/push sends, allowed (the gateway ignores a refused
    # XAUTOCLAIM, so its run above cannot show that one).
    push.xgroup_create("alert:push:jobs", "push", id="0", mkstream=True)
    job = push.xadd("alert:push:jobs", {"alert": "1-0", "shard": "0"})
    assert push.xreadgroup("push", "gw", {"alert:push:jobs": ">"}, count=1)
    assert push.xpending("alert:stream", "push")["pending"] == 1
    for key in ("alert:stream", "alert:push:jobs"):
        push.xautoclaim(key, "push", "gw2", 0, count=4)
    assert push.xclaim("alert:push:jobs", "push", "gw", 0, [job], justid=True) == [job]
    assert push.xack("alert:stream", "push", "0-1") == 0
    assert push.xack("alert:push:jobs", "push", job) == 1 and push.xdel("alert:push:jobs", job)
    assert push.set("alert:push:item:1-0", "{}", ex=60) and push.get("alert:push:item:1-0")
    assert push.sadd("alert:push:sent:1-0:0", "x") and push.expire("alert:push:sent:1-0:0", 60)
    assert push.smembers("alert:push:sent:1-0:0") == {"x"}
    assert push.hgetall("alert:push:reg:1") == {"x": "{}"} and push.hget("alert:push:reg:1", "x")
    assert push.delete("alert:push:sent:1-0:0") == 1 and push.hdel("alert:push:reg:1", "x") == 1
    # The stream: no writing, trimming, deleting or plain reading of it.
    assert refused(push.xadd, "alert:stream", {"item": "{}"})
    assert refused(push.xdel, "alert:stream", "0-1")
    assert refused(push.xtrim, "alert:stream", 0)
    assert refused(push.delete, "alert:stream")
    assert refused(push.xrange, "alert:stream")
    # (A script may name the stream, for the plan script; what it calls on
    # it is checked like any command.)
    with pytest.raises(redislib.exceptions.ResponseError, match="can't access"):
        push.eval("return redis.call('XADD', KEYS[1], '*', 'item', '{}')", 1, "alert:stream")
    assert srv.client().xlen("alert:stream") == 1
    # Nothing of alertd's or the publisher's, no channel, no other key.
    assert refused(push.publish, "alert:live", "x")
    assert refused(push.get, "alert:idem:x")
    assert refused(push.set, "alert:ver:x", "1")
    assert refused(push.hset, "alert:embargo", "emb-0000000000000000", "1 {}")
    assert refused(push.get, "other:key")
    assert refused(push.xautoclaim, "other:stream", "push", "gw", 0)
    assert refused(push.keys, "*")
    assert refused(push.flushall)
    assert refused(push.config_get, "*")
    assert refused(push.eval, "return redis.call('GET', KEYS[1])", 1, "other:key")
    # ...and the others cannot touch the registry.
    assert refused(client_for(srv, users, "alertd").hgetall, "alert:push:reg:1")
    assert refused(publisher.hgetall, "alert:push:reg:1")
