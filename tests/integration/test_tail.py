"""`alert tail`: the CLI as a real WebSocket client.

Against a real alertd (TLS, self-signed certificate) and a real redis-server,
alerts published with the real `alert push`. The close codes a healthy alertd
does not send on demand (1008, 4003, 1011, 4001, 4029) come from a small
python3-websockets server speaking the same protocol over ws://.
"""
import asyncio
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest
import websockets

from alertd_fixture import AlertdServer, TlsCert, push
from alertd_fixture import alertd, alertd_factory, tls_cert  # noqa: F401
from conftest import ALERT, free_port, run_alert

LINE_RE = re.compile(r"^(\d+-\d+)  (\S+)  (\S+)  (.*)$")


class Tail:
    """`alert tail ...` as a child process; stdout and stderr read by threads."""

    def __init__(self, *args):
        env = dict(os.environ)
        env.pop("ALERT_SERVER", None)
        self.argv = [ALERT, "tail", *[str(a) for a in args]]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.out, self.err = [], []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._read, args=(f, dst), daemon=True)
                        for f, dst in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self.threads:
            t.start()

    def _read(self, f, dst):
        for line in f:
            with self.lock:
                dst.append(line.rstrip("\n"))

    def stderr(self):
        with self.lock:
            return "\n".join(self.err)

    def lines(self):
        with self.lock:
            return list(self.out)

    def wait_for(self, pred, what, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            if self.proc.poll() is not None and not pred():
                time.sleep(0.1)  # let the readers drain
                if pred():
                    return
                raise AssertionError(f"tail exited ({self.proc.returncode}) while waiting for "
                                     f"{what}\nstdout: {self.lines()}\nstderr:\n{self.stderr()}")
            time.sleep(0.02)
        raise AssertionError(f"no {what} within {timeout}s\nstdout: {self.lines()}\n"
                             f"stderr:\n{self.stderr()}")

    def wait_connected(self, n=1, timeout=15.0):
        self.wait_for(lambda: self.stderr().count("connected to node") >= n,
                      f"connection #{n}", timeout)

    def wait_lines(self, n, timeout=15.0):
        self.wait_for(lambda: len(self.lines()) >= n, f"{n} line(s) on stdout", timeout)
        return self.lines()

    def finish(self, timeout=20.0):
        """Waits for the exit; returns (status, stdout lines, stderr text)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"tail still running after {timeout}s\nstdout: {self.lines()}"
                                 f"\nstderr:\n{self.stderr()}")
        for t in self.threads:
            t.join(timeout=5)
        return self.proc.returncode, self.lines(), self.stderr()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def tail():
    started = []

    def start(*args):
        t = Tail(*args)
        started.append(t)
        return t

    yield start
    for t in started:
        t.kill()


def server_url(srv):
    return f"wss://localhost:{srv.port}"


def ids_of(lines):
    out = []
    for line in lines:
        m = LINE_RE.match(line)
        assert m, f"not a tail line: {line!r}"
        out.append(m.group(1))
    return out


# ---------------------------------------------------------------------------
# Against alertd
# ---------------------------------------------------------------------------
def test_tail_prints_matching_alerts_and_exits_after_count(alertd, redis_server, tls_cert, tail):
    t = tail("--server", server_url(alertd), "--ca", tls_cert.cert, "--topic", "world",
             "--count", "2")
    t.wait_connected()
    a = push(redis_server, "Quake hits the coast", topics=["world"], urgency="flash")
    push(redis_server, "Cup final tonight", topics=["sport"])
    b = push(redis_server, "Ceasefire agreed", topics=["world", "politics"])
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert ids_of(lines) == [a, b]
    assert LINE_RE.match(lines[0]).groups() == (a, "flash", "alert", "Quake hits the coast")
    assert LINE_RE.match(lines[1]).groups() == (b, "bulletin", "alert", "Ceasefire agreed")
    assert "Cup final" not in "\n".join(lines)


def test_tail_json_lines_parse(alertd, redis_server, tls_cert, tail):
    t = tail("--server", server_url(alertd), "--ca", tls_cert.cert, "--json", "--count", "3")
    t.wait_connected()
    a = push(redis_server, "First", topics=["world"], lang="fr")
    r = run_alert("update", a, "--headline", "First, revised", redis=redis_server)
    assert r.returncode == 0, r.stderr
    u = r.stdout.strip()
    r = run_alert("retract", a, "--reason", "Wrong town", redis=redis_server)
    assert r.returncode == 0, r.stderr
    x = r.stdout.strip()
    rc, lines, err = t.finish()
    assert rc == 0, err
    items = [json.loads(line) for line in lines]
    assert [i["id"] for i in items] == [a, u, x]
    assert [i["kind"] for i in items] == ["alert", "update", "retraction"]
    assert items[0]["headline"] == "First" and items[0]["lang"] == "fr"
    assert items[1]["ref"] == a and items[1]["version"] == 2
    assert items[2]["ref"] == a


def test_tail_marks_updates_and_retractions(alertd, redis_server, tls_cert, tail):
    t = tail("--server", server_url(alertd), "--ca", tls_cert.cert, "--count", "3")
    t.wait_connected()
    a = push(redis_server, "Storm nears", topics=["weather"])
    u = run_alert("update", a, "--headline", "Storm makes landfall", redis=redis_server)
    x = run_alert("retract", a, "--reason", "Duplicate", redis=redis_server)
    assert u.returncode == 0 and x.returncode == 0, u.stderr + x.stderr
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert lines[1] == f"{u.stdout.strip()}  bulletin  UPDATE  Storm makes landfall (v2 of {a})"
    assert lines[2].startswith(f"{x.stdout.strip()}  ")
    assert f"  RETRACTION  of {a}: Duplicate" in lines[2]


def test_tail_without_ca_refuses_self_signed_certificate(alertd, tls_cert, tail):
    t0 = time.monotonic()
    t = tail("--server", server_url(alertd), "--timeout", "10")
    rc, lines, err = t.finish()
    assert rc == 3, err
    assert lines == []
    assert "certificate" in err and "self-signed" in err, err
    assert "--ca FILE" in err and "--insecure" in err, err
    assert time.monotonic() - t0 < 8, "a certificate failure should end the run at once"


class NameOnlyCert(TlsCert):
    """A certificate for another name; the fixture's own checks skip the name."""

    def client_context(self, *a, **kw):
        ctx = super().client_context(*a, **kw)
        ctx.check_hostname = False
        return ctx


def test_tail_checks_the_host_name(redis_server, tmp_path, tail):
    cert, key = str(tmp_path / "other.pem"), str(tmp_path / "other.key")
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=alerts.example",
         "-addext", "subjectAltName=DNS:alerts.example", "-keyout", key, "-out", cert],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    srv = AlertdServer(tmp_path, redis_server.url, NameOnlyCert(cert, key)).start()
    try:
        t = tail("--server", f"wss://localhost:{srv.port}", "--ca", cert, "--timeout", "5")
        rc, lines, err = t.finish()
        assert rc == 3, err
        assert "hostname mismatch" in err and "not for localhost" in err, err
        t = tail("--server", f"wss://127.0.0.1:{srv.port}", "--ca", cert, "--timeout", "5")
        rc, lines, err = t.finish()
        assert rc == 3, err
        assert "IP address mismatch" in err and "not for 127.0.0.1" in err, err
    finally:
        srv.stop()


def test_tail_accepts_an_ip_address_the_certificate_names(alertd, redis_server, tls_cert, tail):
    t = tail("--server", f"wss://127.0.0.1:{alertd.port}", "--ca", tls_cert.cert, "--count", "1")
    t.wait_connected()
    a = push(redis_server, "By address")
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert ids_of(lines) == [a]


def test_tail_insecure_accepts_self_signed(alertd, redis_server, tail):
    t = tail("--server", server_url(alertd), "--insecure", "--count", "1")
    t.wait_connected()
    a = push(redis_server, "Insecure but working")
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert ids_of(lines) == [a]
    assert "--insecure" in err and "not verified" in err, err


def test_tail_since_replays_history(alertd, redis_server, tls_cert, tail):
    a = push(redis_server, "One", topics=["world"])
    b = push(redis_server, "Two", topics=["world"])
    push(redis_server, "Three, elsewhere", topics=["sport"])
    c = push(redis_server, "Four", topics=["world"])
    t = tail("--server", server_url(alertd), "--ca", tls_cert.cert, "--since", a,
             "--topic", "world", "--count", "2")
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert ids_of(lines) == [b, c]
    t = tail("--server", server_url(alertd), "--ca", tls_cert.cert, "--since", a,
             "--topic", "world", "--timeout", "2")
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert ids_of(lines) == [b, c]
    assert "replayed 2 alert(s)" in err, err


def test_tail_resumes_after_a_server_restart(alertd, redis_server, tls_cert, tail):
    t = tail("--server", server_url(alertd), "--ca", tls_cert.cert, "--count", "4")
    t.wait_connected()
    a = push(redis_server, "Before the restart, 1")
    b = push(redis_server, "Before the restart, 2")
    t.wait_lines(2)
    alertd.stop(signal.SIGTERM)  # drains: tail gets 1001
    c = push(redis_server, "While alertd is down")  # only in the stream
    alertd.start()
    t.wait_connected(2, timeout=40)
    d = push(redis_server, "After the restart")
    rc, lines, err = t.finish(timeout=30)
    assert rc == 0, err
    assert ids_of(lines) == [a, b, c, d]
    assert "1001 going away" in err, err


def test_tail_timeout_and_ctrl_c_exit_zero(alertd, tls_cert, tail):
    t0 = time.monotonic()
    t = tail("--server", server_url(alertd), "--ca", tls_cert.cert, "--timeout", "1")
    rc, _, err = t.finish()
    assert rc == 0, err
    assert time.monotonic() - t0 < 6
    t = tail("--server", server_url(alertd), "--ca", tls_cert.cert)
    t.wait_connected()
    t.proc.send_signal(signal.SIGINT)
    rc, _, err = t.finish(timeout=10)
    assert rc == 0, err


def test_tail_keeps_retrying_until_timeout(tail):
    port = free_port()  # nothing listens there
    t = tail("--server", f"wss://localhost:{port}", "--timeout", "3")
    rc, lines, err = t.finish()
    assert rc == 3, err
    assert err.count("retrying in") >= 2, err
    assert f"not connected to wss://localhost:{port} after 3 s" in err, err


@pytest.mark.parametrize("args,message", [
    (("--topic", "World"), "--topic must be"),
    (("--since", "yesterday"), "--since must be an alert id"),
    (("--server", "https://localhost"), "--server must start with wss:// or ws://"),
    (("--count", "0"), "--count must be"),
    (("--ca", "/nonexistent/ca.pem"), "--ca /nonexistent/ca.pem"),
    (("--token", "not a token"), "--token must be a JWT"),
    (("--token", "a" * 2048), "--token must be a JWT"),
])
def test_tail_usage_errors(args, message):
    r = run_alert("tail", *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr


def test_tail_help_lists_options():
    r = run_alert("tail", "--help")
    assert r.returncode == 0
    for opt in ("--server", "--topic", "--lang", "--since", "--token", "--insecure", "--ca",
                "--json", "--count", "--timeout"):
        assert opt in r.stdout
    r = run_alert("--help")
    assert "tail" in r.stdout


# ---------------------------------------------------------------------------
# Close codes, from a scripted server over ws://
# ---------------------------------------------------------------------------
def alert_frame(alert_id, headline="Scripted"):
    return {"type": "alert", "alert": {"id": alert_id, "kind": "alert", "version": 1,
                                       "urgency": "flash", "headline": headline}}


class ScriptedServer:
    """A python3-websockets server on ws://127.0.0.1:port: connection number
    i gets the frames of script[i] (dicts are sent as JSON, an int closes
    with that code). Records each connection's request path."""

    def __init__(self, script):
        self.script = script
        self.paths = []
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "scripted server did not start"

    async def _handler(self, ws, path=None):
        n = len(self.paths)
        self.paths.append(ws.path)
        for step in self.script[min(n, len(self.script) - 1)]:
            if isinstance(step, int):
                await ws.close(code=step, reason="scripted")
                return
            await ws.send(json.dumps(step))
        await ws.wait_closed()

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def main():
            self.stop_event = asyncio.Event()
            async with websockets.serve(self._handler, "127.0.0.1", self.port,
                                        subprotocols=["alert.v1"]):
                self.ready.set()
                await self.stop_event.wait()
        self.loop.run_until_complete(main())

    def url(self):
        return f"ws://127.0.0.1:{self.port}"

    def stop(self):
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=10)


@pytest.fixture
def scripted():
    servers = []

    def make(script):
        s = ScriptedServer(script)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


HELLO = {"type": "hello", "v": 1, "node": "scripted", "heartbeat": 25, "last_id": "5-0"}


@pytest.mark.parametrize("code", [1008, 4003])
def test_tail_stops_when_refused(scripted, tail, code):
    srv = scripted([[HELLO, {"type": "error", "code": "forbidden", "message": "not for you"},
                     code]])
    t = tail("--server", srv.url(), "--timeout", "10")
    rc, lines, err = t.finish()
    assert rc == 3, err
    assert f"refused this client (close {code}" in err, err
    assert "not for you" in err, err
    assert len(srv.paths) == 1


@pytest.mark.parametrize("code", [1001, 1011, 4001])
def test_tail_resumes_after_close(scripted, tail, code):
    srv = scripted([
        [HELLO, alert_frame("6-0"), alert_frame("7-0"), code],
        # The second connection overlaps what was printed: no duplicates.
        [HELLO, alert_frame("7-0"), {"type": "replayed", "count": 1, "last_id": "8-0"},
         alert_frame("8-0")],
    ])
    t = tail("--server", srv.url(), "--count", "3", "--topic", "world")
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert ids_of(lines) == ["6-0", "7-0", "8-0"]
    assert srv.paths[0] == "/v1/ws?topics=world", srv.paths
    assert srv.paths[1] == "/v1/ws?topics=world&since=7-0", srv.paths
    assert f"({code} " in err, err


def test_tail_sends_its_token_on_every_connection(scripted, tail):
    srv = scripted([[HELLO, alert_frame("6-0"), 1001], [HELLO, alert_frame("7-0")]])
    t = tail("--server", srv.url(), "--count", "2", "--topic", "premium", "--token", "h.p.s-_")
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert srv.paths == ["/v1/ws?topics=premium&token=h.p.s-_",
                         "/v1/ws?topics=premium&token=h.p.s-_&since=6-0"], srv.paths


@pytest.mark.parametrize("code", [4029, 4030, 4031])
def test_tail_backs_off_longer_on_4029_4030_4031(scripted, tail, code):
    srv = scripted([[code]])
    t = tail("--server", srv.url(), "--timeout", "4")
    rc, lines, err = t.finish()
    assert rc == 3, err
    assert len(srv.paths) == 1, srv.paths
    m = re.search(r"retrying in (\d+)\.(\d) s", err)
    assert m and int(m.group(1)) >= 5, err


def test_tail_warns_on_gap_and_first_connection_has_no_since(scripted, tail):
    srv = scripted([[HELLO, {"type": "gap", "since": "1-0", "oldest": "3-0"},
                     alert_frame("9-0")]])
    t = tail("--server", srv.url(), "--since", "1-0", "--count", "1", "--json")
    rc, lines, err = t.finish()
    assert rc == 0, err
    assert json.loads(lines[0])["id"] == "9-0"
    assert "warning: alerts after 1-0 are no longer in the server's history" in err, err
    assert srv.paths == ["/v1/ws?since=1-0"]
    t = tail("--server", srv.url(), "--count", "1")
    assert t.finish()[0] == 0
    assert srv.paths[1] == "/v1/ws"


def test_tail_stops_on_an_unknown_protocol_version(scripted, tail):
    srv = scripted([[dict(HELLO, v=2), alert_frame("6-0")]])
    t = tail("--server", srv.url(), "--timeout", "10")
    rc, lines, err = t.finish()
    assert rc == 3, err
    assert lines == []
    assert "protocol version 2" in err, err
    assert len(srv.paths) == 1
