"""Several alertd-push gateways on one Redis share each alert's sends.

One SIGKILLed in the middle of an alert leaves its jobs to the other, and
every registration still gets the alert; the only requests sent twice are
those the dead gateway had marked as being sent (P:push:sending) without
their answer recorded, which the other counts (resent_uncertain_total) and
logs, and every copy carries the same collapse identifiers, so each device
shows the alert once. One stopped longer than --claim-after loses its jobs
and, woken up, sends nothing more of them (its lease ran out). One stopped
cleanly (SIGTERM) takes out of the sending sets what it had marked but never
written before handing its jobs back, so the next counts as uncertain only
requests that were written and never answered: none once its drain got every
answer."""
import base64
import http.client
import json
import re
import signal
import time

from alertd_fixture import push
from push_fixture import (gateway_factory, same_shard_names, standin, tls_cert,  # noqa: F401
                          vapid_key, webpush_shard)

N = 1000
CONCURRENCY = 16
WINDOW = CONCURRENCY + CONCURRENCY // 2  # feed_window: marked ahead of their answer


def register_all(gw, subs):
    """{registration id: subscription name}."""
    ids = {}
    conn = http.client.HTTPSConnection("127.0.0.1", gw.port, timeout=10,
                                       context=gw.cert.client_context())
    try:
        for s in subs:
            status, _, body = gw.register(s, conn=conn)
            assert status == 201, body
            ids[body["id"]] = s.name
    finally:
        conn.close()
    return ids


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


def drained(r):
    return r.xlen("alert:push:jobs") == 0 and r.xpending("alert:push:jobs", "push")["pending"] == 0


def uncertain_logged(gw):
    """Registration ids the gateway logged as sent again, uncertain."""
    return [m.group(1) for m in re.finditer(r'msg="sent again:[^\n]* registration=([0-9a-f]{32})',
                                            gw.log())]


def assert_displayed_once(standin, names, alert_id):
    for name in names:
        shown = standin.displayed(name)
        assert len(shown) == 1, (name, standin.accepted[name])
        copies = standin.accepted[name]
        assert len({tuple(sorted(standin.collapse_ids(c).items())) for c in copies}) == 1, copies
        assert {c["topic"] for c in copies} == {alert_id}, copies
        assert {c["payload"]["id"] for c in copies} == {alert_id}


def test_two_gateways_one_killed_mid_alert_still_deliver_each_once(gateway_factory, standin,  # noqa: F811,E501
                                                                   redis_server):
    extra = ("--claim-after", "3", "--concurrency", str(CONCURRENCY), "--max-jobs", "4")
    a = gateway_factory(extra=extra, name="gw-a")
    b = gateway_factory(extra=extra, name="gw-b")
    subs = [standin.subscribe(f"d{i}") for i in range(N)]
    ids = register_all(a, subs)
    standin.delay = 0.05  # each answer held: the alert takes a few seconds

    alert_id = push(redis_server, "Everyone, once", urgency="flash")
    standin.wait_accepted(N // 5)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(timeout=10)
    at_kill = standin.count_accepted()
    assert at_kill < N, "the alert was over before the kill: nothing tested"

    r = redis_server.client()
    wait_for("every registration reached, every job finished",
             lambda: all(standin.accepted[s.name] for s in subs) and drained(r), 90)
    assert standin.errors == []
    assert r.keys("alert:push:sent:*") == [] and r.keys("alert:push:sending:*") == []
    assert b.metric("jobs_claimed_total") > 0

    # Sent twice: only what A had marked without its answer recorded, which
    # B counted and logged, each at most once; at most A's window of them.
    twice = {s.name for s in subs if len(standin.accepted[s.name]) > 1}
    logged = uncertain_logged(b)
    assert len(logged) == len(set(logged)) == b.metric("resent_uncertain_total"), logged
    assert len(logged) <= WINDOW, logged
    assert twice <= {ids[i] for i in logged}, (twice, logged)
    assert all(len(standin.accepted[s.name]) <= 2 for s in subs)
    # And the device shows each alert once.
    assert_displayed_once(standin, [s.name for s in subs], alert_id)
    print(f"killed at {at_kill}/{N} accepted; {len(logged)} uncertain sent again, "
          f"{len(twice)} of them had reached the stand-in")


def test_a_gateway_stopped_past_its_lease_sends_nothing_more_of_its_jobs(gateway_factory,  # noqa: F811,E501
                                                                          standin, redis_server):
    concurrency = 4
    extra = ("--claim-after", "3", "--concurrency", str(concurrency), "--max-jobs", "8")
    a = gateway_factory(extra=extra, name="gw-a")
    subs = [standin.subscribe(f"d{i}") for i in range(24)]
    ids = register_all(a, subs)
    standin.delay = 5.0  # A's first requests stay in flight while it is stopped

    alert_id = push(redis_server, "Stopped and woken", urgency="flash")
    # A writes its first `concurrency` requests, then waits for answers.
    wait_for("A's first requests", lambda: len(standin.requests) >= concurrency, 30)
    time.sleep(0.5)
    assert len(standin.requests) == concurrency, standin.requests
    a.proc.send_signal(signal.SIGSTOP)
    try:
        first = {p for _, p, _ in standin.requests}
        standin.delay = 0.02
        b = gateway_factory(extra=extra, name="gw-b")
        r = redis_server.client()
        wait_for("B sent everything, every job finished",
                 lambda: all(standin.accepted[s.name] for s in subs) and drained(r), 60)
        assert b.metric("jobs_claimed_total") > 0
        # A wakes with Redis frozen: it gets the answers to its old requests
        # but cannot learn that its jobs are lost; its lease (3/4 of
        # --claim-after from its last mark) has run out, so it writes no
        # request more: the sends it had queued wait for a mark.
        redis_server.proc.send_signal(signal.SIGSTOP)
    finally:
        woken = time.monotonic()
        a.proc.send_signal(signal.SIGCONT)
    try:
        wait_for("A got its answers", lambda: a.metric("in_flight") == 0, 10)
        time.sleep(0.5)
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
    # Redis back, A finds its jobs lost and ends them.
    wait_for("A ended its jobs", lambda: a.metric("jobs_active") == 0 and
             a.metric("jobs_lost_total") > 0, 30)
    time.sleep(0.5)
    assert standin.requests_since(woken) == [], standin.requests_since(woken)
    assert standin.errors == []
    # B sent again what A had marked (its requests in flight among them).
    logged = uncertain_logged(b)
    assert {f"/push/{ids[i]}" for i in logged} >= first, (logged, first)
    assert len(logged) == b.metric("resent_uncertain_total") <= concurrency + concurrency // 2
    assert_displayed_once(standin, [s.name for s in subs], alert_id)
    wait_for("no set left", lambda: r.keys("alert:push:sent:*") == [] and
             r.keys("alert:push:sending:*") == [], 10)


def stop_mid_alert(gateway_factory, standin, redis_server, delay):  # noqa: F811
    """Gateway A sending a flash to 40 registrations of one shard (one job),
    its stand-in answering each request after `delay`: A's window is marked
    (P:push:sending), its first `concurrency` requests are written and wait
    for their answers, the rest of the window is queued, never written.
    Then SIGTERM. Returns (A, B not started, subs, ids, alert id, the
    sending and done sets' names, the paths A had written)."""
    concurrency = 8
    extra = ("--claim-after", "3", "--concurrency", str(concurrency), "--max-jobs", "8")
    a = gateway_factory(extra=extra, name="gw-a")
    b = gateway_factory(extra=extra, name="gw-b", start=False)
    subs = [standin.subscribe(n) for n in same_shard_names(standin, 40, "s")]
    ids = register_all(a, subs)
    shard = webpush_shard(standin, subs[0].name)
    standin.delay = delay
    alert_id = push(redis_server, "Stopped cleanly", urgency="flash")
    sending, done = f"alert:push:sending:{alert_id}:{shard}", f"alert:push:sent:{alert_id}:{shard}"
    r = redis_server.client()
    # The window marked, `concurrency` of it written: a queue behind them.
    wait_for("A's requests in flight and a queue marked behind them",
             lambda: len(standin.requests) >= concurrency and
             r.scard(sending) == concurrency + concurrency // 2, 30)
    written = {p for _, p, _ in standin.requests}
    assert len(written) == concurrency and r.scard(done) == 0, (written, r.smembers(done))
    a.proc.send_signal(signal.SIGTERM)
    standin.delay = 0.02  # for what comes next; A's requests keep their delay
    return a, b, subs, ids, alert_id, sending, done, written


def test_a_gateway_stopped_cleanly_leaves_no_false_uncertain_marks(gateway_factory, standin,  # noqa: F811,E501
                                                                    redis_server):
    a, b, subs, ids, alert_id, sending, done, written = stop_mid_alert(
        gateway_factory, standin, redis_server, delay=3.0)
    # A drains: its requests in flight are answered and recorded done; what
    # it had queued, marked but never written, is unmarked; then it exits.
    assert a.proc.wait(timeout=30) == 0, a.log()
    r = redis_server.client()
    path = {i: f"/push/{n}" for i, n in ids.items()}
    assert {path[i] for i in r.smembers(sending)} == written, a.log()
    assert {path[i] for i in r.smembers(done)} == written

    b.start()
    wait_for("every registration reached, every job finished",
             lambda: all(standin.accepted[s.name] for s in subs) and drained(r), 60)
    assert standin.errors == []
    # Nothing was written twice, and B counted nothing as uncertain.
    assert sorted(p for _, p, _ in standin.requests) == sorted(f"/push/{s.name}" for s in subs)
    assert b.metric("resent_uncertain_total") == 0 and uncertain_logged(b) == []
    assert all(len(standin.accepted[s.name]) == 1 for s in subs)
    assert {standin.accepted[s.name][0]["payload"]["id"] for s in subs} == {alert_id}
    assert r.keys("alert:push:sent:*") == [] and r.keys("alert:push:sending:*") == []


def test_a_drain_cut_short_leaves_marked_only_what_was_written(gateway_factory, standin,  # noqa: F811,E501
                                                                redis_server):
    a, b, subs, ids, alert_id, sending, done, written = stop_mid_alert(
        gateway_factory, standin, redis_server, delay=8.0)
    r = redis_server.client()
    path = {i: f"/push/{n}" for i, n in ids.items()}
    # The first signal unmarks at once what was never written ...
    wait_for("A unmarked its queue", lambda: {path[i] for i in r.smembers(sending)} == written, 5)
    # ... and a second one exits at once, its requests in flight unanswered.
    a.proc.send_signal(signal.SIGTERM)
    assert a.proc.wait(timeout=10) == 0, a.log()
    assert {path[i] for i in r.smembers(sending)} == written and r.scard(done) == 0

    b.start()  # takes the job once --claim-after has passed
    wait_for("every registration reached, every job finished",
             lambda: all(standin.accepted[s.name] for s in subs) and drained(r), 60)
    assert standin.errors == []
    # B sent again exactly what A had written without an answer, counted and
    # logged; the device shows each once.
    logged = uncertain_logged(b)
    assert {path[i] for i in logged} == written and len(logged) == len(written)
    assert b.metric("resent_uncertain_total") == len(written)
    twice = {s.name for s in subs if len(standin.accepted[s.name]) > 1}
    assert {f"/push/{n}" for n in twice} == written
    assert_displayed_once(standin, [s.name for s in subs], alert_id)


def test_a_failed_mark_drops_the_jobs_sends_waiting_to_be_tried_again(gateway_factory,  # noqa: F811,E501
                                                                     standin, redis_server):
    """A mark script answered with an error (here the gateway's Redis user
    loses the sending sets' keys) ends the job here at once: its sends
    waiting to be tried again are taken back and never made by this gateway
    (it no longer knows the job is its own), and the error's text is logged."""
    gw = gateway_factory(extra=("--concurrency", "2"))
    subs = [standin.subscribe(name) for name in same_shard_names(standin, 5, "m")]
    register_all(gw, subs)
    standin.delay = 1.0
    standin.answer_next(2, 429, {"retry-after": "3"})  # the first two wait 3 s to be tried again
    push(redis_server, "Marked, then refused", urgency="flash")
    deadline = time.monotonic() + 30
    while sum(len(v) for v in standin.attempts.values()) < 2:
        assert time.monotonic() < deadline, "no request made"
        time.sleep(0.01)
    # The next mark comes when the third request is answered, a second on.
    r = redis_server.client()
    r.execute_command("ACL", "SETUSER", "default", "resetkeys", "~alert:stream", "~alert:push:jobs",
                      "~alert:push:item:*", "~alert:push:sent:*", "~alert:push:reg:*",
                      "~alert:push:story:*", "~alert:push:retracted:*")
    try:
        while "the mark script failed" not in gw.log():
            assert time.monotonic() < deadline, gw.log()
            time.sleep(0.05)
        failed = [ln for ln in gw.log().splitlines() if "the mark script failed" in ln]
        assert "detail=" in failed[0] and "perm" in failed[0].lower(), failed
        while gw.metric("jobs_active") > 0:
            assert time.monotonic() < deadline, "the job did not end"
            time.sleep(0.05)
        with standin.lock:
            waiting = [n for n, a in standin.attempts.items() if a and a[0][1] == 429]
        assert len(waiting) == 2
        # Past their Retry-After: neither was tried again.
        retry_by = time.monotonic() + 4.0
        while time.monotonic() < retry_by:
            with standin.lock:
                assert all(len(standin.attempts[n]) == 1 for n in waiting), standin.attempts
            time.sleep(0.1)
    finally:
        r.execute_command("ACL", "SETUSER", "default", "~*")


def test_a_marked_send_never_written_again_is_not_counted_resent(gateway_factory, standin,  # noqa: F811,E501
                                                                 redis_server):
    """A registration an earlier gateway marked (it may have been sent) is
    counted resent only if its request is written again: not when the
    request cannot even be built (here a stored key that is not a P-256
    point)."""
    r = redis_server.client()
    a = gateway_factory(name="gw-a")
    sub = standin.subscribe("broken")
    status, _, body = a.register(sub)
    assert status == 201, body
    reg_id = body["id"]
    assert a.stop() == 0
    [key] = [k for k in r.keys("alert:push:reg:*") if r.hget(k, reg_id)]
    stored = json.loads(r.hget(key, reg_id))
    stored["k"] = base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).rstrip(b"=").decode()
    r.hset(key, reg_id, json.dumps(stored))
    alert_id = push(redis_server, "Marked by a gateway gone", urgency="flash")
    shard = key.rsplit(":", 1)[1]
    r.sadd(f"alert:push:sending:{alert_id}:{shard}", reg_id)

    b = gateway_factory(name="gw-b")
    deadline = time.monotonic() + 30
    while b.metric('failed_total{provider="webpush"}') < 1:
        assert time.monotonic() < deadline, b.log()
        time.sleep(0.05)
    assert "cannot build a request" in b.log()
    assert b.metric("resent_uncertain_total") == 0
    assert "sent again" not in b.log()
    assert standin.accepted["broken"] == []
