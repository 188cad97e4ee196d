#!/usr/bin/python3
"""bench-push.py: one flash alert to N push registrations through alertd-push
(issue #14), against nghttpd, a C HTTP/2 server standing in for APNs (or
for a Web Push service) that answers every POST with 200.

1. Loads N registrations straight into the registry in alertd-push's own
   format (reg.c: id = the first 128 bits of SHA-256("<provider>:<token>")
   in hex, shard = its first 32 bits mod 1024, the compact JSON reg_encode
   writes), one HSET per shard piped through `redis-cli --pipe`.
2. Starts nghttpd (--echo-upload, TLS with the bench certificate) on
   --client-cpu and alertd-push on --server-cpu (taskset), APNs (or the Web
   Push host) pointed at nghttpd, --provider-ca the bench certificate.
3. Publishes one flash with `alert push`, then polls the gateway's
   /metrics every 20 ms: the time from the push to the poll that first
   shows N notifications accepted (alertd_push_sent_total) is the wall time;
   the gateway's CPU (utime + stime from /proc) from just before the push
   to the end of its last job, per notification; VmHWM (peak RSS).
4. With --verify, nghttpd runs verbose and only its `:path:` lines are kept
   (grep): every registration must have been requested exactly once.
   With --profile FILE, `perf record` samples the gateway during the push
   and FILE gets the top of `perf report`.

Stops by itself (--timeout) and stops every process it started, by pid.
Exit status: 0 every registration accepted (once, with --verify); 1 not;
2 usage; 3 setup failed. Usage: scripts/bench-push.py --build DIR --redis URL
--cert CRT --key KEY --n N [--provider apns|webpush] [--verify] [--profile F
[--call-graph]] --json OUT [--md OUT]; scripts/bench-push.py --table JSON...
prints the runs' table (markdown).
"""
import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SHARDS = 1024  # reg.h's PUSH_SHARDS
KEY_ID, TEAM_ID, BUNDLE = "BENCHKEY01", "BENCHTEAM1", "com.example.bench"
POLL_S = 0.02
CLK_TCK = os.sysconf("SC_CLK_TCK")


class SetupError(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def registration(provider, i, expires_ms, endpoint_base, keys):
    """(id, shard, the JSON reg_encode writes, the path nghttpd will see)."""
    if provider == "apns":
        token = hashlib.sha256(b"bench-device-%d" % i).hexdigest()  # 64 hex digits
        value = {"p": "apns", "e": token, "t": [], "l": [], "x": expires_ms}
        path = "/3/device/" + token
    else:
        token = f"{endpoint_base}/wp/{i}"
        value = {"p": "webpush", "e": token, "k": keys[0], "a": keys[1], "t": [], "l": [],
                 "x": expires_ms}
        path = f"/wp/{i}"
    rid = hashlib.sha256(f"{provider}:{token}".encode()).hexdigest()[:32]
    return rid, int(rid[:8], 16) % SHARDS, json.dumps(value, separators=(",", ":")), path


def load_registry(args, endpoint_base, keys):
    """HSETs one command per shard through redis-cli --pipe; returns the paths."""
    expires_ms = int(time.time() * 1000) + 30 * 86400 * 1000
    shards = [[] for _ in range(SHARDS)]
    paths = []
    for i in range(args.n):
        rid, shard, value, path = registration(args.provider, i, expires_ms, endpoint_base, keys)
        shards[shard] += (rid, value)
        paths.append(path)
    host, port = args.redis_host, args.redis_port
    p = subprocess.Popen(["redis-cli", "-h", host, "-p", str(port), "--pipe"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for s, fields in enumerate(shards):
        if fields:
            p.stdin.write(resp("HSET", f"{args.prefix}:push:reg:{s}", *fields))
    p.stdin.close()
    out = p.stdout.read().decode(errors="replace")
    if p.wait(timeout=300) != 0 or "errors: 0" not in out:
        raise SetupError(f"redis-cli --pipe: {out.strip()}")
    return paths


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def proc_kib(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


class Procs:
    """Every process started here, stopped by pid (TERM, then KILL)."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(argv, **kw)
        p.name = name
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def stop_all(self):
        for p in reversed(list(self.procs)):
            self.stop(p)


def standin_argv(args, port, verbose):
    """nghttpd --echo-upload spools every body to a file it makes and
    unlinks in /tmp (the path is fixed); on ext4 a million of those in one
    directory cost hundreds of µs each (its inode search), which made the
    stand-in, not the gateway, the bottleneck. So nghttpd gets a private
    mount namespace (unprivileged: a user namespace too) with a tmpfs on
    /tmp, its key and certificate opened as fds 3 and 4 before the mount
    hides them. Without namespaces: nghttpd as is, with a warning."""
    ngh = ["nghttpd", "--echo-upload", "-d", "/", "-m", str(args.streams), "-a", "127.0.0.1",
           *(["-v"] if verbose else []), str(port)]
    pin = ["taskset", "-c", str(args.client_cpu)]
    if args.slow_standin:
        return pin + ngh + [args.key, args.cert]
    ns = ["unshare", "-rm", "--propagation", "private", "sh", "-c"]
    if subprocess.run(ns + ["mount -t tmpfs -o size=64m tmpfs /tmp"], capture_output=True,
                      timeout=30).returncode != 0:
        print("bench-push: warning: no mount namespace for nghttpd; its /tmp spooling on "
              "this file system may bound the figures (see standin_core_pct)", file=sys.stderr)
        return pin + ngh + [args.key, args.cert]
    script = 'exec 3<"$1" 4<"$2" && shift 2 && mount -t tmpfs -o size=64m tmpfs /tmp && exec "$@"'
    return pin + ns + [script, "sh", args.key, args.cert] + ngh + ["/dev/fd/3", "/dev/fd/4"]


def standin_pid(p):
    """nghttpd's pid: taskset, unshare and sh exec, so it is the child itself."""
    return p.pid


def metrics(port):
    """The gateway's alertd_push_* series by name, those with a provider
    label summed over the providers."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("alertd_push_") and not line.startswith("alertd_push_info"):
            series, value = line.rsplit(None, 1)
            name = series.split("{", 1)[0][len("alertd_push_"):]
            out[name] = out.get(name, 0) + int(value)
    return out


def ready(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return r.status == 200
    except urllib.error.HTTPError:
        return False


def wait_until(what, proc, timeout, check):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"{what} exited {proc.returncode} while starting")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SetupError(f"{what} not ready after {timeout}s")


def port_open(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def make_keys(tmp):
    """The APNs .p8 and VAPID keys (PEM P-256), a subscription's p256dh/auth."""
    apns, vapid = os.path.join(tmp, "AuthKey_bench.p8"), os.path.join(tmp, "vapid.pem")
    ua = os.path.join(tmp, "ua.pem")
    for path in (apns, vapid, ua):
        r = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-out", path],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise SetupError(f"openssl genpkey: {r.stderr.strip()}")
    der = subprocess.run(["openssl", "pkey", "-in", ua, "-pubout", "-outform", "DER"],
                         capture_output=True, timeout=30).stdout
    p256dh = der[-65:]  # the SubjectPublicKeyInfo ends with the uncompressed point
    if len(p256dh) != 65 or p256dh[0] != 4:
        raise SetupError("openssl pkey: no uncompressed P-256 point")
    return apns, vapid, (b64u(p256dh), b64u(os.urandom(16)))


def publish(args):
    item = {"headline": "Magnitude 7.1 earthquake strikes off the coast", "urgency": "flash",
            "summary": "Tsunami warnings are in effect for the whole coast.",
            "url": "https://news.example/2026/12/03/quake", "topics": ["world"], "lang": "en"}
    r = subprocess.run([os.path.join(args.build, "alert"), "push", "-f", "-", "--redis",
                        args.redis, "--prefix", args.prefix], input=json.dumps(item),
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise SetupError(f"alert push: {r.stderr.strip()}")
    return r.stdout.strip()


def profile_report(data, out):
    """The gateway's samples by library, then its top symbols."""
    parts = []
    for title, fields, limit in (("by library", "overhead,dso", "0.5"),
                                 ("by symbol", "overhead,dso,sym", "0.8")):
        r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-F",
                            fields, "--percent-limit", limit],
                           capture_output=True, text=True, timeout=300)
        lines = [ln.rstrip() for ln in r.stdout.splitlines()
                 if ln.strip() and not ln.startswith("#")]
        parts.append(f"{title}:\n" + "\n".join(lines[:30]))
    with open(out, "w") as f:
        f.write("\n\n".join(parts) + "\n")


def run(args, procs, tmp):
    r = subprocess.run(["redis-cli", "-h", args.redis_host, "-p", str(args.redis_port), "DBSIZE"],
                       capture_output=True, text=True, timeout=30)
    if r.stdout.strip() != "0":
        raise SetupError(f"needs an empty Redis (DBSIZE: {(r.stdout or r.stderr).strip()}): "
                         "it loads the registry and deletes nothing")
    apns_key, vapid_key, ua_keys = make_keys(tmp)
    standin_port, port, mport = free_port(), free_port(), free_port()
    paths = load_registry(args, f"https://127.0.0.1:{standin_port}", ua_keys)
    paths_log = os.path.join(args.logs, f"push-{args.provider}-{args.n}.paths")
    grep = None
    if args.verify:  # only the request lines: the verbose log of a million is gigabytes
        verbose = procs.start("nghttpd", standin_argv(args, standin_port, True),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        with open(paths_log, "wb") as f:
            grep = procs.start("grep", ["grep", "--line-buffered", "-F", ") :path: "],
                               stdin=verbose.stdout, stdout=f)
        verbose.stdout.close()
        standin = verbose
    else:
        standin = procs.start("nghttpd", standin_argv(args, standin_port, False),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until("nghttpd", standin, 30, lambda: port_open(standin_port))

    gw_log = open(os.path.join(args.logs, f"push-{args.provider}-{args.n}.gateway.log"), "wb")
    gw_argv = ["taskset", "-c", str(args.server_cpu), os.path.join(args.build, "alertd-push"),
               "--listen", f"127.0.0.1:{port}", "--metrics-listen", f"127.0.0.1:{mport}",
               "--redis", args.redis, "--prefix", args.prefix, "--tls-cert", args.cert,
               "--tls-key", args.key, "--vapid-key", vapid_key, "--provider-ca", args.cert,
               "--webpush-hosts", "127.0.0.1", "--name", "bench", "--log-level", "warn",
               "--apns-key", apns_key, "--apns-key-id", KEY_ID, "--apns-team-id", TEAM_ID,
               "--apns-bundle-id", BUNDLE, "--apns-host", f"127.0.0.1:{standin_port}",
               *args.gateway_arg]
    gw = procs.start("alertd-push", gw_argv, stdout=gw_log, stderr=subprocess.STDOUT)
    wait_until("alertd-push", gw, 30, lambda: ready(mport))  # Redis and both groups
    rss_idle = proc_kib(gw.pid, "VmRSS")
    perf = None
    if args.profile:
        perf_data = args.profile + ".data"  # kept, for perf report of your own
        graph = ["--call-graph", "dwarf,8192"] if args.call_graph else []
        perf = procs.start("perf", ["taskset", "-c", str(args.client_cpu), "perf", "record",
                                    "-q", "-F", "499", *graph, "-p", str(gw.pid), "-o",
                                    perf_data], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    ngh_pid = standin_pid(standin)
    ngh0 = proc_cpu_s(ngh_pid)
    cpu0, t0 = proc_cpu_s(gw.pid), time.monotonic()
    alert_id = publish(args)
    t_published = time.monotonic() - t0
    marks, m, cpu_last, t_last, ngh1 = {}, {}, None, None, None
    timeline = []  # (s, sent) about every second
    deadline = t0 + args.timeout
    while time.monotonic() < deadline and gw.poll() is None:
        try:
            m = metrics(mport)
        except OSError:  # a busy gateway late to answer: the deadline still holds
            time.sleep(POLL_S)
            continue
        now = time.monotonic() - t0
        if m["alerts_planned_total"] and "planned" not in marks:
            marks["planned"] = now
        if m["sent_total"] and "first_accept" not in marks:
            marks["first_accept"] = now
        if not timeline or now - timeline[-1][0] >= 1.0:
            timeline.append((round(now, 2), m["sent_total"]))
        finished = m["sent_total"] + m["refused_total"] + m["failed_total"] + m["removed_total"]
        if finished >= args.n and t_last is None:
            t_last = now
        if t_last is not None and m["jobs_done_total"] >= SHARDS and m["in_flight"] == 0:
            cpu_last = proc_cpu_s(gw.pid)
            ngh1 = proc_cpu_s(ngh_pid)
            marks["jobs_done"] = now
            break
        time.sleep(POLL_S)
    cpu1 = cpu_last if cpu_last is not None else proc_cpu_s(gw.pid) if gw.poll() is None else None
    hwm = proc_kib(gw.pid, "VmHWM") if gw.poll() is None else 0
    if perf:
        procs.stop(perf, signal.SIGINT)
        profile_report(perf_data, args.profile)
    gw_alive = gw.poll() is None
    procs.stop(gw)
    gw_log.close()
    procs.stop(standin)
    if grep:  # it ends when it has read what nghttpd wrote
        try:
            grep.wait(60)
        except subprocess.TimeoutExpired:
            pass
    procs.stop_all()

    problems = []
    if not gw_alive:
        problems.append(f"alertd-push exited {gw.returncode} during the run")
    if t_last is None:
        problems.append(f"{m.get('sent_total', 0)} of {args.n} accepted within {args.timeout}s")
    for k in ("refused_total", "failed_total", "removed_total", "retried_total"):
        if m.get(k):
            problems.append(f"{k} {m[k]}")
    seen = None
    if args.verify:
        counts = {}
        pat = re.compile(r"\) :path: (\S+)")
        with open(paths_log, errors="replace") as f:
            for line in f:
                hit = pat.search(line)
                if hit:
                    counts[hit.group(1)] = counts.get(hit.group(1), 0) + 1
        want = set(paths)
        seen = {"requests": sum(counts.values()), "distinct": len(counts),
                "missing": len(want - counts.keys()), "unexpected": len(counts.keys() - want),
                "twice_or_more": sum(1 for p, c in counts.items() if c > 1)}
        if seen["missing"] or seen["unexpected"] or seen["twice_or_more"]:
            problems.append(f"stand-in saw {seen}")
    sent = m.get("sent_total", 0)
    cpu = (cpu1 - cpu0) if cpu1 is not None else None
    return {
        "provider": args.provider, "registrations": args.n, "alert": alert_id,
        "server_cpu": args.server_cpu, "client_cpu": args.client_cpu,
        "concurrency_streams": args.streams, "slow_standin": args.slow_standin,
        "gateway_args": args.gateway_arg,
        "accepted": sent, "retried": m.get("retried_total", 0),
        "wall_s_to_last_accept": round(t_last, 3) if t_last is not None else None,
        "publish_s": round(t_published, 3),
        "planned_s": round(marks["planned"], 3) if "planned" in marks else None,
        "first_accept_s": round(marks["first_accept"], 3) if "first_accept" in marks else None,
        "jobs_done_s": round(marks["jobs_done"], 3) if "jobs_done" in marks else None,
        "accepts_per_s": round(sent / t_last) if t_last else None,
        "gateway_cpu_s": round(cpu, 2) if cpu is not None else None,
        "cpu_us_per_notification": round(cpu * 1e6 / sent, 2) if cpu is not None and sent else None,
        "core_pct": round(100 * cpu / marks["jobs_done"]) if cpu and "jobs_done" in marks else None,
        "standin_core_pct": round(100 * (ngh1 - ngh0) / marks["jobs_done"])
        if ngh1 is not None else None,
        "rss_kib_idle": rss_idle, "vmhwm_kib": hwm,
        "standin": seen, "timeline": timeline,
        "loadavg_at_start": args.loadavg, "ok": not problems, "problems": "; ".join(problems),
    }


def markdown(res):
    rows = ["| provider | registrations | accepted | once at the stand-in | wall to last accept "
            "(s) | accepts/s | gateway CPU (s) | CPU / notification (µs) | core % gateway / "
            "stand-in | VmHWM (MiB) | first accept (s) | load at start |",
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in res:
        def f(v, fmt="{:,}"):
            return "—" if v is None else fmt.format(v)
        st = r["standin"]
        if st is None:
            once = f"not logged; {r['retried']} retried"
        elif st["requests"] == st["distinct"] == r["registrations"]:
            once = "yes"
        else:
            once = (f"no: {st['missing']} missing, {st['twice_or_more']} twice or more, "
                    f"{st['unexpected']} unexpected")
        rows.append(f"| {r['provider']} | {r['registrations']:,} | {r['accepted']:,} | {once} | "
                    f"{f(r['wall_s_to_last_accept'], '{:.1f}')} | {f(r['accepts_per_s'])} | "
                    f"{f(r['gateway_cpu_s'], '{:.1f}')} | "
                    f"{f(r['cpu_us_per_notification'], '{:.1f}')} | "
                    f"{f(r['core_pct'])} / {f(r['standin_core_pct'])} | "
                    f"{r['vmhwm_kib'] / 1024:.0f} | {f(r['first_accept_s'], '{:.2f}')} | "
                    f"{r['loadavg_at_start']} |")
    return "\n".join(rows) + "\n"


def main():
    if sys.argv[1:2] == ["--table"]:  # bench.sh: the runs' JSON files as one table
        res = []
        for path in sys.argv[2:]:
            with open(path) as f:
                res.append(json.load(f))
        sys.stdout.write(markdown(res))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", required=True)
    p.add_argument("--redis", required=True, help="redis://HOST:PORT")
    p.add_argument("--prefix", default="alert")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--provider", choices=("apns", "webpush"), default="apns")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    p.add_argument("--streams", type=int, default=1000,
                   help="nghttpd's SETTINGS_MAX_CONCURRENT_STREAMS (APNs announces 1000)")
    p.add_argument("--slow-standin", action="store_true",
                   help="nghttpd spools bodies in /tmp as it is (no tmpfs): on ext4 a few "
                   "thousand requests/s, a push service slower than the gateway, so requests "
                   "wait in flight as on real round trips")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--verify", action="store_true")
    p.add_argument("--profile", help="perf samples the gateway; FILE gets the top symbols, "
                   "FILE.data the samples")
    p.add_argument("--call-graph", action="store_true",
                   help="with --profile: DWARF call graphs (perf report -G -i FILE.data)")
    p.add_argument("--gateway-arg", action="append", default=[],
                   help="a further alertd-push argument (repeatable)")
    p.add_argument("--json", required=True)
    p.add_argument("--md")
    args = p.parse_args()
    hit = re.fullmatch(r"redis://([^:/]+):(\d+)/?", args.redis)
    if args.n < 1 or hit is None:
        p.error("--n must be at least 1 and --redis redis://HOST:PORT")
    args.redis_host, args.redis_port = hit.group(1), int(hit.group(2))
    for tool in ("nghttpd", "redis-cli", "taskset", "openssl") + (("perf",) if args.profile
                                                                 else ()):
        if shutil.which(tool) is None:
            print(f"bench-push: {tool} is missing (scripts/bench-deps.sh)", file=sys.stderr)
            return 3
    args.logs = os.path.dirname(os.path.abspath(args.json))
    with open("/proc/loadavg") as f:
        args.loadavg = float(f.read().split()[0])
    procs = Procs()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = tempfile.mkdtemp(prefix="bench-push.")
    try:
        res = run(args, procs, tmp)
    except SetupError as e:
        print(f"bench-push: {e}", file=sys.stderr)
        return 3
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    with open(args.json, "w") as f:
        json.dump(res, f, indent=1)
    if args.md:
        with open(args.md, "w") as f:
            f.write(markdown([res]))
    sys.stdout.write(markdown([res]))
    if not res["ok"]:
        print(f"bench-push: {res['problems']}", file=sys.stderr)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
