"""Hot reload: a good edit goes live, a broken one is refused while the last good version serves,
case suites gate new versions, the file watcher picks edits up, and evaluations in flight keep
the version they started with."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.rubric.registry import BUNDLED_RUBRICS, REPO_ROOT
from tests.service.conftest import RUBRIC, Service, json_body


def _tree(tmp_path: Path, *, with_suites: bool = False) -> Path:
    """A rubric folder of our own to edit (with its case suites and their base package, if asked)."""
    rubrics = tmp_path / "rubrics"
    ignore = None if with_suites else shutil.ignore_patterns("tests")
    shutil.copytree(BUNDLED_RUBRICS / "yueyang-fujian5", rubrics / "yueyang-fujian5", ignore=ignore)
    return rubrics / "yueyang-fujian5" / "2024.1.toml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def _sha(svc: Service) -> str:
    body = svc.client.get("/v1/rubrics/yueyang-fujian5/versions/2024.1", headers=svc.auth("admin"))
    assert body.status_code == 200, body.text
    sha: str = body.json()["sha256"]
    return sha


def test_a_good_edit_goes_live_on_reload(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    path = _tree(tmp_path)
    svc = make_service(f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(path.parent.parent))
    before = _sha(svc)
    _edit(path, 'per_unit = 1, count = "days_late"', 'per_unit = 2, count = "days_late"')
    result = svc.client.post("/v1/rubrics/reload", headers=svc.auth("admin")).json()
    assert result["changed"] == [RUBRIC]
    assert result["rejected"] == {}
    assert _sha(svc) != before
    assert svc.create()["rubric"]["sha256"] == _sha(svc)


def test_a_broken_edit_is_refused_and_the_last_good_version_keeps_serving(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    path = _tree(tmp_path)
    svc = make_service(f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(path.parent.parent))
    good = _sha(svc)
    _edit(path, 'when = "days_late > 0"', 'when = "days_lat > 0"')
    result = svc.client.post("/v1/rubrics/reload", headers=svc.auth("admin")).json()
    assert result["changed"] == []
    (problems,) = result["rejected"].values()
    assert any(
        "JX005 unknown field 'days_lat'" in p and "did you mean 'days_late'" in p for p in problems
    )
    assert svc.create()["rubric"]["sha256"] == good  # still answering, on the last good version
    ready = svc.client.get("/readyz")
    assert ready.status_code == 200
    assert any("days_lat" in p for p in ready.json()["rubric_errors"])



@pytest.mark.parametrize(
    ("kind", "old", "new"),
    [
        ("vocabulary", "none_markers = [", "none_markers = 5\nwas = ["),
        ("layout", "max_title_lines = 3", "max_title_lines = 0"),
    ],
)
def test_a_broken_data_file_is_refused_and_the_last_good_bundle_keeps_serving(
    make_service: Callable[..., Service], tmp_path: Path, kind: str, old: str, new: str
) -> None:
    path = _tree(tmp_path)
    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules)
    svc = make_service(
        f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(path.parent.parent), rules=str(rules)
    )
    good = _sha(svc)
    _edit(rules / kind / "2024.1.toml", old, new)
    result = svc.client.post("/v1/rubrics/reload", headers=svc.auth("admin")).json()
    assert result["changed"] == []
    assert result["rejected"]  # every version that uses the file (2024.1 and 2024.2)
    for problems in result["rejected"].values():
        assert any(p.startswith(f"rules/{kind}/2024.1.toml:") for p in problems), problems
    created = svc.create()  # a submitter is never blamed for the bureau's file
    assert created["rubric"]["sha256"] == good
    ready = svc.client.get("/readyz")
    assert ready.status_code == 200
    assert any(f"rules/{kind}/2024.1.toml" in p for p in ready.json()["rubric_errors"])

def test_case_suites_gate_a_new_version(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    path = _tree(tmp_path, with_suites=True)
    svc = make_service(
        f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(path.parent.parent), suites_on_reload=True
    )
    good = _sha(svc)
    # Compiles, but its suite expects 2 points for an unissued notice.
    _edit(
        path,
        'deduct = { points = 2 }\nreason = "未印发绩效自评通知',
        'deduct = { points = 1 }\nreason = "未印发绩效自评通知',
    )
    result = svc.client.post("/v1/rubrics/reload", headers=svc.auth("admin")).json()
    (problems,) = result["rejected"].values()
    assert any("no notice issued" in p and "notice.not-issued" in p for p in problems)
    assert _sha(svc) == good


def test_the_file_watcher_picks_up_an_edit(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    path = _tree(tmp_path)
    svc = make_service(
        f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(path.parent.parent), watch_rubrics=True
    )
    before = _sha(svc)
    time.sleep(0.5)  # let the watcher start watching
    _edit(path, 'per_unit = 1, count = "days_late"', 'per_unit = 3, count = "days_late"')
    deadline = time.monotonic() + 15
    while _sha(svc) == before:
        assert time.monotonic() < deadline, "the watcher did not reload the edited rubric"
        time.sleep(0.2)


def test_an_evaluation_in_flight_keeps_its_version(
    make_service: Callable[..., Service], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _tree(tmp_path)
    svc = make_service(f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(path.parent.parent))
    old = _sha(svc)
    service = svc.client.app.state.service  # type: ignore[attr-defined]
    started, release = threading.Event(), threading.Event()
    original = service._evaluate

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        assert release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "_evaluate", slow)
    answer: dict[str, Any] = {}

    def post() -> None:
        answer.update(
            svc.client.post(
                "/v1/evaluations",
                params={"rubric": RUBRIC},
                json=json_body(),
                headers=svc.auth("reviewer"),
            ).json()
        )

    worker = threading.Thread(target=post)
    worker.start()
    assert started.wait(10)
    _edit(path, 'per_unit = 1, count = "days_late"', 'per_unit = 2, count = "days_late"')
    assert svc.client.post("/v1/rubrics/reload", headers=svc.auth("admin")).json()["changed"] == [
        RUBRIC
    ]
    release.set()
    worker.join(20)
    assert answer["rubric"]["sha256"] == old != _sha(svc)
