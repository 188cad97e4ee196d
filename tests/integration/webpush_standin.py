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

It answers 201 unless told otherwise (h2_standin.py: the server, the
plans of answers and what was seen); `accepted` holds the decrypted
payloads of the requests it answered 2xx, `errors` what a real service
would have refused (answered 400).
"""
import base64
import json
import os
import time

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from h2_standin import H2Standin

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


class WebPushStandin(H2Standin):
    default_status = 201

    def __init__(self, cert, key, vapid_public=None, delay=0.0):
        self.vapid_public = vapid_public  # the gateway's key, once known
        self.subs = {}
        super().__init__(cert, key, delay)

    def subscribe(self, name):
        sub = Subscription(self, name)
        self.subs[name] = sub
        return sub

    def handle(self, h, body):
        path = h.get(":path", "")
        name = path[len("/push/"):] if path.startswith("/push/") else None
        if h.get(":method") != "POST" or name not in self.subs:
            return self.refuse(f"{h.get(':method')} {path}")
        status, extra, data = self.answer(name)
        if status >= 300:
            return status, extra, data
        try:
            delivery = self._check_delivery(name, h, body)
        except Exception as e:  # what a push service would refuse: recorded, 400
            return self.refuse(repr(e), name)
        n = self.take(name, delivery)
        return status, {"location": f"/message/{name}/{n}"}, None

    def collapse_ids(self, what):
        """RFC 8030 5.4: a message with a Topic replaces one pending with the
        same; push-sw.js shows it with `tag` the story, which replaces a shown
        notification of the same tag."""
        p = what["payload"]
        tag = p["ref"] if p.get("kind") == "update" and isinstance(p.get("ref"), str) else str(
            p["id"])
        ids = {"tag": tag}
        if what["topic"]:
            ids["topic"] = what["topic"]
        return ids

    def _check_delivery(self, name, h, body):
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
                "jwt": params["t"], "time": time.monotonic()}
