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
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from engine.rubric.registry import REPO_ROOT
from service.auth import create_key
from service.store import Store

PG_HOST = "127.0.0.1"
PG_PORT = int(os.environ.get("JIXIAO_TEST_PG_PORT", "5432"))
PG_DATABASE = "test"
RUBRIC = "yueyang-fujian5@2024.1"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


@dataclass
class Server:
    """A `jixiao serve` process group on loopback."""

    url: str  # the database URL
    workers: int
    log: Path
    base: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 60) -> None:
        """Start on a free port and wait until /readyz answers 200."""
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
        env |= {
            "JIXIAO_DATABASE_URL": self.url,
            "JIXIAO_BOOTSTRAP_ADMIN": "false",
            "JIXIAO_LOG_LEVEL": "WARNING",
            "JIXIAO_WATCH_RUBRICS": "false",
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(port), "--workers", str(self.workers)],
                cwd=REPO_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: the supervisor and every worker
            )
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("jixiao serve did not start:\n" + self.log.read_text("utf-8", "replace"))
            time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL every process of the server at once: a crash, nothing gets to clean up."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._wait_group_gone()

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL whatever is left."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._wait_group_gone()
        self.process = None

    def _wait_group_gone(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


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
