"""Redis refusing the node (wrong password, an ACL without a command it
needs, a database out of range) is not an outage: at start-up alertd stops
with exit status 78 and says why; once it has been ready it keeps its
clients, retries, and /readyz says what Redis answered."""
import subprocess
import time

from alertd_fixture import alertd_factory, tls_cert, wait_status  # noqa: F401
from conftest import ALERTD, free_port

EX_CONFIG = 78


def run_alertd(tls_cert, redis_url, *extra):
    """alertd against redis_url, bounded; returns (exit status, output)."""
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{free_port()}", "--redis", redis_url,
                        "--tls-cert", tls_cert.cert, "--tls-key", tls_cert.key,
                        "--log-level", "warn", *extra],
                       capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout + r.stderr


def test_refused_at_start_stops_with_78_and_the_reason(redis_factory, tls_cert):
    srv = redis_factory(extra=["--user", "default", "off",
                               "--user", "alertd", "on", ">pw", "~alert:*", "&alert:*", "+@all",
                               "--user", "deaf", "on", ">pw", "~alert:*", "&alert:*", "+@all",
                               "-subscribe"],
                        user="alertd", password="pw")
    base = f"127.0.0.1:{srv.port}"
    cases = {
        "wrong password": (f"redis://alertd:nope@{base}", ["AUTH failed", "WRONGPASS"]),
        "no SUBSCRIBE": (f"redis://deaf:pw@{base}", ["SUBSCRIBE failed", "NOPERM"]),
        "database out of range": (f"redis://alertd:pw@{base}/99", ["SELECT failed"]),
    }
    for name, (url, words) in cases.items():
        for workers in ("1", "2"):
            rc, out = run_alertd(tls_cert, url, "--workers", workers)
            assert rc == EX_CONFIG, (name, workers, out)
            assert "stopping: Redis refuses the access configured by --redis" in out, out
            for w in words:
                assert w in out, (name, w, out)
            assert "nope" not in out, "the password must not be logged"


def test_redis_down_at_start_is_an_outage_not_a_refusal(alertd_factory, redis_server):
    redis_server.stop()
    srv = alertd_factory(ready=False)
    time.sleep(1.5)
    assert srv.running()
    status, _, body = srv.get("/readyz")
    assert status == 503 and b"not connected" in body
    redis_server.start()
    srv.wait_ready(15)


def test_refused_after_ready_keeps_clients_and_says_why(alertd_factory, redis_factory):
    srv_redis = redis_factory(extra=["--user", "default", "off",
                                     "--user", "admin", "on", ">adm", "~*", "&*", "+@all",
                                     "--user", "alertd", "on", ">pw", "~alert:*", "&alert:*",
                                     "+@all"],
                              user="admin", password="adm")
    srv = alertd_factory(redis=f"redis://alertd:pw@127.0.0.1:{srv_redis.port}")
    # The password is changed on Redis and the node's connections dropped.
    srv_redis.cli("ACL", "SETUSER", "alertd", "resetpass", ">rotated")
    srv_redis.cli("CLIENT", "KILL", "USER", "alertd")
    deadline = time.monotonic() + 10
    while True:
        status, _, body = srv.get("/readyz")
        if b"refuses" in body:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    assert status == 503
    assert b"Redis refuses this node: AUTH failed: WRONGPASS" in body, body
    assert srv.running(), "a node that was ready keeps serving its clients"
    with open(srv.log) as f:
        assert 'level=error msg="redis refused this node"' in f.read()
    # Put right on Redis: the node recovers by itself.
    srv_redis.cli("ACL", "SETUSER", "alertd", "resetpass", ">pw")
    wait_status(srv.port, "/readyz", srv.ctx, 200, 15, srv.proc)
