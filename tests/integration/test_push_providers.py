"""alertd-push with its three providers at once: 1,000 registrations over
Web Push, APNs and FCM stand-ins (real HTTP/2 over TLS), each reached
exactly once by a flash and never by a routine alert, invalid tokens
removed, 429 and 503 retried; and the secrets: the VAPID, APNs and FCM
keys come from files, are read again on SIGHUP (a file that no longer
loads leaves the key in use), and never reach the log, even at debug
level."""
import http.client
import os
import re
import signal
import time

from alertd_fixture import push
from apns_standin import KEY_ID, make_apns_key
from fcm_standin import FCMStandin, fcm_error, make_service_account
from h2_standin import H2Standin
from webpush_standin import WebPushStandin
from push_fixture import (apns, apns_args, fcm, fcm_args, gateway_factory,  # noqa: F401
                          make_vapid_key, register_all, standin, tls_cert, vapid_key,
                          wait_metric)


def api_conn(gw):
    return http.client.HTTPSConnection("127.0.0.1", gw.port, timeout=10,
                                       context=gw.cert.client_context())


def stored_values(redis_server):
    r = redis_server.client()
    return [v for shard in r.keys("alert:push:reg:*") for v in r.hvals(shard)]


def test_1000_registrations_over_three_providers(gateway_factory, standin, apns, fcm,  # noqa
                                                  redis_server):
    gw = gateway_factory((*apns_args(apns), *fcm_args(fcm)))
    standin.vapid_public = gw.vapid_public_key()
    subs = [standin.subscribe(f"w{i}") for i in range(400)]
    apple = [apns.device() for _ in range(290)] + ["cd" * 32 + f"{i:02x}" for i in range(10)]
    android = [fcm.device() for _ in range(290)] + [f"gone{i}:APA91b" for i in range(10)]
    register_all(gw, subs, apple, android)
    assert len(stored_values(redis_server)) == 1000
    for s in subs[:10]:
        standin.plan(s.name, (410, {}))
    for s in subs[10:15]:
        standin.plan(s.name, (429, {"Retry-After": "1"}), (503, {}))
    for t in apple[:5]:
        apns.plan(t, (429, {"Retry-After": "1"}, {"reason": "TooManyRequests"}))
    for t in apple[5:10]:
        apns.plan(t, (503, {}, {"reason": "ServiceUnavailable"}))
    for t in android[:5]:
        fcm.plan(t, (429, {"Retry-After": "1"}, fcm_error(429, "RESOURCE_EXHAUSTED",
                                                          "QUOTA_EXCEEDED")))
    for t in android[5:10]:
        fcm.plan(t, (503, {}, fcm_error(503, "UNAVAILABLE", "UNAVAILABLE")))

    push(redis_server, "Council meets", urgency="routine")
    wait_metric(gw, "alerts_skipped_total", 1)
    alert_id = push(redis_server, "Quake hits the coast", urgency="flash")
    standin.wait_accepted(390, timeout=90)
    apns.wait_accepted(290, timeout=90)
    fcm.wait_accepted(290, timeout=90)
    wait_metric(gw, "jobs_done_total", 1024, timeout=90)
    time.sleep(0.5)  # nothing more may come
    assert standin.errors == [] and apns.errors == [] and fcm.errors == []
    assert sorted(len(v) for v in standin.accepted.values()) == [1] * 390
    assert sorted(len(v) for v in apns.accepted.values()) == [1] * 290
    assert sorted(len(v) for v in fcm.accepted.values()) == [1] * 290
    assert all(v[0]["payload"]["id"] == alert_id for v in standin.accepted.values())
    assert all(v[0]["headers"]["apns-collapse-id"] == alert_id for v in apns.accepted.values())
    assert all(v[0]["message"]["android"]["collapse_key"] == alert_id
               for v in fcm.accepted.values())
    assert gw.metric("sent_total") == 970
    for provider, want in (("webpush", 390), ("apns", 290), ("fcm", 290)):
        assert gw.metric(f'sent_total{{provider="{provider}"}}') == want, provider
    assert gw.metric("removed_total") == 30
    assert gw.metric("retried_total") == 30  # 5 x (429, 503) + 4 x 5
    assert gw.metric("failed_total") == 0 and gw.metric("refused_total") == 0
    left = stored_values(redis_server)
    assert len(left) == 970
    assert not any(("cd" * 32) in v or "gone" in v for v in left)
    assert len(fcm.grants) == 1 and len(apns.tokens_seen) == 1


class FCMAndWebPushStandin(FCMStandin, WebPushStandin):
    """One origin serving FCM's token and send endpoints and Web Push
    subscriptions, as fcm.googleapis.com serves FCM and Chrome's Web Push."""

    def __init__(self, cert, key, delay):
        self.account = None
        self.devices, self.issued, self.grants, self.tokens_issued = set(), {}, [], []
        self.vapid_public, self.subs = None, {}
        H2Standin.__init__(self, cert, key, delay)
        self.token_uri = f"{self.origin}/token"

    def handle(self, h, body):
        if h.get(":path", "").startswith("/push/"):
            return WebPushStandin.handle(self, h, body)
        return FCMStandin.handle(self, h, body)


def test_fcm_and_webpush_on_one_host_never_wait_inside_libcurl(gateway_factory, tmp_path,  # noqa
                                                               tls_cert, redis_server):
    """--concurrency 16 each for FCM and Web Push, both to one slow host:
    all 32 requests are on the wire at once, on connections of 2 streams
    (h2.c), none held in libcurl's queue, where its timeout would run and
    the request could be written after its job's lease ran out."""
    shared = FCMAndWebPushStandin(tls_cert.cert, tls_cert.key, delay=1.0)
    try:
        shared.key_path = str(tmp_path / "service-account.json")
        shared.account = make_service_account(shared.key_path, shared.token_uri)
        gw = gateway_factory((*fcm_args(shared), "--concurrency", "16", "--max-jobs", "128"))
        shared.vapid_public = gw.vapid_public_key()
        conn = api_conn(gw)
        subs = [shared.subscribe(f"w{i}") for i in range(40)]
        tokens = [shared.device() for _ in range(40)]
        for s in subs:
            assert gw.register(s, conn=conn)[0] == 201
        for t in tokens:
            assert gw.register_token("fcm", t, conn=conn)[0] == 201
        conn.close()
        push(redis_server, "Quake hits the coast", urgency="flash")
        shared.wait_accepted(80, timeout=90)
        assert shared.errors == []
        assert sorted(shared.accepted) == sorted([s.name for s in subs] + tokens)
        assert all(len(v) == 1 for v in shared.accepted.values())
        # 16 would be the bound if the two providers shared one's room.
        assert 16 < shared.peak_unanswered <= 32 + 1, shared.peak_unanswered
        assert 1 <= shared.most_unanswered <= 2, shared.most_unanswered
        assert shared.connections <= 17, shared.connections
    finally:
        shared.stop()


def key_lines(path):
    """The lines of a key file that carry key material."""
    with open(path) as f:
        text = f.read()
    return [line.strip().strip('",').replace("\\n", "") for line in re.split(r"\n|\\n", text)
            if len(line.strip()) >= 40 and "BEGIN" not in line and "END" not in line]


def test_secrets_reload_on_sighup_and_never_reach_the_log(tmp_path, gateway_factory,  # noqa
                                                          standin, apns, fcm, vapid_key,
                                                          redis_server):
    gw = gateway_factory((*apns_args(apns), *fcm_args(fcm), "--log-level", "debug"))
    standin.vapid_public = gw.vapid_public_key()
    sub, apple, android = standin.subscribe("w"), apns.device(), fcm.device()
    assert gw.register(sub)[0] == 201
    assert gw.register_token("apns", apple)[0] == 201
    assert gw.register_token("fcm", android)[0] == 201
    standin.plan("w", (503, {}))  # a retry: debug lines in the log
    secret_lines = key_lines(vapid_key) + key_lines(apns.key_path) + key_lines(fcm.key_path)
    old_vapid = standin.vapid_public
    push(redis_server, "First", urgency="flash")
    for s in (standin, apns, fcm):
        s.wait_accepted(1)

    # New keys in the same files, and the services told of the new ones only.
    make_vapid_key(vapid_key)
    apns.keys[KEY_ID] = make_apns_key(apns.key_path)
    fcm.account = make_service_account(fcm.key_path, fcm.token_uri)
    secret_lines += key_lines(vapid_key) + key_lines(apns.key_path) + key_lines(fcm.key_path)
    gw.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while gw.log().count("key reloaded") < 3:
        assert time.monotonic() < deadline, gw.log()[-2000:]
        time.sleep(0.05)
    standin.vapid_public = gw.vapid_public_key()
    assert standin.vapid_public != old_vapid
    push(redis_server, "Second", urgency="flash")
    for s in (standin, apns, fcm):
        s.wait_accepted(2)
    assert standin.errors == [] and apns.errors == [] and fcm.errors == []
    assert len(fcm.grants) == 2
    assert fcm.grants[1][1] != fcm.grants[0][1]

    # A key file that no longer loads: logged, the key in use kept.
    with open(apns.key_path, "w") as f:
        f.write("not a key\n")
    gw.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "key not reloaded" not in gw.log():
        assert time.monotonic() < deadline, gw.log()[-2000:]
        time.sleep(0.05)
    assert gw.proc.poll() is None
    push(redis_server, "Third", urgency="flash")
    apns.wait_accepted(3)
    wait_metric(gw, "jobs_done_total", 3 * 1024)

    log = gw.log()
    assert "level=debug" in log and "retrying" in log, "the log is not at debug level"
    secrets = secret_lines + apns.tokens_seen + fcm.tokens_issued + \
        [a for _, a in fcm.grants] + [d["jwt"] for v in standin.accepted.values() for d in v]
    assert len(secrets) > 20
    leaked = [s[:16] for s in secrets if s and s in log]
    assert leaked == [], f"key material in the log: {leaked}"
    # Nor the signatures alone (a JWT's last part).
    assert not any(t.rsplit(".", 1)[1] in log for t in apns.tokens_seen + fcm.tokens_issued
                   if "." in t)
    assert os.stat(vapid_key).st_size > 0
