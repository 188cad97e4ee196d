"""alertd under a service manager (systemd, Type=notify): the sd_notify
protocol spoken over NOTIFY_SOCKET, received here on a real unix datagram
socket the test binds, as a path and as an abstract name.

What ARCHITECTURE.md and deploy/README.md promise: READY=1 once every
worker serves (the port answers), STATUS= lines, STOPPING=1 when the drain
starts, RELOADING=1 then READY=1 around a SIGHUP, WATCHDOG=1 every half
WATCHDOG_USEC while every worker's loop turns, and from the process that
systemd watches only (NotifyAccess=main).
"""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import time
import uuid

import pytest

from alertd_fixture import (alertd_factory, https_get, recv_hello, run,  # noqa: F401
                            tls_cert)
from conftest import ALERTD, ROOT, free_port


class NotifySocket:
    """The service manager's end: a bound AF_UNIX datagram socket. `name` is
    what goes into NOTIFY_SOCKET (a path, or @ and an abstract name)."""

    def __init__(self, name):
        self.name = name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + name[1:] if name.startswith("@") else name)
        self.got = []  # (monotonic time, sender pid, text)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    def close(self):
        self.sock.close()
        if not self.name.startswith("@"):
            os.unlink(self.name)

    def env(self, **extra):
        return {"NOTIFY_SOCKET": self.name, **extra}

    def _recv(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = int.from_bytes(payload[:4], "little")
        msg = (time.monotonic(), pid, data.decode())
        self.got.append(msg)
        return msg

    def wait(self, line, timeout=15.0, proc=None):
        """The first message from now on with `line` among its lines."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"alertd exited ({proc.returncode}) before {line!r}")
            msg = self._recv(min(0.5, deadline - time.monotonic()))
            if msg and any(x == line or x.startswith(line) for x in msg[2].split("\n")):
                return msg
        raise AssertionError(f"no {line!r} within {timeout}s; got {[m[2] for m in self.got]}")

    def status(self):
        """The last STATUS= line received."""
        lines = [x for m in self.got for x in m[2].split("\n") if x.startswith("STATUS=")]
        return lines[-1] if lines else None

    def wait_status(self, status, timeout=15.0):
        """Returns once the last STATUS= line received is `status`."""
        deadline = time.monotonic() + timeout
        while self.status() != status:
            if time.monotonic() > deadline:
                raise AssertionError(f"status is {self.status()!r}, not {status!r}")
            self._recv(min(0.5, max(0.0, deadline - time.monotonic())))

    def drain(self, seconds):
        """Every message that arrives within `seconds`."""
        out, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            msg = self._recv(end - time.monotonic())
            if msg:
                out.append(msg)
        return out


@pytest.fixture
def notify_path(tmp_path):
    s = NotifySocket(str(tmp_path / "notify.sock"))
    yield s
    s.close()


@pytest.fixture
def notify_abstract():
    s = NotifySocket(f"@alertd-test-{uuid.uuid4().hex}")
    yield s
    s.close()


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def pings(msgs):
    return [t for t, _, text in msgs if text == "WATCHDOG=1"]


def test_ready_once_every_worker_serves_then_stopping_on_sigterm(alertd_factory, notify_path):
    srv = alertd_factory("--workers", "2", start=False, env=notify_path.env())
    srv.spawn()
    t, pid, text = notify_path.wait("READY=1", proc=srv.proc)
    # At that moment both workers have their loop serving the port, and a
    # request is answered at once.
    with open(srv.log) as f:
        assert f.read().count("listening on https://") == 2, srv.tail()
    status, _, body = https_get(srv.port, "/healthz", srv.ctx, timeout=3)
    assert (status, body) == (200, b"ok\n")
    assert pid == srv.proc.pid, "the supervisor (MAINPID) sends, not a worker"
    assert "STATUS=serving: workers 2/2, readers 0" in text
    before = [m[2] for m in notify_path.got[:-1]]
    assert not any("READY=1" in m for m in before), before
    assert all(m.startswith("STATUS=starting") for m in before), before

    # Redis is there: the status says when the node has caught up.
    notify_path.wait_status("STATUS=serving: workers 2/2, readers 0, Redis caught up")

    async def drain_with_a_client():
        async with srv.connect() as ws:
            await recv_hello(ws)
            notify_path.wait_status("STATUS=serving: workers 2/2, readers 1, Redis caught up")
            srv.proc.send_signal(signal.SIGTERM)
            msg = notify_path.wait("STOPPING=1", timeout=10)
            assert "STATUS=draining: workers 2/2, readers 1 left" in msg[2], msg
            assert msg[1] == srv.proc.pid
            try:
                await ws.recv()
            except Exception:
                pass
            assert ws.close_code == 1001
    run(drain_with_a_client())
    assert srv.wait_exit(15) == 0
    sent = [m[2] for m in notify_path.got]
    assert sum("READY=1" in m.split("\n") for m in sent) == 1, sent
    assert all(m[1] == srv.proc.pid for m in notify_path.got), "only the main process sends"


def test_abstract_socket_watchdog_period_and_reload(alertd_factory, notify_abstract):
    # WATCHDOG_USEC 0.4 s: a ping every 0.2 s (half of it).
    srv = alertd_factory(start=False, env=notify_abstract.env(WATCHDOG_USEC="400000"))
    srv.spawn()
    _, pid, text = notify_abstract.wait("READY=1", proc=srv.proc)
    assert pid == srv.proc.pid
    assert srv.get("/healthz")[0] == 200
    got = pings(notify_abstract.drain(3.0))
    assert len(got) >= 8, f"{len(got)} pings in 3 s"
    gaps = [b - a for a, b in zip(got, got[1:])]
    assert 0.15 <= statistics.median(gaps) <= 0.3, gaps

    # SIGHUP: RELOADING=1 (with the monotonic time), then READY=1.
    srv.proc.send_signal(signal.SIGHUP)
    msg = notify_abstract.wait("RELOADING=1", timeout=10)
    assert "MONOTONIC_USEC=" in msg[2]
    notify_abstract.wait("READY=1", timeout=10)
    assert srv.get("/healthz")[0] == 200

    srv.proc.send_signal(signal.SIGTERM)
    notify_abstract.wait("STOPPING=1", timeout=10)
    assert srv.wait_exit(15) == 0


def test_watchdog_pings_stop_while_a_worker_is_stuck(alertd_factory, notify_path):
    srv = alertd_factory("--workers", "2", start=False,
                         env=notify_path.env(WATCHDOG_USEC="1000000"))
    srv.spawn()
    notify_path.wait("READY=1", proc=srv.proc)
    assert len(pings(notify_path.drain(1.6))) >= 2
    stuck = children(srv.proc.pid)[0]
    os.kill(stuck, signal.SIGSTOP)
    try:
        # Its loop stops turning: within the stale limit (3 s) the pings
        # stop, for as long as it stays stuck.
        deadline = time.monotonic() + 10
        quiet_from = None
        while time.monotonic() < deadline:
            if pings(notify_path.drain(0.6)):
                quiet_from = None
            elif quiet_from is None:
                quiet_from = time.monotonic()
            elif time.monotonic() - quiet_from >= 2.5:
                break
        else:
            raise AssertionError("the watchdog kept being pinged with a worker stopped")
    finally:
        os.kill(stuck, signal.SIGCONT)
    assert pings(notify_path.drain(2.5)), "no pings once the worker runs again"
    assert srv.get("/healthz")[0] == 200


def test_no_watchdog_for_another_process(alertd_factory, notify_path):
    srv = alertd_factory(start=False, env=notify_path.env(WATCHDOG_USEC="200000",
                                                          WATCHDOG_PID="1"))
    srv.spawn()
    notify_path.wait("READY=1", proc=srv.proc)
    assert pings(notify_path.drain(1.0)) == []


@pytest.mark.parametrize("value, why", [
    ("relative/notify.sock", "NOTIFY_SOCKET must be an absolute path or start with @"),
    ("/" + "x" * 200, "NOTIFY_SOCKET: empty or longer than a socket address"),
    ("@", "NOTIFY_SOCKET: empty or longer than a socket address"),
])
def test_a_bad_notify_socket_is_a_configuration_error(tls_cert, value, why):
    env = dict(os.environ, NOTIFY_SOCKET=value)
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{free_port()}", "--redis",
                        "redis://127.0.0.1:1", "--tls-cert", tls_cert.cert, "--tls-key",
                        tls_cert.key, "--workers", "1"],
                       env=env, capture_output=True, text=True, timeout=20)
    assert r.returncode == 2, r.stderr
    assert why in r.stderr, r.stderr


def test_a_bad_watchdog_usec_is_a_configuration_error(tls_cert, notify_path):
    env = dict(os.environ, **notify_path.env(WATCHDOG_USEC="soon"))
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{free_port()}", "--redis",
                        "redis://127.0.0.1:1", "--tls-cert", tls_cert.cert, "--tls-key",
                        tls_cert.key, "--workers", "1"],
                       env=env, capture_output=True, text=True, timeout=20)
    assert r.returncode == 2, r.stderr
    assert "WATCHDOG_USEC is not a positive number of microseconds" in r.stderr, r.stderr


def unit_settings(path):
    """The [Service] section of a unit file: key -> list of values."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line.strip("[]")
            elif section == "Service":
                key, _, value = line.partition("=")
                out.setdefault(key, []).append(value)
    return out


def test_the_unit_declares_what_alertd_does(tmp_path):
    unit = os.path.join(ROOT, "deploy", "alertd.service")
    svc = unit_settings(unit)
    assert svc["Type"] == ["notify"]
    assert svc["NotifyAccess"] == ["main"], "alertd notifies from the main process only"
    watchdog = svc["WatchdogSec"][0]
    assert watchdog.endswith("s") and int(watchdog[:-1]) >= 2 * 3, \
        "a ping every WatchdogSec/2 must allow the 3 s a worker's loop may be silent"
    assert svc["KillMode"] == ["mixed"]
    assert "on-failure" in svc["Restart"]
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    # verify wants the program it names to exist: point it at this build.
    local = tmp_path / "alertd.service"
    with open(unit) as f:
        local.write_text(f.read().replace("/usr/local/bin/alertd", ALERTD))
    r = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


def test_the_push_gateways_unit_is_simple_and_verifies(tmp_path):
    """alertd-push does not speak the notification protocol: its unit must
    not say otherwise; a reload is a HUP, which rereads its key files."""
    from push_fixture import ALERTD_PUSH

    unit = os.path.join(ROOT, "deploy", "alertd-push.service")
    svc = unit_settings(unit)
    assert svc["Type"] == ["simple"]
    for key in ("NotifyAccess", "WatchdogSec"):
        assert key not in svc, key
    assert svc["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert svc["ExecStart"] == ["/usr/local/bin/alertd-push --config /etc/alertd/alertd-push.conf"]
    assert svc["RestartPreventExitStatus"] == ["2"], "exit 2: bad configuration (alertd-push.8)"
    assert svc["User"] == ["alertd"] and svc["NoNewPrivileges"] == ["yes"]
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    local = tmp_path / "alertd-push.service"
    with open(unit) as f:
        local.write_text(f.read().replace("/usr/local/bin/alertd-push", ALERTD_PUSH))
    r = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
