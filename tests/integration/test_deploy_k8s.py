"""deploy/k8s/: the manifests parse (python3-yaml), hold the kinds
deploy/README.md lists, agree with each other, with the ConfigMap's
alertd.conf and with what the guide says about ports, probes and stopping;
and the probes answer on a real alertd run on that alertd.conf as the guide
documents: startup and liveness 200, readiness 200 once caught up, and
during a SIGTERM drain readiness 503 while liveness stays 200.

The kubelet is not here: each probe's request is made the way it makes it
(a new connection per probe, HTTP or HTTPS without verifying the
certificate, success = 200-399 within timeoutSeconds), to the container
port the probe names, mapped to a free loopback port.
"""
import asyncio
import http.client
import os
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest
import websockets
import yaml

from alertd_fixture import (AlertdServer, connect_many, recv_hello,  # noqa: F401
                            run, tls_cert)
from conftest import ALERTD, ROOT, free_port

K8S = os.path.join(ROOT, "deploy", "k8s")
GUIDE = os.path.join(ROOT, "deploy", "README.md")
KINDS = {
    "configmap.yaml": ("v1", "ConfigMap"),
    "deployment.yaml": ("apps/v1", "Deployment"),
    "service.yaml": ("v1", "Service"),
    "hpa.yaml": ("autoscaling/v2", "HorizontalPodAutoscaler"),
    "pdb.yaml": ("policy/v1", "PodDisruptionBudget"),
}
PUSH_KINDS = {
    "push-configmap.yaml": ("v1", "ConfigMap"),
    "push-deployment.yaml": ("apps/v1", "Deployment"),
    "push-service.yaml": ("v1", "Service"),
}
DRAIN_SECONDS_DEFAULT = 3  # alertd --help; checked below


def load(name):
    with open(os.path.join(K8S, name)) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    assert len(docs) == 1, f"{name}: {len(docs)} documents"
    return docs[0]


def guide():
    with open(GUIDE) as f:
        return " ".join(f.read().split())


def conf_settings(text):
    """alertd.conf lines `name = value` (comments on their own lines)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            out.setdefault(name.strip(), []).append(value.strip())
    return out


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def container():
    (c,) = load("deployment.yaml")["spec"]["template"]["spec"]["containers"]
    return c


def alertd_conf():
    return load("configmap.yaml")["data"]["alertd.conf"]


# ---------------------------------------------------------------------------
# The manifests
# ---------------------------------------------------------------------------
def test_every_manifest_parses_with_its_kind_and_kustomize_lists_them():
    files = sorted(f for f in os.listdir(K8S) if f.endswith((".yaml", ".yml")))
    kust = load("kustomization.yaml")
    assert (kust["apiVersion"], kust["kind"]) == ("kustomize.config.k8s.io/v1beta1",
                                                  "Kustomization")
    every = {**KINDS, **PUSH_KINDS}
    assert sorted(kust["resources"]) == sorted(every), "kustomization.yaml resources"
    assert sorted(set(files) - {"kustomization.yaml"}) == sorted(every)
    for app, kinds in (("alertd", KINDS), ("alertd-push", PUSH_KINDS)):
        for name, (api, kind) in kinds.items():
            doc = load(name)
            assert (doc["apiVersion"], doc["kind"]) == (api, kind), name
            assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == app, name
        names = {load(n)["metadata"]["name"] for n in kinds if "configmap" not in n}
        assert names == {app}


def test_selectors_and_targets_point_at_the_pods():
    dep = load("deployment.yaml")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert load("service.yaml")["spec"]["selector"].items() <= pod_labels.items()
    assert load("pdb.yaml")["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    ref = load("hpa.yaml")["spec"]["scaleTargetRef"]
    assert (ref["apiVersion"], ref["kind"], ref["name"]) == ("apps/v1", "Deployment",
                                                             dep["metadata"]["name"])
    hpa = load("hpa.yaml")["spec"]
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]


def test_ports_agree_with_alertd_conf_the_service_and_the_guide():
    c, conf = container(), conf_settings(alertd_conf())
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"https": port_of(conf["listen"][0]),
                     "metrics": port_of(conf["metrics-listen"][0])} == \
        {"https": 8443, "metrics": 9090}
    assert c["args"] == ["--config", "/etc/alertd/conf/alertd.conf"]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["config"] == "/etc/alertd/conf"
    assert conf["tls-cert"] == [mounts["tls"] + "/tls.crt"]
    assert conf["tls-key"] == [mounts["tls"] + "/tls.key"]
    env = {e["name"]: e for e in c["env"]}
    assert env["ALERTD_REDIS"]["valueFrom"]["secretKeyRef"]["name"] == "alertd-redis"
    assert "redis" not in conf, "the Redis URL (a password) comes from the Secret only"

    svc = load("service.yaml")["spec"]
    (sp,) = svc["ports"]
    assert (sp["port"], sp["targetPort"], sp["protocol"]) == (443, "https", "TCP")
    assert svc["externalTrafficPolicy"] == "Local"
    ann = load("deployment.yaml")["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/port"] == str(ports["metrics"])
    assert ann["prometheus.io/path"] == "/metrics"
    text = guide()
    assert "The Service keeps readers' addresses (`externalTrafficPolicy: Local`)" in text
    assert "`workers = 1` in the ConfigMap" in text and conf["workers"] == ["1"]


def test_probes_are_as_the_guide_documents():
    c = container()
    ports = {p["name"] for p in c["ports"]}
    probes = {k: c[k] for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    for name, p in probes.items():
        assert p["httpGet"]["port"] in ports, f"{name} names a port the container has"
        assert p["httpGet"]["port"] == "metrics" and p["httpGet"]["scheme"] == "HTTP", name
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probes["startupProbe"]["httpGet"]["path"] == "/healthz"
    text = guide()
    m = re.search(r"readiness `/readyz` every (\d+) s", text)
    assert m and int(m.group(1)) == probes["readinessProbe"]["periodSeconds"]
    m = re.search(r"liveness `/healthz` every (\d+) s", text)
    assert m and int(m.group(1)) == probes["livenessProbe"]["periodSeconds"]
    sp = probes["startupProbe"]
    assert sp["periodSeconds"] == 1 and sp["failureThreshold"] == 30
    assert "a startup probe on `/healthz` every second for up to 30 s" in text
    assert "Probes on the `metrics` port (9090, plain HTTP: `metrics-listen`)" in text


def test_stopping_leaves_room_for_the_drain():
    dep = load("deployment.yaml")
    spec = dep["spec"]["template"]["spec"]
    conf = conf_settings(alertd_conf())
    drain = int(conf.get("drain-seconds", [DRAIN_SECONDS_DEFAULT])[0])
    sleep = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "/bin/sleep"
    # preStop, then the drain, then at most a second until exit.
    assert spec["terminationGracePeriodSeconds"] >= int(sleep[1]) + drain + 1 + 5
    text = guide()
    assert f"preStop sleeps {sleep[1]} s" in text
    assert f"`terminationGracePeriodSeconds: {spec['terminationGracePeriodSeconds']}`" in text
    assert f"drains in ≤ {drain + 1} s" in text
    strategy = dep["spec"]["strategy"]["rollingUpdate"]
    assert (strategy["maxSurge"], strategy["maxUnavailable"]) == (1, 0)
    assert load("pdb.yaml")["spec"]["maxUnavailable"] == 1
    r = subprocess.run([ALERTD, "--help"], capture_output=True, text=True, timeout=10)
    assert re.search(rf"--drain-seconds .*? default: {DRAIN_SECONDS_DEFAULT};",
                     " ".join(r.stdout.split())), "the default drain the test assumes"


def test_the_pod_runs_locked_down_as_the_guide_says():
    spec = load("deployment.yaml")["spec"]["template"]["spec"]
    c = container()
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    res = c["resources"]
    assert res["requests"] == {"cpu": "1", "memory": "512Mi"}
    assert res["limits"] == {"memory": "1Gi"}, "no CPU limit"
    text = guide()
    assert ("Read-only root, non-root, all capabilities dropped, RuntimeDefault seccomp, "
            "no service-account token") in text
    assert "memory 512Mi request / 1Gi limit, no CPU limit" in text


# ---------------------------------------------------------------------------
# The probes against a real alertd run on the ConfigMap's alertd.conf
# ---------------------------------------------------------------------------
class PodAlertd(AlertdServer):
    """alertd as the pod runs it: --config with the ConfigMap's alertd.conf
    (addresses and files made local), the Redis URL and node name from the
    environment as the Deployment sets them."""

    def __init__(self, workdir, redis_url, tls, extra_conf=""):
        super().__init__(workdir, redis_url, tls,
                         env={"ALERTD_REDIS": redis_url, "ALERTD_NODE": "alertd-pod-0"})
        self.metrics_port = free_port()
        conf = alertd_conf()
        local = {"listen": f"127.0.0.1:{self.port}",
                 "metrics-listen": f"127.0.0.1:{self.metrics_port}",
                 "tls-cert": tls.cert, "tls-key": tls.key}
        lines = []
        for line in conf.splitlines():
            name = line.partition("=")[0].strip()
            lines.append(f"{name} = {local[name]}" if name in local else line)
        self.conf = os.path.join(self.dir, "alertd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n" + extra_conf)
        self.ports = {"https": self.port, "metrics": self.metrics_port}

    def argv(self):
        return [ALERTD, "--config", self.conf]

    def probe(self, spec):
        """(status, body) of the probe's request, or None when it timed out
        or the connection failed, as the kubelet makes it."""
        get = spec["httpGet"]
        timeout = spec.get("timeoutSeconds", 1)
        port = self.ports[get["port"]]
        if get.get("scheme", "HTTP") == "HTTPS":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("GET", get["path"])
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()

    def wait_probe(self, spec, want, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.probe(spec)
            if last and last[0] == want:
                return last
            time.sleep(0.05)
        raise AssertionError(f"{spec['httpGet']} did not answer {want} in {timeout}s: {last}")


@pytest.fixture
def pod(redis_server, tls_cert, tmp_path):
    started = []

    def start(extra_conf=""):
        srv = PodAlertd(tmp_path, redis_server.url, tls_cert, extra_conf)
        started.append(srv)
        srv.spawn()
        return srv

    yield start
    for srv in started:
        if srv.running():
            srv.stop()
        print(srv.tail())


def test_the_probes_answer_on_a_real_alertd(pod, redis_server):
    c = container()
    srv = pod()
    sp = c["startupProbe"]
    srv.wait_probe(sp, 200, sp["periodSeconds"] * sp["failureThreshold"])
    assert srv.probe(c["livenessProbe"]) == (200, b"ok\n")
    assert srv.wait_probe(c["readinessProbe"], 200, 10) == (200, b"ready\n")
    # The readers' port (the Service's target) serves; /metrics is not on it.
    assert srv.get("/healthz")[0] == 200
    assert srv.get("/metrics")[0] == 404
    # Readiness follows Redis; liveness does not (never restart on Redis).
    redis_server.stop()
    assert srv.wait_probe(c["readinessProbe"], 503, 15) == \
        (503, b"not ready: Redis not connected or catching up\n")
    assert srv.probe(c["livenessProbe"]) == (200, b"ok\n")
    redis_server.start()
    assert srv.wait_probe(c["readinessProbe"], 200, 30) == (200, b"ready\n")


def test_readiness_is_503_while_draining_and_liveness_200(pod):
    c = container()
    srv = pod("drain-seconds = 8\n")
    srv.wait_probe(c["readinessProbe"], 200, 15)
    readers = 80

    async def scenario():
        clients = await connect_many(srv, readers, concurrency=20)
        # A connection opened before the drain (a balancer's keep-alive).
        before = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ctx, timeout=3)
        before.request("GET", "/readyz")
        r = before.getresponse()
        assert (r.status, r.read()) == (200, b"ready\n")

        closes = []

        async def watch(ws):
            try:
                while True:
                    await ws.recv()
            except websockets.ConnectionClosed:
                closes.append((time.monotonic(), ws.close_code))

        watchers = [asyncio.create_task(watch(ws)) for ws in clients]
        srv.proc.send_signal(signal.SIGTERM)
        ready = c["readinessProbe"]
        status, body = await asyncio.to_thread(srv.wait_probe, ready, 503, 5)
        assert body == b"draining\n"
        assert await asyncio.to_thread(srv.probe, c["livenessProbe"]) == (200, b"ok\n")
        assert await asyncio.to_thread(srv.probe, c["startupProbe"]) == (200, b"ok\n")

        def on_open_connection():
            before.request("GET", "/readyz")
            r = before.getresponse()
            return r.status, r.read()
        assert await asyncio.to_thread(on_open_connection) == (503, b"draining\n")
        before.close()

        def new_reader_connection():
            # Accepted by the kernel (the backlog), never answered.
            with socket.create_connection(("127.0.0.1", srv.port), timeout=1) as s:
                try:
                    srv.ctx.wrap_socket(s, server_hostname="127.0.0.1")
                except (socket.timeout, TimeoutError):
                    return "no answer"
                except (OSError, ssl.SSLError) as e:
                    return repr(e)
                return "answered"
        assert await asyncio.to_thread(new_reader_connection) == "no answer"
        checked = time.monotonic()
        # Still within the drain: readers were being closed after the checks.
        await asyncio.wait_for(asyncio.gather(*watchers), 30)
        assert [code for _, code in closes] == [1001] * readers
        assert max(t for t, _ in closes) > checked, "the checks ran after the drain ended"
        # Until it exits, the metrics port keeps saying the same.
        while srv.running():
            got = await asyncio.to_thread(srv.probe, ready)
            assert got is None or got == (503, b"draining\n"), got
            await asyncio.sleep(0.05)

    run(scenario(), timeout=120)
    assert srv.wait_exit(15) == 0


# ---------------------------------------------------------------------------
# The push gateway: push-*.yaml
# ---------------------------------------------------------------------------
def push_container():
    (c,) = load("push-deployment.yaml")["spec"]["template"]["spec"]["containers"]
    return c


def push_conf():
    return load("push-configmap.yaml")["data"]["alertd-push.conf"]


def test_push_manifests_agree_with_each_other_the_conf_and_the_guide():
    dep, c = load("push-deployment.yaml"), push_container()
    conf = conf_settings(push_conf())
    pod = dep["spec"]["template"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    svc = load("push-service.yaml")["spec"]
    assert svc["selector"].items() <= pod["metadata"]["labels"].items()
    (sp,) = svc["ports"]
    assert (sp["port"], sp["targetPort"]) == (443, "https")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"https": port_of(conf["listen"][0]),
                     "metrics": port_of(conf["metrics-listen"][0])} == \
        {"https": 8444, "metrics": 9091}
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9091"
    assert c["command"] == ["/usr/local/bin/alertd-push"]
    assert c["args"] == ["--config", "/etc/alertd/conf/alertd-push.conf"]
    # Every secret is a file from a Secret, or the environment from one.
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert all(m["readOnly"] for m in c["volumeMounts"])
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "alertd-push-config"
    assert volumes["tls"]["secret"]["secretName"] == "alertd-push-tls"
    assert volumes["vapid"]["secret"]["secretName"] == "alertd-push-vapid"
    assert conf["tls-cert"] == [mounts["tls"] + "/tls.crt"]
    assert conf["tls-key"] == [mounts["tls"] + "/tls.key"]
    assert conf["vapid-key"] == [mounts["vapid"] + "/vapid.pem"]
    # APNs and FCM keys: optional Secrets, named by the ConfigMap's lines
    # to uncomment.
    commented = conf_settings("\n".join(line.strip().lstrip("# ")
                                        for line in push_conf().splitlines()
                                        if line.strip().startswith("# apns-")
                                        or line.strip().startswith("# fcm-")))
    for name, secret, setting, key in (("apns", "alertd-push-apns", "apns-key", "AuthKey.p8"),
                                       ("fcm", "alertd-push-fcm", "fcm-service-account",
                                        "service-account.json")):
        assert volumes[name]["secret"]["secretName"] == secret
        assert volumes[name]["secret"]["optional"] is True, "a pod starts without it"
        assert commented[setting] == [f"{mounts[name]}/{key}"]
        assert setting not in conf, "off until its Secret exists"
    env = {e["name"]: e for e in c["env"]}
    assert env["ALERTD_PUSH_REDIS"]["valueFrom"]["secretKeyRef"]["name"] == "alertd-push-redis"
    assert env["ALERTD_PUSH_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "redis" not in conf, "the Redis URL (a password) comes from the Secret only"
    for name, probe in (("startupProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("livenessProbe", "/healthz")):
        assert c[name]["httpGet"] == {"path": probe, "port": "metrics", "scheme": "HTTP"}, name
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"]["drop"] == ["ALL"]
    assert "cpu" not in c["resources"]["limits"]
    text = guide()
    for secret in ("alertd-push-tls", "alertd-push-redis", "alertd-push-vapid",
                   "alertd-push-apns", "alertd-push-fcm"):
        assert f"`{secret}`" in text, f"deploy/README.md names the Secret {secret}"


def test_the_push_pod_runs_on_its_configmap(redis_server, tls_cert, tmp_path):  # noqa: F811
    """alertd-push as the pod runs it: --config with the ConfigMap's file
    (addresses and files made local), ALERTD_PUSH_REDIS and _NAME from the
    environment; its probes answer, its API serves the VAPID key, and
    neither the Redis password nor the VAPID key reaches its log."""
    from push_fixture import ALERTD_PUSH, make_vapid_key

    c = push_container()
    api, metrics = free_port(), free_port()
    vapid = make_vapid_key(tmp_path / "vapid.pem")
    local = {"listen": f"127.0.0.1:{api}", "metrics-listen": f"127.0.0.1:{metrics}",
             "tls-cert": tls_cert.cert, "tls-key": tls_cert.key, "vapid-key": vapid}
    lines = []
    for line in push_conf().splitlines():
        name = line.partition("=")[0].strip()
        lines.append(f"{name} = {local[name]}" if name in local else line)
    conf = tmp_path / "alertd-push.conf"
    conf.write_text("\n".join(lines) + "\n")
    password = "pod-secret-password"
    r = redis_server.client()
    r.execute_command("ACL", "SETUSER", "push", "on", f">{password}", "~*", "+@all")
    env = dict(os.environ, ALERTD_PUSH_REDIS=f"redis://push:{password}@127.0.0.1:{redis_server.port}",
               ALERTD_PUSH_NAME="alertd-push-pod-0")
    log = tmp_path / "push.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([ALERTD_PUSH, "--config", str(conf)], env=env, stdout=out,
                                stderr=out)
    ports = {"metrics": metrics}

    def probe(spec):
        conn = http.client.HTTPConnection("127.0.0.1", ports[spec["httpGet"]["port"]],
                                          timeout=spec.get("timeoutSeconds", 1))
        try:
            conn.request("GET", spec["httpGet"]["path"])
            resp = conn.getresponse()
            return resp.status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()

    try:
        for name in ("startupProbe", "readinessProbe", "livenessProbe"):
            deadline = time.monotonic() + 15
            while probe(c[name]) != 200:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, f"{name}: {log.read_text()}"
                time.sleep(0.05)
        ctx = ssl.create_default_context(cafile=tls_cert.cert)
        conn = http.client.HTTPSConnection("127.0.0.1", api, context=ctx, timeout=5)
        conn.request("GET", "/v1/push/vapid")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read().startswith(b'{"vapid_public_key":"B')
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    text = log.read_text()
    assert "alertd-push-pod-0" in text, text
    assert password not in text
    with open(vapid) as f:
        secret_lines = [ln for ln in f.read().splitlines() if not ln.startswith("-----")]
    assert not any(ln in text for ln in secret_lines), "the VAPID private key is never logged"
