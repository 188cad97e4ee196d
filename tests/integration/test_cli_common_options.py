"""`alert`'s common options (--redis, --prefix, --help/-h, --version) before
the command, as with git, docker or kubectl: against two real redis-servers,
so that where an alert lands proves which --redis was taken. After the
command they keep working, and there they win over the same option before
it. Any other option before the command, or one without its value, is a
usage error (exit 2) that names it."""
import json
import re

import pytest

from conftest import run_alert

ID_RE = re.compile(r"^\d+-\d+$")


@pytest.fixture
def two_redis(redis_factory):
    """Two private redis-servers: `a` is the one meant, `b` the one not."""
    return redis_factory(), redis_factory()


def alert(*args, env=None):
    """Runs `alert` exactly as given: no --redis is appended."""
    return run_alert(*args, env=env)


def published(r):
    assert r.returncode == 0, r.stderr
    alert_id = r.stdout.strip()
    assert ID_RE.match(alert_id), r.stdout
    return alert_id


def stream(srv, prefix="alert"):
    """{id: item} of the stream under prefix."""
    return {i: json.loads(f["item"]) for i, f in srv.client().xrange(f"{prefix}:stream")}


def usage_error(r, *names):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("alert: "), r.stderr
    assert "--help" in r.stderr, "a usage error points to --help"
    for name in names:
        assert f"'{name}'" in r.stderr, (name, r.stderr)


# --- --redis and --prefix before the command ---------------------------------------

@pytest.mark.parametrize("form", ["separate", "joined"])
def test_redis_before_the_command_is_where_the_alert_goes(two_redis, form):
    a, b = two_redis
    before = ["--redis", a.url] if form == "separate" else [f"--redis={a.url}"]
    # ALERT_REDIS_URL names the other server: the option must win over it.
    r = alert(*before, "push", "--headline", "Quake hits the coast", "--topic", "world",
              env={"ALERT_REDIS_URL": b.url})
    alert_id = published(r)
    items = stream(a)
    assert list(items) == [alert_id]
    assert items[alert_id]["headline"] == "Quake hits the coast"
    assert items[alert_id]["topics"] == ["world"]
    assert b.client().exists("alert:stream") == 0, "the other Redis got nothing"


@pytest.mark.parametrize("form", ["separate", "joined"])
def test_prefix_before_the_command_names_the_keys(two_redis, form):
    a, _ = two_redis
    before = ["--prefix", "newsroom"] if form == "separate" else ["--prefix=newsroom"]
    alert_id = published(alert(*before, "--redis", a.url, "push", "--headline", "Prefixed"))
    assert list(stream(a, "newsroom")) == [alert_id]
    assert a.client().exists("alert:stream") == 0


def test_update_retract_list_status_take_them_before_the_command(two_redis):
    a, b = two_redis
    first = published(alert("--redis", a.url, "--prefix", "desk", "push", "--headline", "Storm"))
    update = published(alert("--redis", a.url, "--prefix", "desk", "update", first,
                             "--headline", "Storm makes landfall"))
    retraction = published(alert("--prefix=desk", f"--redis={a.url}", "retract", first,
                                 "--reason", "Duplicate"))
    items = stream(a, "desk")
    assert list(items) == [first, update, retraction]
    assert items[update]["kind"] == "update" and items[update]["ref"] == first
    assert items[retraction]["kind"] == "retraction" and items[retraction]["ref"] == first

    r = alert("--redis", a.url, "--prefix", "desk", "list", "--json")
    assert r.returncode == 0, r.stderr
    assert [x["id"] for x in json.loads(r.stdout)] == [retraction]  # folded (fold.h)

    r = alert("--redis", a.url, "--prefix", "desk", "status", "--json")
    assert r.returncode == 0, r.stderr
    status = json.loads(r.stdout)
    assert status["stream_length"] == 3 and status["last_id"] == retraction, status
    assert status["prefix"] == "desk", status
    assert b.client().dbsize() == 0


def test_tail_accepts_them_before_the_command(two_redis):
    a, _ = two_redis
    # Nothing listens on port 1: tail runs (exit 3 when --timeout ends with no
    # connection) rather than refusing the options (exit 2).
    r = alert("--redis", a.url, "--prefix", "desk", "tail", "--server", "ws://127.0.0.1:1",
              "--timeout", "1")
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "not connected" in r.stderr


# --- after the command wins ------------------------------------------------------

def test_redis_after_the_command_wins(two_redis):
    a, b = two_redis
    alert_id = published(alert("--redis", b.url, "push", "--headline", "Which one?",
                               "--redis", a.url))
    assert list(stream(a)) == [alert_id]
    assert b.client().exists("alert:stream") == 0


def test_prefix_after_the_command_wins(two_redis):
    a, _ = two_redis
    alert_id = published(alert("--prefix=before", "--redis", a.url, "push", "--headline", "x",
                               "--prefix", "after"))
    assert list(stream(a, "after")) == [alert_id]
    assert a.client().exists("before:stream") == 0


def test_after_the_command_alone_still_works(two_redis):
    a, b = two_redis
    alert_id = published(alert("push", "--headline", "Classic", "--redis", a.url,
                               "--prefix", "classic"))
    assert list(stream(a, "classic")) == [alert_id]
    assert b.client().dbsize() == 0


# --- --help and --version before the command ------------------------------------------

@pytest.mark.parametrize("cmd", ["push", "update", "retract", "list", "status", "tail"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_before_the_command_is_the_command_help(cmd, flag):
    expected = alert(cmd, "--help")
    assert expected.returncode == 0 and expected.stdout.startswith(f"Usage: alert {cmd}")
    r = alert(flag, cmd)
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected.stdout
    # With other common options before it too, and a dead Redis: help wins.
    r = alert("--redis", "redis://127.0.0.1:1", flag, cmd)
    assert r.returncode == 0 and r.stdout == expected.stdout


def test_help_before_help_command():
    r = alert("--redis", "redis://127.0.0.1:1", "help", "push")
    assert r.returncode == 0 and r.stdout == alert("push", "--help").stdout


def test_top_level_help_says_where_common_options_go():
    r = alert("--help")
    assert r.returncode == 0
    assert "before or after the command" in r.stdout
    for option in ("--redis", "--prefix", "--help", "--version"):
        assert option in r.stdout, option


@pytest.mark.parametrize("argv", [
    ["--version"], ["--version", "push"], ["--version", "status"], ["--version", "tail"],
    ["--redis", "redis://127.0.0.1:1", "--version", "list"], ["--version", "help"],
    ["--prefix=p", "--version"],
])
def test_version_before_or_without_a_command(argv):
    expected = alert("push", "--version")
    assert expected.returncode == 0 and expected.stdout.startswith("alert ")
    r = alert(*argv)
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected.stdout


# --- errors -----------------------------------------------------------------------

@pytest.mark.parametrize("argv,name", [
    (["--headline", "x", "push"], "--headline"),
    (["-f", "item.json", "push"], "-f"),
    (["--bogus", "push"], "--bogus"),
    (["--json", "list"], "--json"),
    (["--server", "wss://localhost:8443", "tail"], "--server"),
    (["--redis-url", "redis://127.0.0.1:1", "push"], "--redis-url"),
    (["--help=push"], "--help=push"),
    (["-x"], "-x"),
])
def test_other_options_before_the_command_are_refused(two_redis, argv, name):
    a, _ = two_redis
    r = alert("--redis", a.url, *argv, "--headline", "never published")
    usage_error(r, name)
    assert "before the command" in r.stderr, r.stderr
    assert a.client().dbsize() == 0, "nothing was published"


@pytest.mark.parametrize("argv", [["--redis"], ["--prefix"], ["--prefix=p", "--redis"]])
def test_missing_value_before_the_command(argv):
    r = alert(*argv)
    usage_error(r, argv[-1])
    assert "needs an argument" in r.stderr, r.stderr


@pytest.mark.parametrize("argv", [["--redis", "redis://127.0.0.1:1"], ["--prefix=p"]])
def test_common_options_without_a_command(argv):
    r = alert(*argv)
    assert r.returncode == 2 and r.stdout == ""
    assert "missing a command" in r.stderr, r.stderr


def test_bad_prefix_before_the_command_is_checked(two_redis):
    a, _ = two_redis
    r = alert("--prefix", "a b", "--redis", a.url, "push", "--headline", "x")
    assert r.returncode == 2 and "--prefix" in r.stderr, r.stderr
    assert a.client().dbsize() == 0
