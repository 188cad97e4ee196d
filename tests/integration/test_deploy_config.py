"""deploy/alertd.conf.example: every line alertd accepts, commented
examples included, and every setting alertd has is explained there."""
import os
import re
import subprocess

from conftest import ALERTD

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "deploy", "alertd.conf.example")
SETTING = re.compile(r"^(#\s*)?([a-z][a-z-]*)\s*=\s*(.*)$")


def settings_in_example():
    with open(EXAMPLE) as f:
        return [(m.group(1) is not None, m.group(2), m.group(3))
                for m in map(SETTING.match, f.read().splitlines()) if m]


def test_example_config_loads_with_its_commented_settings_too(tmp_path):
    r = subprocess.run([ALERTD, "--config", EXAMPLE, "--version"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    # The commented lines are examples to uncomment: they must load too.
    uncommented = tmp_path / "all.conf"
    uncommented.write_text("".join(f"{k} = {v}\n" for _, k, v in settings_in_example()))
    r = subprocess.run([ALERTD, "--config", str(uncommented), "--version"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr


def test_example_config_explains_every_setting():
    r = subprocess.run([ALERTD, "--help"], capture_output=True, text=True, timeout=10)
    flags = re.findall(r"^  --([a-z-]+)", r.stdout, re.M)
    assert "drain-seconds" in flags and "tls-ticket-key" in flags
    documented = {k for _, k, _ in settings_in_example()}
    missing = [f for f in flags if f not in ("config", "help", "version") and f not in documented]
    assert missing == [], f"settings without an entry in alertd.conf.example: {missing}"
