"""An FCM stand-in for alertd-push's tests (h2_standin.py's server): the
OAuth2 token endpoint and the HTTP v1 send endpoint, on one origin.

- POST /token: grant_type jwt-bearer and an assertion, an RS256 JWT verified
  (python3-jwt) with the service account's public key: header kid the
  private_key_id, iss the client_email, scope firebase.messaging, aud the
  token_uri, iat not in the future, exp after now and at most an hour after
  iat. It answers {"access_token", "expires_in", "token_type"}.
- POST /v1/projects/<project>/messages:send: Authorization Bearer with a
  token it issued and has not revoked (401 otherwise: `revoke_all`), JSON
  {"message": {"token", "android": {"priority", "collapse_key", "ttl"},
  "notification": {"title", "body"}, "data"}}, where data's values are
  strings; a data message has no notification, neither the message's nor
  android's.

A registration token it does not know is answered 404 UNREGISTERED;
planned answers (h2_standin.py) give 400 INVALID_ARGUMENT, 429 with
Retry-After, 503; those planned for the name "token" are the token
endpoint's. `accepted[token]` holds {"message", "time"}; `grants`
every assertion's claims.
"""
import json
import os
import re
import secrets
import time
import urllib.parse

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from h2_standin import H2Standin

PROJECT = "news-example"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def make_service_account(path, token_uri, email="alertd@news-example.iam.gserviceaccount.com"):
    """A service-account key file as Firebase gives it. Returns (public key, its JSON)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    account = {
        "type": "service_account", "project_id": PROJECT,
        "private_key_id": secrets.token_hex(20),
        "private_key": key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode(),
        "client_email": email, "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
    }
    with open(path, "w") as f:
        json.dump(account, f, indent=2)
    os.chmod(path, 0o600)
    return key.public_key(), account


def fcm_error(code, status, error_code, field=None):
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error_code}]
    if field:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": field, "description": "invalid"}]})
    return {"error": {"code": code, "message": error_code, "status": status, "details": details}}


class FCMStandin(H2Standin):
    default_status = 200

    def collapse_ids(self, what):
        """Android: collapse_key replaces a message pending; notification.tag
        replaces the notification shown with the same tag."""
        android = what["message"].get("android", {})
        ids = {}
        if android.get("collapse_key"):
            ids["collapse_key"] = android["collapse_key"]
        if android.get("notification", {}).get("tag"):
            ids["tag"] = android["notification"]["tag"]
        return ids

    def __init__(self, cert, key, delay=0.0):
        self.account = None  # (public key, account JSON), set by the test
        self.devices = set()
        self.issued = {}  # access token -> expiry (time.time())
        self.grants = []
        self.tokens_issued = []
        super().__init__(cert, key, delay)
        self.token_uri = f"{self.origin}/token"

    def device(self):
        token = secrets.token_urlsafe(24) + ":APA91b" + secrets.token_urlsafe(100)
        self.devices.add(token)
        return token

    def revoke_all(self):
        with self.lock:
            self.issued.clear()

    def handle(self, h, body):
        path = h.get(":path", "")
        if h.get(":method") != "POST":
            return self.refuse(f"{h.get(':method')} {path}", status=405)
        if path == "/token":
            return self._token(h, body)
        if path == f"/v1/projects/{PROJECT}/messages:send":
            return self._send(h, body)
        return self.refuse(f"path {path}", status=404)

    def _token(self, h, body):
        status, extra, data = self.answer("token")  # plan("token", ...) makes it fail
        if status != 200:
            return status, extra, data
        try:
            ctype = h.get("content-type", "")
            assert ctype.startswith("application/x-www-form-urlencoded"), ctype
            form = urllib.parse.parse_qs(body.decode(), strict_parsing=True)
            assert form["grant_type"] == [GRANT], form["grant_type"]
            (assertion,) = form["assertion"]
            public, account = self.account
            header = jwt.get_unverified_header(assertion)
            assert header.get("alg") == "RS256" and header.get("kid") == account[
                "private_key_id"], header
            claims = jwt.decode(assertion, key=public, algorithms=["RS256"],
                                audience=account["token_uri"],
                                options={"require": ["iss", "scope", "aud", "iat", "exp"]})
            assert claims["iss"] == account["client_email"], claims["iss"]
            assert claims["scope"] == SCOPE, claims["scope"]
            assert claims["iat"] <= time.time() + 60, "iat in the future"
            assert claims["exp"] - claims["iat"] <= 3600, "a grant of more than an hour"
        except Exception as e:
            return self.refuse(f"grant: {e!r}", "token", 400,
                               {"error": "invalid_grant", "error_description": "refused"})
        token = "ya29." + secrets.token_urlsafe(60)
        with self.lock:
            self.grants.append((claims, assertion))
            self.issued[token] = time.time() + 3599
            self.tokens_issued.append(token)
        return 200, {}, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _send(self, h, body):
        auth = h.get("authorization", "")
        bearer = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        with self.lock:
            valid = bearer in self.issued and self.issued[bearer] > time.time()
        try:
            msg = json.loads(body)["message"]
            token = msg["token"]
        except Exception as e:
            return self.refuse(f"body: {e!r}", None, 400,
                               fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"))
        if not valid:
            with self.lock:
                self.attempts[token].append((time.monotonic(), 401))
            return 401, {}, {"error": {"code": 401, "status": "UNAUTHENTICATED",
                                       "message": "Request had invalid authentication"}}
        try:
            self._check(h, msg)
        except Exception as e:
            return self.refuse(repr(e), token, 400,
                               fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"))
        if token not in self.devices:
            with self.lock:
                self.attempts[token].append((time.monotonic(), 404))
            return 404, {}, fcm_error(404, "NOT_FOUND", "UNREGISTERED")
        status, extra, data = self.answer(token)
        if status != 200:
            return status, extra, data
        self.take(token, {"message": msg, "time": time.monotonic()})
        return 200, {}, {"name": f"projects/{PROJECT}/messages/{secrets.token_hex(8)}"}

    @staticmethod
    def _check(h, msg):
        assert h.get("content-type", "").startswith("application/json"), h.get("content-type")
        android = msg["android"]
        assert android["priority"] in ("HIGH", "NORMAL"), android
        assert re.fullmatch(r"\d+s", android["ttl"]), android["ttl"]
        assert android["collapse_key"], android
        if "notification" in msg:
            assert msg["notification"]["title"], msg["notification"]
        else:
            assert "notification" not in android, "a data message with android.notification"
        assert all(isinstance(v, str) for v in msg["data"].values()), msg["data"]
        json.loads(msg["data"]["alert"])
