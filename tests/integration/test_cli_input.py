"""`alert` input handling: every rule through the options, the invalid
examples of proto/, hostile input on -f, usage errors and --help. An invalid
item is refused before any connection, so these point --redis at a closed
port: exit 2 proves nothing tried to publish."""
import json
import os

import pytest

from conftest import PROTO, run_alert

NOWHERE = "redis://127.0.0.1:1"  # nothing listens: a publish attempt would exit 3


def refused(*args, input=None, field=None):
    r = run_alert(*args, redis=NOWHERE, input=input)
    err = r.stderr if isinstance(r.stderr, str) else r.stderr.decode("utf-8", "replace")
    assert r.returncode == 2, (r.returncode, err)
    assert r.stdout in ("", b"")
    assert err.startswith("alert: "), err
    assert "\x1b" not in err, "input is never echoed raw to the terminal"
    assert "Traceback" not in err and "Sanitizer" not in err
    if field is not None:
        assert field in err, err
    return err


# --- each rule through the options --------------------------------------------

@pytest.mark.parametrize("args,field", [
    (["--summary", "no headline"], "headline"),
    (["--headline", ""], "headline"),
    (["--headline", "h" * 281], "headline"),
    (["--headline", "x", "--summary", "s" * 1001], "summary"),
    (["--headline", "x", "--url", "javascript:alert(1)"], "url"),
    (["--headline", "x", "--url", "ftp://example.org/a"], "url"),
    (["--headline", "x", "--url", "https://e.org/" + "a" * 2048], "url"),
    (["--headline", "x", "--byline", "b" * 201], "byline"),
    (["--headline", "x", "--credit", "c" * 301], "credit"),
    (["--headline", "x", "--urgency", "nope"], "urgency"),
    (["--headline", "x", "--lang", "english language"], "lang"),
    (["--headline", "x", "--topic", "BAD"], "topics"),
    (["--headline", "x", "--topic", "t" * 33], "topics"),
    (["--headline", "x"] + [a for i in range(17) for a in ("--topic", f"t{i}")], "topics"),
    (["--headline", "x", "--image", "javascript:alert(1)"], "image.url"),
    (["--headline", "x", "--caption", "no image url"], "image"),
    (["--headline", "x", "--image", "https://e.org/i.jpg", "--caption", "c" * 501],
     "image.caption"),
    (["--headline", "x", "--image", "https://e.org/i.jpg", "--image-credit", "c" * 201],
     "image.credit"),
    (["--headline", "x", "--expires", "garbage"], "expires"),
    (["--headline", "x", "--expires", "0s"], "expires"),
    (["--headline", "x", "--expires", "400d"], "expires"),
    (["--headline", "x", "--expires", "2000-01-01T00:00:00Z"], "expires_at"),
    (["--headline", "bell\x07here"], "headline"),
    (["--headline", "esc\x1b[31mred"], "headline"),
])
def test_rule_via_options(args, field):
    refused("push", *args, field=field)


def test_invalid_utf8_option():
    import subprocess
    from conftest import ALERT
    p = subprocess.run([os.fsencode(ALERT), b"push", b"--headline", b"bad \xff\xfe",
                        b"--redis", NOWHERE.encode()], capture_output=True, timeout=20)
    assert p.returncode == 2 and b"headline" in p.stderr and b"UTF-8" in p.stderr


# --- the invalid examples of proto/ ------------------------------------------------

def _invalid_examples():
    path = os.path.join(PROTO, "examples", "invalid", "expected.json")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return sorted(json.load(f).items())


@pytest.mark.parametrize("name,expect", _invalid_examples(), ids=lambda v: str(v)[:40])
def test_invalid_example_refused(name, expect):
    path = os.path.join(PROTO, "examples", "invalid", name)
    err = refused("push", "-f", path, field=expect["field"])
    assert expect["rule"] in err, err


# --- hostile input on -f ---------------------------------------------------------

@pytest.mark.parametrize("name,data", [
    ("1 MiB", b'{"headline":"' + b"a" * (1 << 20) + b'"}'),
    ("16 KiB + 1", b" " * (16 * 1024 + 1)),
    ("invalid UTF-8", b'{"headline":"a\xff\xfeb"}'),
    ("overlong UTF-8", b'{"headline":"\xc0\xaf"}'),
    ("surrogate escape", b'{"headline":"\\ud800"}'),
    ("NUL byte", b'{"headline":"a"}\x00'),
    ("NUL escape", b'{"headline":"a\\u0000b"}'),
    ("100k [", b"[" * 100_000),
    ("10k [", b"[" * 10_000),
    ("deep ext", b'{"headline":"a","ext":' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}"),
    ("control character", b'{"headline":"a\\u001bb"}'),
    ("raw control character", b'{"headline":"a\x01b"}'),
    ("javascript url", b'{"headline":"a","url":"javascript:alert(1)"}'),
    ("not an object", b'["headline"]'),
    ("empty", b""),
    ("duplicate keys", b'{"headline":"a","headline":"b"}'),
    ("unknown field", b'{"headline":"a","evil":1}'),
    ("id set", b'{"headline":"a","id":"1-0"}'),
    ("huge number", b'{"headline":"a","version":1e999}'),
    ("trailing garbage", b'{"headline":"a"} x'),
], ids=lambda v: v if isinstance(v, str) else "")
def test_hostile_stdin(name, data):
    refused("push", "-f", "-", input=data)


def test_missing_file():
    refused("push", "-f", "/nonexistent/item.json", field="/nonexistent/item.json")


def test_directory_as_file(tmp_path):
    refused("push", "-f", str(tmp_path))


# --- usage ---------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    [], ["bogus"], ["--bogus"], ["push", "--bogus"], ["push", "-x"], ["push", "--headline"],
    ["push", "--headline", "x", "extra"], ["update"], ["update", "not-an-id", "--headline", "x"],
    ["update", "1-0", "2-0"], ["retract"], ["retract", "1-0", "--headline", "x"],
    ["list", "--limit", "0"], ["list", "--limit", "1001"], ["list", "--limit", "x"],
    ["list", "extra"], ["status", "--limit", "3"], ["push", "--headline", "x", "--maxlen", "0"],
    ["push", "--headline", "x", "--maxlen", "ten"], ["push", "--headline", "x", "--key", ""],
    ["push", "--headline", "x", "--key", "has space"], ["push", "--headline", "x", "--key", "k" * 129],
    ["push", "--headline", "x", "--prefix", "a b"], ["push", "--headline", "x", "--redis", "http://x"],
    ["help", "bogus"],
])
def test_usage_errors(args):
    r = run_alert(*args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith("alert: ") and "--help" in r.stderr
    assert r.stdout == ""


def test_bad_env_maxlen():
    r = run_alert("push", "--headline", "x", redis=NOWHERE, env={"ALERT_MAXLEN": "-5"})
    assert r.returncode == 2 and "ALERT_MAXLEN" in r.stderr


@pytest.mark.parametrize("cmd,mentions", [
    ("push", ["--headline", "--summary", "--url", "--urgency", "--lang", "--topic", "--byline",
              "--credit", "--image", "--caption", "--image-credit", "--expires", "--key", "-f",
              "--maxlen", "--redis", "--prefix"]),
    ("update", ["ID", "--headline", "--expires", "--key", "-f", "--redis", "--prefix"]),
    ("retract", ["ID", "--reason", "--key", "--redis", "--prefix"]),
    ("list", ["--limit", "--topic", "--lang", "--json", "--redis", "--prefix"]),
    ("status", ["--json", "--redis", "--prefix"]),
])
def test_help(cmd, mentions):
    for argv in ([cmd, "--help"], [cmd, "-h"], ["help", cmd]):
        r = run_alert(*argv)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"Usage: alert {cmd}")
        for m in mentions:
            assert m in r.stdout, (cmd, m)
    # --help wins over everything else, even an invalid item or a dead Redis.
    r = run_alert(cmd, "--help", redis=NOWHERE)
    assert r.returncode == 0


def test_top_level_help_and_version():
    for argv in (["--help"], ["help"], ["-h"]):
        r = run_alert(*argv)
        assert r.returncode == 0
        for cmd in ("push", "update", "retract", "list", "status"):
            assert cmd in r.stdout
    for argv in (["--version"], ["push", "--version"], ["status", "--version"]):
        r = run_alert(*argv)
        assert r.returncode == 0 and r.stdout == "alert 0.1.0\n"
