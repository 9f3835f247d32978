"""API keys and roles.

A key reads `jx_<id>_<secret>`. Only SHA-256 of the secret is stored: the secret is 256 random
bits, so a plain hash is enough (no password stretching needed), and the id finds the row
without scanning. Roles:

- department: scores packages of its own department and reads only those;
- reviewer: reads every evaluation, scores, and adjusts discretionary items;
- admin: manages keys, reads rubrics and evaluations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
import weakref
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.audit import Actor, lock
from service.store import ApiKey, Store

ROLES = ("department", "reviewer", "admin")
PREFIX = "jx_"


class KeySpecError(ValueError):
    """A key that cannot be created as asked (role, department)."""


@dataclass(frozen=True)
class Principal:
    """The caller, as established from its API key."""

    key: str
    role: str
    name: str
    department: str | None

    @property
    def actor(self) -> Actor:
        """The principal as named in audit events."""
        return Actor(self.key, self.role, self.name)


def now() -> str:
    """UTC time in ISO 8601 (the service's clock; the engine never reads one)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(
    session: Session,
    *,
    role: str,
    department: str | None = None,
    name: str | None = None,
    created_by: str,
) -> tuple[ApiKey, str]:
    """Store a new key; returns the row and the key text (shown to the caller once, never stored)."""
    if role not in ROLES:
        raise KeySpecError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if role == "department" and not (department or "").strip():
        raise KeySpecError("a department key needs --department")
    if role != "department" and department:
        raise KeySpecError("only department keys belong to a department")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        id=key_id,
        secret_sha256=_hash(secret),
        role=role,
        department=department.strip() if department else None,
        name=(name or f"{role}-{key_id}").strip(),
        created_at=now(),
        created_by=created_by,
        revoked_at=None,
    )
    session.add(row)
    return row, f"{PREFIX}{key_id}_{secret}"


def lookup(session: Session, token: str) -> Principal | None:
    """The principal for a key, or None for a malformed, unknown or revoked key."""
    if not token.startswith(PREFIX):
        return None
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not key_id or not secret or len(key_id) > 32:
        return None
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_sha256, _hash(secret)):
        return None
    return Principal(row.id, row.role, row.name, row.department)


_CACHES: weakref.WeakSet[KeyCache] = weakref.WeakSet()


class KeyCache:
    """Valid keys this process has looked up recently, so most requests authenticate without
    the database (they no longer wait for a pooled connection, nor for a thread).

    A key is trusted for `seconds` after its lookup. Revoking a key in this process (the API
    or the CLI) forgets every cached key at once (`forget_keys`); a revocation made by another
    process takes effect here within `seconds`. Unknown or revoked keys are never cached, so
    guessing keys cannot fill the cache. See docs/decisions.md, "API keys: a short cache".
    """

    LIMIT = 4096  # keys in use at once are a few hundred at most; past it, start again

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by `clear`: a lookup begun before it is not cached
        _CACHES.add(self)

    def cached(self, token: str) -> Principal | None:
        """The principal of a key looked up less than `seconds` ago, else None."""
        if self.seconds <= 0:
            return None
        hit = self._entries.get(_hash(token))
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return None

    def lookup(self, store: Store, token: str) -> Principal | None:
        """`cached`, else the database's answer (remembered when the key is valid)."""
        found = self.cached(token)
        if found is not None:
            return found
        generation = self._generation
        with store.read() as session:
            principal = lookup(session, token)
        if principal is not None and self.seconds > 0:
            with self._lock:
                if generation == self._generation:
                    if len(self._entries) >= self.LIMIT:
                        self._entries.clear()
                    self._entries[_hash(token)] = (principal, time.monotonic() + self.seconds)
        return principal

    def clear(self) -> None:
        """Forget every key (a key was revoked)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()


def forget_keys() -> None:
    """Forget every cached key of this process: called when a key is revoked."""
    for cache in list(_CACHES):
        cache.clear()


def bootstrap_admin(store: Store) -> str | None:
    """On an empty key store, create an admin key and return its text; otherwise None.

    Runs in a write transaction, so two processes starting together create one key, not two.
    """
    with store.write() as session:
        lock(session)  # on PostgreSQL this serialises concurrent first starts
        if session.scalar(select(func.count()).select_from(ApiKey)):
            return None
        _row, token = create_key(session, role="admin", name="bootstrap-admin", created_by="system")
        return token
