"""Sign-in for the web pages: an API key, entered once, becomes a signed session cookie.

The cookie holds the key's id and an expiry, never the key. Its MAC also covers the key's
stored secret hash, so rotating or revoking a key ends its sessions; every request re-reads
the key's row, so a revoked key stops working at once, as it does on the API. Forms carry a
CSRF token derived from the cookie (SameSite=Strict already stops cross-site posts in current
browsers; the token covers the rest).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

from service.auth import Principal, lookup
from service.logs import get_logger
from service.store import ApiKey, Store

COOKIE = "jixiao_session"
# A working day and a bit: a reviewer signs in once in the morning.
LIFETIME_SECONDS = 10 * 3600
SECRET_ENV = "JIXIAO_SESSION_SECRET"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(configured: str | None = None) -> bytes:
    """The signing secret: the `session_secret` setting ($JIXIAO_SESSION_SECRET), else a random
    one for this process.

    Read when the app is built, never at import. Several workers or replicas must share it, or
    a session made by one is refused by the others (`jixiao serve` shares one among its workers).
    """
    if configured is None:
        configured = os.environ.get(SECRET_ENV, "")
    if configured:
        return hashlib.sha256(configured.encode("utf-8")).digest()
    get_logger().warning(
        "web.session_secret_random",
        hint=f"set {SECRET_ENV} when running several workers or replicas",
    )
    return secrets.token_bytes(32)


@dataclass(frozen=True)
class SignedIn:
    """A valid session: who, and the cookie it came from (for the CSRF token)."""

    principal: Principal
    cookie: str


class Sessions:
    """Makes and checks session cookies and CSRF tokens with one secret."""

    def __init__(self, store: Store, secret: bytes, *, lifetime: int = LIFETIME_SECONDS) -> None:
        self.store = store
        self.secret = secret
        self.lifetime = lifetime

    def _mac(self, payload: str, key_secret_sha256: str) -> str:
        message = f"{payload}\n{key_secret_sha256}".encode()
        return _b64(hmac.new(self.secret, message, hashlib.sha256).digest())

    def sign_in(self, token: str) -> tuple[Principal, str] | None:
        """Check an API key; the principal and a new cookie value, or None for a bad key."""
        with self.store.read() as session:
            principal = lookup(session, token.strip())
            if principal is None:
                return None
            row = session.get(ApiKey, principal.key)
            assert row is not None  # lookup just read it
            key_hash = row.secret_sha256
        body = {"k": principal.key, "exp": int(time.time()) + self.lifetime}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return principal, f"{payload}.{self._mac(payload, key_hash)}"

    def check(self, cookie: str | None) -> SignedIn | None:
        """The signed-in principal for a cookie value, or None (bad, expired, revoked key)."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 512:
            return None
        payload, mac = cookie.split(".")
        try:
            body = json.loads(_unb64(payload))
            key_id, expires = str(body["k"]), int(body["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < time.time():
            return None
        with self.store.read() as session:
            row = session.get(ApiKey, key_id)
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(mac, self._mac(payload, row.secret_sha256)):
                return None
            principal = Principal(row.id, row.role, row.name, row.department)
        return SignedIn(principal, cookie)

    def csrf(self, cookie: str) -> str:
        """The CSRF token of a session (every form of the session posts it back)."""
        return _b64(hmac.new(self.secret, b"csrf\n" + cookie.encode(), hashlib.sha256).digest())

    def csrf_ok(self, cookie: str, token: str | None) -> bool:
        """Whether a posted CSRF token belongs to the session."""
        return bool(token) and hmac.compare_digest(self.csrf(cookie), token or "")
