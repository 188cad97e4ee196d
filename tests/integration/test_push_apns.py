"""alertd-push sends alerts to iOS devices through APNs: a real HTTP/2
over TLS stand-in (apns_standin.py) that verifies every required header
and the provider token's ES256 signature and claims. Device tokens are
registered through the gateway's API."""
import datetime
import time

from alertd_fixture import push, run_alert
from apns_standin import APNsStandin, make_apns_key
from push_fixture import (apns, apns_args, gateway_factory, tls_cert,  # noqa: F401
                          vapid_key, wait_metric)


def register(gw, apns, n, topics=None):  # noqa: F811
    tokens = [apns.device() for _ in range(n)]
    for t in tokens:
        status, _, body = gw.register_token("apns", t, topics=topics)
        assert status == 201, body
    return tokens


def test_a_flash_reaches_each_device_with_apples_headers(gateway_factory, apns,  # noqa: F811
                                                          redis_server):
    gw = gateway_factory(apns_args(apns))
    world = register(gw, apns, 6, ["world"])
    sport = register(gw, apns, 3, ["sport"])
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2))
    expires = expires.replace(microsecond=0)
    alert_id = push(redis_server, "Quake hits the coast", topics=["world"], urgency="flash",
                    summary="A strong earthquake.",
                    fields={"expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})
    apns.wait_accepted(len(world))
    wait_metric(gw, "jobs_done_total", 1024)
    assert apns.errors == []
    assert set(apns.accepted) == set(world) and not set(sport) & set(apns.attempts)
    for t in world:
        (d,) = apns.accepted[t]
        h, aps = d["headers"], d["payload"]["aps"]
        assert h["apns-priority"] == "10" and h["apns-collapse-id"] == alert_id
        assert int(h["apns-expiration"]) == int(expires.timestamp())
        assert aps["interruption-level"] == "time-sensitive"
        assert aps["alert"] == {"title": "Quake hits the coast", "body": "A strong earthquake."}
        assert d["payload"]["alert"]["id"] == alert_id
        assert d["payload"]["alert"]["urgency"] == "flash"
        assert abs(d["claims"]["iat"] - time.time()) < 60
    assert apns.protocols == {"h2"}
    assert len(apns.tokens_seen) == 1, "the provider token is signed once and reused"


def test_an_update_collapses_onto_its_original_and_routine_is_not_sent(
        gateway_factory, apns, redis_server):  # noqa: F811
    gw = gateway_factory(apns_args(apns))
    (token,) = register(gw, apns, 1)
    push(redis_server, "Council meets", urgency="routine")
    wait_metric(gw, "alerts_skipped_total", 1)
    first = push(redis_server, "Storm nears", urgency="bulletin")
    apns.wait_accepted(1)
    r = run_alert("update", first, "--headline", "Storm makes landfall", "--urgency", "flash",
                  redis=redis_server)
    assert r.returncode == 0, r.stderr
    update = r.stdout.strip()
    apns.wait_accepted(2)
    a, b = apns.accepted[token]
    assert a["headers"]["apns-collapse-id"] == first and a["headers"]["apns-priority"] == "10"
    assert a["payload"]["aps"]["interruption-level"] == "active"
    assert a["payload"]["aps"]["alert"] == {"title": "Storm nears"} or \
        a["payload"]["aps"]["alert"] == {"body": "Storm nears"}
    assert b["headers"]["apns-collapse-id"] == first, "an update replaces its original"
    assert b["payload"]["alert"]["id"] == update and b["payload"]["alert"]["ref"] == first
    assert b["payload"]["aps"]["interruption-level"] == "time-sensitive"
    assert gw.metric('sent_total{provider="apns"}') == gw.metric("sent_total") == 2


def test_bad_and_unregistered_tokens_are_removed_429_and_503_retried(
        gateway_factory, apns, redis_server):  # noqa: F811
    gw = gateway_factory(apns_args(apns))
    keep, gone, slow, flaky = register(gw, apns, 4)
    unknown = "ab" * 32  # a token APNs never issued: 400 BadDeviceToken
    status, _, body = gw.register_token("apns", unknown)
    assert status == 201, body
    apns.plan(gone, (410, {}, {"reason": "Unregistered", "timestamp": 1700000000000}))
    apns.plan(slow, (429, {"Retry-After": "2"}, {"reason": "TooManyRequests"}))
    apns.plan(flaky, (503, {}, {"reason": "ServiceUnavailable"}))
    push(redis_server, "First", urgency="flash")
    apns.wait_accepted(3, timeout=30)
    wait_metric(gw, "removed_total", 2)
    wait_metric(gw, "jobs_done_total", 1024)
    r = redis_server.client()
    stored = {v for shard in r.keys("alert:push:reg:*") for v in r.hvals(shard)}
    left = {t for t in (keep, gone, slow, flaky, unknown) if any(t in v for v in stored)}
    assert left == {keep, slow, flaky}
    assert [s for _, s in apns.attempts[slow]] == [429, 200]
    (t429, _), (t_ok, _) = apns.attempts[slow]
    assert t_ok - t429 >= 1.9, "Retry-After: 2 was not honoured"
    assert [s for _, s in apns.attempts[flaky]] == [503, 200]
    assert gw.metric("retried_total") == 2 and gw.metric("failed_total") == 0
    push(redis_server, "Second", urgency="flash")
    apns.wait_accepted(6)
    time.sleep(0.3)
    assert len(apns.attempts[gone]) == 1 and len(apns.attempts[unknown]) == 1


def test_an_expired_provider_token_is_renewed_and_the_send_retried(
        gateway_factory, apns, redis_server):  # noqa: F811
    gw = gateway_factory(apns_args(apns))
    tokens = register(gw, apns, 3)
    push(redis_server, "First", urgency="flash")
    apns.wait_accepted(3)
    assert len(apns.tokens_seen) == 1
    apns.expire_before = int(time.time()) + 1  # APNs now says the token in use expired
    while time.time() < apns.expire_before:
        time.sleep(0.05)
    push(redis_server, "Second", urgency="flash")
    apns.wait_accepted(6)
    wait_metric(gw, "jobs_done_total", 2048)
    assert len(apns.tokens_seen) == 2, "one new token, not one per request"
    assert all(apns.accepted[t][1]["jwt"] == apns.tokens_seen[1] for t in tokens)
    assert gw.metric("reauths_total") >= 1 and gw.metric("failed_total") == 0
    assert gw.metric("refused_total") == 0


def test_apns_off_until_configured(gateway_factory, apns):  # noqa: F811
    gw = gateway_factory()
    status, _, body = gw.register_token("apns", apns.device())
    assert status == 400 and body["field"] == "provider", body
    assert "not configured" in body["error"]
    status, _, body = gw.register_token("webpush", "ab" * 32)
    assert status == 400 and body["field"] == "token", body


def test_an_incomplete_or_wrong_apns_setting_stops_the_start(gateway_factory, apns):  # noqa
    for extra, want in ((("--apns-key", apns.key_path), "--apns-key-id is missing"),
                        ((*apns_args(apns)[:2], "--apns-key-id", "short", *apns_args(apns)[4:]),
                         "--apns-key-id must be"),
                        (("--apns-key", "/nonexistent.p8", *apns_args(apns)[2:]),
                         "--apns-key: cannot open /nonexistent.p8")):
        gw = gateway_factory(extra, start=False)
        gw.start(ready=False)
        assert gw.proc.wait(timeout=15) == 2
        assert want in gw.log(), gw.log()


def test_requests_in_flight_are_spread_over_connections(gateway_factory, tmp_path,  # noqa: F811
                                                        tls_cert, redis_server):
    """--concurrency 16: up to 8 connections of 2 streams each (h2.c), not
    16 streams on one, which libcurl 7.88 would sweep on every answer."""
    key_path = str(tmp_path / "AuthKey_slow.p8")
    slow = APNsStandin(tls_cert.cert, tls_cert.key, make_apns_key(key_path), delay=0.3)
    slow.key_path = key_path
    try:
        gw = gateway_factory((*apns_args(slow), "--concurrency", "16"))
        tokens = register(gw, slow, 40)
        push(redis_server, "Quake hits the coast", urgency="flash")
        slow.wait_accepted(40)
        assert slow.errors == [] and sorted(slow.accepted) == sorted(tokens)
        assert all(len(v) == 1 for v in slow.accepted.values())
        assert 1 <= slow.most_unanswered <= 2, slow.most_unanswered
        assert 2 <= slow.connections <= 8, slow.connections
    finally:
        slow.stop()
