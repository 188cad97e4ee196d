"""alertd-push sends alerts through a Web Push service: a real HTTP/2 over
TLS stand-in (webpush_standin.py) that verifies VAPID and decrypts each
payload independently. Registrations go through the gateway's API."""
import time

from alertd_fixture import push
from push_fixture import gateway_factory, standin, tls_cert, vapid_key  # noqa: F401


def wait_metric(gw, name, want, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gw.metric(name) >= want:
            return
        time.sleep(0.05)
    raise AssertionError(f"alertd_push_{name} = {gw.metric(name)}, not {want}, after {timeout}s")


def test_a_flash_reaches_each_matching_registration_once(gateway_factory, standin,  # noqa: F811
                                                          redis_server):
    gw = gateway_factory()
    standin.vapid_public = gw.vapid_public_key()
    world = [standin.subscribe(f"w{i}") for i in range(20)]
    sport = [standin.subscribe(f"s{i}") for i in range(10)]
    anything = [standin.subscribe(f"a{i}") for i in range(5)]
    french = standin.subscribe("fr")
    for s in world:
        assert gw.register(s, topics=["world"])[0] == 201
    for s in sport:
        assert gw.register(s, topics=["sport"])[0] == 201
    for s in anything:
        assert gw.register(s)[0] == 201
    assert gw.register(french, langs=["fr"])[0] == 201

    alert_id = push(redis_server, "Quake hits the coast", topics=["world"], urgency="flash",
                    summary="A strong earthquake.")
    want = {s.name for s in world + anything}
    standin.wait_accepted(len(want))
    time.sleep(0.5)  # nothing more may come
    assert standin.errors == []
    assert set(standin.accepted) == want
    for name in want:
        assert len(standin.accepted[name]) == 1, name
        d = standin.accepted[name][0]
        assert d["payload"]["id"] == alert_id
        assert d["payload"]["headline"] == "Quake hits the coast"
        assert d["payload"]["urgency"] == "flash"
        assert d["payload"]["summary"] == "A strong earthquake."
        assert d["urgency"] == "high" and d["topic"] == alert_id
        assert 0 < d["ttl"] <= 14400
    assert standin.protocols == {"h2"}
    wait_metric(gw, "sent_total", len(want))
    wait_metric(gw, "jobs_done_total", 1024)
    r = redis_server.client()
    assert r.xlen("alert:push:jobs") == 0


def test_a_routine_alert_reaches_none(gateway_factory, standin, redis_server):  # noqa: F811
    gw = gateway_factory()
    subs = [standin.subscribe(f"r{i}") for i in range(5)]
    for s in subs:
        assert gw.register(s)[0] == 201
    push(redis_server, "Council meets", urgency="routine")
    wait_metric(gw, "alerts_skipped_total", 1)
    push(redis_server, "Storm warning", urgency="bulletin")
    standin.wait_accepted(5)
    assert all(len(standin.accepted[s.name]) == 1 for s in subs)
    assert all(standin.accepted[s.name][0]["payload"]["headline"] == "Storm warning"
               for s in subs)
    assert all(standin.accepted[s.name][0]["urgency"] == "normal" for s in subs)


def test_410_removes_the_registration_and_404_too(gateway_factory, standin,  # noqa: F811
                                                  redis_server):
    gw = gateway_factory()
    keep, gone, missing = (standin.subscribe(n) for n in ("keep", "gone", "missing"))
    ids = {}
    for s in (keep, gone, missing):
        status, _, body = gw.register(s)
        assert status == 201, body
        ids[s.name] = body["id"]
    standin.plan("gone", (410, {}))
    standin.plan("missing", (404, {}))
    push(redis_server, "First", urgency="flash")
    standin.wait_accepted(1)
    wait_metric(gw, "removed_total", 2)
    r = redis_server.client()
    stored = {k for shard in r.keys("alert:push:reg:*") for k in r.hkeys(shard)}
    assert stored == {ids["keep"]}
    push(redis_server, "Second", urgency="flash")
    standin.wait_accepted(2)
    time.sleep(0.3)
    assert len(standin.attempts["gone"]) == 1 and len(standin.attempts["missing"]) == 1
    # Its owner unregisters the one left: 204, then 404.
    assert gw.api("DELETE", f"/v1/push/registrations/{ids['keep']}")[0] == 204
    assert gw.api("DELETE", f"/v1/push/registrations/{ids['keep']}")[0] == 404


def test_429_and_5xx_are_retried_and_delivered_once(gateway_factory, standin,  # noqa: F811
                                                    redis_server):
    gw = gateway_factory()
    slow, flaky, fine = (standin.subscribe(n) for n in ("slow", "flaky", "fine"))
    for s in (slow, flaky, fine):
        assert gw.register(s)[0] == 201
    standin.plan("slow", (429, {"Retry-After": "2"}))
    standin.plan("flaky", (503, {}), (500, {}))
    push(redis_server, "Retried", urgency="flash")
    standin.wait_accepted(3, timeout=30)
    time.sleep(0.3)
    assert {n: len(v) for n, v in standin.accepted.items()} == {"slow": 1, "flaky": 1, "fine": 1}
    assert [s for _, s in standin.attempts["slow"]] == [429, 201]
    assert [s for _, s in standin.attempts["flaky"]] == [503, 500, 201]
    (t429, _), (t_ok, _) = standin.attempts["slow"]
    assert t_ok - t429 >= 1.9, "Retry-After: 2 was not honoured"
    wait_metric(gw, "retried_total", 3)
    assert gw.metric("failed_total") == 0
    wait_metric(gw, "jobs_done_total", 1024)


def test_a_service_that_keeps_failing_is_given_up(gateway_factory, standin,  # noqa: F811
                                                  redis_server):
    gw = gateway_factory()
    down = standin.subscribe("down")
    assert gw.register(down)[0] == 201
    standin.plan("down", *[(503, {"Retry-After": "0"})] * 10)
    push(redis_server, "Never", urgency="flash")
    wait_metric(gw, "failed_total", 1, timeout=60)
    assert len(standin.attempts["down"]) == 5  # DELIVER_MAX_ATTEMPTS
    wait_metric(gw, "jobs_done_total", 1024)
