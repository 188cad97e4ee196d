"""man/alertd-push.8 against `alertd-push --help` and its exit statuses:
every option --help lists has an entry with its metavar, default and
variable; the page names no option the program lacks; it renders without
a groff warning and `make install` installs it with the program. The page
reader is test_manpages.py's."""
import os
import re
import shutil
import subprocess

import pytest

from push_fixture import ALERTD_PUSH
from test_manpages import LONG_OPT, MAN, ROOT, Page, make_env, run

PAGE = os.path.join(MAN, "alertd-push.8")
HELP_OPTION = re.compile(r"^  (--[a-z][a-z0-9-]*)(?: ([A-Z][A-Z0-9:,._|-]*))?\s+(\S.*)$")
HELP_DEFAULT = re.compile(r"^\s+default: (.*); env (ALERTD_PUSH_[A-Z0-9_]+)\s*$")


def push_help():
    text = run(ALERTD_PUSH, "--help")
    options, last = {}, None
    for line in text.splitlines():
        m = HELP_OPTION.match(line)
        if m:
            last = options[m.group(1)] = {"metavar": m.group(2), "default": None, "env": None}
            continue
        d = HELP_DEFAULT.match(line)
        if d and last is not None:
            last["default"], last["env"] = d.group(1), d.group(2)
    assert len(options) > 15 and "--vapid-key" in options, text
    return text, options


@pytest.fixture(scope="module")
def page():
    return Page(PAGE)


def test_the_page_has_its_sections(page):
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENDPOINTS", "SIGNALS",
              "EXIT STATUS", "SEE ALSO"):
        assert s in page.sections, f"alertd-push.8 has no {s} section"
    assert page.th[:2] == ["ALERTD-PUSH", "8"]
    assert page.section_text("NAME").startswith("alertd-push - ")
    version = run(ALERTD_PUSH, "--version").split()[-1]
    assert version in page.th[3], (page.th, version)


def test_every_option_has_its_entry_with_metavar_default_and_variable(page):
    _, options = push_help()
    entries = {o: e for e in page.option_entries("OPTIONS") for o in e.options}
    assert sorted(set(options) - set(entries)) == [], "options without an entry"
    assert sorted(set(entries) - set(options)) == [], "entries for options alertd-push lacks"
    wrong = []
    for name, o in options.items():
        e = entries[name]
        want = f"{name} {o['metavar']}" if o["metavar"] else name
        if e.tag != want:
            wrong.append(f"{name}: tag {e.tag!r}, --help says {want!r}")
        if o["default"] is not None and f"Default: {o['default']}" not in e.body:
            wrong.append(f"{name}: no 'Default: {o['default']}'")
        if o["env"] is not None and o["env"] not in e.body:
            wrong.append(f"{name}: does not name {o['env']}")
    assert wrong == [], "\n".join(wrong)
    unknown = sorted(set(LONG_OPT.findall(page.text)) - set(options))
    assert unknown == [], f"the page mentions options alertd-push lacks: {unknown}"


def test_the_exit_statuses_are_the_codes(page):
    with open(os.path.join(ROOT, "src", "push", "pconf.h")) as f:
        defined = {int(v) for v in re.findall(r"#define PUSH_EXIT_\w+\s+(\d+)", f.read())}
    text, _ = push_help()
    stated = {int(v) for v in re.findall(r"(\d) [a-z]", text.split("Exit status:")[1])}
    documented = {int(e.tag) for e in page.section_entries("EXIT STATUS") if e.tag.isdigit()}
    assert defined == stated == documented == {0, 1, 2}, (defined, stated, documented)


def test_the_page_renders_without_warnings():
    groff = shutil.which("groff")
    if groff is None:
        pytest.skip("groff is not installed")
    r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", PAGE], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_make_install_installs_the_program_and_its_page(tmp_path):
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    env, extra = make_env()
    build = os.path.dirname(ALERTD_PUSH)
    r = subprocess.run([make, "--no-print-directory", "-C", ROOT, "install",
                        f"BUILD={os.path.abspath(build)}", f"DESTDIR={tmp_path}", "PREFIX=/usr",
                        *extra], capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "usr" / "bin" / "alertd-push").is_file()
    installed = tmp_path / "usr" / "share" / "man" / "man8" / "alertd-push.8"
    with open(PAGE, "rb") as f:
        assert installed.read_bytes() == f.read()


def test_the_example_config_loads():
    example = os.path.join(ROOT, "deploy", "alertd-push.conf.example")
    r = subprocess.run([ALERTD_PUSH, "--config", example, "--version"], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    _, options = push_help()
    with open(example) as f:
        keys = {line.split("=")[0].strip().lstrip("# ") for line in f
                if re.match(r"^#? ?[a-z][a-z-]* =", line)}
    missing = sorted(o[2:] for o in options if o[2:] not in keys | {"help", "version", "config",
                                                                      "plain", "provider-ca"})
    assert missing == [], f"settings the example does not show: {missing}"
