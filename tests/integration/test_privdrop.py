"""--user: a root start opens its ports, then the supervisor and every
worker run as that user, and keep serving (TLS reloads included); a user
that does not exist, or files it cannot read, are clear errors at start."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from alertd_fixture import ALERTD, AlertdServer, TlsCert, tls_cert  # noqa: F401
from conftest import free_port

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="--user needs a root start")


@pytest.fixture
def shared_tls(tls_cert):
    """The test certificate in a directory anyone may read (pytest's own
    temporary directories are root's alone)."""
    d = tempfile.mkdtemp(prefix="alertd-user-")
    os.chmod(d, 0o755)
    tls = TlsCert(os.path.join(d, "cert.pem"), os.path.join(d, "key.pem"))
    shutil.copy(tls_cert.cert, tls.cert)
    shutil.copy(tls_cert.key, tls.key)
    os.chmod(tls.cert, 0o644)
    os.chmod(tls.key, 0o644)
    yield tls
    shutil.rmtree(d)


def ids(pid):
    """(real, effective, saved uid), (real, effective, saved gid), groups."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return (tuple(map(int, fields["Uid"][:3])), tuple(map(int, fields["Gid"][:3])),
            sorted(map(int, fields["Groups"])))


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def test_supervisor_and_workers_run_as_the_user(redis_server, shared_tls, tmp_path):
    nobody = pwd.getpwnam("nobody")
    srv = AlertdServer(tmp_path, redis_server.url, shared_tls,
                       extra=("--user", "nobody", "--workers", "2"))
    srv.start()
    try:
        pids = [srv.proc.pid] + children(srv.proc.pid)
        assert len(pids) == 3
        for pid in pids:
            uid, gid, groups = ids(pid)
            assert uid == (nobody.pw_uid,) * 3, (pid, uid)
            assert gid == (nobody.pw_gid,) * 3, (pid, gid)
            assert 0 not in groups, (pid, groups)
        assert srv.get("/readyz")[0] == 200
        # A reload reads the files again, as the user.
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(srv.log) as f:
                log = f.read()
            if log.count("TLS certificate reloaded") == 2:
                break
            time.sleep(0.05)
        assert log.count("TLS certificate reloaded") == 2, srv.tail()
        assert "refused" not in log, srv.tail()
        assert 'msg="running as" user=nobody' in log
        assert srv.get("/healthz")[0] == 200
    finally:
        srv.stop()


def start_fails(redis_server, tls, *extra):
    port = free_port()
    r = subprocess.run([ALERTD, "--listen", f"127.0.0.1:{port}", "--redis", redis_server.url,
                        "--tls-cert", tls.cert, "--tls-key", tls.key, "--workers", "1", *extra],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stderr


def test_a_key_the_user_cannot_read_is_named_at_start(redis_server, shared_tls):
    os.chmod(shared_tls.key, 0o600)
    rc, err = start_fails(redis_server, shared_tls, "--user", "nobody")
    assert rc == 2, err
    assert f"--tls-key {shared_tls.key}: not readable by uid" in err, err


def test_an_unknown_user_is_a_configuration_error(redis_server, shared_tls):
    rc, err = start_fails(redis_server, shared_tls, "--user", "no-such-user-here")
    assert rc == 2, err
    assert "--user no-such-user-here: no such user" in err, err
