"""deploy/redis-acl.conf, for real.

The ACL file shipped in deploy/ is loaded into a private redis-server (its
`>change-me-...` placeholder passwords replaced by random ones, as an operator
would), then:

- `alertd` authenticates as the `alertd` user, becomes ready and stays ready:
  its SUBSCRIBE, its catch-up XREVRANGE/XRANGE and its once-a-second
  heartbeat PUBLISH are all allowed (a refused heartbeat would show as Redis
  reconnects within a second or two), and so are its receipts (HINCRBY,
  SADD, EXPIRE of alert:rcpt:*), which `alert stats` reads as the
  publisher; its release script is refused (logged once, the node serves
  on), so an embargoed alert stays pending past its time until a second
  node, as `alertd-release`, releases it once to the readers of both;
- `alert push/update/retract/list/status` (and `push --durable`'s WAIT) as
  the `publisher` user work, a pushed alert reaches a client on /v1/sse,
  an embargoed one is listed by `list --embargoed` while pending, and
  `retract` of its handle cancels it;
- no user can do more than that: `alertd` cannot write the stream or the
  live channel at all; `alertd-release` only as far as releasing needs
  (XADD, PUBLISH on alert:live); neither may delete or trim them, hold an
  embargo, touch the publisher's idempotency keys and version counters or
  any other key; the publisher cannot touch other keys or channels; nobody
  gets in without a password.
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
    assert {"default", "alertd", "alertd-release", "publisher", "push", "ops"} <= set(users), users
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


def node_log(node):
    """The node's log, as lines."""
    with open(node.log, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


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

        # The node's receipts reach Redis, and the publisher reads them.
        deadline = time.monotonic() + 10
        while True:
            r = run_alert("stats", first, "--json", redis=pub)
            assert r.returncode == 0, r.stderr
            if json.loads(r.stdout)["readers"] == 1:
                break
            assert time.monotonic() < deadline, r.stdout
            time.sleep(0.2)
        assert json.loads(r.stdout)["nodes"] == 1, r.stdout

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

        # An embargo: held and replaced by the publisher, listed. The node
        # runs as `alertd`, which has no release grant: its release script is
        # refused (logged once), the node serves on, and the alert stays
        # pending past its time.
        r = run_alert("push", "--headline", "Embargoed through the ACL", "--embargo-until",
                      "2s", redis=pub)
        assert r.returncode == 0, r.stderr
        due_at = time.monotonic() + 2.0
        handle = r.stdout.strip()
        r = run_alert("update", handle, "--headline", "Replaced through the ACL", redis=pub)
        assert r.returncode == 0 and r.stdout.strip() == handle, r.stderr
        cancelled = run_alert("push", "--headline", "Cancelled", "--embargo-until", "1s",
                              redis=pub).stdout.strip()
        r = run_alert("retract", cancelled, redis=pub)
        assert r.returncode == 0 and "cancelled" in r.stderr, r.stderr
        # Two release runs (at most RELEASE_EVERY_MS apart) past its time.
        time.sleep(max(0.0, due_at + 2.5 - time.monotonic()))
        r = run_alert("list", "--embargoed", "--json", redis=pub)
        assert r.returncode == 0, r.stderr
        assert [e["handle"] for e in json.loads(r.stdout)] == [handle], r.stdout
        assert metric(node, "alertd_embargoes_released_total") == 0
        assert srv.client().xlen("alert:stream") == 4  # push, update, retract, durable
        refusals = [ln for ln in node_log(node) if "NOPERM" in ln]
        assert len(refusals) == 1, node.tail()
        assert "embargo release failed" in refusals[0] and "level=error" in refusals[0], \
            refusals

        # A second node as `alertd-release` releases it, once; the readers of
        # both nodes receive it.
        releaser = AlertdServer(tmp_path, url_for(srv, users, "alertd-release"), tls_cert,
                                extra=("--node", "acl-release"))
        releaser.start()
        try:
            sse2 = SseClient(releaser)
            try:
                sse2.wait_for("hello")
                for reader in (sse, sse2):
                    item = json.loads(reader.wait_for("alert", timeout=10.0)["data"])
                    assert item["headline"] == "Replaced through the ACL", item
            finally:
                sse2.close()
            assert metric(releaser, "alertd_embargoes_released_total") == 1
            assert metric(node, "alertd_embargoes_released_total") == 0
            assert srv.client().xlen("alert:stream") == 5  # ... and the released one
            r = run_alert("list", "--embargoed", "--json", redis=pub)
            assert r.returncode == 0 and json.loads(r.stdout) == [], r.stdout
            assert not [ln for ln in node_log(releaser) if "NOPERM" in ln], releaser.tail()
            assert metric(releaser, "alertd_redis_reconnects_total") == 0, releaser.tail()
        finally:
            releaser.stop()

        # The heartbeat PUBLISH on alert:hb:* is allowed: after a few of them
        # the node never had to reconnect, and it is still ready (the refused
        # release script changed nothing there).
        time.sleep(max(0.0, HEARTBEAT_WINDOW - (time.monotonic() - ready_at)))
        assert metric(node, "alertd_redis_reconnects_total") == 0, node.tail()
        assert metric(node, "alertd_receipt_flush_errors_total") == 0, node.tail()
        assert metric(node, "alertd_redis_connected") == workers
        assert metric(node, "alertd_ready") == 1
        assert https_get(node.port, "/readyz", node.ctx)[0] == 200
        log = node_log(node)
        assert len([ln for ln in log if "NOPERM" in ln]) == 1, node.tail()
        assert not [ln for ln in log if "redis unavailable" in ln], node.tail()
    finally:
        if sse:
            sse.close()
        node.stop()


def test_the_acl_grants_nothing_more(acl_redis):
    srv, users = acl_redis
    alertd = client_for(srv, users, "alertd")
    releaser = client_for(srv, users, "alertd-release")
    publisher = client_for(srv, users, "publisher")

    # Nobody gets in without a password.
    anon = redislib.Redis(host="127.0.0.1", port=srv.port, socket_timeout=5)
    with pytest.raises(redislib.exceptions.AuthenticationError):
        anon.ping()
    with pytest.raises(redislib.exceptions.RedisError):
        redislib.Redis(host="127.0.0.1", port=srv.port, username="default", password="x",
                       socket_timeout=5).ping()

    # A node: reads the stream, heartbeats and counts receipts, nothing else;
    # `alertd-release` may also run the release script and what it calls.
    assert publisher.xadd("alert:stream", {"item": "{}"})
    for node in (alertd, releaser):
        assert node.ping() is True
        assert len(node.xrange("alert:stream")) == 1
        assert len(node.xrevrange("alert:stream", count=1)) == 1
        assert node.publish("alert:hb:probe", "1") == 0
        assert refused(node.delete, "alert:stream")
        assert refused(node.xtrim, "alert:stream", 0)
        assert refused(node.xdel, "alert:stream", "0-1")
        assert refused(node.get, "alert:idem:x")
        assert refused(node.set, "alert:idem:x", "1")
        assert refused(node.set, "alert:ver:x", "1")
        assert refused(node.hset, "alert:embargo", "emb-0000000000000000", "1 {}")
        assert refused(node.zadd, "alert:embargo:due", {"emb-0000000000000000": 1})
        assert refused(node.get, "alert:embargo:released:x")
        assert refused(node.publish, "other:live", "x")
        assert refused(node.xrange, "other:stream")
        assert refused(node.keys, "*")
        assert refused(node.config_get, "*")
        assert refused(node.eval, "return redis.call('GET', KEYS[1])", 1, "alert:idem:x")
        assert refused(node.eval, "return redis.call('SET', KEYS[1], 'x')", 1, "other:key")
        assert refused(node.hset, "alert:rcpt:1-0:n", "sockets", 9)
        assert refused(node.hincrby, "alert:ver:x", "sockets", 1)
        assert refused(node.sadd, "other:set", "n")
    # `alertd`: no release grant: nothing that writes the stream or the live
    # channel, nor removes a pending embargo, directly or in a script.
    assert refused(alertd.xadd, "alert:stream", {"item": "{}"})
    assert refused(alertd.publish, "alert:live", "x")
    assert refused(alertd.hdel, "alert:embargo", "emb-0000000000000000")
    assert refused(alertd.zrem, "alert:embargo:due", "emb-0000000000000000")
    assert refused(alertd.hget, "alert:embargo", "emb-0000000000000000")
    assert refused(alertd.set, "alert:embargo:released:x", "1")
    assert refused(alertd.time)
    assert refused(alertd.eval, "return 1", 0)
    assert refused(alertd.evalsha, "0" * 40, 0)
    # `alertd-release`: exactly the release script's commands.
    assert releaser.time()
    assert releaser.eval("return 1", 0) == 1
    assert releaser.hget("alert:embargo", "emb-0000000000000000") is None
    assert releaser.zrangebyscore("alert:embargo:due", "-inf", "+inf") == []
    assert releaser.zrange("alert:embargo:due", 0, 0) == []
    assert releaser.hdel("alert:embargo", "emb-0000000000000000") == 0
    assert releaser.zrem("alert:embargo:due", "emb-0000000000000000") == 0
    assert releaser.set("alert:embargo:released:x", "1-0") is True
    assert refused(releaser.get, "alert:embargo:released:x")  # write-only
    assert releaser.xadd("alert:stream", {"item": "{}"})
    assert releaser.publish("alert:live", "{}") == 0
    assert refused(releaser.publish, "alert:other", "x")
    assert refused(releaser.hset, "alert:embargo", "emb-0000000000000000", "1 {}")
    assert refused(releaser.hgetall, "alert:embargo")
    assert refused(releaser.zadd, "alert:embargo:due", {"emb-0000000000000000": 1})
    assert refused(releaser.set, "alert:stream:x", "1")
    assert refused(releaser.delete, "alert:embargo:released:x")
    assert refused(releaser.xadd, "other:stream", {"item": "{}"})
    assert refused(releaser.eval, "return redis.call('XADD', KEYS[1], '*', 'a', 'b')", 1,
                   "other:stream")
    srv.client().delete("alert:embargo:released:x")
    srv.client().xtrim("alert:stream", maxlen=1, approximate=False)
    # ...but for their receipts: counts added, the node listed, a lifetime set.
    assert alertd.hincrby("alert:rcpt:1-0:n", "sockets", 1) == 1
    assert releaser.hincrby("alert:rcpt:1-0:n", "sockets", 1) == 2
    assert alertd.sadd("alert:rcpt:1-0", "n") == 1
    assert releaser.sadd("alert:rcpt:1-0", "n") == 0
    for node in (alertd, releaser):
        assert node.expire("alert:rcpt:1-0:n", 60) is True
        assert refused(node.hgetall, "alert:rcpt:1-0:n")
        assert refused(node.delete, "alert:rcpt:1-0:n")

    # ...so a node's credentials cannot publish or hold an alert (exit 3,
    # nothing stored).
    for user in ("alertd", "alertd-release"):
        for extra in ((), ("--embargo-until", "1h")):
            r = run_alert("push", "--headline", "Forged", *extra,
                          redis=url_for(srv, users, user))
            assert r.returncode == 3, (user, r.returncode, r.stderr)
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
    # It reads receipts, and cannot forge them.
    assert publisher.hgetall("alert:rcpt:1-0:n") == {"sockets": "2"}
    assert publisher.smembers("alert:rcpt:1-0") == {"n"}
    assert refused(publisher.hincrby, "alert:rcpt:1-0:n", "sockets", 1)
    assert refused(publisher.delete, "alert:rcpt:1-0")


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

        # A retraction: the plan script's EXISTS of the story mark and SET of
        # the retracted mark, the watch's EXISTS, then a withdrawal to each.
        r = run_alert("retract", first, "--reason", "test", redis=pub)
        assert r.returncode == 0, r.stderr
        standin.wait_accepted(2 * len(subs))
        assert standin.errors == []
        for s in subs:
            assert [(d["payload"].get("kind"), d["payload"].get("ref"))
                    for d in standin.accepted[s.name]][1:] == [("retraction", first)]
        assert ops.exists(f"alert:push:story:{first}", f"alert:push:retracted:{first}") == 2

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
    assert push.sadd("alert:push:sending:1-0:0", "x", "y") == 2  # the unmark script's SREM
    assert push.srem("alert:push:sending:1-0:0", "y") == 1
    # The story marks: the plan script's SET and EXISTS, the watch's EXISTS.
    assert push.set("alert:push:story:1-0", "1-0", ex=60)
    assert push.set("alert:push:retracted:1-0", "2-0", ex=60)
    assert push.exists("alert:push:story:1-0", "alert:push:retracted:1-0") == 2
    assert push.delete("alert:push:story:1-0", "alert:push:retracted:1-0") == 2
    assert push.hgetall("alert:push:reg:1") == {"x": "{}"} and push.hget("alert:push:reg:1", "x")
    assert push.delete("alert:push:sent:1-0:0", "alert:push:sending:1-0:0") == 2 and push.hdel("alert:push:reg:1", "x") == 1
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
