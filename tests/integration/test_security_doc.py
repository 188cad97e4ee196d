"""SECURITY.md's limits table against the code: every setting and constant
it names exists (in `alertd --help`, or as a #define in src/), a setting's
numeric default in the table is the one --help gives, and every limit
setting alertd has (max-*, history, heartbeat, ...) has a row. The report
procedure is a real one, not a placeholder address."""
import os
import re
import subprocess

from conftest import ALERTD, ROOT

SECURITY = os.path.join(ROOT, "SECURITY.md")
# Settings that are limits besides the max-* ones: each needs a row.
LIMIT_SETTINGS = {"history", "heartbeat", "drain-seconds", "allowed-origin",
                  "restricted-topics", "workers"}
# alertd-push's rows (stage "push ..."), checked against its --help and
# src/push; its limit settings besides the max-* ones.
ALERTD_PUSH = os.path.join(os.path.dirname(ALERTD), "alertd-push")
PUSH_LIMIT_SETTINGS = {"allowed-origin", "webpush-hosts", "registration-days", "concurrency",
                       "max-jobs", "claim-after"}


def section(title):
    with open(SECURITY) as f:
        text = f.read()
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, f"SECURITY.md has no section {title!r}"
    return m.group(1)


def limit_rows():
    rows = []
    for line in section("Limits").splitlines():
        if not line.startswith("| ") or line.startswith("| stage") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 6, f"a limits row has 6 columns: {line}"
        rows.append(dict(zip(("stage", "limit", "default", "changed_by", "beyond", "seen"),
                             cells)))
    return rows


def help_defaults(program=ALERTD):
    r = subprocess.run([program, "--help"], capture_output=True, text=True, timeout=10)
    text = " ".join(r.stdout.split())
    out = {}
    for m in re.finditer(r"--([a-z][a-z-]*) (?:[A-Z][A-Z:,.]* )?(.*?)(?= --[a-z]|$)", text):
        d = re.search(r"default: ([^;]*);", m.group(2))
        out[m.group(1)] = d.group(1) if d else None
    return out


def source_defines(dirs=("src/server", "src/common", "src/cli")):
    names = set()
    for d in dirs:
        for name in os.listdir(os.path.join(ROOT, d)):
            if name.endswith((".c", ".h")):
                with open(os.path.join(ROOT, d, name)) as f:
                    names.update(re.findall(r"^#define ([A-Z][A-Z0-9_]+)", f.read(), re.M))
    return names


def check_rows(rows, settings, defines):
    """Each name of the rows exists with the table's default; the settings named."""
    named = set()
    for row in rows:
        for token in re.findall(r"`([^`]+)`", row["changed_by"]):
            if re.fullmatch(r"[A-Z][A-Z0-9_]+", token):
                assert token in defines, f"{token} (row {row['limit']!r}) is not in src/"
            elif re.fullmatch(r"[a-z][a-z0-9-]+", token):
                assert token in settings, f"{token} (row {row['limit']!r}) is not a setting"
                named.add(token)
                default = settings[token]
                if default and re.fullmatch(r"\d+", default):
                    assert re.search(rf"(?<![\d.]){default}(?![\d.])", row["default"]), \
                        f"{token}: the table says {row['default']!r}, --help {default}"
    return named


def test_every_name_in_the_limits_table_exists_and_defaults_agree():
    rows = [r for r in limit_rows() if not r["stage"].startswith("push")]
    assert len(rows) > 30
    settings = help_defaults()
    named = check_rows(rows, settings, source_defines())
    want = {s for s in settings if s.startswith("max-")} | LIMIT_SETTINGS
    assert want <= set(settings)
    assert want - named == set(), f"limit settings without a row in SECURITY.md: {want - named}"


def test_the_push_gateways_rows_agree_with_alertd_push():
    rows = [r for r in limit_rows() if r["stage"].startswith("push")]
    assert len(rows) > 10
    settings = help_defaults(ALERTD_PUSH)
    named = check_rows(rows, settings, source_defines(("src/push", "src/common")))
    want = {s for s in settings if s.startswith("max-")} | PUSH_LIMIT_SETTINGS
    assert want <= set(settings)
    assert want - named == set(), f"alertd-push limits without a row in SECURITY.md: {want - named}"


def test_reporting_is_a_real_procedure():
    text = section("Reporting a vulnerability")
    assert "Report a vulnerability" in text and "private security advisory" in text
    assert not re.search(r"example\.(com|org)|@|TODO|TBD|placeholder", text, re.I), text
