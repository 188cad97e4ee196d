"""Several alertd-push gateways on one Redis share each alert's sends; one
SIGKILLed in the middle of an alert leaves its jobs to the other, and
every registration still gets the alert: exactly once, but for the
requests that were in flight when the gateway died, which are sent again
with the same Topic (the push service keeps one copy)."""
import http.client
import signal
import time

from alertd_fixture import push
from push_fixture import gateway_factory, standin, tls_cert, vapid_key  # noqa: F401

N = 1000
CONCURRENCY = 16


def register_all(gw, subs):
    conn = http.client.HTTPSConnection("127.0.0.1", gw.port, timeout=10,
                                       context=gw.cert.client_context())
    try:
        for s in subs:
            status, _, body = gw.register(s, conn=conn)
            assert status == 201, body
    finally:
        conn.close()


def test_two_gateways_one_killed_mid_alert_still_deliver_each_once(gateway_factory, standin,  # noqa: F811,E501
                                                                   redis_server):
    extra = ("--claim-after", "3", "--concurrency", str(CONCURRENCY), "--max-jobs", "4")
    a = gateway_factory(extra=extra, name="gw-a")
    b = gateway_factory(extra=extra, name="gw-b")
    subs = [standin.subscribe(f"d{i}") for i in range(N)]
    register_all(a, subs)
    standin.delay = 0.05  # each answer held: the alert takes a few seconds

    alert_id = push(redis_server, "Everyone, once", urgency="flash")
    standin.wait_accepted(N // 5)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(timeout=10)
    at_kill = standin.count_accepted()
    assert at_kill < N, "the alert was over before the kill: nothing tested"

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and any(not standin.accepted[s.name] for s in subs):
        time.sleep(0.1)
    missing = [s.name for s in subs if not standin.accepted[s.name]]
    assert missing == [], f"{len(missing)} registrations never got the alert: {missing[:5]}"
    time.sleep(1.0)  # nothing more may come
    assert standin.errors == []
    extra_copies = {s.name: len(standin.accepted[s.name]) - 1 for s in subs
                    if len(standin.accepted[s.name]) > 1}
    # Only what gateway A had in flight (or answered, its record not yet
    # written) can come twice.
    assert sum(extra_copies.values()) <= 2 * CONCURRENCY, extra_copies
    for name in extra_copies:
        copies = standin.accepted[name]
        assert {c["topic"] for c in copies} == {alert_id}, copies
        assert {c["payload"]["id"] for c in copies} == {alert_id}
    print(f"killed at {at_kill}/{N} accepted; {sum(extra_copies.values())} sent again")
    assert b.metric("jobs_claimed_total") > 0
    r = redis_server.client()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and r.xlen("alert:push:jobs"):
        time.sleep(0.1)
    assert r.xlen("alert:push:jobs") == 0
    assert r.xpending("alert:push:jobs", "push")["pending"] == 0
    assert r.keys("alert:push:sent:*") == []
