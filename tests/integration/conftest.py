"""Shared fixtures for the integration tests: real servers on free loopback ports.

Every server a test needs is started here as a child process in a temporary
directory and stopped by its pid; nothing is mocked.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

BUILD = os.environ.get("ALERT_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ALERT = os.path.join(BUILD, "alert")
ALERTD = os.path.join(BUILD, "alertd")


def _sanitized(path):
    """Whether the program was built with ASan (make sanitize): valgrind
    cannot run it, and ASan checks its memory itself."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


SANITIZED = _sanitized(ALERT)
PROTO = os.path.join(ROOT, "proto")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class RedisServer:
    """A private redis-server; stop() and start() again keep port and data."""

    def __init__(self, workdir, port=None, extra=()):
        self.dir = workdir
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.dir), "--save", "", "--appendonly", "yes",
                "--daemonize", "no", "--loglevel", "warning"] + self.extra
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "redis.log"), "ab"))
        wait_for_port(self.port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # AOF loading answers LOADING
            if self.cli("PING").strip() == "PONG":
                return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not become ready")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        self.proc = None

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), *args],
                           capture_output=True, text=True, timeout=10)
        return r.stdout

    def client(self):
        import redis  # Debian's python3-redis
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)


@pytest.fixture
def redis_server(tmp_path):
    d = tmp_path / "redis"
    d.mkdir()
    srv = RedisServer(str(d)).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def module_redis(tmp_path_factory):
    srv = RedisServer(str(tmp_path_factory.mktemp("redis"))).start()
    yield srv
    srv.stop()


def run_alert(*args, redis=None, input=None, env=None, timeout=20):
    """Runs the `alert` CLI; returns the CompletedProcess (text mode unless input is bytes)."""
    e = dict(os.environ)
    e.pop("ALERT_REDIS_URL", None)
    if env:
        e.update(env)
    argv = [ALERT, *args]
    if redis is not None:
        argv.extend(["--redis", redis.url if hasattr(redis, "url") else redis])
    binary = isinstance(input, (bytes, bytearray))
    return subprocess.run(argv, input=input, capture_output=True, text=not binary,
                          env=e, timeout=timeout)


assert shutil.which("redis-server"), "redis-server is required (make deps installs it)"


# ---------------------------------------------------------------------------
# For the CLI tests (test_cli*.py): servers with their own configuration.
# ---------------------------------------------------------------------------

class ConfiguredRedis(RedisServer):
    """A RedisServer with extra arguments (ACL users, a password, a unix
    socket, tuning) whose own checks authenticate as `user`/`password`."""

    def __init__(self, workdir, extra=(), user=None, password=None):
        super().__init__(workdir, extra=extra)
        self.user = user
        self.password = password

    def cli(self, *args):
        auth = []
        if self.password:
            auth = ["--no-auth-warning", "-a", self.password]
            if self.user:
                auth += ["--user", self.user]
        r = subprocess.run(["redis-cli", "-p", str(self.port), *auth, *args],
                           capture_output=True, text=True, timeout=10)
        return r.stdout

    def client(self, db=0):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, username=self.user,
                           password=self.password, decode_responses=True)


@pytest.fixture
def redis_factory(tmp_path):
    """start(extra=(), user=None, password=None) -> a started ConfiguredRedis;
    every server started is stopped (by its pid) after the test."""
    started = []

    def start(extra=(), user=None, password=None):
        d = tmp_path / f"redis-{len(started)}"
        d.mkdir()
        srv = ConfiguredRedis(str(d), extra=extra, user=user, password=password)
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.stop()
