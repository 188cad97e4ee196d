"""Restricted topics (proto/PROTOCOL.md, section 3): an alert with a topic in
--restricted-topics reaches only clients whose HS256 token (--jwt-secret)
grants it, over WebSocket, SSE and REST; a refused or expired token closes
a WebSocket with 4003 and answers HTTP with 403."""
import base64
import hashlib
import hmac
import asyncio
import json
import os
import signal
import subprocess
import time

import pytest

from alertd_fixture import (ALERTD, alertd_factory, apush, expect_closed, https_get,  # noqa: F401
                            push, recv_alert_ids, recv_hello, recv_json, run, tls_cert)
from conftest import ALERT, free_port

KEY = b"an HS256 key for the tests, 32 bytes or more"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(topics=("premium",), exp_in=3600, key=KEY, alg="HS256"):
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"exp": int(time.time()) + exp_in,
                                 "topics": list(topics)}).encode())
    sig = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(sig)}"


@pytest.fixture
def srv(alertd_factory, tmp_path):
    key = tmp_path / "jwt.key"
    key.write_bytes(KEY + b"\n")
    return alertd_factory("--jwt-secret", str(key), "--restricted-topics", "premium,members")


def rest_ids(srv, query=""):
    status, _, body = https_get(srv.port, f"/v1/alerts?{query}", srv.ctx)
    assert status == 200, (status, body)
    return [a["id"] for a in json.loads(body)["alerts"]]


async def refused(srv, query, code=4003):
    ws = await srv.connect(query)
    exc, frames = await expect_closed(ws)
    assert exc.code == code, f"closed with {exc.code}, want {code}; frames {frames}"
    errors = [json.loads(f) for f in frames if json.loads(f)["type"] == "error"]
    assert errors and errors[-1]["code"] == "forbidden", frames
    return errors[-1]["message"]


def test_restricted_alerts_reach_only_token_holders(srv, redis_server):
    async def main():
        anon = await srv.connect()
        holder = await srv.connect(f"token={mint()}")
        other = await srv.connect(f"token={mint(topics=['members'])}")
        for ws in (anon, holder, other):
            await recv_hello(ws)
        public = await apush(redis_server, "Public", topics=["world"])
        paid = await apush(redis_server, "Paid", topics=["world", "premium"])
        last = await apush(redis_server, "Public again", topics=["sport"])
        assert await recv_alert_ids(anon, 2) == [public, last]
        assert await recv_alert_ids(holder, 3) == [public, paid, last]
        assert await recv_alert_ids(other, 2) == [public, last]
        # A replay after `since` hides it the same way.
        late = await srv.connect(f"since={public}")
        await recv_hello(late)
        assert await recv_alert_ids(late, 1) == [last]
        for ws in (anon, holder, other, late):
            await ws.close()
        return public, paid, last

    public, paid, last = run(main())
    assert rest_ids(srv) == [last, public]
    assert rest_ids(srv, f"token={mint()}") == [last, paid, public]
    assert rest_ids(srv, f"topics=premium&token={mint()}") == [paid]
    _, headers, _ = https_get(srv.port, f"/v1/alerts?token={mint()}", srv.ctx)
    assert headers["cache-control"] == "private, no-store"  # not for a shared cache


def test_asking_for_a_restricted_topic_needs_a_token_that_grants_it(srv):
    message = run(refused(srv, "topics=premium"))
    assert "premium is restricted" in message
    run(refused(srv, f"topics=world,premium&token={mint(topics=['members'])}"))
    status, _, body = https_get(srv.port, "/v1/alerts?topics=premium", srv.ctx)
    assert status == 403 and json.loads(body)["error"] == "forbidden", (status, body)
    status, _, body = https_get(srv.port, "/v1/sse?topics=members", srv.ctx)
    assert status == 403 and b"restricted" in body, (status, body)


def test_bad_and_expired_tokens_are_refused(srv):
    for token, why in ((mint(key=b"not the key the server has, at all"), "bad signature"),
                       (mint(exp_in=-5), "expired"),
                       (mint(alg="none"), "HS256"),
                       ("garbage", "not a JWT")):
        assert why in run(refused(srv, f"token={token}")), token
        status, _, body = https_get(srv.port, f"/v1/alerts?token={token}", srv.ctx)
        assert status == 403 and why in json.loads(body)["message"], (status, body)


def test_a_token_that_expires_closes_the_connection(srv):
    async def main():
        ws = await srv.connect(f"token={mint(exp_in=2)}")
        await recv_hello(ws)
        exc, frames = await expect_closed(ws, timeout=6)
        assert exc.code == 4003, exc
        assert any('"token: expired"' in f for f in frames), frames

    run(main())


def test_a_subscribe_can_bring_a_token(srv, redis_server):
    async def main():
        ws = await srv.connect("topics=world")
        await recv_hello(ws)
        await ws.send(json.dumps({"type": "subscribe", "topics": ["premium"],
                                  "token": mint()}))
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv_json(ws))["type"] == "pong"
        paid = await apush(redis_server, "Paid", topics=["premium"])
        assert await recv_alert_ids(ws, 1) == [paid]
        # The grant stays with the connection; asking beyond it is refused.
        await ws.send(json.dumps({"type": "subscribe", "topics": ["members"]}))
        exc, frames = await expect_closed(ws)
        assert exc.code == 4003 and "members is restricted" in frames[-1], (exc, frames)

    run(main())


def wait_for_log(srv, words, timeout=8.0):
    deadline = time.monotonic() + timeout
    while words not in open(srv.log).read():
        assert time.monotonic() < deadline, f"no '{words}' in the log\n{srv.tail()}"
        time.sleep(0.05)


def test_the_token_key_is_reloaded_on_sighup_and_when_its_file_changes(alertd_factory,  # noqa: F811
                                                                       redis_server, tmp_path):
    # --jwt-secret is a link into a directory alertd does not watch: there,
    # only SIGHUP can bring a rewritten key in.
    keys, conf = tmp_path / "keys", tmp_path / "conf"
    keys.mkdir()
    conf.mkdir()
    (keys / "jwt.key").write_bytes(KEY)
    os.symlink(keys / "jwt.key", conf / "jwt.key")
    srv = alertd_factory("--jwt-secret", str(conf / "jwt.key"), "--restricted-topics", "premium")
    new_key = b"the key after the rotation, also 32 bytes or more"
    newest = b"and the one after that, renamed over the link itself"

    async def main():
        before = await srv.connect(f"token={mint()}")  # opened under the old key
        await recv_hello(before)
        (keys / "jwt.key").write_bytes(new_key)
        srv.proc.send_signal(signal.SIGHUP)
        await asyncio.to_thread(wait_for_log, srv, "token key reloaded")
        assert "bad signature" in await refused(srv, f"token={mint()}")
        after = await srv.connect(f"token={mint(key=new_key)}")
        await recv_hello(after)
        paid = await apush(redis_server, "Paid", topics=["premium"])
        # The old token's connection keeps what it was granted.
        assert await recv_alert_ids(before, 1) == [paid]
        assert await recv_alert_ids(after, 1) == [paid]

        # A file too short to be a key is refused: the new key stays.
        (keys / "jwt.key").write_bytes(b"short")
        srv.proc.send_signal(signal.SIGHUP)
        await asyncio.to_thread(wait_for_log, srv,
                                "token key not reloaded: keeping the key in use")
        again = await srv.connect(f"token={mint(key=new_key)}")
        await recv_hello(again)

        # Without a signal: a file renamed over the watched one is picked up.
        staged = conf / "jwt.key.new"
        staged.write_bytes(newest)
        os.rename(staged, conf / "jwt.key")
        deadline = time.monotonic() + 8
        while True:
            ws = await srv.connect(f"token={mint(key=newest)}")
            frame = await recv_json(ws)
            await ws.close()
            if frame["type"] == "hello":
                break
            assert time.monotonic() < deadline, f"the replaced key file was not loaded: {frame}"
            await asyncio.sleep(0.2)
        for ws in (before, after, again):
            await ws.close()

    run(main())


def test_a_worker_started_again_uses_the_key_in_force(alertd_factory, tmp_path):  # noqa: F811
    keys, conf = tmp_path / "keys", tmp_path / "conf"
    keys.mkdir()
    conf.mkdir()
    (keys / "jwt.key").write_bytes(KEY)
    os.symlink(keys / "jwt.key", conf / "jwt.key")
    srv = alertd_factory("--jwt-secret", str(conf / "jwt.key"), "--restricted-topics", "premium",
                         "--workers", "2")
    new_key = b"the key both workers must use after the rotation"
    (keys / "jwt.key").write_bytes(new_key)
    srv.proc.send_signal(signal.SIGHUP)  # the supervisor passes it on
    deadline = time.monotonic() + 8
    while open(srv.log).read().count("token key reloaded") < 2:
        assert time.monotonic() < deadline, srv.tail()
        time.sleep(0.05)
    kids = [int(p) for p in open(f"/proc/{srv.proc.pid}/task/{srv.proc.pid}/children").read().split()]
    os.kill(kids[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while True:  # started again (after about a second) and serving
        now = [int(p) for p in
               open(f"/proc/{srv.proc.pid}/task/{srv.proc.pid}/children").read().split()]
        if len(now) == 2 and kids[0] not in now and srv.get("/readyz")[0] == 200:
            break
        assert time.monotonic() < deadline, srv.tail()
        time.sleep(0.1)

    async def main():
        # Connections spread over both workers by their source port.
        for _ in range(12):
            ws = await srv.connect(f"token={mint(key=new_key)}")
            await recv_hello(ws)
            await ws.close()
            assert "bad signature" in await refused(srv, f"token={mint()}")

    run(main())


def test_restricted_topics_without_a_key_are_a_configuration_error(redis_server, tls_cert):
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{free_port()}", "--redis", redis_server.url,
                        "--tls-cert", tls_cert.cert, "--tls-key", tls_cert.key,
                        "--restricted-topics", "premium"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    assert "--restricted-topics needs --jwt-secret" in r.stderr


def test_alert_tail_with_a_token_follows_a_restricted_topic(srv, redis_server, tls_cert):
    base = [ALERT, "tail", "--server", f"wss://localhost:{srv.port}", "--ca", tls_cert.cert,
            "--topic", "premium", "--json"]
    tail = subprocess.Popen(base + ["--token", mint(), "--count", "1", "--timeout", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while srv.metrics().find("\nalertd_connections 1") < 0:
            assert time.monotonic() < deadline, "alert tail did not connect"
            time.sleep(0.05)
        paid = push(redis_server, "Paid", topics=["premium"])
        out, err = tail.communicate(timeout=20)
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()
    assert tail.returncode == 0, err
    assert json.loads(out)["id"] == paid
    r = subprocess.run(base + ["--timeout", "10"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 3, r  # refused: 4003, no retry loop
    assert "premium is restricted" in r.stderr, r.stderr
