"""Fixtures for the HTTP service: apps on SQLite and PostgreSQL, keys per role, example bodies.

PostgreSQL is the server on 127.0.0.1:5432 (database `test`, trust auth). Each test session
works in a fresh schema, dropped at the end, so parallel runs never collide. With `CI=true` an
unreachable server fails the PostgreSQL tests; elsewhere they skip.
"""

from __future__ import annotations

import json
import os
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from engine.backends.plan import Backend
from engine.rubric.registry import REPO_ROOT
from service.app import create_app
from service.auth import create_key
from service.settings import Settings
from service.store import Store
from tests.serving import Serve

EXAMPLE_DIR = REPO_ROOT / "examples" / "yueyang-kjj-2023"
MANIFEST_TOML = (EXAMPLE_DIR / "dossier.toml").read_text("utf-8")
PACKAGE_TXT = (EXAMPLE_DIR / "package.txt").read_text("utf-8")
DEPARTMENT = "岳阳市科学技术局"
RUBRIC = "yueyang-fujian5@2024.1"
PG_HOST = "127.0.0.1"
PG_PORT = int(os.environ.get("JIXIAO_TEST_PG_PORT", "5432"))  # another port: to test the CI rule
PG_DATABASE = "test"


def json_body(**changes: Any) -> dict[str, Any]:
    """The example package as a JSON body (manifest fields + documents), with `changes` applied."""
    manifest = tomllib.loads(MANIFEST_TOML)
    manifest.pop("documents")
    body: dict[str, Any] = json.loads(json.dumps(manifest, default=str))
    body.update(changes)
    body.setdefault("documents", [{"name": "package.txt", "text": PACKAGE_TXT}])
    return body


def multipart(manifest: str = MANIFEST_TOML, documents: list[tuple[str, str]] | None = None) -> Any:
    """`files=` for httpx: a `manifest` part and `documents` parts."""
    docs = documents if documents is not None else [("package.txt", PACKAGE_TXT)]
    files: list[tuple[str, tuple[str, bytes, str]]] = [
        ("manifest", ("dossier.toml", manifest.encode("utf-8"), "application/toml"))
    ]
    files += [("documents", (name, text.encode("utf-8"), "text/plain")) for name, text in docs]
    return files


def report_of(response_json: dict[str, Any]) -> dict[str, Any]:
    """A response body without the evaluation's own `id` (the rest is the engine's report)."""
    return {k: v for k, v in response_json.items() if k != "id"}


@dataclass
class Keys:
    """One key per role, and a department key of another department."""

    admin: str
    reviewer: str
    department: str
    other_department: str

    def header(self, role: str | None) -> dict[str, str]:
        """The Authorization header for a role (None: no header)."""
        if role is None:
            return {}
        return {"Authorization": f"Bearer {getattr(self, role)}"}


def make_keys(store: Store) -> Keys:
    """Create the four keys directly in the store."""
    with store.write() as session:
        made = {
            "admin": create_key(session, role="admin", name="admin", created_by="test")[1],
            "reviewer": create_key(session, role="reviewer", name="审核员甲", created_by="test")[1],
            "department": create_key(
                session, role="department", department=DEPARTMENT, name="科技局", created_by="test"
            )[1],
            "other_department": create_key(
                session, role="department", department="岳阳市财政局", created_by="test"
            )[1],
        }
    return Keys(**made)


@dataclass
class Service:
    """A running app (TestClient) with its store and keys."""

    client: TestClient
    store: Store
    keys: Keys
    settings: Settings

    def auth(self, role: str | None) -> dict[str, str]:
        """Headers for a role."""
        return self.keys.header(role)

    def create(self, role: str = "reviewer", **params: str) -> dict[str, Any]:
        """POST the example package as JSON and return the body (asserting 201)."""
        query = {"rubric": RUBRIC} | params
        response = self.client.post(
            "/v1/evaluations", params=query, json=json_body(), headers=self.auth(role)
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


# -- PostgreSQL -----------------------------------------------------------------------------


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


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema of the test database (dropped afterwards)."""
    admin = _pg_admin_url()
    if admin is None:
        message = f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}/{PG_DATABASE}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the PostgreSQL tests must run)")
        pytest.skip(message)
    schema = f"jixiao_test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{admin}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def reset_pg(url: str) -> None:
    """Empty the schema behind `url` (every table, and the migration record)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()


# -- apps -----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jixiao.db'}"
    url: str = request.getfixturevalue("pg_url")
    reset_pg(url)
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on a fresh database of each kind, disposed of afterwards."""
    store = Store(database_url)
    store.migrate()
    yield store
    store.dispose()


def settings_for(url: str, **changes: Any) -> Settings:
    """Test settings: no bootstrap key (tests make their own), the bundled rubrics."""
    # No file watcher and no case suites on load unless a test asks: reload has its own tests,
    # and running every suite for every app would triple the suite's time.
    base: dict[str, Any] = {"watch_rubrics": False, "suites_on_reload": False}
    return Settings(database_url=url, bootstrap_admin=False, log_level="INFO", **(base | changes))


@pytest.fixture
def make_service(durable: Backend) -> Iterator[Callable[..., Service]]:
    """Build and start services; every one is shut down at the end of the test."""
    started: list[TestClient] = []

    def make(url: str, **changes: Any) -> Service:
        settings = settings_for(url, **changes)
        app = create_app(settings, backend=durable)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()  # runs the lifespan: migrations, rubrics
        started.append(client)
        store: Store = app.state.store
        return Service(client, store, make_keys(store), settings)

    yield make
    for client in started:
        client.__exit__(None, None, None)


@pytest.fixture
def svc(make_service: Callable[..., Service], tmp_path: Path) -> Service:
    """A service on a fresh SQLite file."""
    return make_service(f"sqlite:///{tmp_path / 'jixiao.db'}")


@pytest.fixture
def any_svc(make_service: Callable[..., Service], database_url: str) -> Service:
    """A service on each database kind."""
    return make_service(database_url)


@pytest.fixture(scope="module")
def shared(durable: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service per module, for read-mostly tests (role matrix, error paths)."""
    path = tmp_path_factory.mktemp("shared") / "jixiao.db"
    app = create_app(settings_for(f"sqlite:///{path}"), backend=durable)
    with TestClient(app, raise_server_exceptions=False) as client:
        store: Store = app.state.store
        yield Service(client, store, make_keys(store), app.state.settings)


# -- a real server --------------------------------------------------------------------------


@dataclass
class Live:
    """A `jixiao serve` process on loopback, on a SQLite file."""

    base_url: str
    keys: Keys
    database_url: str
    log: Path


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """`jixiao serve --workers 2` on a random free port (tests.serving); stopped at the end."""
    tmp = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{tmp / 'live.db'}"
    store = Store(url)
    store.migrate()
    keys = make_keys(store)
    store.dispose()
    server = Serve(tmp / "server.log", env={"JIXIAO_DB_PATH": str(tmp / "live.db")}, workers=2)
    server.start(timeout=45)
    try:
        yield Live(server.base, keys, url, server.log)
    finally:
        server.stop()
