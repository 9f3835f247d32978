"""Fixtures for the web pages: keys, a TestClient app, a real uvicorn server, and Chromium.

The browser is Debian's `chromium` driven by Playwright (never a downloaded browser). Without
it (or without the playwright package) the browser tests skip locally and fail with `CI=true`.
Screenshots go to `test-artifacts/web/` at the repository root (`JIXIAO_TEST_ARTIFACTS`
overrides the folder).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from engine.backends import PythonBackend
from engine.rubric.registry import REPO_ROOT
from service.app import create_app
from service.auth import create_key
from service.settings import Settings
from service.store import Store
from tests.serving import Serve

EXAMPLE_DIR = REPO_ROOT / "examples" / "yueyang-kjj-2023"
DEPARTMENT = "岳阳市科学技术局"
OTHER_DEPARTMENT = "岳阳市财政局"
RUBRIC = "yueyang-fujian5@2024.1"
CHROMIUM = Path(os.environ.get("JIXIAO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Keys:
    """One key per role, and a department key of another department."""

    admin: str
    reviewer: str
    department: str
    other_department: str


def make_keys(store: Store) -> Keys:
    """Keys made with the service's own function, straight into the store."""
    with store.write() as session:
        return Keys(
            admin=create_key(session, role="admin", name="管理员", created_by="test")[1],
            reviewer=create_key(session, role="reviewer", name="审核员甲", created_by="test")[1],
            department=create_key(
                session, role="department", department=DEPARTMENT, name="科技局", created_by="test"
            )[1],
            other_department=create_key(
                session,
                role="department",
                department=OTHER_DEPARTMENT,
                name="财政局",
                created_by="test",
            )[1],
        )


def example_json(**changes: Any) -> dict[str, Any]:
    """The example package as the API's JSON body, with `changes` applied."""
    import json
    import tomllib

    manifest = tomllib.loads((EXAMPLE_DIR / "dossier.toml").read_text("utf-8"))
    manifest.pop("documents")
    body: dict[str, Any] = json.loads(json.dumps(manifest, default=str))
    body |= changes
    body["documents"] = [
        {"name": "package.txt", "text": (EXAMPLE_DIR / "package.txt").read_text("utf-8")}
    ]
    return body


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


# -- in-process app (fast role checks) ----------------------------------------------------


@dataclass
class App:
    """A TestClient app with keys and two stored evaluations (own and another department's)."""

    client: TestClient
    store: Store
    keys: Keys
    own: str
    other: str

    def client_for(self, role: str | None) -> TestClient:
        """A fresh client signed in as `role` (None: not signed in)."""
        client = TestClient(self.client.app, raise_server_exceptions=False)
        if role is not None:
            response = client.post(
                "/web/login", data={"key": getattr(self.keys, role)}, follow_redirects=False
            )
            assert response.status_code == 303, response.text
        return client


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """One app per module on a fresh SQLite file (the python backend: these tests check pages)."""
    path = tmp_path_factory.mktemp("web") / "jixiao.db"
    settings = Settings(
        database_url=f"sqlite:///{path}",
        bootstrap_admin=False,
        watch_rubrics=False,
        suites_on_reload=False,
        log_level="WARNING",
    )
    application = create_app(settings, backend=PythonBackend())
    with TestClient(application, raise_server_exceptions=False) as client:
        store: Store = application.state.store
        keys = make_keys(store)
        ids = []
        for key, department in (
            (keys.department, DEPARTMENT),
            (keys.other_department, OTHER_DEPARTMENT),
        ):
            response = client.post(
                "/v1/evaluations",
                params={"rubric": RUBRIC},
                json=example_json(department=department),
                headers={"Authorization": f"Bearer {key}"},
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        yield App(client, store, keys, ids[0], ids[1])


# -- a real server --------------------------------------------------------------------------


@dataclass
class Server:
    """A uvicorn process serving `create_app` on loopback, with its keys."""

    base_url: str
    keys: Keys
    log: Path

    def api(self, method: str, path: str, role: str, **kwargs: Any) -> httpx.Response:
        """A request to the HTTP API with a role's key."""
        headers = {"Authorization": f"Bearer {getattr(self.keys, role)}"}
        return httpx.request(method, self.base_url + path, headers=headers, timeout=60, **kwargs)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`jixiao serve` on a random free port and a temp SQLite file (tests.serving)."""
    tmp = tmp_path_factory.mktemp("web-server")
    db = tmp / "web.db"
    store = Store(f"sqlite:///{db}")
    store.migrate()
    keys = make_keys(store)
    store.dispose()
    process = Serve(
        tmp / "server.log",
        env={
            "JIXIAO_DB_PATH": str(db),
            "JIXIAO_WATCH_RUBRICS": "false",
            "JIXIAO_SUITES_ON_RELOAD": "false",
            "JIXIAO_SESSION_SECRET": secrets.token_hex(16),
        },
    )
    process.start(timeout=45)
    try:
        yield Server(process.base, keys, process.log)
    finally:
        process.stop()


# -- the browser ----------------------------------------------------------------------------


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package) under Playwright; skipped locally if missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1366×768, in Chinese."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    problems: list[str] = []
    # A script error or a Content-Security-Policy violation fails the test that caused it.
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        yield opened
    finally:
        context.close()
    assert problems == []


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    folder = Path(os.environ.get("JIXIAO_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts")) / "web"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
