"""alertd-push sends alerts to Android devices through FCM's HTTP v1 API:
a real HTTP/2 over TLS stand-in (fcm_standin.py) serving the OAuth2 token
endpoint (the RS256 grant verified) and the send endpoint (the bearer
token it issued, the JSON message)."""
import json
import time

from alertd_fixture import push, run_alert
from fcm_standin import fcm_error
from push_fixture import (fcm, fcm_args, gateway_factory, tls_cert,  # noqa: F401
                          vapid_key, wait_metric)


def register(gw, fcm, n, topics=None):  # noqa: F811
    tokens = [fcm.device() for _ in range(n)]
    for t in tokens:
        status, _, body = gw.register_token("fcm", t, topics=topics)
        assert status == 201, body
    return tokens


def test_a_flash_reaches_each_device_with_one_access_token(gateway_factory, fcm,  # noqa: F811
                                                            redis_server):
    gw = gateway_factory(fcm_args(fcm))
    world = register(gw, fcm, 8, ["world"])
    register(gw, fcm, 2, ["sport"])
    alert_id = push(redis_server, "Quake hits the coast", topics=["world"], urgency="flash",
                    summary="A strong earthquake.")
    fcm.wait_accepted(len(world))
    wait_metric(gw, "jobs_done_total", 1024)
    assert fcm.errors == []
    assert set(fcm.accepted) == set(world)
    for t in world:
        (d,) = fcm.accepted[t]
        m = d["message"]
        assert m["token"] == t
        assert m["android"]["priority"] == "HIGH" and m["android"]["collapse_key"] == alert_id
        assert 0 < int(m["android"]["ttl"][:-1]) <= 14400
        assert m["notification"] == {"title": "Quake hits the coast",
                                     "body": "A strong earthquake."}
        assert json.loads(m["data"]["alert"])["id"] == alert_id
    assert len(fcm.grants) == 1, "the access token is fetched once and reused"
    assert fcm.protocols == {"h2"}


def test_an_update_carries_its_originals_collapse_key(gateway_factory, fcm,  # noqa: F811
                                                      redis_server):
    gw = gateway_factory(fcm_args(fcm))
    (token,) = register(gw, fcm, 1)
    push(redis_server, "Council meets", urgency="routine")
    wait_metric(gw, "alerts_skipped_total", 1)
    first = push(redis_server, "Storm nears", urgency="bulletin")
    fcm.wait_accepted(1)
    r = run_alert("update", first, "--headline", "Storm makes landfall", "--urgency", "flash",
                  redis=redis_server)
    assert r.returncode == 0, r.stderr
    fcm.wait_accepted(2)
    a, b = (d["message"] for d in fcm.accepted[token])
    assert a["android"]["collapse_key"] == b["android"]["collapse_key"] == first
    assert b["android"]["notification"]["tag"] == first
    assert json.loads(b["data"]["alert"])["ref"] == first
    assert a["android"]["priority"] == "HIGH"


def test_unregistered_tokens_are_removed_429_and_503_retried(gateway_factory, fcm,  # noqa: F811
                                                             redis_server):
    gw = gateway_factory(fcm_args(fcm))
    keep, invalid, slow, flaky, message_bad = register(gw, fcm, 5)
    unknown = "x" * 40 + ":APA91bunknown"  # FCM never issued it: 404 UNREGISTERED
    assert gw.register_token("fcm", unknown)[0] == 201
    fcm.plan(invalid, (400, {}, fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
                                          "message.token")))
    # An INVALID_ARGUMENT about the message, not the token, keeps the registration.
    fcm.plan(message_bad, (400, {}, fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
                                              "message.android.ttl")))
    fcm.plan(slow, (429, {"Retry-After": "2"}, fcm_error(429, "RESOURCE_EXHAUSTED",
                                                         "QUOTA_EXCEEDED")))
    fcm.plan(flaky, (503, {}, fcm_error(503, "UNAVAILABLE", "UNAVAILABLE")))
    push(redis_server, "First", urgency="flash")
    fcm.wait_accepted(3, timeout=30)
    wait_metric(gw, "jobs_done_total", 1024)
    assert gw.metric('removed_total{provider="fcm"}') == gw.metric("removed_total") == 2
    assert gw.metric('refused_total{provider="fcm"}') == gw.metric("refused_total") == 1
    r = redis_server.client()
    stored = {v for shard in r.keys("alert:push:reg:*") for v in r.hvals(shard)}
    left = {t for t in (keep, invalid, slow, flaky, message_bad, unknown)
            if any(t in v for v in stored)}
    assert left == {keep, slow, flaky, message_bad}
    assert [s for _, s in fcm.attempts[slow]] == [429, 200]
    (t429, _), (t_ok, _) = fcm.attempts[slow]
    assert t_ok - t429 >= 1.9, "Retry-After: 2 was not honoured"
    assert [s for _, s in fcm.attempts[flaky]] == [503, 200]


def test_a_refused_access_token_is_fetched_again_once(gateway_factory, fcm,  # noqa: F811
                                                      redis_server):
    gw = gateway_factory(fcm_args(fcm))
    tokens = register(gw, fcm, 4)
    push(redis_server, "First", urgency="flash")
    fcm.wait_accepted(4)
    assert len(fcm.grants) == 1
    fcm.revoke_all()  # FCM now answers 401 to the token in use
    push(redis_server, "Second", urgency="flash")
    fcm.wait_accepted(8)
    wait_metric(gw, "jobs_done_total", 2048)
    assert len(fcm.grants) == 2, "one new access token, not one per request"
    assert all([s for _, s in fcm.attempts[t]] == [200, 401, 200] or
               [s for _, s in fcm.attempts[t]] == [200, 200] for t in tokens)
    assert gw.metric("reauths_total") >= 1 and gw.metric("failed_total") == 0


def test_a_token_endpoint_that_fails_is_asked_again(
        gateway_factory, fcm, redis_server):  # noqa: F811
    gw = gateway_factory(fcm_args(fcm))
    (token,) = register(gw, fcm, 1)
    fcm.plan("token", (503, {}), (503, {}))  # the token endpoint is down twice
    push(redis_server, "First", urgency="flash")
    fcm.wait_accepted(1, timeout=30)
    wait_metric(gw, "jobs_done_total", 1024)
    assert [s for _, s in fcm.attempts["token"]] == [503, 503, 200]
    assert gw.metric("failed_total") == 0 and gw.metric("retried_total") == 2
    time.sleep(0.2)
    assert len(fcm.accepted[token]) == 1 and fcm.attempts[token] != []


def test_a_token_endpoint_always_down_gives_the_sends_up(gateway_factory, fcm,  # noqa: F811
                                                         redis_server):
    gw = gateway_factory(fcm_args(fcm))
    register(gw, fcm, 2)
    fcm.plan("token", *[(503, {})] * 20)
    push(redis_server, "Never", urgency="flash")
    wait_metric(gw, "failed_total", 2, timeout=60)
    wait_metric(gw, "jobs_done_total", 1024)
    assert fcm.count_accepted() == 0
