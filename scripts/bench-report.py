#!/usr/bin/python3
"""bench-report.py RESULTS_DIR — the table and chart of a `make bench` session.

Reads what scripts/bench.sh left in RESULTS_DIR (SERVER-N.json from
`alert-bench --json`, SERVER-N.meta.json, tls-write-limit.json,
session.json, skipped.txt) and writes there:

  summary.json  one flat record per run (the numbers the table shows)
  table.md      absolute numbers, and ratios against nchan at the same N;
                then the mobile readers' runs (BENCH_WIRE_N): bytes on the
                wire per alert, CPU per delivery and RSS per idle connection
                with compact and compressed frames, against plain ones
  chart.svg     p99 latency, RSS per idle connection and server CPU per
                delivery against N (gnuplot), one line per server

Only the standard library; gnuplot from Debian's gnuplot-nox.
"""
import glob
import json
import math
import os
import shutil
import subprocess
import sys

SERVERS = ("alertd", "nchan", "node")
NAMES = {"alertd": "alertd", "nchan": "nginx + nchan", "node": "Node ws",
         "alertd-noreceipts": "alertd, receipts off"}
# The mobile readers' runs at BENCH_WIRE_N, each against the plain run of
# its server (the first of these names is the reference for the rest).
WIRE = {
    "alertd": ("alertd", "full"), "alertd-compact": ("alertd", "compact (`fields=`)"),
    "alertd-deflate": ("alertd", "deflated"),
    "alertd-deflate-compact": ("alertd", "deflated compact"),
    "nchan": ("nchan", "full"), "nchan-deflate": ("nchan", "deflated"),
}
# issue #15: what compression may cost against plain frames.
TARGET_CPU_PCT, TARGET_RSS_KIB = 10.0, 0.5


# ---------------------------------------------------------------------------
# alert-bench's JSON -> the numbers the table needs. Every figure is looked up
# through these paths (the first present wins), so this is the one place to
# touch when alert-bench's JSON changes; bench/README.md documents it.
# ---------------------------------------------------------------------------
FIELDS = {
    "ok": ["ok"],
    "established": ["connect.established"],
    "failed": ["connect.failed"],
    "tls": ["connect.tls_version"],
    "cipher": ["connect.cipher"],
    "handshakes_per_s": ["connect.handshakes_per_s"],
    "resumed": ["resume.resumed"],
    "resume_established": ["resume.established"],
    "rss_idle_kib": ["server.rss_kib_per_connection"],
    "pss_idle_kib": ["server.pss_kib_per_connection"],
    "cpu_handshake_full_us": ["server.cpu_us_per_handshake"],
    "cpu_handshake_resumed_us": ["server.cpu_us_per_resumed_handshake"],
    "cpu_delivery_us": ["server.cpu_us_per_delivery"],
    "server_core_pct": ["server.core_pct_delivering"],
    "deliveries": ["delivery.deliveries"],
    "expected": ["delivery.expected"],
    "missing": ["delivery.missing"],
    "duplicates": ["delivery.duplicates"],
    "dropped": ["delivery.dropped"],
    "frame_bytes": ["delivery.frame_bytes_max"],
    "ws_bytes": ["delivery.ws_bytes_per_delivery"],
    "wire_bytes": ["delivery.wire_bytes_per_delivery"],
    "deflated": ["delivery.deflated"],
    "pings": ["delivery.pings"],
    "p50_ms": ["latency_ms.p50"],
    "p90_ms": ["latency_ms.p90"],
    "p99_ms": ["latency_ms.p99"],
    "max_ms": ["latency_ms.max"],
    "reach_all_ms": ["reach_all_ms.max"],
    "bench_cpu_pct": ["client_cpu.core_pct_delivering"],
}
TLS_WRITE_FIELDS = {
    # CPU of the pinned writer per record: what server CPU per delivery compares with.
    "us_per_record": ["tls.cpu_us_per_record"],
    "wall_us_per_record": ["tls.us_per_record"],
    "records_per_s": ["tls.records_per_s"],
    "plain_us_per_write": ["plain_write.cpu_us_per_record"],
    "seal_us_per_record": ["seal_only.cpu_us_per_record"],
    "connections": ["connections"],
}


def lookup(doc, paths):
    for path in paths:
        cur = doc
        for part in path.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                cur = None
                break
        if cur is not None:
            return cur
    return None


def extract(doc, fields):
    return {k: lookup(doc, paths) for k, paths in fields.items()}


# ---------------------------------------------------------------------------
# Reading the session
# ---------------------------------------------------------------------------
def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"bench-report: cannot read {path}: {e}", file=sys.stderr)
        return None


def read_runs(out):
    runs = []
    for meta_path in sorted(glob.glob(os.path.join(out, "*-*.meta.json"))):
        meta = load(meta_path) or {}
        base = meta_path[: -len(".meta.json")]
        doc = load(base + ".json") if os.path.exists(base + ".json") else None
        rec = {"server": meta.get("server"), "clients": meta.get("clients"),
               "workers": meta.get("workers"), "bench_exit": meta.get("bench_exit"),
               "server_alive_after": meta.get("server_alive_after"),
               "json": os.path.basename(base + ".json") if doc else None}
        rec.update(extract(doc or {}, FIELDS))
        rec["fields"] = lookup(doc or {}, ["params.fields"])  # null unless --fields
        runs.append(rec)
    runs.sort(key=lambda r: (r["clients"] or 0, SERVERS.index(r["server"])
                             if r["server"] in SERVERS else 9))
    return runs


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------
def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def fmt(v, digits=3):
    """Three significant digits, no exponent for the ranges seen here."""
    if not num(v):
        return "—"
    if v == 0:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    decimals = max(0, digits - 1 - mag)
    return f"{v:,.{decimals}f}"


def ratio(v, ref):
    if not num(v) or not num(ref) or ref == 0:
        return ""
    return f" ({v / ref:.2f}×)"


def kilo(n):
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def table(session, runs, tlsw, skipped):
    by = {(r["clients"], r["server"]): r for r in runs}
    lines = []
    s = session or {}
    lines.append(f"Session {s.get('started_utc', '?')} (commit {s.get('commit', '?')}"
                 f"{', uncommitted changes' if s.get('dirty') else ''}): "
                 f"{s.get('alerts', '?')} alerts at {s.get('alert_rate', '?')}/s, "
                 f"{s.get('size', '?')}-byte messages, server on CPU {s.get('server_cpu', '?')}, "
                 f"alert-bench on CPU {s.get('client_cpu', '?')}; one server process per "
                 f"{s.get('per_worker', '?')} clients. Ratios in brackets: against nginx + nchan "
                 f"at the same N (resumed handshakes: against nchan's *full* handshake).")
    if num(s.get("loadavg_at_start")) and s["loadavg_at_start"] > 0.5:
        lines.append("")
        lines.append(f"⚠ The machine was busy when the session started (load average "
                     f"{s['loadavg_at_start']:.1f}): treat these figures as noisy.")
    lines.append("")
    tw = tlsw.get("us_per_record") if tlsw else None
    if num(tw):
        extra = ""
        if num(tlsw.get("plain_us_per_write")):
            extra += f"; plain `write()` {fmt(tlsw['plain_us_per_write'])} µs"
        if num(tlsw.get("seal_us_per_record")):
            extra += f"; AES-256-GCM sealing alone {fmt(tlsw['seal_us_per_record'])} µs"
        wall = ""
        if num(tlsw.get("records_per_s")):
            wall = f" ({fmt(tlsw['records_per_s'])} records/s of wall time)"
        lines.append(f"TLS-write limit, same session ({fmt(tlsw.get('connections'))} loopback TLS "
                     f"connections, {s.get('size', '?')}-byte records written round-robin by one "
                     f"pinned core): **{fmt(tw)} µs of CPU per record**{wall}{extra}. The last "
                     f"column is CPU per delivery over it.")
        lines.append("")
    lines.append("| N | server | procs | connected | RSS / idle conn (KiB) | CPU / delivery (µs) "
                 "| CPU / full handshake (ms) | CPU / resumed handshake (ms) | p50 (ms) | p99 (ms) "
                 "| max (ms) | reach all (ms) | missing / dup | core % server / bench "
                 "| × TLS-write limit |")
    lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        n, srv = r["clients"], r["server"]
        if srv in WIRE and srv not in SERVERS:
            continue  # the mobile readers' table below
        ref = by.get((n, "nchan")) if srv != "nchan" else None
        g = (lambda k: ref.get(k)) if ref else (lambda k: None)
        conn = f"{r['established']:,}" if num(r["established"]) else "—"
        if num(r["failed"]) and r["failed"]:
            conn += f" ({r['failed']:,} failed)"
        hs_full = r["cpu_handshake_full_us"] / 1000 if num(r["cpu_handshake_full_us"]) else None
        hs_res = r["cpu_handshake_resumed_us"] / 1000 if num(r["cpu_handshake_resumed_us"]) else None
        ref_full = g("cpu_handshake_full_us") / 1000 if num(g("cpu_handshake_full_us")) else None
        # A reconnection the server did not resume was a full handshake:
        # say so where it happened, or the column mixes the two silently.
        partly = ""
        if num(r["resumed"]) and num(r["resume_established"]) and r["resume_established"] \
                and r["resumed"] < r["resume_established"]:
            partly = f", {r['resumed']:,} of {r['resume_established']:,} resumed"
        md = "—"
        if num(r["missing"]) or num(r["duplicates"]):
            md = f"{fmt(r['missing'] or 0)} / {fmt(r['duplicates'] or 0)}"
        note = ""
        if r["bench_exit"] not in (0, 1, None):
            note = f" ⚠ alert-bench exit {r['bench_exit']}"
        if r["server_alive_after"] is False:
            note += " ⚠ server died"
        lines.append(
            f"| {kilo(n)} | {NAMES.get(srv, srv)}{note} | {r['workers'] or '—'} | {conn} "
            f"| {fmt(r['rss_idle_kib'])}{ratio(r['rss_idle_kib'], g('rss_idle_kib'))} "
            f"| {fmt(r['cpu_delivery_us'])}{ratio(r['cpu_delivery_us'], g('cpu_delivery_us'))} "
            f"| {fmt(hs_full)}{ratio(hs_full, ref_full)} "
            f"| {fmt(hs_res)}{ratio(hs_res, ref_full)}{partly} "
            f"| {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])}{ratio(r['p99_ms'], g('p99_ms'))} "
            f"| {fmt(r['max_ms'])} | {fmt(r['reach_all_ms'])} | {md} "
            f"| {fmt(r['server_core_pct'], 2)} / {fmt(r['bench_cpu_pct'], 2)} "
            f"| {fmt(r['cpu_delivery_us'] / tw, 2) + '×' if num(r['cpu_delivery_us']) and num(tw) else '—'} |")
    for n in sorted({r["clients"] for r in runs if r["server"] == "alertd-noreceipts"}):
        on, off = by.get((n, "alertd")), by.get((n, "alertd-noreceipts"))
        if on and off and num(on["cpu_delivery_us"]) and num(off["cpu_delivery_us"]):
            lines.append("")
            lines.append(f"Receipts at N={kilo(n)}: {fmt(on['cpu_delivery_us'])} µs of server CPU "
                         f"per delivery with them, {fmt(off['cpu_delivery_us'])} µs without "
                         f"({(on['cpu_delivery_us'] / off['cpu_delivery_us'] - 1) * 100:+.1f} %; "
                         f"the clients send no acks).")
    lines += wire_table(runs, by)
    if skipped:
        lines.append("")
        lines.append("Not run: " + ", ".join(skipped) + " (see the session's log).")
    lines.append("")
    lines.append("![latency, memory and CPU per delivery against N](chart.svg)")
    return "\n".join(lines) + "\n"


def pct(v, ref):
    return (v / ref - 1) * 100 if num(v) and num(ref) and ref else None


def wire_table(runs, by):
    """The mobile readers' runs: one table per N that has any."""
    lines = []
    for n in sorted({r["clients"] for r in runs if r["server"] in WIRE
                     and r["server"] not in SERVERS}):
        lines += ["", f"Mobile readers at N={kilo(n)}, same session: bytes each "
                  "600-byte alert took on the wire (TCP payload the readers received while "
                  "alerts were published, over the deliveries: TLS 1.3 records included, "
                  "TCP/IP headers not), and what the server spent. Ratios: against the plain "
                  "run of the same server (CPU: µs more per delivery in %; RSS: KiB more per "
                  "idle connection).", "",
                  "| server | alerts as | message (B) | frame (B) | on the wire (B / alert) "
                  "| CPU / delivery (µs) | RSS / idle conn (KiB) | compressed | pings |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, (base, what) in WIRE.items():
            r, ref = by.get((n, name)), by.get((n, base))
            if r is None:
                continue
            other = ref if name != base else None
            cpu_d, rss_d = pct(r["cpu_delivery_us"], other and other["cpu_delivery_us"]), None
            if other and num(r["rss_idle_kib"]) and num(other["rss_idle_kib"]):
                rss_d = r["rss_idle_kib"] - other["rss_idle_kib"]
            if r["fields"]:
                what += f" `{r['fields']}`"
            lines.append(
                f"| {NAMES.get(base, base)} | {what} | {fmt(r['frame_bytes'])} "
                f"| {fmt(r['ws_bytes'])} "
                f"| **{fmt(r['wire_bytes'])}**{ratio(r['wire_bytes'], other and other['wire_bytes'])} "
                f"| {fmt(r['cpu_delivery_us'])}{f' ({cpu_d:+.1f} %)' if cpu_d is not None else ''} "
                f"| {fmt(r['rss_idle_kib'])}{f' ({rss_d:+.2f})' if rss_d is not None else ''} "
                f"| {fmt(r['deflated'])} | {fmt(r['pings'])} |")
        plain = by.get((n, "alertd"))
        for name in ("alertd-deflate", "alertd-deflate-compact"):
            r = by.get((n, name))
            if not r or not plain:
                continue
            cpu_d = pct(r["cpu_delivery_us"], plain["cpu_delivery_us"])
            rss_d = r["rss_idle_kib"] - plain["rss_idle_kib"] \
                if num(r["rss_idle_kib"]) and num(plain["rss_idle_kib"]) else None
            if cpu_d is None or rss_d is None:
                continue
            verdict = "within" if cpu_d <= TARGET_CPU_PCT and rss_d <= TARGET_RSS_KIB else "NOT within"
            lines += ["", f"{WIRE[name][1].capitalize()} against full plain frames: "
                      f"{cpu_d:+.1f} % server CPU per delivery (target ≤ +{TARGET_CPU_PCT:g} %), "
                      f"{rss_d:+.2f} KiB per idle connection (target ≤ +{TARGET_RSS_KIB:g} KiB): "
                      f"{verdict} the targets of issue #15."]
    return lines


# ---------------------------------------------------------------------------
# The chart
# ---------------------------------------------------------------------------
def chart(out, runs, tlsw):
    if not shutil.which("gnuplot"):
        print("bench-report: gnuplot missing (scripts/bench-deps.sh installs gnuplot-nox): "
              "no chart", file=sys.stderr)
        return False
    if os.path.exists(os.path.join(out, "chart.svg")):
        os.remove(os.path.join(out, "chart.svg"))  # never leave a stale chart
    present = [s for s in SERVERS if any(r["server"] == s for r in runs)]
    if not present:
        return False
    datdir = os.path.join(out, "chart-data")
    os.makedirs(datdir, exist_ok=True)
    for s in present:
        with open(os.path.join(datdir, f"{s}.dat"), "w") as f:
            f.write("# N p99_ms rss_idle_kib cpu_delivery_us\n")
            for r in runs:
                if r["server"] != s:
                    continue
                vals = [r["p99_ms"], r["rss_idle_kib"], r["cpu_delivery_us"]]
                f.write(f"{r['clients']} " + " ".join(f"{v:.6g}" if num(v) else "NaN"
                                                      for v in vals) + "\n")
    colors = {"alertd": "#d62728", "nchan": "#1f77b4", "node": "#2ca02c"}
    tw = tlsw.get("us_per_record") if tlsw else None

    def plots(col):
        return ", ".join(
            f"'{os.path.join(datdir, s + '.dat')}' using 1:{col} with linespoints "
            f"lw 2 pt 7 lc rgb '{colors[s]}' title '{NAMES[s]}'" for s in present)

    ns = [r["clients"] for r in runs if num(r["clients"])]
    xr = f"[{min(ns) / 1.6:.6g}:{max(ns) * 1.6:.6g}]"
    tw_line = ""
    if num(tw):
        tw_line = f", {tw:.6g} with lines dt 2 lw 1.5 lc rgb '#555555' title 'TLS-write limit'"
    panels = []
    for col, key, title, logy in ((2, "p99_ms", "p99 latency (ms)", True),
                                  (3, "rss_idle_kib", "RSS per idle TLS connection (KiB)", False),
                                  (4, "cpu_delivery_us", "server CPU per delivery (µs)", False)):
        if not any(num(r[key]) for r in runs):
            continue
        lines = [f"set title '{title}'",
                 "set logscale y 10" if logy else "unset logscale y",
                 "set yrange [*:*]" if logy else "set yrange [0:*]",
                 f"plot {plots(col)}{tw_line if key == 'cpu_delivery_us' else ''}"]
        panels.append("\n".join(lines))
    if not panels:
        print("bench-report: no figures to plot: no chart", file=sys.stderr)
        return False
    body = "\n".join(panels)
    script = f"""
set terminal svg size {500 * len(panels)},500 dynamic enhanced font 'sans,12' background '#ffffff'
set output '{os.path.join(out, 'chart.svg')}'
set datafile missing 'NaN'
set logscale x 10
set xlabel 'clients (N)'
set grid
set key below horizontal
set format x '%.0s%c'
set xrange {xr}
set multiplot layout 1,{len(panels)} title 'alert-bench: alertd vs nginx + nchan vs Node ws (server on one core)'
{body}
unset multiplot
"""
    with open(os.path.join(datdir, "chart.gp"), "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", os.path.join(datdir, "chart.gp")], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        print(f"bench-report: gnuplot failed: {r.stderr}", file=sys.stderr)
        return False
    return True


def main():
    if len(sys.argv) != 2:
        print("usage: bench-report.py RESULTS_DIR", file=sys.stderr)
        return 2
    out = sys.argv[1]
    session = load(os.path.join(out, "session.json")) if os.path.exists(
        os.path.join(out, "session.json")) else {}
    runs = read_runs(out)
    tlsw_doc = load(os.path.join(out, "tls-write-limit.json")) if os.path.exists(
        os.path.join(out, "tls-write-limit.json")) else None
    tlsw = extract(tlsw_doc, TLS_WRITE_FIELDS) if tlsw_doc else {}
    skipped = []
    if os.path.exists(os.path.join(out, "skipped.txt")):
        with open(os.path.join(out, "skipped.txt")) as f:
            skipped = [ln.strip() for ln in f if ln.strip()]
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"session": session, "tls_write_limit": tlsw, "runs": runs,
                   "skipped": skipped}, f, indent=1)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(table(session, runs, tlsw, skipped))
    chart(out, runs, tlsw)
    missing = [k for k in FIELDS if runs and all(r.get(k) is None for r in runs if r["json"])]
    if missing and any(r["json"] for r in runs):
        print("bench-report: not found in alert-bench's JSON: " + ", ".join(missing),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
