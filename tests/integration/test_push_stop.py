"""alertd-push stopped (SIGTERM) while its requests wait on a slow push
service: the drain's last answer ends the last job, and the gateway's
teardown (h2_free, curl_multi_cleanup) must not run inside that answer's
callback, while h2 is still reading libcurl's results. The gateway waits
for every answer, records it, and exits 0; under ASan (make sanitize-ci)
nothing it touches after the stop may have been freed."""
import signal
import time

from alertd_fixture import push
from push_fixture import (gateway_factory, same_shard_names, standin, tls_cert,  # noqa: F401
                          vapid_key, webpush_shard)

IN_FLIGHT = 4


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def test_sigterm_with_requests_in_flight_waits_for_their_answers_and_exits_0(
        gateway_factory, standin, redis_server):  # noqa: F811
    gw = gateway_factory(extra=("--concurrency", str(IN_FLIGHT)))
    subs = [standin.subscribe(n) for n in same_shard_names(standin, IN_FLIGHT, "stop")]
    for s in subs:
        status, _, body = gw.register(s)
        assert status == 201, body
    standin.delay = 1.0
    alert_id = push(redis_server, "Stopped with requests in flight", urgency="flash")
    wait_for("every request written and waiting on the stand-in",
             lambda: len(standin.requests) >= IN_FLIGHT, 30)
    assert gw.metric("sent_total") == 0  # none answered yet: all in flight
    gw.proc.send_signal(signal.SIGTERM)
    assert gw.proc.wait(timeout=30) == 0, gw.log()
    log = gw.log()
    assert "stopped: unfinished jobs are left" in log, log
    assert "AddressSanitizer" not in log and "runtime error" not in log, log
    # The drain got every answer and recorded it before the gateway went.
    done = f"alert:push:sent:{alert_id}:{webpush_shard(standin, subs[0].name)}"
    assert redis_server.client().scard(done) == IN_FLIGHT, gw.log()
    assert all(len(standin.accepted[s.name]) == 1 for s in subs), standin.accepted
    assert standin.errors == []
