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
