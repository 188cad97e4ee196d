"""The instruments of the fault tests (test_faults_*.py): many readers that
behave as PROTOCOL.md section 8 tells a client to, a publisher that keeps
what every `alert push` said, and the check of alertd's promise.

The promise (PROTOCOL.md sections 4 and 8): every alert that `alert push`
reported as published (exit 0) reaches every reader exactly once, or the
reader gets a `gap` frame covering it; an alert reported as not published
(exit 3) reaches nobody; exit 4 (unknown) may go either way. On one reader's
stream, across all its connections, ids only grow: a reader resumes with
`since` = the last id it got, and is never sent that id or an older one again.

A gap covers the alerts it may stand for: those newer than its `since` and
older than the next alert the reader got after it (the node sends nothing
older than what it already sent, so anything it lost sits before that).

Readers are python3-websockets clients over verified TLS on one asyncio loop;
each reconnects with `since` and the protocol's backoff (1 s base, full
jitter), keeps the TLS session ticket it was given and offers it on its next
connection (`ResumingContext`), and answers pings (the library does).
"""
import asyncio
import contextvars
import json
import os
import random
import resource
import signal
import ssl
import subprocess
import threading
import time

import websockets

from alertd_fixture import idkey
from conftest import ALERT

BACKOFF_BASE = 1.0  # PROTOCOL.md section 8
BACKOFF_CAP = 60.0
HEALTHY_AFTER = 30.0

EXIT_PUBLISHED, EXIT_NOT_PUBLISHED, EXIT_UNKNOWN, EXIT_NOT_DURABLE = 0, 3, 4, 5


def raise_nofile(want):
    """Raises this process's open-file limit to `want` (within the hard
    limit); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        soft = min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


# ---------------------------------------------------------------------------
# TLS with session resumption
# ---------------------------------------------------------------------------
_offered_session = contextvars.ContextVar("offered_session", default=None)


class ResumingContext(ssl.SSLContext):
    """A verifying client context whose connections offer the session held in
    a context variable. asyncio makes the TLS object (wrap_bio) inside the
    task that opens the connection, so each reader offers its own ticket
    without a context of its own."""

    def wrap_bio(self, incoming, outgoing, server_side=False, server_hostname=None,
                 session=None):
        return super().wrap_bio(incoming, outgoing, server_side, server_hostname,
                                session=session or _offered_session.get())


def resuming_context(cafile):
    ctx = ResumingContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


# ---------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------
class Crowd:
    """What every reader shares: the TLS context, the headline of every id
    seen (to name alerts whose id `alert` never printed), and tallies."""

    def __init__(self, cafile, open_timeout=30.0, handshakes=100):
        self.ctx = resuming_context(cafile)
        self.open_timeout = open_timeout
        self.handshakes = handshakes
        self._gate = None
        self.headlines = {}
        self.readers = []
        self.deliveries = 0
        self.why = {}  # why connection attempts failed -> count

    @property
    def gate(self):
        """At most `handshakes` connections being opened at once. This
        process is one Python thread: thousands of handshakes started
        together would each advance so slowly that the server's 10 s
        handshake timeout cut them, which thousands of devices would not
        suffer. Readers wait here for their turn, and the time counts."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.handshakes)
        return self._gate


class Reader:
    """One client. `urls` are the wss:// bases it may use (it starts on
    `urls[home]` and reconnects to any); `hold` (an asyncio.Event), when set
    on the reader, makes it wait for that event instead of backing off, so a
    test can release a crowd at once (a reconnect storm)."""

    def __init__(self, crowd, urls, home=0, query=""):
        self.crowd = crowd
        self.urls = list(urls)
        self.url = self.urls[home % len(self.urls)]
        self.query = query
        self.ids = []          # alert ids in the order received, over all connections
        self.gaps = []         # (since, number of alerts received before the gap)
        self.last_id = None
        self.node = None       # the node of the last hello
        self.joined = None     # when the first hello came: alerts pushed after are owed
        self.session = None    # the TLS session (ticket) of the last connection
        self.connections = 0   # connections that got their hello
        self.resumed = 0       # of them, TLS resumptions
        self.failures = 0      # attempts that never got a hello
        self.closes = {}       # close code (None: no close frame) -> count
        self.problems = []     # protocol breaches seen on the wire
        self.log = []          # (hello, node, since, node's last_id, n) / replayed / gap
        self.hold = None
        self.connected = asyncio.Event()
        self.ws = None
        self.stopping = False
        self.task = None
        self.attempt = 0

    # -- one connection ---------------------------------------------------
    def target(self):
        """The URL of the next connection: `since` the last alert got; a
        reader that was connected but got none yet asks for everything
        (since=0-0, PROTOCOL.md section 4), so that nothing published while it
        was away is lost to it."""
        q = [self.query] if self.query else []
        if self.last_id:
            q.append(f"since={self.last_id}")
        elif self.joined is not None:
            q.append("since=0-0")
        return self.url + ("?" + "&".join(q) if q else "")

    async def _session(self):
        """One connection until it ends; returns (close code, got hello, lived s)."""
        token = _offered_session.set(self.session)
        t0 = time.monotonic()
        hello = False
        try:
            async with self.crowd.gate:
                ws = await websockets.connect(
                    self.target(), ssl=self.crowd.ctx, subprotocols=["alert.v1"],
                    ping_interval=None, open_timeout=self.crowd.open_timeout, close_timeout=2,
                    max_size=2 ** 16, compression=None)
        except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as e:
            self.failures += 1
            why = type(e).__name__ + (f" {e}" if str(e) else "")
            self.crowd.why[why[:80]] = self.crowd.why.get(why[:80], 0) + 1
            return ("connect", why), False, time.monotonic() - t0
        finally:
            _offered_session.reset(token)
        self.ws = ws
        try:
            async for msg in ws:
                frame = json.loads(msg)
                kind = frame.get("type")
                if kind == "alert":
                    self._alert(frame["alert"])
                elif kind == "hello":
                    if hello:
                        self.problems.append("a second hello on one connection")
                    hello = True
                    self._hello(ws, frame)
                elif kind == "gap":
                    self.gaps.append((frame["since"], len(self.ids)))
                    self.log.append(("gap", frame["since"], frame.get("oldest"), len(self.ids)))
                elif kind == "replayed":
                    self.log.append(("replayed", frame.get("count"), frame.get("last_id"),
                                     len(self.ids)))
                elif kind != "pong":
                    self.problems.append(f"unexpected frame {frame}")
                if not hello:
                    self.problems.append(f"{kind} before hello")
            code = ws.close_code
        except websockets.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else None
        except (OSError, asyncio.TimeoutError) as e:
            code = repr(e)
        finally:
            self.ws = None
            self.connected.clear()
        if not hello:
            self.failures += 1
        return code, hello, time.monotonic() - t0

    def _hello(self, ws, frame):
        self.node = frame.get("node")
        self.log.append(("hello", self.node, self.last_id, frame.get("last_id"), len(self.ids)))
        if self.joined is None:
            self.joined = time.monotonic()
        self.connections += 1
        sslobj = ws.transport.get_extra_info("ssl_object")
        if sslobj is not None:
            self.resumed += bool(sslobj.session_reused)
            # The ticket came right after the handshake, before any frame.
            if sslobj.session is not None and sslobj.session.has_ticket:
                self.session = sslobj.session
        self.connected.set()

    def _alert(self, alert):
        aid = alert["id"]
        if self.ids and idkey(aid) <= idkey(self.ids[-1]):
            self.problems.append(f"{aid} after {self.ids[-1]}")
        self.ids.append(aid)
        self.last_id = aid
        self.crowd.deliveries += 1
        self.crowd.headlines.setdefault(aid, alert.get("headline"))

    # -- the reader's life ------------------------------------------------
    async def run(self):
        while not self.stopping:
            code, hello, lived = await self._session()
            if self.stopping:
                break
            if hello:
                key = code if isinstance(code, int) else None
                self.closes[key] = self.closes.get(key, 0) + 1
            if self.hold is not None:
                await self.hold.wait()
                self.hold = None
                continue
            await asyncio.sleep(self._delay(code, hello, lived))

    def _delay(self, code, hello, lived):
        """PROTOCOL.md sections 7 and 8: 1001 is a random 0-5 s, 4001 a
        random 0-1 s; anything else the exponential backoff with full
        jitter, reset only after a healthy connection."""
        if hello and lived > HEALTHY_AFTER:
            self.attempt = 0
        if code == 1001:
            return random.uniform(0, 5)
        if code == 4001:
            return random.uniform(0, 1)
        delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** self.attempt))
        self.attempt += 1
        return delay

    def keep_ticket(self):
        """Keeps the TLS session of the open connection for the next one."""
        if self.ws is not None:
            sslobj = self.ws.transport.get_extra_info("ssl_object")
            if sslobj is not None and sslobj.session is not None:
                self.session = sslobj.session

    async def drop(self, url=None):
        """Closes the connection as a client may (1000) and comes back at
        once, with `since`, to `url` (or the same one)."""
        if url:
            self.url = url
        self.keep_ticket()
        self.hold = asyncio.Event()
        self.hold.set()
        ws = self.ws
        if ws is not None:
            await ws.close()

    def start(self):
        self.task = asyncio.ensure_future(self.run())
        self.crowd.readers.append(self)
        return self


async def start_readers(crowd, n, urls, query="", timeout=120.0):
    """Starts n readers (reader i at home urls[i % len]) and waits until all
    have their hello. Returns (readers, seconds)."""
    t0 = time.monotonic()
    readers = [Reader(crowd, urls, home=i, query=query).start() for i in range(n)]
    await wait_all(readers, lambda r: r.connected.is_set(), timeout, "connected")
    return readers, time.monotonic() - t0


async def wait_all(readers, cond, timeout, what):
    """Polls until cond(reader) holds for every reader; returns seconds, or
    raises with the count still short."""
    t0 = time.monotonic()
    while True:
        short = [r for r in readers if not cond(r)]
        if not short:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{len(short)} of {len(readers)} readers not {what} "
                                 f"within {timeout:.0f}s")
        await asyncio.sleep(0.1)


async def stop_readers(readers, timeout=15.0):
    """Stops every reader: open connections are cut (the test is over; a
    close handshake each would only cost time), tasks cancelled and waited
    for, within `timeout`."""
    for r in readers:
        r.stopping = True
        if r.ws is not None:
            r.ws.transport.abort()
        if r.task is not None:
            r.task.cancel()
    tasks = [r.task for r in readers if r.task is not None]
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)


# ---------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------
def crash_node(srv):
    """SIGKILLs every process of an alertd node at once (the supervisor and
    its workers), as a host that dies or an OOM kill of the cgroup would."""
    pid = srv.proc.pid
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
    except FileNotFoundError:
        kids = []
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except ProcessLookupError:
            pass
    srv.kill()


# ---------------------------------------------------------------------------
# Publishing
# ---------------------------------------------------------------------------
class Push:
    __slots__ = ("seq", "headline", "status", "id", "stderr", "at")  # at: when it started

    def __init__(self, seq, headline, status, alert_id, stderr, at):
        self.seq, self.headline, self.status, self.id = seq, headline, status, alert_id
        self.stderr, self.at = stderr, at


class Publisher:
    """Runs `alert push` (a thread, so the readers' loop keeps reading) and
    keeps every outcome."""

    def __init__(self, redis_url, run_tag, extra=()):
        self.redis_url = redis_url
        self.tag = run_tag
        self.extra = list(extra)
        self.pushes = []
        self.lock = threading.Lock()

    def push_sync(self, note=""):
        seq = len(self.pushes)
        started = time.monotonic()
        headline = f"{self.tag} {seq}{' ' + note if note else ''}"
        argv = [ALERT, "push", "--headline", headline, "--redis", self.redis_url, *self.extra]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        alert_id = r.stdout.strip() if r.returncode in (EXIT_PUBLISHED, EXIT_NOT_DURABLE) \
            else None
        p = Push(seq, headline, r.returncode, alert_id, r.stderr.strip(), started)
        with self.lock:
            self.pushes.append(p)
        return p

    async def push(self, note=""):
        return await asyncio.to_thread(self.push_sync, note)

    async def push_until_published(self, note="", timeout=30.0):
        """Pushes until one is published (exit 0); returns it."""
        deadline = time.monotonic() + timeout
        while True:
            p = await self.push(note)
            if p.status == EXIT_PUBLISHED:
                return p
            assert time.monotonic() < deadline, f"no publish within {timeout}s: {p.stderr}"
            await asyncio.sleep(0.2)

    def by_status(self, status):
        return [p for p in self.pushes if p.status == status]

    def tally(self):
        out = {}
        for p in self.pushes:
            out[p.status] = out.get(p.status, 0) + 1
        return out


# ---------------------------------------------------------------------------
# The promise
# ---------------------------------------------------------------------------
def covered(reader, alert_id):
    """Whether a gap the reader got covers alert_id."""
    k = idkey(alert_id)
    for since, at in reader.gaps:
        if since and idkey(since) >= k:
            continue
        if at >= len(reader.ids) or k < idkey(reader.ids[at]):
            return True
    return False


def around(reader, alert_id):
    """What the reader got just before and after alert_id should have come,
    and its connections, replays and gaps there."""
    k = idkey(alert_id)
    at = next((i for i, a in enumerate(reader.ids) if idkey(a) > k), len(reader.ids))
    events = [e for e in reader.log if abs(e[-1] - at) <= 3]
    return f"ids {reader.ids[max(0, at - 2):at + 2]}, events {events}"


def check_promise(readers, publisher, strict=()):
    """Every breach of the promise, as text (empty: kept). `strict`: ids
    that must arrive whatever gaps say (durable alerts, a lossless fault)."""
    problems = []
    # Owed to a reader: what was pushed after its first hello.
    published = {p.id: p for p in publisher.by_status(EXIT_PUBLISHED)}
    unknown = {p.headline for p in publisher.by_status(EXIT_UNKNOWN)}
    unknown |= {p.headline for p in publisher.by_status(EXIT_NOT_DURABLE)}
    refused = {p.headline for p in publisher.pushes
               if p.status not in (EXIT_PUBLISHED, EXIT_UNKNOWN, EXIT_NOT_DURABLE)}
    headlines = readers[0].crowd.headlines if readers else {}
    strict = set(strict)
    for i, r in enumerate(readers):
        for text in r.problems[:3]:
            problems.append(f"reader {i}: {text}")
        got = set(r.ids)
        if len(got) != len(r.ids):
            problems.append(f"reader {i}: {len(r.ids) - len(got)} duplicates")
        for aid in got:
            if aid not in published and headlines.get(aid) not in unknown:
                problems.append(f"reader {i}: got {aid} ({headlines.get(aid)!r}), which no "
                                f"push reported published or unknown")
        owed = (a for a, p in published.items() if r.joined is not None and p.at > r.joined)
        missing = [a for a in owed if a not in got and (a in strict or not covered(r, a))]
        if missing:
            problems.append(f"reader {i}: {len(missing)} published alerts neither received "
                            f"nor covered by a gap, e.g. {missing[:3]}; around it: "
                            f"{around(r, missing[0])}")
    leaked = sorted(h for h in headlines.values() if h in refused)
    if leaked:
        problems.append(f"alerts whose push said 'nothing was published' reached readers: "
                        f"{leaked[:5]}")
    return problems


def figures(title, rows):
    """A short block of what a test did and what arrived, for `pytest -s`
    and failure reports."""
    width = max(len(k) for k, _ in rows)
    lines = [f"---- {title}"] + [f"  {k:<{width}}  {v}" for k, v in rows]
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def reader_figures(readers):
    """Rows summing up what a crowd of readers saw."""
    n = len(readers)
    with_gap = sum(1 for r in readers if r.gaps)
    conns = sum(r.connections for r in readers)
    closes = {}
    for r in readers:
        for k, v in r.closes.items():
            closes[k] = closes.get(k, 0) + v
    return [
        ("readers", n),
        ("deliveries", sum(len(r.ids) for r in readers)),
        ("connections (hello)", f"{conns} ({conns - n} reconnections), "
                                f"{sum(r.failures for r in readers)} failed attempts"),
        ("TLS resumed", f"{sum(r.resumed for r in readers)} of {conns}"),
        ("closes seen", ", ".join(f"{k if k is not None else 'no frame'}: {v}"
                                  for k, v in sorted(closes.items(), key=lambda kv: str(kv[0])))
         or "none"),
        ("readers with a gap", f"{with_gap} ({sum(len(r.gaps) for r in readers)} gap frames)"),
    ] + ([("attempts failed on", "; ".join(f"{k}: {v}" for k, v in
                                          sorted(readers[0].crowd.why.items())[:4]))]
         if readers and readers[0].crowd.why else [])
