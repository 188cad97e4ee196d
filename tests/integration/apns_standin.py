"""An APNs stand-in for alertd-push's tests (h2_standin.py's server),
checking what APNs checks of a request sent with token authentication:

- POST /3/device/<token>, HTTP/2; the headers authorization (bearer),
  apns-push-type (alert or background), apns-topic (the bundle id),
  apns-priority (10 or 5; 5 for background: APNs refuses 10 there,
  BadPriority), apns-expiration (a Unix time), apns-collapse-id (at most 64
  bytes);
- the provider token: an ES256 JWT whose header names the key id (kid),
  signed by that key (python3-jwt), iss the team id, iat not in the future
  and under an hour old (ExpiredProviderToken otherwise, as APNs answers; a
  test may also refuse every token issued before a time: `expire_before`);
- the body: JSON of at most 4096 bytes; an alert push has aps.alert with a
  body, a background push aps.content-available 1 and no alert, sound or
  badge (InvalidPushType otherwise).

A device token it does not know is answered 400 BadDeviceToken; planned
answers (h2_standin.py) give 410 Unregistered, 429 with Retry-After, 503.
`accepted[token]` holds {"headers", "payload", "jwt", "claims", "time"}.
"""
import json
import os
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from h2_standin import H2Standin

KEY_ID = "ABCDE12345"
TEAM_ID = "TEAM123456"
BUNDLE_ID = "com.example.news"


def make_apns_key(path):
    """A .p8 key as Apple gives it: PKCS#8 PEM, P-256. Returns its public key."""
    key = ec.generate_private_key(ec.SECP256R1())
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(path, 0o600)
    return key.public_key()


class APNsStandin(H2Standin):
    default_status = 200

    def __init__(self, cert, key, public_key, delay=0.0):
        self.keys = {KEY_ID: public_key}  # kid -> public key
        self.devices = set()
        self.expire_before = 0  # iat below this: ExpiredProviderToken
        self.tokens_seen = []
        super().__init__(cert, key, delay)

    def device(self):
        token = os.urandom(32).hex()
        self.devices.add(token)
        return token

    def handle(self, h, body):
        path = h.get(":path", "")
        token = path[len("/3/device/"):] if path.startswith("/3/device/") else None
        if h.get(":method") != "POST" or token is None:
            return self.refuse(f"{h.get(':method')} {path}", status=405 if token else 404,
                               body={"reason": "MethodNotAllowed" if token else "BadPath"})
        try:
            claims, bearer = self._provider_token(h)
        except ExpiredToken:
            with self.lock:
                self.attempts[token].append((time.monotonic(), 403))
            return 403, {}, {"reason": "ExpiredProviderToken"}
        except Exception as e:
            return self.refuse(f"provider token: {e!r}", token, 403,
                               {"reason": "InvalidProviderToken"})
        try:
            payload = self._check(h, body)
        except BadRequest as e:
            return self.refuse(repr(e), token, 400, {"reason": e.reason})
        except Exception as e:
            return self.refuse(repr(e), token, 400, {"reason": "BadRequest"})
        if token not in self.devices:
            with self.lock:
                self.attempts[token].append((time.monotonic(), 400))
            return 400, {}, {"reason": "BadDeviceToken"}
        status, extra, data = self.answer(token)
        if status != 200:
            return status, extra, data
        self.take(token, {"headers": h, "payload": payload, "jwt": bearer, "claims": claims,
                          "time": time.monotonic()})
        return 200, {"apns-id": "A1B2C3D4-0000-0000-0000-000000000000"}, None

    def collapse_ids(self, what):
        """apns-collapse-id: the device shows the latest of those sharing one."""
        cid = what["headers"].get("apns-collapse-id")
        return {"apns-collapse-id": cid} if cid else {}

    def _provider_token(self, h):
        auth = h.get("authorization", "")
        assert auth.startswith("bearer "), f"authorization: {auth[:12]!r}"
        bearer = auth[len("bearer "):]
        header = jwt.get_unverified_header(bearer)
        assert header.get("alg") == "ES256", header
        assert header.get("kid") in self.keys, f"kid {header.get('kid')!r}"
        claims = jwt.decode(bearer, key=self.keys[header["kid"]], algorithms=["ES256"],
                            options={"require": ["iss", "iat"], "verify_iat": False})
        assert claims["iss"] == TEAM_ID, f"iss {claims['iss']!r}"
        now = time.time()
        assert claims["iat"] <= now + 60, "iat in the future"
        with self.lock:
            if bearer not in self.tokens_seen:
                self.tokens_seen.append(bearer)
        if claims["iat"] < now - 3600 or claims["iat"] < self.expire_before:
            raise ExpiredToken()
        return claims, bearer

    def _check(self, h, body):
        kind = h.get("apns-push-type")
        assert kind in ("alert", "background"), kind
        assert h.get("apns-topic") == BUNDLE_ID, h.get("apns-topic")
        assert h.get("apns-priority") in ("10", "5"), h.get("apns-priority")
        assert (h.get("apns-expiration") or "").isdigit(), h.get("apns-expiration")
        collapse = h.get("apns-collapse-id")
        assert collapse is None or 0 < len(collapse.encode()) <= 64, collapse
        assert len(body) <= 4096, f"body of {len(body)} bytes"
        payload = json.loads(body)
        aps = payload["aps"]
        if kind == "background":
            if h.get("apns-priority") != "5":
                raise BadRequest("BadPriority", "a background push at priority 10")
            if aps.get("content-available") != 1 or {"alert", "sound", "badge"} & set(aps):
                raise BadRequest("InvalidPushType", f"a background push's aps {aps}")
            return payload
        assert aps["alert"]["body"], aps
        assert aps.get("interruption-level") in ("passive", "active", "time-sensitive",
                                                 "critical"), aps
        return payload


class ExpiredToken(Exception):
    pass


class BadRequest(Exception):
    def __init__(self, reason, why):
        super().__init__(why)
        self.reason = reason
