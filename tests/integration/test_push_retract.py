"""Retractions in alertd-push (PROTOCOL.md section 13, ARCHITECTURE.md "The
push gateway"): a retraction read while its story is still being sent
stops the story's sends in every gateway of the fleet (the mark
P:push:retracted:<story> in Redis, read as each job starts and every
100 ms while the story is sent); the requests in flight finish. Then
every device the story was sent to gets a message that shows nothing and
withdraws it: Web Push (the service worker closes the notification),
APNs background, FCM data only."""
import http.client
import json
import time
import types

from conftest import run_alert
from alertd_fixture import push
from push_fixture import (SHARDS, PushGateway, apns, apns_args, fcm, fcm_args,  # noqa: F401
                          gateway_factory, same_shard_names, standin, tls_cert, vapid_key,
                          wait_metric)


def register_all(gw, subs, topics=None):
    conn = http.client.HTTPSConnection("127.0.0.1", gw.port, timeout=10,
                                       context=gw.cert.client_context())
    try:
        for s in subs:
            status, _, body = gw.register(s, topics=topics, conn=conn)
            assert status == 201, body
    finally:
        conn.close()


def retract(redis, alert_id, reason="Published in error"):
    r = run_alert("retract", alert_id, "--reason", reason, redis=redis)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def wait_mark(redis, story, timeout=30.0):
    """The time (monotonic) a gateway had marked the story retracted."""
    r = redis.client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if r.exists(f"alert:push:retracted:{story}"):
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError(f"the story {story} was never marked retracted")


def arrivals(standin, subs, alert_id):
    """(time, name) of each request of alert_id the stand-in took."""
    with standin.lock:
        return sorted((d["time"], s.name) for s in subs for d in standin.accepted[s.name]
                      if d["payload"]["id"] == alert_id)


def notices(standin, subs, story):
    with standin.lock:
        return {s.name: [d for d in standin.accepted[s.name]
                         if d["payload"].get("kind") == "retraction"] for s in subs}


def wait_settled(gateways, jobs, timeout=90.0):
    """Until the gateways finished `jobs` jobs between them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(g.metric("jobs_done_total") for g in gateways) >= jobs:
            return
        time.sleep(0.05)
    raise AssertionError(f"jobs done {[g.metric('jobs_done_total') for g in gateways]}, "
                         f"not {jobs}")


def test_a_retraction_mid_alert_stops_its_sends_in_both_gateways(gateway_factory, standin,  # noqa: F811,E501
                                                                 redis_server):
    n = 1000
    extra = ("--concurrency", "8", "--max-jobs", "4")
    a = gateway_factory(extra=extra, name="gw-a")
    b = gateway_factory(extra=extra, name="gw-b")
    subs = [standin.subscribe(f"d{i}") for i in range(n)]
    register_all(a, subs)
    standin.delay = 0.05  # each answer held: the alert takes seconds

    alert_id = push(redis_server, "Wrong: minister resigns", urgency="flash")
    standin.wait_accepted(n // 5)
    retraction = retract(redis_server, alert_id)
    marked = wait_mark(redis_server, alert_id)
    wait_settled((a, b), 2 * SHARDS)  # the alert's jobs, then the retraction's

    got = arrivals(standin, subs, alert_id)
    late = [t - marked for t, _ in got if t > marked]
    cancelled = [g.metric('cancelled_total{provider="webpush"}') for g in (a, b)]
    print(f"{len(got)}/{n} got the alert; {len(late)} requests started after the mark "
          f"(the last {max(late, default=0) * 1000:.0f} ms after); cancelled {cancelled}")
    assert len(got) < n // 2, "the retraction stopped nothing"
    # Each registration either got the alert or was not sent it: none twice,
    # none lost between the two.
    assert len({name for _, name in got}) == len(got)
    assert len(got) + sum(cancelled) == n
    # What started after the mark is what the gateways had in flight or
    # started before their next look at it (every 100 ms).
    assert all(t < 1.0 for t in late), late
    # The gateway that did not read the retraction stopped too: through Redis.
    readers = [g for g in (a, b) if g.metric("retractions_total") == 1]
    assert len(readers) == 1
    other = b if readers[0] is a else a
    assert other.metric("cancelled_total") > 0

    # Every registration the story was sent to is sent the retraction
    # (the gateways do not keep who got it): once, Topic the story.
    sent = notices(standin, subs, alert_id)
    assert all(len(v) == 1 for v in sent.values()), [k for k, v in sent.items() if len(v) != 1][:5]
    first = next(iter(sent.values()))[0]
    assert first["topic"] == alert_id and first["urgency"] == "high"
    assert first["payload"]["id"] == retraction
    assert first["payload"]["ref"] == alert_id
    assert first["payload"]["summary"] == "Published in error"
    assert "headline" not in first["payload"]
    assert standin.errors == []
    assert sum(g.metric("retractions_planned_total") for g in (a, b)) == 1
    assert sum(g.metric("sent_total") for g in (a, b)) == len(got) + n


def test_a_retraction_stops_an_update_mid_shard(gateway_factory, standin,  # noqa: F811
                                                redis_server):
    """One shard of 300 registrations: the sends queued behind the
    --concurrency bound are dropped at once when the story is retracted,
    an update's as its original's."""
    n = 300
    a = gateway_factory(extra=("--concurrency", "4"), name="gw-a")
    b = gateway_factory(extra=("--concurrency", "4"), name="gw-b")
    subs = [standin.subscribe(name) for name in same_shard_names(standin, n, "s")]
    register_all(a, subs)
    alert_id = push(redis_server, "Quake", urgency="flash")
    standin.wait_accepted(n)
    wait_settled((a, b), SHARDS)

    standin.delay = 0.05
    r = run_alert("update", alert_id, "--headline", "Quake: 30 hurt", redis=redis_server)
    assert r.returncode == 0, r.stderr
    update_id = r.stdout.strip()
    deadline = time.monotonic() + 60
    while len(arrivals(standin, subs, update_id)) < 40:
        assert time.monotonic() < deadline, "the update is not being sent"
        time.sleep(0.02)
    retract(redis_server, alert_id)
    marked = wait_mark(redis_server, alert_id)
    wait_settled((a, b), 3 * SHARDS)

    got = arrivals(standin, subs, update_id)
    late = [t - marked for t, _ in got if t > marked]
    cancelled = sum(g.metric("cancelled_total") for g in (a, b))
    print(f"{len(got)}/{n} got the update; {len(late)} started after the mark; "
          f"{cancelled} cancelled")
    assert len(got) < n // 2
    assert len(got) + cancelled == n
    assert all(t < 1.0 for t in late), late
    sent = notices(standin, subs, alert_id)
    assert all(len(v) == 1 for v in sent.values())
    assert next(iter(sent.values()))[0]["topic"] == alert_id
    assert standin.errors == []


def test_apps_get_a_retraction_that_shows_nothing(gateway_factory, standin, apns, fcm,  # noqa: F811,E501
                                                  redis_server):
    gw = gateway_factory(extra=apns_args(apns) + fcm_args(fcm))
    ios, android = apns.device(), fcm.device()
    sub = standin.subscribe("browser")
    elsewhere = apns.device()  # registered for another topic: sent neither
    assert gw.register_token("apns", ios, topics=["world"])[0] == 201
    assert gw.register_token("fcm", android, topics=["world"])[0] == 201
    assert gw.register(sub, topics=["world"])[0] == 201
    assert gw.register_token("apns", elsewhere, topics=["sports"])[0] == 201

    alert_id = push(redis_server, "Wrong headline", topics=["world"], urgency="bulletin")
    wait_metric(gw, "jobs_done_total", SHARDS)
    retraction = retract(redis_server, alert_id, "Not confirmed")
    wait_metric(gw, "jobs_done_total", 2 * SHARDS)
    assert gw.metric("retractions_total") == 1 and gw.metric("retractions_planned_total") == 1

    # APNs: a background notification (nothing shown) with the story's
    # collapse id; the app removes the story's notification.
    first, withdrawn = apns.accepted[ios]
    assert first["headers"]["apns-push-type"] == "alert"
    h, payload = withdrawn["headers"], withdrawn["payload"]
    assert h["apns-push-type"] == "background" and h["apns-priority"] == "5"
    assert h["apns-collapse-id"] == alert_id
    assert payload["aps"] == {"content-available": 1}
    assert payload["alert"]["kind"] == "retraction" and payload["alert"]["ref"] == alert_id
    assert payload["alert"]["id"] == retraction and payload["alert"]["summary"] == "Not confirmed"
    assert elsewhere not in apns.accepted

    # FCM: a data message (no notification) collapsing the story's.
    first, withdrawn = fcm.accepted[android]
    assert first["message"]["notification"]["title"] == "Wrong headline"
    msg = withdrawn["message"]
    assert "notification" not in msg and "notification" not in msg["android"]
    assert msg["android"]["collapse_key"] == alert_id and msg["android"]["priority"] == "HIGH"
    data = json.loads(msg["data"]["alert"])
    assert data["kind"] == "retraction" and data["ref"] == alert_id

    # Web Push: the story's Topic, at once.
    first, withdrawn = standin.accepted["browser"]
    assert withdrawn["topic"] == alert_id and withdrawn["urgency"] == "high"
    assert withdrawn["payload"]["kind"] == "retraction"

    # Counted per provider; the totals are their sums.
    for provider, want in (("webpush", 2), ("apns", 2), ("fcm", 2)):
        assert gw.metric(f'sent_total{{provider="{provider}"}}') == want
    assert gw.metric("sent_total") == 6
    assert gw.metric("cancelled_total") == 0
    assert apns.errors == [] and fcm.errors == [] and standin.errors == []


def test_a_retraction_of_a_story_never_sent_sends_nothing(gateway_factory, standin,  # noqa: F811
                                                          redis_server):
    gw = gateway_factory()
    sub = standin.subscribe("d")
    assert gw.register(sub)[0] == 201
    routine = push(redis_server, "Not pushed", urgency="routine")  # not selected
    wait_metric(gw, "alerts_skipped_total", 1)
    retract(redis_server, routine)
    wait_metric(gw, "retractions_total", 1)
    assert redis_server.client().exists(f"alert:push:retracted:{routine}")
    sent = push(redis_server, "Pushed", urgency="flash")
    standin.wait_accepted(1)
    wait_metric(gw, "jobs_done_total", SHARDS)
    assert [d["payload"]["id"] for d in standin.accepted["d"]] == [sent]
    assert gw.metric("retractions_planned_total") == 0


def test_a_gateway_stopped_mid_alert_exits_while_it_watches_the_story(gateway_factory,  # noqa: F811,E501
                                                                      standin, redis_server):
    """The watch of the story's mark (a timer while it is sent) neither keeps
    the loop running at SIGTERM nor outlives the gateway's parts."""
    gw = gateway_factory(extra=("--concurrency", "2"))
    subs = [standin.subscribe(f"d{i}") for i in range(40)]
    register_all(gw, subs)
    standin.delay = 0.2
    push(redis_server, "Slow", urgency="flash")
    standin.wait_accepted(4)
    assert gw.metric("jobs_active") > 0
    assert gw.stop() == 0, gw.log()


def test_a_retraction_mark_it_cannot_read_is_logged_once(tmp_path, standin, redis_server,  # noqa: F811,E501
                                                         tls_cert, vapid_key):
    """A gateway whose Redis user may not run EXISTS (a hand-made ACL) could
    never see a retraction: it says so, once for the alert, not once per
    read (every 100 ms while it sends), and still sends."""
    r = redis_server.client()
    r.execute_command("ACL", "SETUSER", "gw", "on", ">pw", "~*", "&*", "+@all", "-exists")
    user = types.SimpleNamespace(url=f"redis://gw:pw@127.0.0.1:{redis_server.port}")
    gw = PushGateway(tmp_path, user, tls_cert, vapid_key,
                     ("--max-registrations-per-min", "0", "--concurrency", "1"), "gw-acl")
    try:
        gw.start()
        subs = [standin.subscribe(name) for name in same_shard_names(standin, 4, "e")]
        register_all(gw, subs)
        standin.delay = 0.3  # the job lasts more than a second: the mark is read again and again
        alert_id = push(redis_server, "Sent all the same", urgency="flash")
        # The plan script calls EXISTS too: planned here, as it would be.
        deadline = time.monotonic() + 30
        while "the plan script failed" not in gw.log():
            assert time.monotonic() < deadline, gw.log()
            time.sleep(0.05)
        [(_, fields)] = r.xrange("alert:stream", alert_id, alert_id)
        r.set(f"alert:push:item:{alert_id}", fields["item"], ex=86400)
        for shard in range(SHARDS):
            r.xadd("alert:push:jobs", {"alert": alert_id, "shard": shard})
        standin.wait_accepted(len(subs))
        wait_metric(gw, "jobs_done_total", SHARDS)
        lines = [ln for ln in gw.log().splitlines() if "cannot read a retraction mark" in ln]
        assert len(lines) == 1, lines
        assert "NOPERM" in lines[0] and alert_id in lines[0]
        assert standin.errors == []
    finally:
        if gw.proc and gw.proc.poll() is None:
            gw.proc.kill()
            gw.proc.wait(timeout=10)
