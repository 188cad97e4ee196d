"""`alert push --durable[=N] [--durable-timeout MS]`: after the publish script,
WAIT for N replicas; exit 5 (CLI_EXIT_NOT_DURABLE) when they do not confirm
in time, with the id printed all the same (the alert is published).

Real parts: a master and a replica (redis-server --replicaof); a replica
that cannot confirm is one stopped with SIGSTOP (it stays connected, so the
master counts it as a replica, but its acknowledgements stop).
"""
import signal
import time

import pytest

from alertd_fixture import ID_RE
from conftest import RedisServer, run_alert

NOT_DURABLE = 5


def wait_until(what, cond, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.05)


@pytest.fixture
def replicated(tmp_path):
    """(master, replica), the replica in sync."""
    (tmp_path / "m").mkdir()
    (tmp_path / "r").mkdir()
    master = RedisServer(str(tmp_path / "m"), extra=["--repl-diskless-sync-delay", "0"]).start()
    replica = RedisServer(str(tmp_path / "r"),
                          extra=["--replicaof", "127.0.0.1", str(master.port)]).start()
    wait_until("the replica in sync",
               lambda: "master_link_status:up" in replica.cli("INFO", "replication"))
    yield master, replica
    replica.proc.send_signal(signal.SIGCONT)
    replica.stop()
    master.stop()


def test_durable_usage_errors_name_the_option(redis_server):
    for args, text in ((["--durable=0"], "--durable=N must be 1-100"),
                       (["--durable=x"], "--durable=N must be 1-100"),
                       (["--durable-timeout", "100"], "--durable-timeout needs --durable"),
                       (["--durable", "--durable-timeout", "0"], "--durable-timeout must be"),
                       (["--durable", "--durable-timeout", "60001"], "--durable-timeout must be")):
        r = run_alert("push", "--headline", "x", *args, redis=redis_server)
        assert r.returncode == 2 and text in r.stderr, (args, r.returncode, r.stderr)
    assert redis_server.cli("XLEN", "alert:stream").strip() == "0"


def test_durable_confirmed_by_a_replica_and_not_without_one(replicated, redis_server):
    master, replica = replicated
    r = run_alert("push", "--headline", "Held twice", "--durable", redis=master)
    assert r.returncode == 0, r.stderr
    alert_id = r.stdout.strip()
    assert ID_RE.match(alert_id)
    assert alert_id in replica.cli("XRANGE", "alert:stream", alert_id, alert_id)

    # Two replicas asked of one: published, id printed, exit 5 after the timeout.
    t0 = time.monotonic()
    r = run_alert("push", "--headline", "Held once", "--durable=2", "--durable-timeout", "300",
                  redis=master)
    took = time.monotonic() - t0
    assert r.returncode == NOT_DURABLE, r.stderr
    assert ID_RE.match(r.stdout.strip()), r.stdout
    assert "1 of the 2 replicas" in r.stderr and "--key auto-" in r.stderr, r.stderr
    assert 0.3 <= took < 4.5, took

    # A Redis without replicas confirms on none.
    r = run_alert("push", "--headline", "Alone", "--durable", "--durable-timeout", "50",
                  redis=redis_server)
    assert r.returncode == NOT_DURABLE and "0 of the 1 replicas" in r.stderr, r.stderr
    assert r.stdout.strip() in redis_server.cli("XRANGE", "alert:stream", "-", "+")


def test_a_retry_with_the_key_confirms_the_first_publish(replicated):
    # WAIT covers the writes of its own connection. A retry whose key is
    # already used writes nothing new; the script then rewrites the key, so
    # that the retry's WAIT covers the first publish on any Redis (7.0 also
    # waits for the master's whole offset after any command, but Redis does
    # not promise that for a connection that wrote nothing).
    master, replica = replicated
    replica.proc.send_signal(signal.SIGSTOP)
    r = run_alert("push", "--headline", "Not yet held", "--key", "k-1", "--durable",
                  "--durable-timeout", "200", redis=master)
    assert r.returncode == NOT_DURABLE, r.stderr
    first = r.stdout.strip()
    assert "--key k-1 --durable" in r.stderr, r.stderr

    r = run_alert("push", "--headline", "Not yet held", "--key", "k-1", "--durable",
                  "--durable-timeout", "200", redis=master)
    assert r.returncode == NOT_DURABLE, \
        f"a retry claimed a copy the stopped replica cannot have: {r.stderr}"
    assert r.stdout.strip() == first

    replica.proc.send_signal(signal.SIGCONT)
    r = run_alert("push", "--headline", "Not yet held", "--key", "k-1", "--durable", redis=master)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == first and "already used" in r.stderr, r.stderr
    assert first in replica.cli("XRANGE", "alert:stream", first, first)
    assert master.cli("XLEN", "alert:stream").strip() == "1"
    ttl = int(master.cli("TTL", "alert:idem:k-1"))
    assert 0 < ttl <= 24 * 3600, ttl  # rewritten with its expiry kept
