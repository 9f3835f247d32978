"""In headless Chromium: the season overview shows a batch's progress bar while it is scored,
then the scored packages, the 抽查 filter and the results table links (#15).

Its own server (not the shared one), so the batch's packages do not change other tests' pages.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.dossiers import generate, zip_folder
from service.store import Store
from tests.serving import Serve
from tests.web.conftest import Server, make_keys
from tests.web.test_web_browser import sign_in

PACKAGES = 10


@pytest.fixture(scope="module")
def batch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose one batch worker process scores uploads in the background."""
    tmp = tmp_path_factory.mktemp("web-batch")
    db = tmp / "web.db"
    store = Store(f"sqlite:///{db}")
    store.migrate()
    keys = make_keys(store)
    store.dispose()
    log = tmp / "server.log"
    serving = Serve(
        log,
        env={
            "JIXIAO_DB_PATH": str(db),
            "JIXIAO_WATCH_RUBRICS": "false",
            "JIXIAO_SUITES_ON_RELOAD": "false",
            "JIXIAO_SESSION_SECRET": secrets.token_hex(16),
            "JIXIAO_BATCH_WORKERS": "1",
        },
    )
    serving.start(timeout=60)
    base = serving.base
    try:
        yield Server(base, keys, log)
    finally:
        serving.stop()


def test_overview_shows_batch_progress_then_the_results(
    page: Any, batch_server: Server, tmp_path: Path, artifacts: Path
) -> None:
    generate(tmp_path / "season", PACKAGES, broken=1, seed=5)
    headers = {"Authorization": f"Bearer {batch_server.keys.reviewer}"}
    sign_in(page, batch_server, "reviewer")
    assert page.locator("#batch-progress").count() == 0
    accepted = httpx.post(
        f"{batch_server.base_url}/v1/batches",
        params={"rubric": "yueyang-fujian5@2024.2"},
        content=zip_folder(tmp_path / "season"),
        headers={**headers, "Content-Type": "application/zip"},
        timeout=60,
    )
    assert accepted.status_code == 202, accepted.text
    page.goto(batch_server.base_url + "/web/")
    bar = page.get_by_role("progressbar")
    assert bar.count() == 1
    assert int(bar.get_attribute("max")) == PACKAGES
    assert re.search(rf"共 {PACKAGES}", page.locator("#batch-progress").inner_text())
    page.screenshot(path=str(artifacts / "overview-batch-progress.png"), full_page=True)
    # The page reloads itself until the batch is done; then the bar is gone and the list is full.
    page.locator("#batch-progress").wait_for(state="detached", timeout=600_000)
    view = httpx.get(
        f"{batch_server.base_url}{accepted.json()['href']}", headers=headers, timeout=30
    ).json()
    assert (view["done"], view["failed"]) == (PACKAGES - 1, 1)
    assert page.locator("#evaluations tbody tr").count() == PACKAGES - 1
    assert page.get_by_role("link", name="Excel").get_attribute("href") == (
        "/web/seasons/2023/results.xlsx"
    )
    # Draw a sample; the overview marks it and filters to it.
    drawn = httpx.post(
        f"{batch_server.base_url}/v1/seasons/2023/sample",
        json={"share": "0.3", "seed": "浏览器", "strata": "grade"},
        headers=headers,
        timeout=30,
    ).json()["drawn"]
    page.goto(batch_server.base_url + "/web/")
    assert page.locator(".badge.sampled").count() == len(drawn)
    page.get_by_label("只看抽查样本").check()
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r".*sampled=true.*"))
    assert page.locator("#evaluations tbody tr").count() == len(drawn)
    page.screenshot(path=str(artifacts / "overview-sampled.png"), full_page=True)
