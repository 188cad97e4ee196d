"""`alert push` when Redis stops answering after the publish was sent.

Exit 3 promises that nothing was published, so it must not be used when the
command may have run: the outcome is unknown (exit 4), the message says so
and names the idempotency key that makes a retry publish at most once.
Without --key, `alert` makes a key of its own for that.
"""
import re
import signal
import time

from conftest import redis_server, run_alert  # noqa: F401


def stream_items(redis_server):
    return redis_server.client().xrange("alert:stream")


def test_a_publish_redis_never_answers_is_unknown_not_refused(redis_server):
    # One publish first, as in a newsroom's day: Redis has the script cached,
    # so the frozen one will run the next publish when it wakes.
    r = run_alert("push", "--headline", "Before", redis=redis_server)
    assert r.returncode == 0, r.stderr
    redis_server.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        r = run_alert("push", "--headline", "Frozen Redis", redis=redis_server, timeout=30)
        took = time.monotonic() - started
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert r.stdout == ""
    assert "may have been published" in r.stderr and "nothing was published" not in r.stderr
    key = re.search(r"--key (auto-[0-9a-f]{32})\b", r.stderr)
    assert key, r.stderr
    assert took < 15, took  # bounded by the command timeout, not hanging

    # Redis runs the queued command once it wakes: the alert was published.
    deadline = time.monotonic() + 10
    while len(stream_items(redis_server)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    entries = stream_items(redis_server)
    assert len(entries) == 2, entries
    first_id = entries[1][0]

    # The retry the message asks for publishes nothing new: same id.
    r = run_alert("push", "--headline", "Frozen Redis", "--key", key.group(1),
                  redis=redis_server)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == first_id
    assert "nothing new was published" in r.stderr
    assert len(stream_items(redis_server)) == 2


def test_each_publish_without_key_gets_a_key_of_its_own(redis_server):
    ids = []
    for _ in range(2):
        r = run_alert("push", "--headline", "Same words", redis=redis_server)
        assert r.returncode == 0, r.stderr
        ids.append(r.stdout.strip())
    assert ids[0] != ids[1]  # two publishes, not a duplicate
    keys = redis_server.client().keys("alert:idem:auto-*")
    assert len(keys) == 2, keys
    assert {redis_server.client().get(k) for k in keys} == set(ids)


def test_redis_not_listening_is_still_nothing_published(redis_server):
    port = redis_server.port
    redis_server.stop()
    r = run_alert("push", "--headline", "No Redis", redis=f"redis://127.0.0.1:{port}")
    assert r.returncode == 3, r.stderr
    assert "cannot connect" in r.stderr and "may have been" not in r.stderr
