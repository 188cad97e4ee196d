"""scripts/run.sh, the embedded default behind `make run`.

Runs the real script with its state in a temporary directory (ALERT_VAR_DIR)
and alertd on a free port (ALERTD_LISTEN), then talks to what it started as
a developer would: the printed Redis URL with `alert push`, /readyz over
verified TLS, a WebSocket hello, the printed `alert tail` line. SIGINT must
stop everything it started.
"""
import base64
import asyncio
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time

import pytest
import websockets

from alertd_fixture import TlsCert, https_get
from conftest import BUILD, ROOT, free_port, run_alert

SCRIPT = os.path.join(ROOT, "scripts", "run.sh")
START_TIMEOUT = 60.0


def alive(pid):
    """Running and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def children(pid):
    r = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True,
                       timeout=10)
    return [int(p) for p in r.stdout.split()]


class RunScript:
    """scripts/run.sh as a child; its stdout and stderr merged and read by a thread."""

    def __init__(self, var, listen, extra_env=None):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("ALERTD_") or k.startswith("ALERT_"):
                del env[k]
        env.update({"ALERT_VAR_DIR": str(var), "ALERTD_LISTEN": listen}, **(extra_env or {}))
        self.var = str(var)
        self.proc = subprocess.Popen([SCRIPT, os.path.abspath(BUILD)], cwd=ROOT, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.output = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.pids = []  # every pid seen, for the teardown's safety net

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.output.append(line.rstrip("\n"))

    def text(self):
        with self.lock:
            return "\n".join(self.output)

    def wait_for(self, regex, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(regex, self.text(), re.M)
            if m:
                return m
            if self.proc.poll() is not None:
                self.reader.join(timeout=5)
                m = re.search(regex, self.text(), re.M)
                if m:
                    return m
                raise AssertionError(f"run.sh exited ({self.proc.returncode}) before "
                                     f"{regex!r}:\n{self.text()}")
            time.sleep(0.05)
        raise AssertionError(f"no {regex!r} within {timeout}s:\n{self.text()}")

    def pid_file(self, name):
        with open(os.path.join(self.var, f"{name}.pid")) as f:
            pid = int(f.read())
        self.pids.append(pid)
        return pid

    def wait(self, timeout=30.0):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"run.sh still running {timeout}s after the signal:\n"
                                 f"{self.text()}")
        self.reader.join(timeout=5)
        return rc

    def cleanup(self):
        """Safety net: stops (by pid) whatever is still running after a failure."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pid in self.pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def run_script(tmp_path):
    started = []

    def start(listen, extra_env=None):
        s = RunScript(tmp_path / "var", listen, extra_env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.cleanup()


async def ws_hello(port, ctx):
    async with websockets.connect(f"wss://localhost:{port}/v1/ws", ssl=ctx,
                                  subprotocols=["alert.v1"], open_timeout=10,
                                  ping_interval=None) as ws:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        return frame, ws.subprotocol


def upgrade_status(port, ctx, origin):
    """The status of a WebSocket upgrade sent with `origin`."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as t:
            key = base64.b64encode(os.urandom(16)).decode()
            t.sendall((f"GET /v1/ws HTTP/1.1\r\nHost: localhost:{port}\r\n"
                       "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                       f"Origin: {origin}\r\n\r\n").encode())
            head = b""
            while b"\r\n" not in head:
                chunk = t.recv(4096)
                assert chunk, f"closed without an answer: {head!r}"
                head += chunk
            return int(head.split(b" ")[1])


def test_run_script_starts_serves_and_stops(run_script, tmp_path):
    port = free_port()
    run = run_script(f"127.0.0.1:{port}")
    m = run.wait_for(r"ALERT_REDIS_URL=(redis://127\.0\.0\.1:\d+) (\S+) push")
    redis_url = m.group(1)
    follow = run.wait_for(r"^\s*Follow:\s+(.*\btail\b.*)$").group(1)
    assert f"https://localhost:{port}/" in run.text()

    alertd_pid, redis_pid = run.pid_file("alertd"), run.pid_file("redis")
    push_pid = run.pid_file("alertd-push")
    workers = children(alertd_pid)  # none with the script's default of one worker
    run.pids.extend(workers)
    assert set(children(run.proc.pid)) >= {alertd_pid, redis_pid, push_pid}
    push_port = int(run.wait_for(r"alertd-push \(Web Push\) is ready\s+https://localhost:(\d+)/")
                    .group(1))
    vapid = os.path.join(run.var, "push", "vapid.pem")
    assert os.stat(vapid).st_mode & 0o077 == 0, "the VAPID key is readable by others"

    # The development certificate: ECDSA P-256, the loopback names, 825 days.
    crt = os.path.join(run.var, "tls", "localhost.crt")
    key = os.path.join(run.var, "tls", "localhost.key")
    r = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-text"], capture_output=True,
                       text=True, timeout=10)
    assert "prime256v1" in r.stdout or "P-256" in r.stdout, r.stdout
    assert "DNS:localhost" in r.stdout and "IP Address:127.0.0.1" in r.stdout, r.stdout
    assert "IP Address:0:0:0:0:0:0:0:1" in r.stdout, r.stdout
    assert subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-checkend",
                           str(824 * 86400)], capture_output=True, timeout=10).returncode == 0
    assert os.stat(key).st_mode & 0o077 == 0, "the private key is readable by others"
    assert os.path.exists(os.path.join(run.var, "redis", "redis.log"))

    # Publish with the printed URL; read it back as a reader would.
    pushed = run_alert("push", "--headline", "From make run", "--topic", "world",
                       env={"ALERT_REDIS_URL": redis_url})
    assert pushed.returncode == 0, pushed.stderr
    alert_id = pushed.stdout.strip()
    ctx = TlsCert(crt, key).client_context()
    status, hdrs, body = https_get(port, "/readyz", ctx)
    assert status == 200, body
    # No HSTS on a self-signed localhost; browser pages from its own origin only.
    assert "strict-transport-security" not in hdrs, hdrs
    for origin, want in [(f"https://localhost:{port}", 101), (f"https://127.0.0.1:{port}", 101),
                         ("https://evil.example", 403), ("https://localhost:1", 403)]:
        assert upgrade_status(port, ctx, origin) == want, origin
    hello, subprotocol = asyncio.run(ws_hello(port, ctx))
    assert hello["type"] == "hello" and subprotocol == "alert.v1", hello
    status, _, body = https_get(push_port, "/v1/push/vapid", ctx)
    assert status == 200 and json.loads(body)["vapid_public_key"].startswith("B"), body
    deadline = time.monotonic() + 10
    while hello["last_id"] != alert_id and time.monotonic() < deadline:
        time.sleep(0.1)
        hello, _ = asyncio.run(ws_hello(port, ctx))
    assert hello["last_id"] == alert_id, hello

    # The printed tail line works as printed (run from the repository).
    argv = shlex.split(follow)
    argv[0] = os.path.join(ROOT, argv[0]) if not os.path.isabs(argv[0]) else argv[0]
    r = subprocess.run(argv + ["--since", "0-0", "--count", "1", "--json"], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == alert_id

    # Ctrl-C: everything it started goes, and the script says so.
    run.proc.send_signal(signal.SIGINT)
    assert run.wait() == 0, run.text()
    for pid in [alertd_pid, redis_pid, push_pid, *workers]:
        assert not alive(pid), f"pid {pid} still running after SIGINT:\n{run.text()}"
    assert not os.path.exists(os.path.join(run.var, "alertd.pid"))
    assert not os.path.exists(os.path.join(run.var, "alertd-push.pid"))
    assert not os.path.exists(os.path.join(run.var, "redis.pid"))


def test_run_script_term_stops_everything_and_keeps_the_data(run_script):
    port = free_port()
    run = run_script(f"127.0.0.1:{port}", {"ALERTD_WORKERS": "1"})
    redis_url = run.wait_for(r"ALERT_REDIS_URL=(redis://127\.0\.0\.1:\d+)").group(1)
    alertd_pid, redis_pid = run.pid_file("alertd"), run.pid_file("redis")
    first = run_alert("push", "--headline", "Kept", env={"ALERT_REDIS_URL": redis_url})
    assert first.returncode == 0, first.stderr
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait() == 0, run.text()
    assert not alive(alertd_pid) and not alive(redis_pid)

    # Again, same var/: the certificate and VAPID key are reused and the alert
    # is still there.
    crt = os.path.join(run.var, "tls", "localhost.crt")
    before = open(crt).read()
    vapid = open(os.path.join(run.var, "push", "vapid.pem")).read()
    run2 = run_script(f"127.0.0.1:{port}", {"ALERTD_WORKERS": "1"})
    redis_url = run2.wait_for(r"ALERT_REDIS_URL=(redis://127\.0\.0\.1:\d+)").group(1)
    assert open(crt).read() == before
    assert "making a development certificate" not in run2.text()
    assert open(os.path.join(run.var, "push", "vapid.pem")).read() == vapid
    assert "making a VAPID key" not in run2.text()
    r = run_alert("list", "--json", env={"ALERT_REDIS_URL": redis_url})
    assert r.returncode == 0, r.stderr
    assert [i["id"] for i in json.loads(r.stdout)] == [first.stdout.strip()]
    run2.proc.send_signal(signal.SIGINT)
    assert run2.wait() == 0, run2.text()


def test_run_script_refuses_a_busy_port(run_script):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        run = run_script(f"127.0.0.1:{port}")
        assert run.wait(timeout=30) != 0
    text = run.text()
    assert f"127.0.0.1:{port} is already in use" in text, text
    assert "ALERTD_LISTEN=" in text, text
    assert not os.path.exists(os.path.join(run.var, "redis.pid")), "started Redis anyway"
