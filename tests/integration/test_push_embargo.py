"""Embargoed alerts (issue #7) through alertd-push (issue #14): an alert held
with `alert push --embargo-until` is outside P:stream until an alertd node
releases it, so no gateway reads, plans or sends it before its time; at its
time each matching registration gets it once, as released (its id given at
release, its published_at the release time, the replacement if it was
replaced); one cancelled before its time (`alert retract HANDLE`) is never
sent. Real parts: redis-server, an alertd node (it performs the release),
alertd-push with the Web Push, APNs and FCM stand-ins."""
import json
import time

from alertd_fixture import alertd_factory, metric, push  # noqa: F401
from conftest import run_alert
from push_fixture import (apns, apns_args, fcm, fcm_args, gateway_factory,  # noqa: F401
                          register_all, standin, tls_cert, vapid_key, wait_metric)

N = 8  # registrations per provider
SHARDS = 1024
LEAD = "2s"  # short, with room for the replacement and the cancel under load


def hold(redis, headline, *extra):
    r = run_alert("push", "--headline", headline, "--urgency", "flash", "--embargo-until", LEAD,
                  *extra, redis=redis)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def embargoed(redis):
    """`alert list --embargoed --json`: {handle: entry}."""
    r = run_alert("list", "--embargoed", "--json", redis=redis)
    assert r.returncode == 0, r.stderr
    return {e["handle"]: e for e in json.loads(r.stdout)}


def unix(rfc3339):
    """YYYY-MM-DDTHH:MM:SS.mmmZ as Unix seconds."""
    return time.mktime(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone \
        + int(rfc3339[20:23]) / 1000


def sends(standin, apns, fcm):
    """(monotonic time, provider, name) of every notification request the
    three stand-ins saw, answered or not (FCM's token requests left out)."""
    out = []
    for provider, s, prefix in (("webpush", standin, "/push/"), ("apns", apns, "/3/device/"),
                                ("fcm", fcm, "/v1/projects/")):
        with s.lock:
            out += [(t, provider, path) for t, path, _ in s.requests if path.startswith(prefix)]
    return sorted(out)


def payloads(standin, apns, fcm):
    """{(provider, registration name): [the alert payload of each copy taken]}."""
    out = {}
    with standin.lock:
        for name, got in standin.accepted.items():
            out[("webpush", name)] = [d["payload"] for d in got]
    with apns.lock:
        for token, got in apns.accepted.items():
            out[("apns", token)] = [d["payload"]["alert"] for d in got]
    with fcm.lock:
        for token, got in fcm.accepted.items():
            out[("fcm", token)] = [json.loads(d["message"]["data"]["alert"]) for d in got]
    return out


def test_embargoed_flash_is_pushed_once_at_its_release_never_before(  # noqa: F811
        redis_server, alertd_factory, gateway_factory, standin, apns, fcm):
    node = alertd_factory()  # performs the releases
    gw = gateway_factory((*apns_args(apns), *fcm_args(fcm)))
    standin.vapid_public = gw.vapid_public_key()
    subs = [standin.subscribe(f"w{i}") for i in range(N)]
    apple = [apns.device() for _ in range(N)]
    android = [fcm.device() for _ in range(N)]
    register_all(gw, subs, apple, android)
    wall = time.time() - time.monotonic()  # the stand-ins' clock to the wall clock

    # A flash held, then replaced before its time; another held, then cancelled.
    handle = hold(redis_server, "Draft", "--topic", "world", "--summary", "Held until its time")
    cancelled = hold(redis_server, "Never sent")
    r = run_alert("update", handle, "--headline", "Results are in", redis=redis_server)
    assert r.returncode == 0 and r.stdout.strip() == handle, r.stderr
    r = run_alert("retract", cancelled, redis=redis_server)
    assert r.returncode == 0 and "never published" in r.stderr, r.stderr
    waiting = embargoed(redis_server)
    assert list(waiting) == [handle], waiting
    release_at = waiting[handle]["release_at"]
    due = unix(release_at)
    cancelled_due = due + 1.0  # held within the same second or so: past it by then

    # Released by the node once, then sent to every registration once.
    for s in (standin, apns, fcm):
        s.wait_accepted(N, timeout=60)
    wait_metric(gw, "jobs_done_total", SHARDS)
    while time.time() < max(due, cancelled_due) + 1.5:  # time for anything more to come
        time.sleep(0.1)
    assert metric(node, "alertd_embargoes_released_total") == 1
    entries = redis_server.client().xrange("alert:stream")
    assert len(entries) == 1, entries  # the cancelled one never was in the stream
    released = entries[0][0]

    # Nothing reached any provider before the release time; every request after it.
    seen = sends(standin, apns, fcm)
    assert len(seen) == 3 * N, seen
    early = [(wall + t - due, p, path) for t, p, path in seen if wall + t < due - 0.002]
    assert early == [], f"sent before the release time: {early}"
    # ...nor before the release itself (Redis' clock gave the id then).
    assert all(wall + t >= int(released.split("-")[0]) / 1000 - 0.002 for t, _, _ in seen)

    # Each registration once, the released item: its id, its release time, the replacement.
    got = payloads(standin, apns, fcm)
    assert len(got) == 3 * N
    assert set(got) == ({("webpush", s.name) for s in subs} | {("apns", t) for t in apple} |
                        {("fcm", t) for t in android})
    for key, copies in got.items():
        assert len(copies) == 1, (key, copies)
        p = copies[0]
        assert p["id"] == released and p["kind"] == "alert" and p["version"] == 1, (key, p)
        assert p["published_at"] == release_at, (key, p)
        assert p["urgency"] == "flash", (key, p)
    assert all(c[0]["headline"] == "Results are in" for k, c in got.items() if k[0] != "apns")
    assert all(d["payload"]["aps"]["alert"]["title"] == "Results are in"
               for v in apns.accepted.values() for d in v)
    assert standin.errors == [] and apns.errors == [] and fcm.errors == []
    assert gw.metric("alerts_planned_total") == 1
    assert gw.metric("sent_total") == 3 * N and gw.metric("resent_uncertain_total") == 0

    # A later, ordinary flash is sent as usual: the gateway was not left waiting.
    after = push(redis_server, "After the embargo", urgency="flash")
    for s in (standin, apns, fcm):
        s.wait_accepted(2 * N, timeout=60)
    assert all(c[-1]["id"] == after for c in payloads(standin, apns, fcm).values())
