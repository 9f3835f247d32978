"""Batches over HTTP: a zip of dossiers scored in the background, each package once; bad zips refused."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bench.dossiers import generate, zip_folder
from engine.rubric.registry import REPO_ROOT
from service.batches import Batch, BatchItem
from service.store import Evaluation, Event, Store
from tests.service.conftest import Service, make_keys, reset_pg
from tests.service.test_batch_replicas import _start

GRADED = "yueyang-fujian5@2024.2"


def _post(svc: Service, data: bytes, role: str = "reviewer") -> Any:
    return svc.client.post(
        "/v1/batches",
        params={"rubric": GRADED},
        content=data,
        headers={"Content-Type": "application/zip", **svc.auth(role)},
    )


def wait_for(svc: Service, batch_id: str, limit: float = 300) -> dict[str, Any]:
    """Poll until the batch is finished (a bound against a hang, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while True:
        view: dict[str, Any] = svc.client.get(
            f"/v1/batches/{batch_id}", headers=svc.auth("reviewer")
        ).json()
        if view["finished"] or time.monotonic() > deadline:
            return view
        time.sleep(0.2)


def _counts(svc: Service) -> tuple[int, int, int]:
    with svc.store.read() as session:
        return (
            session.scalar(select(func.count()).select_from(Batch)) or 0,
            session.scalar(select(func.count()).select_from(Evaluation)) or 0,
            session.scalar(select(func.count()).select_from(Event)) or 0,
        )


@pytest.fixture
def season_zip(tmp_path: Path) -> bytes:
    generate(tmp_path / "season", 5, broken=1, seed=3)
    return zip_folder(tmp_path / "season")


@pytest.mark.parametrize(
    ("database", "workers"), [("sqlite", 1), ("sqlite", 0), ("postgresql", 1), ("postgresql", 0)]
)
def test_a_zip_is_scored_in_the_background_each_package_once(
    make_service: Callable[..., Service],
    tmp_path: Path,
    season_zip: bytes,
    database: str,
    workers: int,
    request: pytest.FixtureRequest,
) -> None:
    # SQLite: the in-process queue; PostgreSQL: procrastinate's worker in the app's lifespan.
    url = f"sqlite:///{tmp_path / 'b.db'}"
    if database == "postgresql":
        url = request.getfixturevalue("pg_url")
        reset_pg(url)
    svc = make_service(url, batch_workers=workers)
    answer = _post(svc, season_zip)
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["items"] == 5
    assert answer.headers["location"] == accepted["href"]
    view = wait_for(svc, accepted["id"])
    assert view["finished"], view
    assert (view["total"], view["done"], view["failed"], view["pending"]) == (5, 4, 1, 0)
    assert [i["name"] for i in view["items"]] == [f"d00{k}/dossier.toml" for k in range(5)]
    failed = [i for i in view["items"] if i["status"] == "failed"]
    assert "TOML" in failed[0]["error"]  # the broken one says why
    done = [i for i in view["items"] if i["status"] == "done"]
    assert all(i["grade"] in {"优", "良", "中", "差"} for i in done)
    # Each package is an ordinary stored evaluation: readable, audited, replayable.
    with svc.store.read() as session:
        stored = {e.id for e in session.scalars(select(Evaluation))}
    assert stored == {i["evaluation_id"] for i in done}
    first = done[0]["evaluation_id"]
    replay = svc.client.post(f"/v1/evaluations/{first}/replay", headers=svc.auth("admin"))
    assert replay.json()["reproduced"] is True
    assert svc.client.get(f"/v1/evaluations/{first}/audit", headers=svc.auth("reviewer")).json()[
        "hashes_ok"
    ]
    table = svc.client.get("/v1/seasons/2023/results.csv", headers=svc.auth("reviewer"))
    assert table.status_code == 200
    assert len(table.content.decode("utf-8-sig").strip().splitlines()) == 3 + 4


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("d/dossier.toml", 'department = "x"\n')
        archive.writestr("d/package.txt", b"\0" * (30 * 1024 * 1024))  # 30 MiB of zeros
    return buffer.getvalue()


def _named(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, 'department = "x"\nfiscal_year = 2023\n')
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("bomb", 413, "zip bomb"),
        ("traversal", 422, "unsafe path"),
        ("absolute", 422, "unsafe path"),
        ("backslash", 422, "unsafe path"),
        ("too-many", 422, "too many entries"),
        ("too-large", 413, "exceeds"),
        ("not-a-zip", 422, "not a valid zip"),
        ("no-manifest", 422, "no dossier manifests"),
    ],
)
def test_bad_zips_are_refused_and_nothing_is_stored(
    make_service: Callable[..., Service], tmp_path: Path, case: str, status: int, words: str
) -> None:
    svc = make_service(
        f"sqlite:///{tmp_path / 'b.db'}",
        batch_max_entries=3,
        batch_max_zip_bytes=200_000,
        batch_max_entry_bytes=1 << 20,
    )
    bodies = {
        "bomb": _bomb(),
        "traversal": _named("../../etc/dossier.toml"),
        "absolute": _named("/etc/dossier.toml"),
        "backslash": _named("..\\dossier.toml"),
        "too-many": _many(4),
        "too-large": b"PK" + b"x" * 300_000,
        "not-a-zip": b"this is not a zip",
        "no-manifest": _zip_of({"readme.txt": b"hello"}),
    }
    before = _counts(svc)
    answer = _post(svc, bodies[case])
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]["en"]
    assert answer.json()["error"]["zh"]
    assert _counts(svc) == before


def _many(count: int) -> bytes:
    return _zip_of({f"f{k}.txt": b"x" for k in range(count)})


def _zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_batch_roles_and_unknown_ids(svc: Service, season_zip: bytes) -> None:
    assert _post(svc, season_zip, role="department").status_code == 403
    assert _post(svc, season_zip, role="admin").status_code == 403  # admins do not score
    assert svc.client.get("/v1/batches/nope", headers=svc.auth("reviewer")).status_code == 404
    with svc.store.read() as session:
        assert session.scalar(select(func.count()).select_from(BatchItem)) == 0


def test_the_documented_curl_batch_runs_against_a_real_server(tmp_path: Path) -> None:
    # Its own server (not the shared `live` one, whose tests count its evaluations).
    url = f"sqlite:///{tmp_path / 'curl.db'}"
    store = Store(url)
    store.migrate()
    keys = make_keys(store)
    store.dispose()
    process, base_url = _start(url, tmp_path / "server.log")
    try:
        text = (REPO_ROOT / "docs" / "http.md").read_text("utf-8")
        found = re.search(r"<!-- example: curl-batch -->\n```sh\n(.*?)```", text, re.S)
        assert found
        script = found.group(1).replace("http://127.0.0.1:8000", base_url)
        script = script.replace("/tmp/season.zip", str(tmp_path / "season.zip"))
        script = script.replace("/tmp/season-upload", str(tmp_path / "season-upload"))
        done = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{script}"],
            cwd=REPO_ROOT,
            env={"KEY": keys.reviewer, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        accepted = json.loads(done.stdout)
        assert accepted["items"] == 3
        headers = {"Authorization": f"Bearer {keys.reviewer}"}
        deadline = time.monotonic() + 300
        while True:
            view = httpx.get(f"{base_url}{accepted['href']}", headers=headers).json()
            if view["finished"] or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert (view["done"], view["failed"]) == (3, 0), view
        assert [i["name"] for i in view["items"]] == [
            "yueyang-kjj-2023/dossier-docx.toml",
            "yueyang-kjj-2023/dossier-xlsx.toml",
            "yueyang-kjj-2023/dossier.toml",
        ]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
