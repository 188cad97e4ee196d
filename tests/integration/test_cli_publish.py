"""`alert push`, `update`, `retract` against a real redis-server: the stream
entry, the live message a real subscriber receives, idempotency, versions,
retractions and trimming."""
import json
import re
import time

import pytest

from conftest import run_alert

ID_RE = re.compile(r"^\d+-\d+$")


def push_ok(redis, *args, input=None, env=None):
    r = run_alert("push", *args, redis=redis, input=input, env=env)
    assert r.returncode == 0, r.stderr
    alert_id = r.stdout.strip()
    assert ID_RE.match(alert_id), r.stdout
    assert r.stdout == alert_id + "\n", "stdout holds the id alone"
    return alert_id, r


def stored(srv, alert_id, prefix="alert"):
    entries = srv.client().xrange(f"{prefix}:stream", alert_id, alert_id)
    assert len(entries) == 1, entries
    return json.loads(entries[0][1]["item"])


class Subscriber:
    """A real SUBSCRIBE on the live channel (python3-redis), ready on return."""

    def __init__(self, srv, channel="alert:live"):
        self.client = srv.client()
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        deadline = time.monotonic() + 5
        while self.client.pubsub_numsub(channel)[0][1] < 1:
            assert time.monotonic() < deadline, "subscription never became visible"
            self.pubsub.get_message(timeout=0.05)

    def next(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.pubsub.get_message(timeout=0.1)
            if m and m["type"] == "message":
                return m["data"]
        return None

    def close(self):
        self.pubsub.close()
        self.client.close()


@pytest.fixture
def subscriber(redis_server):
    s = Subscriber(redis_server)
    yield s
    s.close()


def test_push_stores_and_publishes_live(redis_server, subscriber):
    alert_id, r = push_ok(redis_server, "--headline", "Quake hits the coast", "--topic", "world",
                          "--topic", "asia", "--url", "https://example.org/quake",
                          "--urgency", "flash", "--summary", "Details follow.")
    assert r.stderr == "", "no warning when a node is subscribed"
    item = stored(redis_server, alert_id)
    assert item["headline"] == "Quake hits the coast"
    assert item["topics"] == ["world", "asia"]
    assert item["urgency"] == "flash"
    assert item["kind"] == "alert" and item["version"] == 1 and item["lang"] == "en"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", item["published_at"])
    assert "id" not in item

    raw = subscriber.next()
    assert raw is not None, "the live message never arrived"
    assert raw.startswith('{"id":"%s",' % alert_id), raw
    live = json.loads(raw)
    assert live.pop("id") == alert_id
    assert live == item


def test_push_without_subscriber_warns(redis_server):
    alert_id, r = push_ok(redis_server, "--headline", "Nobody listens")
    assert "warning: no alertd node is subscribed" in r.stderr
    assert stored(redis_server, alert_id)["headline"] == "Nobody listens"


def test_same_key_publishes_once(redis_server, subscriber):
    first, _ = push_ok(redis_server, "--headline", "Once", "--key", "story-42")
    assert subscriber.next() is not None
    length = redis_server.client().xlen("alert:stream")
    again, r = push_ok(redis_server, "--headline", "Once", "--key", "story-42")
    assert again == first
    assert "already used" in r.stderr and "warning" not in r.stderr
    assert redis_server.client().xlen("alert:stream") == length
    assert subscriber.next(timeout=0.5) is None, "a retry must not publish again"
    c = redis_server.client()
    assert c.get("alert:idem:story-42") == first
    assert 86000 < c.ttl("alert:idem:story-42") <= 86400
    other, _ = push_ok(redis_server, "--headline", "Another", "--key", "story-43")
    assert other != first


def test_file_and_options_override(redis_server, tmp_path):
    f = tmp_path / "item.json"
    f.write_text(json.dumps({"headline": "From file", "topics": ["a"], "byline": "Desk",
                             "image": {"url": "https://example.org/i.jpg", "caption": "old"}}))
    alert_id, _ = push_ok(redis_server, "-f", str(f), "--headline", "From option",
                          "--caption", "new", "--topic", "b")
    item = stored(redis_server, alert_id)
    assert item["headline"] == "From option"
    assert item["byline"] == "Desk"
    assert item["topics"] == ["b"]
    assert item["image"] == {"url": "https://example.org/i.jpg", "caption": "new"}


def test_file_from_stdin_with_all_options(redis_server):
    text = json.dumps({"headline": "Stdin", "ext": {"list": [], "n": 12345678901234567}})
    alert_id, _ = push_ok(redis_server, "-f", "-", "--byline", "VOA News",
                          "--credit", "Some information from AP", "--lang", "pt-BR",
                          "--image", "https://example.org/i.jpg", "--image-credit", "AP",
                          "--expires", "2h", input=text)
    item = stored(redis_server, alert_id)
    assert item["ext"] == {"list": [], "n": 12345678901234567}, "ext is relayed verbatim"
    assert item["lang"] == "pt-BR" and item["image"]["credit"] == "AP"
    from datetime import datetime
    pub = datetime.fromisoformat(item["published_at"].replace("Z", "+00:00"))
    exp = datetime.fromisoformat(item["expires_at"].replace("Z", "+00:00"))
    assert 7190 <= (exp - pub).total_seconds() <= 7210


@pytest.mark.parametrize("duration,seconds", [("90s", 90), ("30m", 1800), ("1d", 86400),
                                              ("1h30m", 5400)])
def test_expires_durations(module_redis, duration, seconds):
    alert_id, _ = push_ok(module_redis, "--headline", "Expiring", "--expires", duration)
    item = stored(module_redis, alert_id)
    from datetime import datetime
    pub = datetime.fromisoformat(item["published_at"].replace("Z", "+00:00"))
    exp = datetime.fromisoformat(item["expires_at"].replace("Z", "+00:00"))
    assert abs((exp - pub).total_seconds() - seconds) < 5


# --- updates and retractions ----------------------------------------------------

def test_update_unknown_ref(redis_server):
    r = run_alert("update", "1-0", "--headline", "x", redis=redis_server)
    assert r.returncode == 2
    assert "1-0: no such alert in history" in r.stderr
    assert redis_server.client().xlen("alert:stream") == 0


def test_update_versions_and_content(redis_server, subscriber):
    root, _ = push_ok(redis_server, "--headline", "First", "--topic", "world",
                      "--url", "https://example.org/a")
    subscriber.next()
    u1, _ = push_ok_update(redis_server, root, "--headline", "Second")
    item = stored(redis_server, u1)
    assert (item["kind"], item["ref"], item["version"]) == ("update", root, 2)
    # The update starts from the alert's content.
    assert item["topics"] == ["world"] and item["url"] == "https://example.org/a"
    live = json.loads(subscriber.next())
    assert live["id"] == u1 and live["version"] == 2

    u2, _ = push_ok_update(redis_server, root, "--summary", "More")
    assert stored(redis_server, u2)["version"] == 3
    # An update of an update counts on the same story, starts from that
    # update's content, and refers to the original alert like every version.
    u3, _ = push_ok_update(redis_server, u2, "--headline", "Fourth")
    item = stored(redis_server, u3)
    assert (item["ref"], item["version"], item["summary"]) == (root, 4, "More")
    r = run_alert("retract", u3, redis=redis_server)
    assert r.returncode == 0, r.stderr
    assert stored(redis_server, r.stdout.strip())["ref"] == root
    c = redis_server.client()
    assert c.get(f"alert:ver:{root}") == "4"
    assert 29 * 86400 < c.ttl(f"alert:ver:{root}") <= 30 * 86400


def push_ok_update(redis, ref, *args):
    r = run_alert("update", ref, *args, redis=redis)
    assert r.returncode == 0, r.stderr
    assert ID_RE.match(r.stdout.strip())
    return r.stdout.strip(), r


def test_update_with_file_keeps_kind(redis_server, tmp_path):
    root, _ = push_ok(redis_server, "--headline", "First")
    f = tmp_path / "u.json"
    f.write_text(json.dumps({"headline": "From file", "kind": "alert"}))
    r = run_alert("update", root, "-f", str(f), redis=redis_server)
    assert r.returncode == 2 and "kind" in r.stderr
    f.write_text(json.dumps({"headline": "From file"}))
    u, _ = push_ok_update(redis_server, root, "-f", str(f))
    assert stored(redis_server, u)["headline"] == "From file"


def test_retract(redis_server):
    r = run_alert("retract", "1-0", redis=redis_server)
    assert r.returncode == 2 and "no such alert in history" in r.stderr
    root, _ = push_ok(redis_server, "--headline", "Wrong", "--topic", "world", "--lang", "fr")
    r = run_alert("retract", root, "--reason", "Published in error", redis=redis_server)
    assert r.returncode == 0, r.stderr
    item = stored(redis_server, r.stdout.strip())
    assert item["kind"] == "retraction" and item["ref"] == root
    assert item["summary"] == "Published in error"
    assert item["topics"] == ["world"] and item["lang"] == "fr", "reaches the same readers"
    assert "headline" not in item
    # A retraction is not itself updated or retracted.
    r2 = run_alert("retract", r.stdout.strip(), redis=redis_server)
    assert r2.returncode == 2 and "retraction" in r2.stderr


def test_retract_reason_too_long(redis_server):
    root, _ = push_ok(redis_server, "--headline", "x")
    r = run_alert("retract", root, "--reason", "r" * 1001, redis=redis_server)
    assert r.returncode == 2 and "summary" in r.stderr


# --- trimming -------------------------------------------------------------------

def test_maxlen_trims_and_ids_grow(redis_factory):
    srv = redis_factory(extra=["--stream-node-max-entries", "10"])
    ids = []
    for i in range(150):
        env = {"ALERT_MAXLEN": "50"} if i % 2 else None
        args = ["--headline", f"n{i}"] + ([] if i % 2 else ["--maxlen", "50"])
        r = run_alert("push", *args, redis=srv, env=env)
        assert r.returncode == 0, r.stderr
        ids.append(tuple(int(p) for p in r.stdout.strip().split("-")))
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "ids strictly grow"
    length = srv.client().xlen("alert:stream")
    # MAXLEN ~ removes whole macro nodes (10 entries here): 50 <= length < 60.
    assert 50 <= length < 60, length


def test_default_maxlen_is_sent(redis_server):
    push_ok(redis_server, "--headline", "x")
    info = redis_server.client().xinfo_stream("alert:stream")
    assert info["length"] == 1


# --- proto/examples ---------------------------------------------------------------

def _examples(kind):
    import glob
    import os
    from conftest import PROTO
    return sorted(glob.glob(os.path.join(PROTO, "examples", kind, "*.json")))


@pytest.mark.parametrize("path", [p for p in _examples("valid")],
                         ids=lambda p: p.rsplit("/", 1)[-1])
def test_valid_examples_publish_and_round_trip(redis_server, path):
    with open(path, encoding="utf-8") as f:
        example = json.load(f)
    if "id" in example or example.get("kind") in ("update", "retraction"):
        # A node-side example carries an id (publishers never set one); an
        # update or retraction needs a ref that exists here.
        example.pop("id", None)
        if example.get("kind") in ("update", "retraction"):
            example["ref"], _ = push_ok(redis_server, "--headline", "Base alert")
        alert_id, _ = push_ok(redis_server, "-f", "-", input=json.dumps(example))
    else:
        alert_id, _ = push_ok(redis_server, "-f", path)
    item = stored(redis_server, alert_id)
    defaults = {"kind": "alert", "urgency": "bulletin", "lang": "en"}
    for k, v in defaults.items():
        assert item[k] == example.get(k, v)
    for k, v in example.items():
        if k == "version" and example.get("kind") == "update":
            assert item[k] == 2, "the script numbers updates"
        else:
            assert item[k] == v, k
    assert "published_at" in item
