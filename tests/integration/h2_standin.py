"""The server side the push-service stand-ins share (webpush_standin.py,
apns_standin.py, fcm_standin.py): real HTTP/2 over TLS on loopback
(python3-h2 over asyncio and ssl, ALPN h2) in a thread of its own, and
the test's commands: a queue of answers per name (`plan`) or for the next
requests whatever their name (`answer_next`), an optional delay before
each answer, and what was seen — `attempts` (name -> [(time, status)]),
`accepted` (name -> [what the subclass made of a request it took]),
`errors` (what the real service would have refused), `connections` (how
many the gateway opened), `most_unanswered` (the most requests one
connection had waiting for their answers at once) and `peak_unanswered`
(the most all connections had at once).

A subclass implements `handle(headers, body)` -> (status, {header: value},
body bytes), usually through `answer(name)` (the planned answer, else
`default_status`) and `refuse(why, name)`, and `collapse_ids(what)`: the
identifiers by which the provider and the device collapse what it took,
so that `displayed(name)` is what the device would show: one notification
per collapse identifier (a later one replacing the earlier), one for each
message without any. `requests` lists (time, path, peer port) of every
request, answered or not.
"""
import asyncio
import collections
import json
import ssl
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from conftest import free_port


class H2Standin:
    default_status = 200

    def __init__(self, cert, key, delay=0.0):
        self.port = free_port()
        self.origin = f"https://127.0.0.1:{self.port}"
        self.delay = delay
        self.accepted = collections.defaultdict(list)
        self.attempts = collections.defaultdict(list)
        self.requests = []
        self.errors = []
        self.plans = collections.defaultdict(collections.deque)
        self.next_answers = collections.deque()
        self.protocols = set()
        self.connections = 0
        self.most_unanswered = 0
        self.peak_unanswered = 0
        self._unanswered = 0  # all connections'
        self.lock = threading.Lock()
        self._ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ctx.load_cert_chain(cert, key)
        self._ctx.set_alpn_protocols(["h2"])
        self._writers = set()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._started.wait(10), "the stand-in did not start"

    # -- the test's side ----------------------------------------------------
    def plan(self, name, *answers):
        """Answers for the next requests to `name`: (status, {header: value}[, JSON body])."""
        with self.lock:
            self.plans[name].extend(answers)

    def answer_next(self, n, status, headers=None, body=None):
        with self.lock:
            self.next_answers.extend([(status, headers or {}, body)] * n)

    def count_accepted(self):
        with self.lock:
            return sum(len(v) for v in self.accepted.values())

    def wait_accepted(self, n, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count_accepted() >= n:
                return
            time.sleep(0.05)
        raise AssertionError(f"{type(self).__name__}: {self.count_accepted()} accepted, not {n}, "
                             f"within {timeout}s; errors: {self.errors[:3]}")

    def collapse_ids(self, what):
        """{kind: identifier} of a message taken; none: each message is shown."""
        raise NotImplementedError

    def displayed(self, name):
        """The notifications the device `name` shows of what was taken for it."""
        with self.lock:
            taken = list(self.accepted[name])
        shown = {}
        for i, what in enumerate(taken):
            ids = self.collapse_ids(what)
            shown[tuple(sorted(ids.items())) if ids else ("uncollapsed", i)] = what
        return list(shown.values())

    def requests_since(self, t, peers=None):
        with self.lock:
            return [r for r in self.requests if r[0] >= t and (peers is None or r[2] in peers)]

    def stop(self):
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        self._thread.join(10)
        assert not self._thread.is_alive(), "the stand-in did not stop"

    # -- for subclasses -----------------------------------------------------
    def handle(self, headers, body):
        raise NotImplementedError

    def answer(self, name):
        """The planned answer for `name` (recorded as an attempt): (status, headers, body)."""
        with self.lock:
            if self.next_answers:
                status, extra, body = self.next_answers.popleft()
            elif self.plans[name]:
                planned = self.plans[name].popleft()
                status, extra, body = (tuple(planned) + (None,))[:3]
            else:
                status, extra, body = self.default_status, {}, None
            self.attempts[name].append((time.monotonic(), status))
        return status, dict(extra), body

    def refuse(self, why, name=None, status=400, body=None):
        with self.lock:
            self.errors.append(f"{name}: {why}")
        return status, {}, body

    def take(self, name, what):
        with self.lock:
            self.accepted[name].append(what)
            return len(self.accepted[name])

    @staticmethod
    def json_body(value):
        return None if value is None else json.dumps(value).encode()

    # -- the server ---------------------------------------------------------
    async def _shutdown(self):
        self._server.close()
        for w in list(self._writers):
            w.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop.stop()

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self._ctx))
        self._started.set()
        self._loop.run_forever()

    async def _serve(self, reader, writer):
        self._writers.add(writer)
        peer = writer.get_extra_info("peername")[1]
        proto = writer.get_extra_info("ssl_object").selected_alpn_protocol()
        with self.lock:
            self.protocols.add(proto)
            self.connections += 1
        unanswered = [0]  # this connection's
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        streams = {}
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        streams[ev.stream_id] = (dict(ev.headers), bytearray())
                        with self.lock:
                            self.requests.append((time.monotonic(), streams[ev.stream_id][0]
                                                  .get(":path"), peer))
                            unanswered[0] += 1
                            self._unanswered += 1
                            self.most_unanswered = max(self.most_unanswered, unanswered[0])
                            self.peak_unanswered = max(self.peak_unanswered, self._unanswered)
                    elif isinstance(ev, h2.events.DataReceived):
                        streams[ev.stream_id][1].extend(ev.data)
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        headers, body = streams.pop(ev.stream_id)
                        asyncio.ensure_future(self._respond(conn, writer, ev.stream_id,
                                                            headers, bytes(body), unanswered))
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        return
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, ssl.SSLError, h2.exceptions.ProtocolError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _respond(self, conn, writer, stream_id, headers, body, unanswered):
        try:
            status, extra, data = self.handle(headers, body)
        except Exception as e:  # a bug of the stand-in must show, not hang the gateway
            status, extra, data = self.refuse(f"stand-in error {e!r}", status=500)
        if isinstance(data, (dict, list)):
            data = self.json_body(data)
            extra.setdefault("content-type", "application/json")
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            unanswered[0] -= 1
            self._unanswered -= 1
        try:
            conn.send_headers(stream_id, [(":status", str(status))] +
                              [(k.lower(), str(v)) for k, v in extra.items()],
                              end_stream=not data)
            if data:
                conn.send_data(stream_id, data, end_stream=True)
            writer.write(conn.data_to_send())
            await writer.drain()
        except (ConnectionError, h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            pass
