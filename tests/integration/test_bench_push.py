"""make bench's push run (scripts/bench-push.py, issue #14), small: one flash
through a real alertd-push to nghttpd standing in for APNs and for a Web
Push service, every registration requested exactly once (nghttpd's own
log of paths), the report's figures present. And the registrations the
script loads are byte for byte what alertd-push itself stores for the same
device or subscription.

nghttpd comes from scripts/bench-deps.sh, run here if it is missing; if that
fails the test fails saying so.
"""
import base64
import importlib.util
import json
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from conftest import BUILD, ROOT
from push_fixture import (apns, apns_args, gateway_factory, tls_cert,  # noqa: F401
                          vapid_key)

SCRIPT = os.path.join(ROOT, "scripts", "bench-push.py")


def load_script():
    spec = importlib.util.spec_from_file_location("bench_push", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def nghttpd():
    if not shutil.which("nghttpd"):
        r = subprocess.run([os.path.join(ROOT, "scripts", "bench-deps.sh")],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0 or not shutil.which("nghttpd"):
            pytest.fail(f"the push bench needs nghttpd (nghttp2-server); "
                        f"scripts/bench-deps.sh exited {r.returncode}: {r.stderr[-2000:]}")


def bench_push(redis_server, tls_cert, tmp_path, n, provider, *extra):  # noqa: F811
    out = tmp_path / f"push-{provider}.json"
    r = subprocess.run(["/usr/bin/python3", SCRIPT, "--build", BUILD, "--redis", redis_server.url,
                        "--cert", tls_cert.cert, "--key", tls_cert.key, "--n", str(n),
                        "--provider", provider, "--timeout", "120", "--verify",
                        "--json", str(out), *extra],
                       capture_output=True, text=True, timeout=300)
    res = json.loads(out.read_text()) if out.exists() else None
    return r, res


def check_run(res, n, provider):
    assert res["ok"] is True and res["problems"] == "", res
    assert res["provider"] == provider and res["registrations"] == n
    assert res["accepted"] == n and res["retried"] == 0
    # nghttpd's own log: each registration's path once, nothing else.
    assert res["standin"] == {"requests": n, "distinct": n, "missing": 0, "unexpected": 0,
                              "twice_or_more": 0}, res["standin"]
    assert 0 < res["first_accept_s"] <= res["wall_s_to_last_accept"] <= res["jobs_done_s"]
    assert res["gateway_cpu_s"] > 0 and res["cpu_us_per_notification"] > 0
    assert res["accepts_per_s"] > 0
    assert res["vmhwm_kib"] >= res["rss_kib_idle"] > 0


def test_a_flash_reaches_every_registration_once(nghttpd, redis_server, tls_cert,  # noqa: F811
                                                 tmp_path):
    r, res = bench_push(redis_server, tls_cert, tmp_path, 2000, "apns")
    assert r.returncode == 0, r.stderr
    check_run(res, 2000, "apns")
    assert int(redis_server.cli("HLEN", "alert:push:reg:7")) > 0  # the real registry
    table = r.stdout
    assert "| apns | 2,000 | 2,000 | yes |" in table, table
    # bench.sh's table of several runs
    t = subprocess.run(["/usr/bin/python3", SCRIPT, "--table", str(tmp_path / "push-apns.json")],
                       capture_output=True, text=True, timeout=30)
    assert t.returncode == 0 and "| apns | 2,000 | 2,000 |" in t.stdout, t.stderr


def test_web_push_encrypts_each_message(nghttpd, redis_server, tls_cert, tmp_path):  # noqa: F811
    r, res = bench_push(redis_server, tls_cert, tmp_path, 300, "webpush")
    assert r.returncode == 0, r.stderr
    check_run(res, 300, "webpush")


def test_an_unempty_redis_is_refused(nghttpd, redis_server, tls_cert, tmp_path):  # noqa: F811
    redis_server.cli("SET", "somebody:else", "1")
    r, res = bench_push(redis_server, tls_cert, tmp_path, 10, "apns")
    assert r.returncode == 3 and "needs an empty Redis" in r.stderr, r.stderr
    assert res is None and redis_server.cli("GET", "somebody:else").strip() == "1"


def test_loaded_registrations_are_what_the_gateway_stores(gateway_factory, apns,  # noqa: F811
                                                         redis_server):
    """The same APNs device and Web Push subscription registered through the
    API: the same id, shard and JSON (the expiry aside)."""
    mod = load_script()
    gw = gateway_factory(apns_args(apns))
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    p256dh = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    auth = os.urandom(16)

    def b64u(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    keys = (b64u(p256dh), b64u(auth))
    base = "https://127.0.0.1:4433"
    for provider, i in (("apns", 5), ("webpush", 9)):
        rid, shard, value, path = mod.registration(provider, i, 0, base, keys)
        want = json.loads(value)
        if provider == "apns":
            status, _, body = gw.register_token("apns", want["e"])
            assert path == "/3/device/" + want["e"]
        else:
            sub = {"endpoint": want["e"], "keys": {"p256dh": keys[0], "auth": keys[1]}}
            status, _, body = gw.api("POST", "/v1/push/registrations",
                                     {"provider": "webpush", "subscription": sub})
            assert want["e"] == f"{base}{path}"
        assert status == 201, body
        assert body["id"] == rid, (provider, body)
        stored = redis_server.cli("HGET", f"alert:push:reg:{shard}", rid).strip()
        assert stored, f"{provider}: {rid} not in shard {shard}"
        got = json.loads(stored)
        assert got.pop("x") > 0
        want.pop("x")
        assert got == want
        # and the bytes: the gateway's key order and compact separators
        assert stored == value.replace(',"x":0}', f',"x":{json.loads(stored)["x"]}}}')
