"""A Web Push service stand-in (RFC 8030) for alertd-push's tests: real
HTTP/2 over TLS on loopback (python3-h2 over asyncio and ssl), checking
what a push service checks, with an implementation of its own:

- the request: POST to /push/<subscription>, HTTP/2 (ALPN h2), the TTL,
  Urgency, Topic, Content-Encoding (aes128gcm) headers;
- VAPID (RFC 8292): `Authorization: vapid t=<JWT>, k=<key>`, the JWT's
  ES256 signature verified with python3-jwt against k, which must be the
  gateway's published key; aud the service's origin, exp within 24 h, sub
  a mailto: or https: URI;
- the payload (RFC 8291/8188), decrypted with python3-cryptography from
  the subscription's private key and auth secret.

It answers 201 unless told otherwise per subscription (a queue of answers:
400, 404, 410, 429 with Retry-After, 503, ...) or for the next N requests
whatever their subscription, and can hold each answer for a delay.
Everything it saw is kept for the test: `accepted` (decrypted payloads of
the requests it answered 2xx), `attempts` (every request) and `errors`
(what a real service would have refused, answered 400).
"""
import asyncio
import base64
import collections
import json
import os
import ssl
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from conftest import free_port

URGENCIES = {"very-low", "low", "normal", "high"}
B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Subscription:
    """A browser's push subscription: its key pair and auth secret."""

    def __init__(self, service, name):
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.auth = os.urandom(16)
        self.endpoint = f"https://127.0.0.1:{service.port}/push/{name}"

    def to_json(self):
        """PushSubscription.toJSON(), as a page sends it."""
        return {"endpoint": self.endpoint,
                "keys": {"p256dh": b64u(self.public), "auth": b64u(self.auth)}}

    def decrypt(self, body):
        """RFC 8291 with the aes128gcm coding of RFC 8188 (one record)."""
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        as_public = body[21:21 + idlen]
        ciphertext = body[21 + idlen:]
        assert idlen == 65 and rs >= 18, f"header: idlen {idlen}, rs {rs}"
        assert len(ciphertext) <= rs, "more than one record"
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public)
        secret = self.key.exchange(ec.ECDH(), peer)
        ikm = HKDF(hashes.SHA256(), 32, self.auth,
                   b"WebPush: info\x00" + self.public + as_public).derive(secret)
        cek = HKDF(hashes.SHA256(), 16, salt, b"Content-Encoding: aes128gcm\x00").derive(ikm)
        nonce = HKDF(hashes.SHA256(), 12, salt, b"Content-Encoding: nonce\x00").derive(ikm)
        plain = AESGCM(cek).decrypt(nonce, ciphertext, None).rstrip(b"\x00")
        assert plain.endswith(b"\x02"), "the last record's delimiter is not 0x02"
        return plain[:-1]


class WebPushStandin:
    def __init__(self, cert, key, vapid_public=None, delay=0.0):
        self.port = free_port()
        self.origin = f"https://127.0.0.1:{self.port}"
        self.vapid_public = vapid_public  # the gateway's key, once known
        self.delay = delay
        self.subs = {}
        self.accepted = collections.defaultdict(list)  # name -> [delivery]
        self.attempts = collections.defaultdict(list)  # name -> [(time, status)]
        self.errors = []
        self.plans = collections.defaultdict(collections.deque)  # name -> answers
        self.next_answers = collections.deque()  # for any subscription
        self.protocols = set()
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
    def subscribe(self, name):
        sub = Subscription(self, name)
        self.subs[name] = sub
        return sub

    def plan(self, name, *answers):
        """Answers for the next requests to `name`: (status, {header: value})."""
        with self.lock:
            self.plans[name].extend(answers)

    def answer_next(self, n, status, headers=None):
        with self.lock:
            self.next_answers.extend([(status, headers or {})] * n)

    def count_accepted(self):
        with self.lock:
            return sum(len(v) for v in self.accepted.values())

    def wait_accepted(self, n, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count_accepted() >= n:
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.count_accepted()} notifications accepted, not {n}, "
                             f"within {timeout}s; errors: {self.errors[:3]}")

    def stop(self):
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        self._thread.join(10)
        assert not self._thread.is_alive(), "the stand-in did not stop"

    async def _shutdown(self):
        self._server.close()
        for w in list(self._writers):
            w.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop.stop()

    # -- the service --------------------------------------------------------
    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self._ctx))
        self._started.set()
        self._loop.run_forever()

    async def _serve(self, reader, writer):
        self._writers.add(writer)
        proto = writer.get_extra_info("ssl_object").selected_alpn_protocol()
        with self.lock:
            self.protocols.add(proto)
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
                    elif isinstance(ev, h2.events.DataReceived):
                        streams[ev.stream_id][1].extend(ev.data)
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        headers, body = streams.pop(ev.stream_id)
                        asyncio.ensure_future(
                            self._respond(conn, writer, ev.stream_id, headers, bytes(body)))
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        return
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, ssl.SSLError, h2.exceptions.ProtocolError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _respond(self, conn, writer, stream_id, headers, body):
        status, extra = self._handle(headers, body)
        if self.delay:
            await asyncio.sleep(self.delay)
        try:
            conn.send_headers(stream_id, [(":status", str(status))] +
                              [(k.lower(), str(v)) for k, v in extra.items()], end_stream=True)
            writer.write(conn.data_to_send())
            await writer.drain()
        except (ConnectionError, h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            pass

    def _refuse(self, why, name=None):
        with self.lock:
            self.errors.append(f"{name}: {why}")
        return 400, {}

    def _handle(self, h, body):
        path = h.get(":path", "")
        name = path[len("/push/"):] if path.startswith("/push/") else None
        if h.get(":method") != "POST" or name not in self.subs:
            return self._refuse(f"{h.get(':method')} {path}")
        with self.lock:
            if self.next_answers:
                status, extra = self.next_answers.popleft()
            elif self.plans[name]:
                status, extra = self.plans[name].popleft()
            else:
                status, extra = 201, {}
            self.attempts[name].append((time.monotonic(), status))
        if status >= 300:
            return status, extra
        try:
            delivery = self._check(name, h, body)
        except Exception as e:  # what a push service would refuse: recorded, 400
            return self._refuse(repr(e), name)
        with self.lock:
            self.accepted[name].append(delivery)
        return status, {"location": f"/message/{name}/{len(self.accepted[name])}"}

    def _check(self, name, h, body):
        ttl = h.get("ttl")
        assert ttl is not None and ttl.isdigit(), f"TTL: {ttl!r}"
        assert h.get("urgency") in URGENCIES, f"Urgency: {h.get('urgency')!r}"
        topic = h.get("topic")
        assert topic is None or (0 < len(topic) <= 32 and set(topic) <= B64URL), f"Topic {topic!r}"
        assert h.get("content-encoding") == "aes128gcm", h.get("content-encoding")
        assert len(body) <= 4096, f"body of {len(body)} bytes"
        auth = h.get("authorization", "")
        assert auth.startswith("vapid "), f"Authorization: {auth[:20]!r}"
        params = dict(p.strip().split("=", 1) for p in auth[len("vapid "):].split(","))
        k = params["k"]
        if self.vapid_public is not None:
            assert k == self.vapid_public, "k is not the gateway's published VAPID key"
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(k))
        claims = jwt.decode(params["t"], key=key, algorithms=["ES256"], audience=self.origin,
                            options={"require": ["exp", "aud", "sub"]})
        assert claims["exp"] <= time.time() + 86400, "exp more than 24 h ahead"
        assert claims["sub"].startswith(("mailto:", "https:")), claims["sub"]
        payload = json.loads(self.subs[name].decrypt(body))
        return {"payload": payload, "ttl": int(ttl), "urgency": h["urgency"], "topic": topic,
                "time": time.monotonic()}
