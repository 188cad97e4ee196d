"""man/alert.1 and man/alertd.8 against what the programs say about
themselves: every option `--help` lists has an entry in its page, with the
metavar, default and variable --help gives, and the pages document no
option the programs lack. The pages render with groff without a warning,
and `make install` puts them where man looks.

The pages are read from their troff source by the small reader below (the
-man macros the pages use, and the escapes in them), so that the checks
do not depend on groff; only the rendering check does.
"""
import os
import re
import shutil
import stat
import subprocess

import pytest

from conftest import ALERT, ALERTD, BUILD

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAN = os.path.join(ROOT, "man")
ALERT_1 = os.path.join(MAN, "alert.1")
ALERTD_8 = os.path.join(MAN, "alertd.8")

# An option word: --long-name, or -x alone. Not part of a word ("en-GB",
# "1-280", "Ctrl-C") and not a dash on its own ("FILE|-").
LONG_OPT = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
SHORT_OPT = re.compile(r"(?<![\w-])-[a-zA-Z](?![\w-])")


def options_in(text):
    return set(LONG_OPT.findall(text)) | set(SHORT_OPT.findall(text))


def run(*argv):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, f"{' '.join(argv)}: exit {r.returncode}: {r.stderr}"
    return r.stdout


def squeeze(s):
    return " ".join(s.split())


# ---------------------------------------------------------------------------
# Reading a -man page
# ---------------------------------------------------------------------------

ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),  # font changes
    (re.compile(r"\\[:&%]"), ""),                  # break points, zero-width
    (re.compile(r"\\\(em"), "\u2014"),
    (re.compile(r"\\\(en"), "\u2013"),
    (re.compile(r"\\\((lq|rq|dq)"), '"'),
    (re.compile(r"\\\(aq"), "'"),
    (re.compile(r"\\-"), "-"),
    (re.compile(r"\\ "), " "),
    (re.compile(r"\\e"), "\\\\"),
]
GLUE = "\x00"  # \c at the end of a line: the next line joins without a space


def unescape(s):
    s = s.replace("\\c", GLUE)
    for pattern, repl in ESCAPES:
        s = pattern.sub(repl, s)
    return s


def macro_args(rest):
    """A macro's arguments: split on spaces, "double quotes" group."""
    args, cur, quoted, i = [], None, False, 0
    while i < len(rest):
        ch = rest[i]
        if quoted:
            if ch == '"' and rest[i + 1:i + 2] == '"':
                cur += '"'
                i += 1
            elif ch == '"':
                quoted = False
            else:
                cur += ch
        elif ch == '"' and cur is None:
            cur, quoted = "", True
        elif ch in " \t":
            if cur is not None:
                args.append(cur)
                cur = None
        else:
            cur = (cur or "") + ch
        i += 1
    if cur is not None:
        args.append(cur)
    return args


FONT_MACROS = {"B", "I", "SM", "SB"}
ALTERNATING = {"BR", "RB", "BI", "IB", "IR", "RI"}


class Entry:
    """One .TP item: its tag line and everything up to the next item of the
    same level (nested .RS/.TP lists included)."""

    def __init__(self, section, subsection, depth):
        self.section, self.subsection, self.depth = section, subsection, depth
        self.tag_parts, self.body_parts = [], []

    @property
    def tag(self):
        return join_text(self.tag_parts)

    @property
    def body(self):
        return join_text(self.body_parts)

    @property
    def options(self):
        """The options an entry documents: those its tag starts with."""
        return options_in(self.tag) if self.tag.startswith("-") else set()


def join_text(parts):
    out = ""
    for p in parts:
        if out.endswith(GLUE):
            out = out[:-1] + p
        else:
            out = f"{out} {p}" if out else p
    return squeeze(out.replace(GLUE, ""))


class Page:
    def __init__(self, path):
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.source = f.read()
        self.th = []
        self.sections = []       # .SH titles, in order
        self.subsections = []    # (section, .SS title)
        self.entries = []        # top-level .TP items (inside nothing but .RS)
        self.text_by_section = {}
        self._parse()
        self.text = " ".join(self.text_by_section.values())

    def _parse(self):
        section = subsection = None
        entry = None
        depth = 0
        want_tag = False

        def emit(text):
            nonlocal want_tag
            if section is not None:
                self.text_by_section[section] = (
                    self.text_by_section.get(section, "") + " " + text.replace(GLUE, ""))
            if entry is None:
                return
            if want_tag:
                entry.tag_parts.append(text)
                want_tag = False
            else:
                entry.body_parts.append(text)

        for line in self.source.splitlines():
            if line.startswith(('.\\"', "'\\\"")) or line.strip() == ".":
                continue
            if not line.startswith((".", "'")):
                emit(unescape(line))
                continue
            name, _, rest = line[1:].strip().partition(" ")
            args = [unescape(a) for a in macro_args(rest)]
            if name == "TH":
                self.th = args
            elif name == "SH":
                section, subsection, entry, depth = squeeze(" ".join(args)), None, None, 0
                self.sections.append(section)
            elif name == "SS":
                subsection, entry = squeeze(" ".join(args)), None
                self.subsections.append((section, subsection))
            elif name == "TP":
                # A list inside an entry (.RS, .TP) is part of its body.
                if entry is None or depth <= entry.depth:
                    entry = Entry(section, subsection, depth)
                    self.entries.append(entry)
                    want_tag = True
            elif name in ("PP", "LP", "P"):
                if entry is not None and depth <= entry.depth:
                    entry = None
            elif name == "RS":
                depth += 1
            elif name == "RE":
                depth = max(0, depth - 1)
            elif name in FONT_MACROS:
                emit(" ".join(args))
            elif name in ALTERNATING:
                emit("".join(args))
            elif name == "IP":
                if args:
                    emit(args[0])
            # .br .nf .fi .nh .ad .in .sp and the like carry no text

    def section_entries(self, section):
        return [e for e in self.entries if e.section == section]

    def option_entries(self, section, subsection=None):
        return [e for e in self.section_entries(section)
                if e.options and (subsection is None or e.subsection == subsection)]

    def section_text(self, section):
        return squeeze(self.text_by_section.get(section, ""))


@pytest.fixture(scope="module")
def alert_page():
    return Page(ALERT_1)


@pytest.fixture(scope="module")
def alertd_page():
    return Page(ALERTD_8)


def test_page_reader_sees_what_it_is_given(tmp_path):
    """The reader itself: tags, nested lists, alternating fonts, escapes."""
    p = tmp_path / "x.1"
    p.write_text(".TH X 1\n.SH OPTIONS\n.TP\n.BI \\-\\-a\\-b \" N\"\nOne\n.RS\n.TP\n"
                 ".B inner\nIn.\n.RE\n.IP\nDefault: \\fBx\\fR\\-y.\n.TP\n"
                 ".BR \\-f \", \" \\-\\-file\nTwo \\(em \"q\".\n.PP\nAfter.\n")
    page = Page(str(p))
    a, f = page.section_entries("OPTIONS")
    assert (a.tag, a.options) == ("--a-b N", {"--a-b"})
    assert a.body == "One inner In. Default: x-y."
    assert (f.tag, f.options) == ("-f, --file", {"-f", "--file"})
    assert f.body == 'Two \u2014 "q".'
    assert "After." in page.section_text("OPTIONS") and "After." not in f.body


# ---------------------------------------------------------------------------
# alertd(8)
# ---------------------------------------------------------------------------

HELP_OPTION = re.compile(r"^  (--[a-z][a-z0-9-]*)(?: ([A-Z][A-Z0-9:,._|-]*))?\s+(\S.*)$")
HELP_DEFAULT = re.compile(r"^\s+default: (.*); env (ALERTD_[A-Z0-9_]+)\s*$")


def alertd_help():
    """{"--name": {"metavar", "help", "default", "env"}} in --help's order."""
    text = run(ALERTD, "--help")
    options, last = {}, None
    for line in text.splitlines():
        m = HELP_OPTION.match(line)
        if m:
            last = options[m.group(1)] = {"metavar": m.group(2), "help": m.group(3),
                                         "default": None, "env": None}
            continue
        d = HELP_DEFAULT.match(line)
        if d and last is not None:
            last["default"], last["env"] = d.group(1), d.group(2)
    assert len(options) > 20 and "--listen" in options and "--help" in options, \
        f"alertd --help no longer looks as this test reads it:\n{text}"
    return text, options


def test_alertd_page_has_its_sections(alertd_page):
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "CONFIGURATION", "ENDPOINTS",
              "SIGNALS", "EXIT STATUS", "FILES", "SEE ALSO"):
        assert s in alertd_page.sections, f"alertd.8 has no {s} section"
    assert alertd_page.th[:2] == ["ALERTD", "8"]
    assert "alert(1)" in alertd_page.section_text("SEE ALSO")
    assert alertd_page.section_text("NAME").startswith("alertd - ")


def test_alertd_page_version_is_the_programs():
    version = run(ALERTD, "--version").split()[-1]
    th = Page(ALERTD_8).th
    assert len(th) >= 4 and version in th[3], \
        f"alertd.8's .TH names {th[3:4]}, alertd --version says {version}"


def test_every_alertd_option_has_an_entry_and_every_entry_is_an_option(alertd_page):
    _, options = alertd_help()
    entries = alertd_page.option_entries("OPTIONS")
    documented = [o for e in entries for o in e.options]
    dups = sorted({o for o in documented if documented.count(o) > 1})
    assert dups == [], f"alertd.8 documents these twice: {dups}"
    missing = [o for o in options if o not in documented]
    assert missing == [], f"alertd --help lists these, alertd.8's OPTIONS does not: {missing}"
    unknown = sorted(set(documented) - set(options))
    assert unknown == [], f"alertd.8 documents options alertd --help does not list: {unknown}"


def test_alertd_entries_carry_the_metavar_default_and_variable_of_help(alertd_page):
    _, options = alertd_help()
    by_option = {o: e for e in alertd_page.option_entries("OPTIONS") for o in e.options}
    wrong = []
    for name, o in options.items():
        e = by_option.get(name)
        if e is None:
            continue  # reported by the test above
        want_tag = f"{name} {o['metavar']}" if o["metavar"] else name
        if e.tag != want_tag:
            wrong.append(f"{name}: tag is {e.tag!r}, --help says {want_tag!r}")
        if o["default"] is not None and f"Default: {o['default']}" not in e.body:
            wrong.append(f"{name}: no 'Default: {o['default']}' in its entry")
        if o["env"] is not None and not re.search(rf"\b{o['env']}\b", e.body):
            wrong.append(f"{name}: its entry does not name {o['env']}")
    assert wrong == [], "alertd.8 and alertd --help disagree:\n  " + "\n  ".join(wrong)


def test_every_variable_alertd_help_names_is_in_the_page(alertd_page):
    text, options = alertd_help()
    named = set(re.findall(r"\bALERTD_[A-Z0-9_]+\b", text))
    assert {o["env"] for o in options.values() if o["env"]} <= named
    missing = sorted(v for v in named if not re.search(rf"\b{v}\b", alertd_page.text))
    assert missing == [], f"alertd --help names these variables, alertd.8 does not: {missing}"


def test_alertd_page_mentions_no_option_alertd_lacks(alertd_page):
    _, options = alertd_help()
    unknown = sorted(set(LONG_OPT.findall(alertd_page.text)) - set(options))
    assert unknown == [], f"alertd.8 mentions options alertd does not have: {unknown}"


def test_alertd_exit_statuses_are_the_codes(alertd_page):
    defined = set()
    for name in ("main.c", "worker.h"):
        with open(os.path.join(ROOT, "src", "server", name)) as f:
            defined |= {int(v) for v in
                        re.findall(r"#define (?:MAIN|WORKER)_EXIT_\w+\s+(\d+)", f.read())}
    assert {2, 78} <= defined, f"src/server defines no longer the exit statuses: {defined}"
    documented = {e.tag for e in alertd_page.section_entries("EXIT STATUS")}
    missing = sorted(({0, 1, 2} | defined) - {int(t) for t in documented if t.isdigit()})
    assert missing == [], f"alertd.8's EXIT STATUS lacks {missing}"


def test_alertd_endpoints_of_the_readme_are_in_the_page(alertd_page):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    table = re.search(r"^\| endpoint \| what \|\n((?:\|.*\n)+)", readme, re.M)
    assert table, "README.md has no '| endpoint | what |' table any more"
    paths = set()
    for row in table.group(1).splitlines():
        first = row.split("|")[1]
        paths |= set(re.findall(r"(?:GET |wss://HOST)(/[^\s`?]*)", first))
    assert {"/v1/ws", "/v1/sse", "/v1/alerts", "/healthz"} <= paths, paths
    tags = [e.tag for e in alertd_page.section_entries("ENDPOINTS")]
    missing = sorted(p for p in paths
                     if not any(re.search(rf"(?<![/.-]){re.escape(p)}(?![\w/.-])", t) for t in tags))
    assert missing == [], f"README's endpoints without an entry in alertd.8's ENDPOINTS: {missing}"


# ---------------------------------------------------------------------------
# alert(1)
# ---------------------------------------------------------------------------

def alert_commands():
    """The commands `alert --help` lists, and its whole text."""
    text = run(ALERT, "--help")
    block = re.search(r"^Commands:\n((?:  \S.*\n)+)", text, re.M)
    assert block, f"alert --help no longer lists its commands as this test reads them:\n{text}"
    commands = [line.split()[0] for line in block.group(1).splitlines()]
    assert "push" in commands and "tail" in commands, commands
    return text, commands


def command_help(command):
    return run(ALERT, command, "--help")


def help_blocks(text):
    """Option lines of a command's --help, with their continuation lines:
    [(first long option on the line, options on the line, text)]."""
    blocks, cur = [], None
    for line in text.splitlines():
        if re.match(r"^  -", line):
            first = LONG_OPT.search(line)
            cur = [first.group(0) if first else line.split()[0], options_in(line), line.strip()]
            blocks.append(cur)
        elif cur is not None and re.match(r"^ {4,}\S", line):
            cur[2] += " " + line.strip()
        else:
            cur = None
    return [(a, b, squeeze(c)) for a, b, c in blocks]


def help_defaults(block_text):
    """The defaults an option line of `alert ... --help` states."""
    found = re.findall(r"\bdefault ([^\s),;]+)", block_text)
    found += re.findall(r"(\w+) \(default\)", block_text)
    return found


def shared_commands(subsection):
    """"Item options (push, update)" -> ["push", "update"]."""
    m = re.search(r"\(([a-z, ]+)\)\s*$", subsection or "")
    return [c.strip() for c in m.group(1).split(",")] if m else []


def subsection_command(subsection):
    words = (subsection or "").split()
    if words and words[0] == "alert":
        words = words[1:]
    return words[0] if words and not shared_commands(subsection) else None


def entries_for(page, command):
    """alert.1's option entries that apply to `command`: its own subsection's,
    those of shared subsections naming it, and COMMON OPTIONS."""
    own = [e for e in page.option_entries("COMMANDS")
           if subsection_command(e.subsection) == command
           or command in shared_commands(e.subsection)]
    return own, page.option_entries("COMMON OPTIONS")


def test_alert_page_has_its_sections(alert_page):
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "COMMON OPTIONS", "ENVIRONMENT",
              "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
        assert s in alert_page.sections, f"alert.1 has no {s} section"
    assert alert_page.th[:2] == ["ALERT", "1"]
    assert "alertd(8)" in alert_page.section_text("SEE ALSO")
    assert alert_page.section_text("NAME").startswith("alert - ")


def test_alert_page_version_is_the_programs():
    version = run(ALERT, "--version").split()[-1]
    th = Page(ALERT_1).th
    assert len(th) >= 4 and version in th[3], \
        f"alert.1's .TH names {th[3:4]}, alert --version says {version}"


def test_every_alert_command_has_an_entry_and_a_synopsis(alert_page):
    _, commands = alert_commands()
    headed = {subsection_command(ss) for sec, ss in alert_page.subsections if sec == "COMMANDS"}
    missing = [c for c in commands if c not in headed]
    assert missing == [], f"alert --help lists commands without a subsection in COMMANDS: {missing}"
    unknown = sorted(c for c in headed - set(commands) if c)
    assert unknown == [], f"alert.1 has subsections for commands alert lacks: {unknown}"
    synopsis = alert_page.section_text("SYNOPSIS")
    missing = [c for c in commands if f"alert {c}" not in synopsis]
    assert missing == [], f"alert.1's SYNOPSIS lacks: {missing}"
    for sec, ss in alert_page.subsections:
        for c in shared_commands(ss):
            assert c in commands, f"alert.1: subsection {ss!r} names no command {c!r}"


def test_each_alert_command_documents_exactly_the_options_of_its_help(alert_page):
    _, commands = alert_commands()
    wrong = []
    for command in commands:
        listed = options_in(command_help(command))
        own, common = entries_for(alert_page, command)
        own_opts = {o for e in own for o in e.options}
        common_opts = {o for e in common for o in e.options}
        missing = sorted(listed - own_opts - common_opts)
        if missing:
            wrong.append(f"alert {command} --help lists {missing}; alert.1 documents them "
                         f"neither under {command} nor under COMMON OPTIONS")
        extra = sorted(own_opts - listed)
        if extra:
            wrong.append(f"alert.1 documents {extra} for {command}, "
                         f"which alert {command} --help does not list")
    assert wrong == [], "\n".join(wrong)


def test_alert_defaults_and_variables_of_help_are_in_the_entries(alert_page):
    _, commands = alert_commands()
    wrong = []
    for command in commands:
        own, common = entries_for(alert_page, command)
        for first, opts, text in help_blocks(command_help(command)):
            entry = next((e for e in own if first in e.options), None) or \
                next((e for e in common if first in e.options), None)
            if entry is None:
                continue  # reported by the test above
            for value in help_defaults(text):
                if f"Default: {value}" not in entry.body:
                    wrong.append(f"{command} {first}: --help says default {value}, "
                                 f"its entry has no 'Default: {value}'")
            for var in re.findall(r"\benv (ALERT_[A-Z0-9_]+)", text):
                if not re.search(rf"\b{var}\b", entry.body):
                    wrong.append(f"{command} {first}: its entry does not name {var}")
    assert wrong == [], "alert.1 and alert --help disagree:\n  " + "\n  ".join(sorted(set(wrong)))


def test_alert_page_mentions_no_option_alert_lacks(alert_page):
    text, commands = alert_commands()
    listed = options_in(text)
    for c in commands:
        listed |= options_in(command_help(c))
    unknown = sorted(options_in(alert_page.text) - listed)
    assert unknown == [], f"alert.1 mentions options no alert --help lists: {unknown}"
    for e in alert_page.option_entries("COMMON OPTIONS"):
        assert e.options <= options_in(text) | {"-h"}, \
            f"COMMON OPTIONS entry {e.tag!r} is not among alert --help's common options"


def test_alert_environment_is_what_alert_reads(alert_page):
    text, commands = alert_commands()
    named = set(re.findall(r"\bALERT_[A-Z0-9_]+\b", text))
    for c in commands:
        named |= set(re.findall(r"\bALERT_[A-Z0-9_]+\b", command_help(c)))
    for d in ("cli", "common"):
        src = os.path.join(ROOT, "src", d)
        for name in sorted(os.listdir(src)):
            if name.endswith(".c"):
                with open(os.path.join(src, name)) as f:
                    named |= set(re.findall(r'getenv\("(ALERT_[A-Z0-9_]+)"\)', f.read()))
    assert {"ALERT_REDIS_URL", "ALERT_PREFIX", "ALERT_TOKEN"} <= named, named
    documented = {e.tag for e in alert_page.section_entries("ENVIRONMENT")}
    assert sorted(named - documented) == [], \
        f"alert reads or names variables alert.1's ENVIRONMENT lacks: {sorted(named - documented)}"
    assert sorted(documented - named) == [], \
        f"alert.1's ENVIRONMENT documents variables alert never reads: {sorted(documented - named)}"


def test_alert_exit_statuses_are_the_codes(alert_page):
    defined = set()
    for header, prefix in (("cli.h", "CLI_EXIT_"), ("tail.h", "TAIL_EXIT_")):
        with open(os.path.join(ROOT, "src", "cli", header)) as f:
            defined |= {int(v) for v in re.findall(rf"#define {prefix}\w+\s+(\d+)", f.read())}
    text, commands = alert_commands()
    stated = set()
    for t in [text] + [command_help(c) for c in commands]:
        m = re.search(r"Exit status:(.*)", t, re.S)
        if m:
            stated |= {int(v) for v in re.findall(r"(?<![\w.-])(\d) (?=[a-zA-Z])", m.group(1))}
    assert {0, 2, 3} <= defined and {0, 2, 3} <= stated, (defined, stated)
    documented = {int(e.tag) for e in alert_page.section_entries("EXIT STATUS")
                  if e.tag.isdigit()}
    assert sorted((defined | stated) - documented) == [], \
        f"alert.1's EXIT STATUS lacks {sorted((defined | stated) - documented)}"
    assert sorted(documented - defined - stated) == [], \
        f"alert.1's EXIT STATUS documents codes alert never returns: {sorted(documented - defined)}"


def test_alert_common_options_cover_the_three_redis_urls(alert_page):
    redis = next(e for e in alert_page.option_entries("COMMON OPTIONS") if "--redis" in e.options)
    for scheme in ("redis://", "unix://", "redis+sentinel://"):
        assert scheme in redis.body, f"alert.1's --redis entry lacks {scheme}"
    common = alert_page.section_text("COMMON OPTIONS")
    assert "before" in common and "after" in common


# ---------------------------------------------------------------------------
# Rendering and installing
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("page", [ALERT_1, ALERTD_8], ids=os.path.basename)
def test_page_renders_without_warnings(page):
    groff = shutil.which("groff")
    if groff is None:
        pytest.skip("groff is not installed (Debian package groff-base): cannot render the page")
    r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", page],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", f"groff on {page}: exit {r.returncode}\n{r.stderr}"
    # Rendered as a reader sees it, at a usual terminal width.
    r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-rLL=80n", page],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", f"groff on {page}: exit {r.returncode}\n{r.stderr}"
    rendered = re.sub(".\x08", "", r.stdout)  # bold and underline are overstruck
    name = os.path.basename(page).split(".")[0]
    # "\-" is a hyphen-minus with Debian's man.local, a minus sign elsewhere.
    assert re.search(rf"^NAME\n\s+{name} [-\u2010\u2212] ", rendered, re.M), rendered[:400]


def make_env():
    """The environment for a make of our own: not the jobserver of a make
    that may be running this test, but its SANITIZER if it has one, so that
    the build directory is not rebuilt with other flags."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    extra = re.findall(r"(?:^|\s)(SANITIZER=\S+)", os.environ.get("MAKEFLAGS", ""))
    return env, extra


def test_make_install_puts_the_pages_where_man_looks(tmp_path):
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    dest = tmp_path / "dest"
    env, extra = make_env()
    r = subprocess.run([make, "--no-print-directory", "-C", ROOT, "install",
                        f"BUILD={os.path.abspath(BUILD)}", f"DESTDIR={dest}", "PREFIX=/usr",
                        *extra], capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, f"make install: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    mandir = dest / "usr" / "share" / "man"
    for src, installed in ((ALERT_1, mandir / "man1" / "alert.1"),
                           (ALERTD_8, mandir / "man8" / "alertd.8")):
        assert installed.is_file(), f"make install did not install {installed}"
        with open(src, "rb") as f:
            assert installed.read_bytes() == f.read(), f"{installed} differs from {src}"
        assert stat.S_IMODE(installed.stat().st_mode) == 0o644, oct(installed.stat().st_mode)
    for prog in ("alert", "alertd"):
        assert (dest / "usr" / "bin" / prog).is_file()

    man = shutil.which("man")
    if man is None:
        return  # the files are where man(1) looks; no man here to ask
    for section, name, installed in (("1", "alert", mandir / "man1" / "alert.1"),
                                     ("8", "alertd", mandir / "man8" / "alertd.8")):
        r = subprocess.run([man, "-M", str(mandir), "-w", section, name],
                           capture_output=True, text=True, timeout=30,
                           env={**env, "LC_ALL": "C.UTF-8"})
        assert r.returncode == 0, f"man -M {mandir} -w {section} {name}: {r.stderr}"
        assert os.path.realpath(r.stdout.strip()) == os.path.realpath(installed), r.stdout
