"""`alert list` and `alert status`: human and --json output against a real
redis-server."""
import json
import re

from conftest import run_alert

LINE_RE = re.compile(r"^(\d+-\d+)  (\S+Z)  (flash|bulletin|urgent|routine)  (alert|update|retraction) (.*)$")


def push(srv, *args):
    r = run_alert("push", *args, redis=srv)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_list_empty(redis_server):
    r = run_alert("list", redis=redis_server)
    assert r.returncode == 0 and r.stdout == ""
    r = run_alert("list", "--json", redis=redis_server)
    assert r.returncode == 0 and json.loads(r.stdout) == []


def test_list_human_newest_first(redis_server):
    a = push(redis_server, "--headline", "First\nline", "--urgency", "flash")
    b = push(redis_server, "--headline", "Second", "--topic", "world")
    c = push(redis_server, "--headline", "Third", "--urgency", "routine")
    u = run_alert("update", b, "--headline", "Second, v2", redis=redis_server).stdout.strip()
    x = run_alert("retract", a, "--reason", "Wrong", redis=redis_server).stdout.strip()
    r = run_alert("list", redis=redis_server)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    parsed = [LINE_RE.match(line) for line in lines]
    assert all(parsed), lines
    # Folded: b is listed as its update, a only as its retraction.
    assert [m.group(1) for m in parsed] == [x, u, c]
    assert parsed[2].group(3) == "routine" and parsed[2].group(5) == "Third"
    assert parsed[1].group(4) == "update" and f"v2 of {b}" in parsed[1].group(5)
    assert parsed[0].group(4) == "retraction" and a in parsed[0].group(5)
    assert "Wrong" in parsed[0].group(5)
    assert "First" not in r.stdout and "Second  " not in r.stdout


def test_list_folds_corrections_as_a_node_does(redis_server):
    """Each story once, as its newest version; a retracted story only as its
    retraction, also when an update came after the retraction; the limit
    counts what is listed."""
    a = push(redis_server, "--headline", "Quake hits", "--topic", "world")
    u1 = run_alert("update", a, "--headline", "Quake: 7.1", redis=redis_server).stdout.strip()
    u2 = run_alert("update", u1, "--headline", "Quake: 7.3", redis=redis_server).stdout.strip()
    s = push(redis_server, "--headline", "Secret text", "--summary", "secret summary")
    su = run_alert("update", s, "--headline", "Secret again", redis=redis_server).stdout.strip()
    x = run_alert("retract", s, "--reason", "legal", redis=redis_server).stdout.strip()
    late = run_alert("update", s, "--headline", "Secret at last", redis=redis_server)
    assert late.returncode == 0, late.stderr
    others = [push(redis_server, "--headline", f"n{i}") for i in range(3)]

    r = run_alert("list", "--json", redis=redis_server)
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)
    assert [it["id"] for it in items] == others[::-1] + [x, u2]
    assert "Secret" not in r.stdout and "secret summary" not in r.stdout
    assert items[-1]["headline"] == "Quake: 7.3" and items[-1]["ref"] == a
    assert items[-2]["kind"] == "retraction" and items[-2]["ref"] == s
    assert su not in r.stdout

    r = run_alert("list", "--json", "--limit", "5", redis=redis_server)
    assert [it["id"] for it in json.loads(r.stdout)] == others[::-1] + [x, u2]
    r = run_alert("list", "--json", "--topic", "world", redis=redis_server)
    assert [it["id"] for it in json.loads(r.stdout)] == [u2]
    r = run_alert("list", redis=redis_server)
    assert "Secret" not in r.stdout and "Quake hits" not in r.stdout


def test_list_json_limit_and_filters(redis_server):
    ids = []
    for i in range(30):
        args = ["--headline", f"n{i}"]
        if i % 3 == 0:
            args += ["--topic", "world"]
        if i % 5 == 0:
            args += ["--lang", "en-GB"]
        elif i % 2:
            args += ["--lang", "fr"]
        ids.append(push(redis_server, *args))
    r = run_alert("list", "--json", redis=redis_server)
    items = json.loads(r.stdout)
    assert [it["id"] for it in items] == ids[::-1][:20], "default limit 20, newest first"
    assert all(next(iter(it)) == "id" for it in json.loads(r.stdout, object_pairs_hook=dict))
    assert items[0]["headline"] == "n29" and items[0]["kind"] == "alert"

    r = run_alert("list", "--json", "--limit", "5", redis=redis_server)
    assert [it["id"] for it in json.loads(r.stdout)] == ids[::-1][:5]

    r = run_alert("list", "--json", "--topic", "world", "--limit", "100", redis=redis_server)
    got = json.loads(r.stdout)
    assert [it["id"] for it in got] == [ids[i] for i in range(29, -1, -1) if i % 3 == 0]

    r = run_alert("list", "--json", "--lang", "en", "--limit", "3", redis=redis_server)
    got = json.loads(r.stdout)
    assert len(got) == 3 and all(it["lang"] in ("en", "en-GB") for it in got)

    r = run_alert("list", "--topic", "world", "--lang", "fr", redis=redis_server)
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        ids[i] for i in range(29, -1, -1) if i % 3 == 0 and i % 5 and i % 2]


def test_list_scans_at_most_ten_times_limit(redis_server):
    push(redis_server, "--headline", "old", "--topic", "rare")
    for i in range(25):
        push(redis_server, "--headline", f"n{i}")
    r = run_alert("list", "--json", "--topic", "rare", "--limit", "2", redis=redis_server)
    assert json.loads(r.stdout) == [], "20 entries examined, the rare one is older"
    r = run_alert("list", "--json", "--topic", "rare", "--limit", "3", redis=redis_server)
    assert [it["headline"] for it in json.loads(r.stdout)] == ["old"]


def test_list_skips_foreign_entries(redis_server):
    good = push(redis_server, "--headline", "good")
    redis_server.client().xadd("alert:stream", {"item": "not json"})
    redis_server.client().xadd("alert:stream", {"other": "field"})
    r = run_alert("list", "--json", redis=redis_server)
    assert r.returncode == 0
    assert [it["id"] for it in json.loads(r.stdout)] == [good]
    assert "2 stream entries skipped" in r.stderr


def test_status(redis_server):
    r = run_alert("status", redis=redis_server)
    assert r.returncode == 0, r.stderr
    assert "nodes     0" in r.stdout and "0 entries" in r.stdout and "last id   none" in r.stdout
    st = json.loads(run_alert("status", "--json", redis=redis_server).stdout)
    assert st["nodes"] == 0 and st["stream_length"] == 0 and st["last_id"] is None

    a = push(redis_server, "--headline", "one")
    b = push(redis_server, "--headline", "two")
    c1, c2 = redis_server.client(), redis_server.client()
    p1, p2 = c1.pubsub(), c2.pubsub()
    p1.subscribe("alert:live")
    p2.subscribe("alert:live")
    p1.get_message(timeout=1)
    p2.get_message(timeout=1)
    try:
        st = json.loads(run_alert("status", "--json", redis=redis_server).stdout)
        assert st["nodes"] == 2
        assert st["stream_length"] == 2 and st["last_id"] == b != a
        assert re.match(r"^\d{4}-.*Z$", st["last_published_at"])
        assert st["redis"] == f"redis://127.0.0.1:{redis_server.port}/0"
        human = run_alert("status", redis=redis_server).stdout
        assert "nodes     2 subscribed to alert:live" in human
        assert "alert:stream, 2 entries" in human
        assert f"last id   {b}" in human
    finally:
        p1.close()
        p2.close()
