"""alertd-push's registration API (PROTOCOL.md, section 13): what it takes,
what it refuses and why, CORS, the per-address rate, the endpoints of its
metrics port, and its settings."""
import subprocess

from push_fixture import (ALERTD_PUSH, gateway_factory, standin, tls_cert,  # noqa: F401
                          vapid_key)

REG = "/v1/push/registrations"


def test_register_refresh_and_unregister(gateway_factory, standin, redis_server):  # noqa: F811
    gw = gateway_factory()
    sub = standin.subscribe("one")
    status, headers, body = gw.register(sub, topics=["world"], langs=["en-GB"])
    assert status == 201, body
    assert len(body["id"]) == 32 and body["expires_at"].endswith("Z")
    assert headers["cache-control"] == "no-store"
    status, _, again = gw.register(sub, topics=["sport"])
    assert status == 200 and again["id"] == body["id"] and again["expires_at"] >= body["expires_at"]
    r = redis_server.client()
    shards = r.keys("alert:push:reg:*")
    assert len(shards) == 1 and r.hlen(shards[0]) == 1
    assert '"t":["sport"]' in r.hget(shards[0], body["id"])  # the refresh replaced the topics
    assert gw.api("DELETE", f"{REG}/{body['id']}")[0] == 204
    assert r.hlen(shards[0]) == 0
    assert gw.api("DELETE", f"{REG}/{body['id']}")[0] == 404
    assert gw.api("DELETE", f"{REG}/not-an-id")[0] == 400
    assert gw.metric("registrations_total") == 2 and gw.metric("unregistrations_total") == 1


def test_invalid_registrations_are_refused_naming_the_field(gateway_factory,  # noqa: F811
                                                            standin):
    gw = gateway_factory()
    good = standin.subscribe("good").to_json()

    def body(**over):
        b = {"provider": "webpush", "subscription": dict(good)}
        b.update(over)
        return b

    cases = [
        (body(provider="apns"), "provider"),
        (body(subscription="x"), "subscription"),
        (body(subscription={**good, "endpoint": "http://127.0.0.1/push/x"}),
         "subscription.endpoint"),
        (body(subscription={**good, "endpoint": "https://evil.example/push/x"}),
         "subscription.endpoint"),
        (body(subscription={**good, "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}),
         "subscription.keys.p256dh"),
        (body(subscription={**good, "keys": {"p256dh": "B" + "A" * 86,
                                              "auth": good["keys"]["auth"]}}),
         "subscription.keys.p256dh"),  # 65 bytes, not a point on the curve
        (body(subscription={**good, "keys": {"p256dh": good["keys"]["p256dh"], "auth": "x"}}),
         "subscription.keys.auth"),
        (body(topics=["World"]), "topics[0]"),
        (body(topics=["a", "a"]), "topics[1]"),
        (body(topics=[f"t{i}" for i in range(33)]), "topics"),
        (body(langs=["english!"]), "langs[0]"),
        (body(extra=1), "extra"),
    ]
    for b, field in cases:
        status, _, answer = gw.api("POST", REG, b)
        assert status == 400, (b, answer)
        assert answer["field"] == field, (field, answer)
        assert answer["error"].startswith(field), answer
    assert gw.api("POST", REG, raw=b"{not json", headers={"Content-Type": "application/json"}
                  )[0] == 400
    assert gw.api("POST", REG, raw=b"{}", headers={"Content-Type": "text/plain"})[0] == 415
    assert gw.api("POST", REG, raw=b"x" * 9000,
                  headers={"Content-Type": "application/json"})[0] == 413
    assert gw.api("GET", REG)[0] == 405
    assert gw.api("GET", "/v1/push/nothing")[0] == 404
    assert gw.metric("registrations_total") == 0


def test_cors_for_allowed_origins_only(gateway_factory, standin):  # noqa: F811
    gw = gateway_factory(extra=("--allowed-origin", "https://news.example"))
    status, h, _ = gw.api("OPTIONS", REG, headers={
        "Origin": "https://news.example", "Access-Control-Request-Method": "POST"})
    assert status == 204
    assert h["access-control-allow-origin"] == "https://news.example"
    assert "POST" in h["access-control-allow-methods"] and "DELETE" in h[
        "access-control-allow-methods"]
    status, h, _ = gw.api("GET", "/v1/push/vapid", headers={"Origin": "https://news.example"})
    assert status == 200 and h["access-control-allow-origin"] == "https://news.example"
    status, h, _ = gw.api("GET", "/v1/push/vapid", headers={"Origin": "https://evil.example"})
    assert status == 403 and "access-control-allow-origin" not in h


def test_registrations_are_rated_per_address(gateway_factory, standin):  # noqa: F811
    gw = gateway_factory(extra=("--max-registrations-per-min", "3"))
    subs = [standin.subscribe(f"r{i}") for i in range(4)]
    assert [gw.register(s)[0] for s in subs[:3]] == [201, 201, 201]
    status, h, body = gw.register(subs[3])
    assert status == 429, body
    assert int(h["retry-after"]) >= 1
    assert gw.metric("api_rate_limited_total") == 1


def test_the_metrics_port_serves_probes_and_metrics_only(gateway_factory):  # noqa: F811
    gw = gateway_factory()
    assert gw.admin("GET", "/healthz") == (200, "ok\n")
    assert gw.admin("GET", "/readyz") == (200, "ready\n")
    status, text = gw.admin("GET", "/metrics")
    assert status == 200 and "alertd_push_jobs_done_total 0\n" in text
    # The request counters: one series per provider, under one TYPE line.
    assert text.count("# TYPE alertd_push_sent_total counter\n") == 1
    for provider in ("webpush", "apns", "fcm"):
        for name in ("sent", "removed", "refused", "retried", "failed", "reauths", "cancelled"):
            assert f'alertd_push_{name}_total{{provider="{provider}"}} 0\n' in text, name
    assert "alertd_push_sent_total 0" not in text
    assert gw.admin("GET", REG)[0] == 404
    assert gw.api("GET", "/metrics")[0] == 404  # not on the API's port
    assert gw.api("GET", "/readyz")[0] == 200


def test_bad_settings_exit_2_naming_the_setting(tmp_path, vapid_key, tls_cert):  # noqa: F811
    base = [ALERTD_PUSH, "--vapid-key", vapid_key, "--tls-cert", tls_cert.cert,
            "--tls-key", tls_cert.key]
    for extra, words in [
        (["--urgencies", "flash,soon"], "--urgencies"),
        (["--vapid-key", str(tmp_path / "none.pem")], "none.pem"),
        (["--vapid-key", tls_cert.cert], "private key"),
        (["--vapid-subject", "postmaster"], "--vapid-subject"),
        (["--webpush-hosts", "a b!"], "--webpush-hosts"),
        (["--concurrency", "0"], "--concurrency"),
        (["--redis", "redis+sentinel://127.0.0.1/mymaster"], "sentinel"),
        (["--tls-key", vapid_key], "--tls-cert"),
        (["--nonsense"], "--nonsense"),
    ]:
        r = subprocess.run(base + extra, capture_output=True, text=True, timeout=20)
        assert r.returncode == 2, (extra, r.returncode, r.stderr)
        assert words in r.stderr, (extra, r.stderr)
    r = subprocess.run([ALERTD_PUSH, "--help"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and "ALERTD_PUSH_VAPID_KEY" in r.stdout
