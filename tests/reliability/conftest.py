"""Fixtures for the reliability suite: real `jixiao serve` processes and fresh stores.

Servers bind 127.0.0.1 on a free port, run in their own process group (the uvicorn supervisor
and its workers), and are always stopped at the end of the test, by their group id.
PostgreSQL is 127.0.0.1:5432, database `test`, trust auth; each test gets its own schema,
dropped afterwards. With `CI=true` an unreachable PostgreSQL fails the test instead of
skipping it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.auth import create_key
from service.store import Store
from tests.serving import Serve

PG_HOST = "127.0.0.1"
PG_PORT = int(os.environ.get("JIXIAO_TEST_PG_PORT", "5432"))
PG_DATABASE = "test"
RUBRIC = "yueyang-fujian5@2024.1"


def _pg_admin_url() -> str | None:
    for user in ("postgres", "root"):
        url = f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return url
        except sa.exc.OperationalError:
            continue
        finally:
            engine.dispose()
    return None


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    """A URL whose connections use a new, empty schema of the test database (dropped after)."""
    admin = _pg_admin_url()
    if admin is None:
        message = f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}/{PG_DATABASE}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the PostgreSQL reliability tests must run)")
        pytest.skip(message)
    schema = f"jixiao_rel_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{admin}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jixiao.db'}"
        return
    with pg_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite store."""
    return f"sqlite:///{tmp_path / 'jixiao.db'}"


def reviewer_key(url: str) -> str:
    """Migrate the store at `url` and create a reviewer key in it."""
    store = Store(url)
    try:
        store.migrate()
        with store.write() as session:
            return create_key(session, role="reviewer", name="审核员", created_by="test")[1]
    finally:
        store.dispose()


class Server(Serve):
    """A `jixiao serve` process group on loopback, on the database at `url` (tests.serving)."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        env = {"JIXIAO_DATABASE_URL": url, "JIXIAO_WATCH_RUBRICS": "false"}
        super().__init__(log, env=env, workers=workers)
        self.url = url


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Make servers; every one still running is stopped at the end of the test."""
    started: list[Server] = []

    def make(url: str, workers: int = 2) -> Server:
        server = Server(url, workers, tmp_path / f"server-{len(started)}.log")
        started.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()
