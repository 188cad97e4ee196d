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
