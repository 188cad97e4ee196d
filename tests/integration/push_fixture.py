"""alertd-push under test: a gateway process on free loopback ports, its
VAPID key, the Web Push, APNs and FCM stand-ins it trusts (with their keys:
the gateway's options for them are apns_args and fcm_args), and the
registration API's helpers. Used by the test_push_*.py files."""
import hashlib
import http.client
import json
import os
import signal
import subprocess
import time

import pytest

from alertd_fixture import tls_cert  # noqa: F401  (a fixture the push tests use)
from conftest import BUILD, free_port
from apns_standin import BUNDLE_ID, KEY_ID, TEAM_ID, APNsStandin, make_apns_key
from fcm_standin import FCMStandin, make_service_account
from webpush_standin import WebPushStandin

ALERTD_PUSH = os.path.join(BUILD, "alertd-push")
SHARDS = 1024  # PUSH_SHARDS


def make_vapid_key(path):
    r = subprocess.run(["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout",
                        "-out", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return str(path)


class PushGateway:
    def __init__(self, workdir, redis, cert, vapid_key, extra=(), name=None):
        self.dir = str(workdir)
        self.port = free_port()
        self.metrics_port = free_port()
        self.redis = redis
        self.cert = cert
        self.name = name or f"gw-{self.port}"
        self.log_path = os.path.join(self.dir, f"{self.name}.log")
        self.args = [ALERTD_PUSH, "--listen", f"127.0.0.1:{self.port}",
                     "--metrics-listen", f"127.0.0.1:{self.metrics_port}",
                     "--redis", redis.url, "--tls-cert", cert.cert, "--tls-key", cert.key,
                     "--vapid-key", vapid_key, "--provider-ca", cert.cert,
                     "--webpush-hosts", "127.0.0.1", "--name", self.name, *extra]
        self.proc = None

    def start(self, ready=True):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=log)
        if ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"alertd-push exited {self.proc.returncode}:\n{self.log()}"
            try:
                if self.admin("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"alertd-push not ready within {timeout}s:\n{self.log()}")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        return self.proc.returncode if self.proc else None

    def admin(self, method, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=5)
        try:
            conn.request(method, path)
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def metric(self, name):
        """alertd_push_<name>: `sent_total` is the sum of its series (one per
        provider, for those labelled), `sent_total{provider="apns"}` one."""
        status, text = self.admin("GET", "/metrics")
        assert status == 200, status
        values = [int(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                  if line.startswith(f"alertd_push_{name} ") or
                  ("{" not in name and line.startswith(f"alertd_push_{name}{{"))]
        assert values, f"no metric alertd_push_{name}"
        return sum(values)

    def api(self, method, path, body=None, headers=None, raw=None, conn=None):
        """(status, headers, decoded JSON or text) of one API request."""
        own = conn is None
        if own:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                               context=self.cert.client_context())
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            text = r.read().decode()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            try:
                return r.status, hdrs, json.loads(text) if text else None
            except ValueError:
                return r.status, hdrs, text
        finally:
            if own:
                conn.close()

    def register(self, sub, topics=None, langs=None, conn=None):
        body = {"provider": "webpush", "subscription": sub.to_json()}
        if topics is not None:
            body["topics"] = topics
        if langs is not None:
            body["langs"] = langs
        return self.api("POST", "/v1/push/registrations", body, conn=conn)

    def register_token(self, provider, token, topics=None, langs=None, conn=None):
        body = {"provider": provider, "token": token}
        if topics is not None:
            body["topics"] = topics
        if langs is not None:
            body["langs"] = langs
        return self.api("POST", "/v1/push/registrations", body, conn=conn)

    def vapid_public_key(self):
        status, _, body = self.api("GET", "/v1/push/vapid")
        assert status == 200, body
        return body["vapid_public_key"]


@pytest.fixture
def vapid_key(tmp_path):
    return make_vapid_key(tmp_path / "vapid.pem")


@pytest.fixture
def standin(tls_cert):  # noqa: F811
    s = WebPushStandin(tls_cert.cert, tls_cert.key)
    yield s
    s.stop()


def webpush_shard(standin, name):
    """The registry shard of the stand-in's subscription `name`: the
    registration id is the first 128 bits of SHA-256 of provider:endpoint."""
    endpoint = f"https://127.0.0.1:{standin.port}/push/{name}"
    return int(hashlib.sha256(f"webpush:{endpoint}".encode()).hexdigest()[:8], 16) % SHARDS


def same_shard_names(standin, n, prefix):
    """n subscription names whose registrations all fall in one shard."""
    by_shard = {}
    i = 0
    while True:
        name = f"{prefix}{i}"
        names = by_shard.setdefault(webpush_shard(standin, name), [])
        names.append(name)
        if len(names) == n:
            return names
        i += 1


def apns_args(s):
    return ("--apns-key", s.key_path, "--apns-key-id", KEY_ID, "--apns-team-id", TEAM_ID,
            "--apns-bundle-id", BUNDLE_ID, "--apns-host", f"127.0.0.1:{s.port}")


def fcm_args(s):
    return ("--fcm-service-account", s.key_path, "--fcm-host", f"127.0.0.1:{s.port}")


@pytest.fixture
def apns(tmp_path, tls_cert):  # noqa: F811
    key_path = str(tmp_path / "AuthKey_ABCDE12345.p8")
    s = APNsStandin(tls_cert.cert, tls_cert.key, make_apns_key(key_path))
    s.key_path = key_path
    yield s
    s.stop()


@pytest.fixture
def fcm(tmp_path, tls_cert):  # noqa: F811
    s = FCMStandin(tls_cert.cert, tls_cert.key)
    s.key_path = str(tmp_path / "service-account.json")
    s.account = make_service_account(s.key_path, s.token_uri)
    yield s
    s.stop()


def register_all(gw, subs, apple, android):
    """Web Push subscriptions, APNs and FCM tokens, each registered (201)
    over one connection to the gateway's API."""
    conn = http.client.HTTPSConnection("127.0.0.1", gw.port, timeout=10,
                                       context=gw.cert.client_context())
    try:
        for s in subs:
            assert gw.register(s, conn=conn)[0] == 201
        for t in apple:
            assert gw.register_token("apns", t, conn=conn)[0] == 201
        for t in android:
            assert gw.register_token("fcm", t, conn=conn)[0] == 201
    finally:
        conn.close()


def wait_metric(gw, name, want, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gw.metric(name) >= want:
            return
        time.sleep(0.05)
    raise AssertionError(f"alertd_push_{name} = {gw.metric(name)}, not {want}, after {timeout}s")


@pytest.fixture
def gateway_factory(tmp_path, redis_server, tls_cert, vapid_key):  # noqa: F811
    made = []

    def make(extra=(), name=None, start=True):
        if "--max-registrations-per-min" not in extra:  # many registrations from one address
            extra = ("--max-registrations-per-min", "0", *extra)
        gw = PushGateway(tmp_path, redis_server, tls_cert, vapid_key, extra, name)
        made.append(gw)
        return gw.start() if start else gw

    yield make
    for gw in made:
        if gw.proc and gw.proc.poll() is None:
            gw.proc.kill()
            gw.proc.wait(timeout=10)
