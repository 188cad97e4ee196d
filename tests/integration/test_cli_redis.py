"""`alert` and its Redis: unreachable or silent servers (exit 3, nothing
half-written), AUTH with a password and with an ACL user, SELECT, unix
sockets, prefixes and the environment."""
import json
import os
import socket
import tempfile
import threading
import time

from conftest import run_alert


def test_closed_port_exits_3():
    r = run_alert("push", "--headline", "x", redis="redis://127.0.0.1:1")
    assert r.returncode == 3
    assert "redis://127.0.0.1:1/0" in r.stderr and "Connection refused" in r.stderr
    assert r.stdout == ""


def test_redis_down_then_back_nothing_half_written(redis_server):
    r = run_alert("push", "--headline", "before", "--key", "k1", redis=redis_server)
    assert r.returncode == 0
    redis_server.stop()
    for args in (["push", "--headline", "during", "--key", "k2"],
                 ["update", r.stdout.strip(), "--headline", "during"],
                 ["retract", r.stdout.strip()], ["list"], ["status"]):
        down = run_alert(*args, redis=redis_server)
        assert down.returncode == 3, (args, down.stderr)
        assert f"127.0.0.1:{redis_server.port}" in down.stderr
        assert down.stdout == ""
    redis_server.start()
    c = redis_server.client()
    assert c.xlen("alert:stream") == 1
    assert c.exists("alert:idem:k2") == 0
    again = run_alert("push", "--headline", "during", "--key", "k2", redis=redis_server)
    assert again.returncode == 0 and c.xlen("alert:stream") == 2


def test_silent_server_times_out():
    """A peer that accepts and never answers: the command timeout ends it.
    The publish had left whole, and a frozen Redis would still run it when it
    wakes: the outcome is unknown (4), not "nothing was published" (3)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        start = time.monotonic()
        r = run_alert("push", "--headline", "x", redis=f"redis://127.0.0.1:{port}", timeout=30)
        elapsed = time.monotonic() - start
        assert r.returncode == 4, r.stderr
        assert "may have been published" in r.stderr and "--key auto-" in r.stderr
        assert f"redis://127.0.0.1:{port}/0" in r.stderr
        assert 3 < elapsed < 15, elapsed
    finally:
        stop.set()
        t.join()
        for s in held:
            s.close()
        srv.close()


def test_password(redis_factory):
    srv = redis_factory(extra=["--requirepass", "s3cret"], password="s3cret")
    ok = run_alert("push", "--headline", "x", redis=f"redis://:s3cret@127.0.0.1:{srv.port}")
    assert ok.returncode == 0, ok.stderr
    ok2 = run_alert("push", "--headline", "y", redis=f"redis://s3cret@127.0.0.1:{srv.port}")
    assert ok2.returncode == 0, ok2.stderr
    assert srv.client().xlen("alert:stream") == 2
    bad = run_alert("push", "--headline", "x", redis=f"redis://:wrong@127.0.0.1:{srv.port}")
    assert bad.returncode == 3 and "wrong" not in bad.stderr
    assert f"redis://127.0.0.1:{srv.port}/0" in bad.stderr
    none = run_alert("push", "--headline", "x", redis=f"redis://127.0.0.1:{srv.port}")
    assert none.returncode == 3, none.stderr
    assert srv.client().xlen("alert:stream") == 2


def test_acl_user_and_database(redis_factory):
    srv = redis_factory(extra=["--user", "default", "off",
                               "--user", "alice", "on", ">pw", "~*", "&*", "+@all",
                               "--user", "mute", "on", ">pw", "~*", "+@all"],
                        user="alice", password="pw")
    url = f"redis://alice:pw@127.0.0.1:{srv.port}/2"
    r = run_alert("push", "--headline", "In db 2", "--key", "acl", redis=url)
    assert r.returncode == 0, r.stderr
    assert srv.client(db=2).xlen("alert:stream") == 1
    assert srv.client(db=0).exists("alert:stream") == 0, "SELECT 2 was used"
    assert srv.client(db=2).get("alert:idem:acl") == r.stdout.strip()
    for cmd in (["list"], ["status"]):
        assert run_alert(*cmd, redis=url).returncode == 0

    bad = run_alert("push", "--headline", "x", redis=f"redis://alice:nope@127.0.0.1:{srv.port}/2")
    assert bad.returncode == 3 and "nope" not in bad.stderr and "WRONGPASS" in bad.stderr

    # A user who may write keys but not publish: refused before anything is written.
    mute = run_alert("push", "--headline", "x", redis=f"redis://mute:pw@127.0.0.1:{srv.port}/2")
    assert mute.returncode == 3 and "NOPERM" in mute.stderr, mute.stderr
    assert srv.client(db=2).xlen("alert:stream") == 1


def test_unix_socket(redis_factory):
    d = tempfile.mkdtemp(prefix="alert-sock-", dir="/tmp")
    path = os.path.join(d, "redis.sock")
    try:
        srv = redis_factory(extra=["--unixsocket", path, "--unixsocketperm", "700"])
        r = run_alert("push", "--headline", "Over a socket", redis=f"unix://{path}")
        assert r.returncode == 0, r.stderr
        assert srv.client().xlen("alert:stream") == 1
        r3 = run_alert("push", "--headline", "db 3", redis=f"unix://{path}?db=3")
        assert r3.returncode == 0 and srv.client(db=3).xlen("alert:stream") == 1
        listed = run_alert("list", "--json", redis=f"unix://{path}")
        assert json.loads(listed.stdout)[0]["headline"] == "Over a socket"
        srv.stop()
        gone = run_alert("push", "--headline", "x", redis=f"unix://{path}")
        assert gone.returncode == 3 and path in gone.stderr
    finally:
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(d)


def test_prefix_and_environment(redis_server):
    env = {"ALERT_REDIS_URL": redis_server.url, "ALERT_PREFIX": "news"}
    r = run_alert("push", "--headline", "env", env=env)
    assert r.returncode == 0, r.stderr
    c = redis_server.client()
    assert c.xlen("news:stream") == 1 and c.exists("alert:stream") == 0
    r2 = run_alert("push", "--headline", "flag", "--prefix", "{other}", env=env)
    assert r2.returncode == 0
    assert c.xlen("{other}:stream") == 1
    st = json.loads(run_alert("status", "--json", env=env).stdout)
    assert st["prefix"] == "news" and st["stream_length"] == 1


def test_wrong_type_key_refused_cleanly(redis_server):
    c = redis_server.client()
    c.set("alert:stream", "not a stream")
    r = run_alert("push", "--headline", "x", "--key", "wt", redis=redis_server)
    assert r.returncode == 3 and "WRONGTYPE" in r.stderr
    assert c.exists("alert:idem:wt") == 0
