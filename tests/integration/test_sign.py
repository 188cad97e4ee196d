"""Signed alerts: `alert keygen`, `--sign-key` on push/update/retract,
`alert tail --verify`, and alertd relaying signatures untouched.

Signatures are checked here by an independent implementation: Python's
`cryptography` (Debian's python3-cryptography) over the canonical form of
PROTOCOL.md ("Signed alerts") written below from RFC 8785, never by the C
code under test. Forged items go straight into Redis (XADD and PUBLISH),
as a compromised publisher path would put them, bypassing `alert`.
"""
import base64
import decimal
import hashlib
import json
import os
import shutil
import stat
import subprocess
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from alertd_fixture import https_get, metric, run
from alertd_fixture import alertd, alertd_factory, tls_cert  # noqa: F401
from conftest import ALERT, PROTO, SANITIZED, run_alert
from test_http import Sse
from test_tail import tail  # noqa: F401  (the fixture: alert tail as a child)

VECTOR = os.path.join(PROTO, "examples", "signing")


# ---------------------------------------------------------------------------
# An independent verifier: RFC 8785 and Ed25519 from python3-cryptography
# ---------------------------------------------------------------------------
def es_number(x):
    """ECMAScript's Number::toString of the double nearest x."""
    x = float(x)
    if x == 0:
        return "0"
    digits = decimal.Decimal(repr(abs(x))).normalize().as_tuple()
    s = "".join(map(str, digits.digits))
    k, n = len(s), digits.exponent + len(s)
    if k <= n <= 21:
        out = s + "0" * (n - k)
    elif 0 < n <= 21:
        out = s[:n] + "." + s[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * -n + s
    else:
        out = s[0] + ("." + s[1:] if k > 1 else "") + f"e{'+' if n > 0 else '-'}{abs(n - 1)}"
    return ("-" if x < 0 else "") + out


ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
           "\t": "\\t"}


def es_string(s):
    return '"' + "".join(ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 else c)
                         for c in s) + '"'


def jcs(v):
    if v is None or isinstance(v, bool):
        return {None: "null", True: "true", False: "false"}[v]
    if isinstance(v, (int, float)):
        return es_number(v)
    if isinstance(v, str):
        return es_string(v)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    names = sorted(v, key=lambda k: k.encode("utf-16-be"))  # UTF-16 code units
    return "{" + ",".join(es_string(k) + ":" + jcs(v[k]) for k in names) + "}"


def signed_bytes(item):
    return jcs({k: v for k, v in item.items() if k not in ("id", "sig")}).encode()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def load_public(path):
    with open(path, "rb") as f:
        return serialization.load_pem_public_key(f.read())


def key_id(public):
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url(hashlib.sha256(raw).digest()[:12])


def verifies(item, public):
    try:
        public.verify(unb64url(item["sig"]), signed_bytes(item))
        return item["kid"] == key_id(public)
    except (InvalidSignature, KeyError, ValueError):
        return False


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def keygen(path):
    r = run_alert("keygen", str(path))
    assert r.returncode == 0, r.stderr
    out = dict(line.split("=", 1) for line in r.stdout.split())
    return out["kid"], out["public_key"]


@pytest.fixture
def keys(tmp_path):
    """Three key pairs: k1, k2 (pinned by the tests) and k3 (never pinned)."""
    made = {}
    for name in ("k1", "k2", "k3"):
        kid, raw = keygen(tmp_path / name)
        made[name] = {"key": str(tmp_path / name), "pub": str(tmp_path / f"{name}.pub"),
                      "kid": kid, "raw": raw}
    return made


def spush(redis, key, *args):
    """`alert push --sign-key key ...`; the new id."""
    r = run_alert("push", "--sign-key", key, *args, redis=redis)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def stored(redis, alert_id):
    """The item of a stream entry, with its id, as Redis holds it."""
    entries = redis.client().xrange("alert:stream", alert_id, alert_id)
    assert entries, f"{alert_id} is not in the stream"
    return {"id": alert_id, **json.loads(entries[0][1]["item"])}


def inject(redis, item):
    """A compromised path's publish: XADD and PUBLISH of `item` (its id
    dropped), bypassing alert. Returns the new id."""
    body = {k: v for k, v in item.items() if k != "id"}
    c = redis.client()
    new_id = c.xadd("alert:stream", {"item": json.dumps(body, separators=(",", ":"))})
    c.publish("alert:live", json.dumps({"id": new_id, **body}, separators=(",", ":")))
    return new_id


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def verify_tail(tail, srv, tls, keys, *extra):
    t = tail("--server", f"wss://localhost:{srv.port}", "--ca", tls.cert,
             *[a for k in keys for a in ("--verify", k["pub"])], *extra)
    t.wait_connected()
    return t


def rejected(t, alert_id, reason, timeout=15.0):
    """Waits for tail's line rejecting alert_id and returns it."""
    prefix = f"alert: rejected {alert_id}: {reason}"
    t.wait_for(lambda: prefix in t.stderr(), f"the rejection of {alert_id} ({reason})", timeout)
    return next(line for line in t.stderr().splitlines() if line.startswith(prefix))


# ---------------------------------------------------------------------------
# alert keygen
# ---------------------------------------------------------------------------
def test_keygen_writes_a_pair_and_never_overwrites(tmp_path):
    path = tmp_path / "newsroom"
    kid, raw = keygen(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(f"{path}.pub").st_mode) == 0o644
    with open(path) as f:
        assert f.read().startswith("-----BEGIN PRIVATE KEY-----\n")
    public = load_public(f"{path}.pub")
    assert key_id(public) == kid and len(kid) == 16
    assert unb64url(raw) == public.public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
    before = open(path, "rb").read()
    r = run_alert("keygen", str(path))
    assert r.returncode == 2 and "already exists" in r.stderr, r.stderr
    assert open(path, "rb").read() == before
    os.unlink(path)  # the .pub alone still blocks it, and nothing is left behind
    r = run_alert("keygen", str(path))
    assert r.returncode == 2 and f"{path}.pub: already exists" in r.stderr, r.stderr
    assert not os.path.exists(path)
    r = run_alert("keygen")
    assert r.returncode == 2 and "missing the FILE" in r.stderr
    r = run_alert("keygen", str(tmp_path / "no-such-dir" / "k"))
    assert r.returncode == 1 and "No such file or directory" in r.stderr


def test_sign_key_must_be_a_private_ed25519_key_only_its_owner_reads(tmp_path, keys):
    nowhere = "redis://127.0.0.1:1"  # refused before any connection
    loose = tmp_path / "loose"
    shutil.copy(keys["k1"]["key"], loose)
    os.chmod(loose, 0o640)
    r = run_alert("push", "--headline", "x", "--sign-key", str(loose), redis=nowhere)
    assert r.returncode == 2, r.stderr
    assert f"{loose}: a private key must be readable by its owner only, not mode 0640" \
        in r.stderr
    r = run_alert("push", "--headline", "x", redis=nowhere, env={"ALERT_SIGN_KEY": str(loose)})
    assert r.returncode == 2 and "ALERT_SIGN_KEY" in r.stderr and "mode 0640" in r.stderr
    rsa = tmp_path / "rsa"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
                    "-out", str(rsa)], check=True, capture_output=True)
    os.chmod(rsa, 0o600)
    r = run_alert("push", "--headline", "x", "--sign-key", str(rsa), redis=nowhere)
    assert r.returncode == 2 and "a RSA key, not Ed25519" in r.stderr, r.stderr
    os.chmod(keys["k1"]["pub"], 0o600)
    r = run_alert("retract", "1-0", "--sign-key", keys["k1"]["pub"], redis=nowhere)
    assert r.returncode == 2 and "not a PEM private key" in r.stderr, r.stderr
    enc = tmp_path / "encrypted"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-aes256", "-pass",
                    "pass:secret", "-out", str(enc)], check=True, capture_output=True)
    os.chmod(enc, 0o600)
    r = run_alert("push", "--headline", "x", "--sign-key", str(enc), redis=nowhere)
    assert r.returncode == 2 and "unencrypted" in r.stderr, r.stderr


# ---------------------------------------------------------------------------
# Signing, and what alertd relays
# ---------------------------------------------------------------------------
def test_the_test_vector_verifies_independently():
    with open(os.path.join(VECTOR, "alert.json"), encoding="utf-8") as f:
        item = json.load(f)
    with open(os.path.join(VECTOR, "signed-bytes.txt"), "rb") as f:
        want = f.read()
    assert signed_bytes(item) == want
    public = load_public(os.path.join(VECTOR, "public-key.pem"))
    assert verifies(item, public)
    assert item["kid"] == "If4x36FUomFia_hU"
    item["headline"] += "!"
    assert not verifies(item, public)


def test_push_update_retract_sign_every_item(redis_server, keys):
    k1 = keys["k1"]
    a = spush(redis_server, k1["key"], "--headline", "Quake", "--topic", "world",
              "--expires", "2h")
    r = run_alert("update", a, "--headline", "Quake: 7.1", redis=redis_server,
                  env={"ALERT_SIGN_KEY": k1["key"]})
    assert r.returncode == 0, r.stderr
    u = r.stdout.strip()
    # Naming the original again while version 2 exists: the script wants 3,
    # and alert signs again with it.
    r = run_alert("update", a, "--headline", "Quake: 7.2", "--sign-key", k1["key"],
                  redis=redis_server)
    assert r.returncode == 0, r.stderr
    u3 = r.stdout.strip()
    r = run_alert("retract", u, "--reason", "Wrong town", "--sign-key", k1["key"],
                  redis=redis_server)
    assert r.returncode == 0, r.stderr
    x = r.stdout.strip()
    public = load_public(k1["pub"])
    items = [stored(redis_server, i) for i in (a, u, u3, x)]
    assert [i["version"] for i in items] == [1, 2, 3, 1]
    assert [i.get("ref") for i in items] == [None, a, a, a]
    for item in items:
        assert item["kid"] == k1["kid"], item
        assert verifies(item, public), item
    # The update started from the signed original: its sig is not carried over.
    assert items[1]["sig"] != items[0]["sig"]
    # The signature covers published_at and ref.
    assert not verifies({**items[1], "ref": "1-0"}, public)
    assert not verifies({**items[0], "published_at": now_iso()}, public)


def test_signing_refuses_a_published_at_readers_would_find_stale(redis_server, keys):
    r = run_alert("push", "-f", "-", "--sign-key", keys["k1"]["key"], redis=redis_server,
                  input=json.dumps({"headline": "Old", "published_at": "2020-01-01T00:00:00.000Z"}))
    assert r.returncode == 2, r.stderr
    assert "published_at" in r.stderr and "stale" in r.stderr
    r = run_alert("push", "-f", "-", "--sign-key", keys["k1"]["key"], redis=redis_server,
                  input=json.dumps({"headline": "Forged", "sig": "A" * 86, "kid": "A" * 16}))
    assert r.returncode == 2 and "sig: set by alert when it signs" in r.stderr, r.stderr
    assert redis_server.client().xlen("alert:stream") == 0


def test_a_signed_update_never_signs_content_altered_in_redis(redis_server, keys):
    k1 = keys["k1"]
    a = spush(redis_server, k1["key"], "--headline", "Quake", "--url", "https://news.example/a")
    # A compromised Redis swaps the link of the stored original.
    c = redis_server.client()
    entry_id, fields = c.xrange("alert:stream", a, a)[0]
    item = json.loads(fields["item"])
    c.delete("alert:stream")  # a new stream may take the same id again
    c.xadd("alert:stream", {"item": json.dumps({**item, "url": "https://phish.example/a"})},
           id=entry_id)
    r = run_alert("update", a, "--headline", "Quake: 7.1", "--sign-key", k1["key"],
                  redis=redis_server)
    assert r.returncode == 2, r.stderr
    assert f"{a} in Redis fails its signature by this key" in r.stderr
    assert c.xlen("alert:stream") == 1
    # Content this key cannot vouch for is signed as Redis holds it, with a note.
    b = run_alert("push", "--headline", "Unsigned", redis=redis_server).stdout.strip()
    r = run_alert("update", b, "--headline", "Now signed", "--sign-key", k1["key"],
                  redis=redis_server)
    assert r.returncode == 0 and f"note: {b} is not signed" in r.stderr, r.stderr
    assert verifies(stored(redis_server, r.stdout.strip()), load_public(k1["pub"]))


def test_alertd_relays_signatures_untouched_on_every_transport(alertd, redis_server, keys):
    import asyncio

    from alertd_fixture import recv_json

    k1 = keys["k1"]
    public = load_public(k1["pub"])
    first = spush(redis_server, k1["key"], "--headline", "Before", "--topic", "world")

    async def main():
        sse = Sse(alertd)
        try:
            async with alertd.connect() as live, alertd.connect(f"since={first}") as replay:
                await recv_json(live)  # hello
                await recv_json(replay)
                a = await asyncio.to_thread(spush, redis_server, k1["key"], "--headline",
                                            "Signed \u00e9 \"quoted\"", "--summary", "Line\nTwo",
                                            "--url", "https://news.example.org/a?x=1&y=2")
                frames = {}
                for name, ws in (("ws", live), ("replay", replay)):
                    f = await recv_json(ws)
                    while f["type"] != "alert":
                        f = await recv_json(ws)
                    frames[name] = f["alert"]
                ev = await asyncio.to_thread(sse.events, 1)
                if ev[0].get("id") != a:  # the stream opened before `first` reached it
                    ev = await asyncio.to_thread(sse.events, 1)
                frames["sse"] = json.loads(ev[0]["data"])
                return a, frames
        finally:
            sse.close()

    a, frames = run(main())
    status, _, body = https_get(alertd.port, "/v1/alerts?limit=5", alertd.ctx)
    assert status == 200
    rest = {i["id"]: i for i in json.loads(body)["alerts"]}
    frames["rest"] = rest[a]
    assert verifies(rest[first], public)
    want = stored(redis_server, a)
    for transport, item in frames.items():
        assert item["id"] == a, (transport, item)
        assert item["sig"] == want["sig"] and item["kid"] == want["kid"], transport
        assert verifies(item, public), (transport, item)


def test_alertd_drops_signature_fields_of_the_wrong_shape(alertd, redis_server, keys):
    genuine = stored(redis_server, spush(redis_server, keys["k1"]["key"], "--headline", "Good"))
    before = metric(alertd, "alertd_alerts_invalid_total")
    bad = [inject(redis_server, {**genuine, "sig": genuine["sig"][:-1]}),
           inject(redis_server, {**genuine, "kid": genuine["kid"] + "A"}),
           inject(redis_server, {k: v for k, v in genuine.items() if k != "kid"})]
    good = inject(redis_server, {**genuine, "headline": "Shape only: relayed"})
    deadline = time.monotonic() + 10
    while metric(alertd, "alertd_alerts_invalid_total") < before + 3:
        assert time.monotonic() < deadline, "the node did not count the three items invalid"
        time.sleep(0.05)
    status, _, body = https_get(alertd.port, "/v1/alerts?limit=10", alertd.ctx)
    ids = [i["id"] for i in json.loads(body)["alerts"]]
    assert good in ids and not set(bad) & set(ids), (ids, bad)


# ---------------------------------------------------------------------------
# alert tail --verify
# ---------------------------------------------------------------------------
def test_tail_verify_rejects_each_kind_of_bad_alert_naming_why(alertd, redis_server, tls_cert,
                                                               keys, tail):
    k1, k3 = keys["k1"], keys["k3"]
    t = verify_tail(tail, alertd, tls_cert, [k1], "--count", "2")
    good = spush(redis_server, k1["key"], "--headline", "Genuine", "--urgency", "flash")
    genuine = stored(redis_server, good)
    forged_sig = inject(redis_server, {**genuine, "headline": "Explosions at the White House",
                                       "published_at": now_iso(),
                                       "sig": b64url(os.urandom(64)[:63] + b"\0")})
    changed = inject(redis_server, {**genuine, "headline": "Genuine, but changed"})
    wrong_kid = spush(redis_server, k3["key"], "--headline", "Signed by another key")
    relabelled = inject(redis_server, {**stored(redis_server, wrong_kid), "kid": k1["kid"]})
    unsigned = run_alert("push", "--headline", "Unsigned", redis=redis_server).stdout.strip()
    replayed = inject(redis_server, genuine)
    last = spush(redis_server, k1["key"], "--headline", "Genuine again")
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert [line.split("  ")[0] for line in lines] == [good, last], lines
    assert "Explosions" not in "\n".join(lines)
    assert "not the signature of key" in rejected(t, forged_sig, "bad signature")
    rejected(t, changed, "bad signature")
    assert k3["kid"] in rejected(t, wrong_kid, "unknown key")
    rejected(t, relabelled, "bad signature")
    rejected(t, unsigned, "unsigned")
    assert good in rejected(t, replayed, "replayed: the same signed alert came earlier as")


def test_tail_verify_strict_exits_6_at_the_first_rejection(alertd, redis_server, tls_cert, keys,
                                                           tail):
    t = verify_tail(tail, alertd, tls_cert, [keys["k1"]], "--strict")
    good = spush(redis_server, keys["k1"]["key"], "--headline", "Genuine")
    t.wait_lines(1)
    bad = run_alert("push", "--headline", "Unsigned", redis=redis_server).stdout.strip()
    rc, lines, err = t.finish()
    assert rc == 6, err
    assert [line.split("  ")[0] for line in lines] == [good]
    assert f"rejected {bad}: unsigned" in err


def test_tail_verify_stale_replays_live_and_in_history(alertd, redis_server, tls_cert, keys,
                                                       tail):
    k1 = keys["k1"]
    before = spush(redis_server, k1["key"], "--headline", "Earlier")
    old = spush(redis_server, k1["key"], "--headline", "Genuine, then old")
    time.sleep(3.5)  # past --max-age 3
    copy = inject(redis_server, stored(redis_server, old))
    # Asked for with since: the genuine one is history (its id matches its
    # time); the copy stored again later is stale by its id.
    t = verify_tail(tail, alertd, tls_cert, [k1], "--max-age", "3", "--since", before)
    t.wait_lines(1)
    assert "stale: published_at" in rejected(t, copy, "stale")
    assert "before the time of its id" in rejected(t, copy, "stale")
    t.wait_for(lambda: "replayed 2 alert(s)" in t.stderr(), "the end of the replay")
    live_copy = inject(redis_server, stored(redis_server, old))
    rejected(t, live_copy, "stale")
    fresh = spush(redis_server, k1["key"], "--headline", "Fresh")
    lines = t.wait_lines(2)
    assert [line.split("  ")[0] for line in lines] == [old, fresh]


def test_tail_verify_with_two_pinned_keys_for_rotation(alertd, redis_server, tls_cert, keys,
                                                       tail):
    t = verify_tail(tail, alertd, tls_cert, [keys["k1"], keys["k2"]], "--count", "2")
    a = spush(redis_server, keys["k1"]["key"], "--headline", "Old key")
    c = spush(redis_server, keys["k3"]["key"], "--headline", "Unpinned key")
    b = spush(redis_server, keys["k2"]["key"], "--headline", "New key")
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert [line.split("  ")[0] for line in lines] == [a, b]
    rejected(t, c, "unknown key")


@pytest.mark.parametrize("args,message", [
    (["--strict"], "--strict needs --verify"),
    (["--max-age", "60"], "--max-age needs --verify"),
    (["--verify", "/nonexistent.pub"], "--verify: /nonexistent.pub: No such file"),
    (["--verify", os.path.join(VECTOR, "alert.json")], "not a PEM public key"),
    (["--verify", os.path.join(VECTOR, "public-key.pem"), "--max-age", "0"],
     "--max-age must be 1-86400 seconds"),
    (["--verify", os.path.join(VECTOR, "public-key.pem"), "--fields", "headline"],
     "--fields and --verify cannot go together"),
])
def test_tail_verify_usage_errors(args, message):
    r = run_alert("tail", "--server", "wss://127.0.0.1:1", *args)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_tail_verify_at_most_8_keys(tmp_path):
    args = []
    for i in range(9):
        keygen(tmp_path / f"k{i}")
        args += ["--verify", str(tmp_path / f"k{i}.pub")]
    r = run_alert("tail", "--server", "wss://127.0.0.1:1", *args)
    assert r.returncode == 2 and "at most 8 --verify keys" in r.stderr, r.stderr


# ---------------------------------------------------------------------------
# Valgrind over the paths this feature adds
# ---------------------------------------------------------------------------
VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect"]


@pytest.mark.skipif(SANITIZED, reason="an ASan build checks its own memory; valgrind runs on the plain build")
def test_signing_and_verifying_are_valgrind_clean(alertd, redis_server, tls_cert, tmp_path):
    assert shutil.which("valgrind"), "valgrind is required (make deps installs it)"
    key = str(tmp_path / "vg")

    def vg(*args, timeout=120):
        r = subprocess.run([*VALGRIND, ALERT, *args], capture_output=True, text=True,
                           timeout=timeout)
        assert r.returncode in (0,), f"alert {args}: exit {r.returncode}\n{r.stderr}"
        return r

    vg("keygen", key)
    redis = ["--redis", redis_server.url]
    a = vg("push", "--headline", "Under valgrind", "--sign-key", key, *redis).stdout.strip()
    vg("update", a, "--headline", "Under valgrind, v2", "--sign-key", key, *redis)
    vg("update", a, "--headline", "Under valgrind, v3", "--sign-key", key, *redis)  # re-signed
    vg("retract", a, "--sign-key", key, *redis)
    errfile = tmp_path / "tail.err"
    argv = [*VALGRIND, ALERT, "tail", "--server", f"wss://localhost:{alertd.port}", "--ca",
            tls_cert.cert, "--verify", f"{key}.pub", "--verify",
            os.path.join(VECTOR, "public-key.pem"), "--count", "1"]
    with open(errfile, "w") as ef:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=ef, text=True)
    try:
        deadline = time.monotonic() + 90
        while "connected to node" not in errfile.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, errfile.read_text()
            time.sleep(0.1)
        unsigned = run_alert("push", "--headline", "Unsigned", redis=redis_server).stdout.strip()
        signed = run_alert("push", "--headline", "Signed", "--sign-key", key,
                           redis=redis_server).stdout.strip()
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = errfile.read_text()
    assert proc.returncode == 0, err
    assert f"rejected {unsigned}: unsigned" in err
    assert out.split("  ")[0] == signed, out
