"""Rubric snapshots: replay uses the rubric as it was, whatever has changed on disk since."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.rubric.load import content_sha256
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES
from service.rubrics import Snapshot, SnapshotMismatch, compile_snapshot
from service.store import RubricSnapshot
from tests.service.conftest import RUBRIC, Service, json_body, report_of


def test_replay_uses_the_snapshot_after_the_rubric_on_disk_changed(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    rubrics = tmp_path / "rubrics"
    shutil.copytree(BUNDLED_RUBRICS / "yueyang-fujian5", rubrics / "yueyang-fujian5")
    svc = make_service(f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(rubrics))
    before = svc.create()
    path = rubrics / "yueyang-fujian5" / "2024.1.toml"
    # Two points per working day late instead of one, under the same id and version.
    edited = path.read_text("utf-8").replace(
        'per_unit = 1, count = "days_late"', 'per_unit = 2, count = "days_late"'
    )
    assert edited != path.read_text("utf-8")
    path.write_text(edited + "\n# edited\n", "utf-8")
    reloaded = svc.client.post("/v1/rubrics/reload", headers=svc.auth("admin")).json()
    assert reloaded["changed"] == [RUBRIC]
    after = svc.client.post(
        "/v1/evaluations",
        params={"rubric": RUBRIC},
        json=json_body(),
        headers=svc.auth("reviewer"),
    ).json()
    assert after["rubric"]["sha256"] != before["rubric"]["sha256"]
    replay = svc.client.post(f"/v1/evaluations/{before['id']}/replay", headers=svc.auth("admin"))
    assert replay.json()["reproduced"] is True
    # Adjusting the old evaluation also uses its own snapshot's bands.
    adjusted = svc.client.post(
        f"/v1/evaluations/{before['id']}/adjustments",
        json={"clause": "problems.quality", "score": 17, "reason": "较全面"},
        headers=svc.auth("reviewer"),
    )
    assert adjusted.status_code == 200


def test_a_snapshot_names_its_sources_as_the_report_does(svc: Service) -> None:
    body = svc.create()
    with svc.store.read() as session:
        (row,) = session.query(RubricSnapshot).filter_by(rubric_sha256=body["rubric"]["sha256"])
        snapshot = Snapshot.from_body(row.body)
    assert snapshot.sha256 == body["rubric"]["sha256"]
    assert [rs.id for rs in snapshot.rule_sets] == [r["id"] for r in body["rubric"]["rule_sets"]]
    sources = {d["source"].rpartition(":")[0] for item in body["items"] for d in item["deductions"]}
    assert sources <= {snapshot.source_name} | {rs.source_name for rs in snapshot.rule_sets}
    rubric = compile_snapshot(snapshot)
    assert rubric.sha256 == snapshot.sha256
    assert {r.source.rpartition(":")[0] for r in rubric.rules} <= {snapshot.source_name} | {
        rs.source_name for rs in snapshot.rule_sets
    }


def test_the_same_rubric_read_from_two_folders_replays_both_ways(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    answers = []
    for folder in ("a", "b"):
        rubrics = tmp_path / folder / "rubrics"
        shutil.copytree(BUNDLED_RUBRICS / "yueyang-fujian5", rubrics / "yueyang-fujian5")
        answers.append(make_service(url, rubrics=str(rubrics)).create())
    first, second = answers
    assert first["rubric"]["sha256"] == second["rubric"]["sha256"]
    # Sources are logical names (`rubrics/<id>/<version>.toml:211`), not where the files lie.
    assert report_of(first) == report_of(second)
    assert str(tmp_path) not in str(first)
    svc = make_service(url)
    for body in answers:
        replay = svc.client.post(f"/v1/evaluations/{body['id']}/replay", headers=svc.auth("admin"))
        assert replay.json()["reproduced"] is True


def test_replay_is_byte_identical_after_the_layout_and_vocabulary_on_disk_change_or_go(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    rubrics, rules = tmp_path / "rubrics", tmp_path / "rules"
    shutil.copytree(BUNDLED_RUBRICS / "yueyang-fujian5", rubrics / "yueyang-fujian5")
    shutil.copytree(BUNDLED_RULES, rules)
    svc = make_service(f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(rubrics), rules=str(rules))
    before = svc.create()
    stored = svc.client.get(f"/v1/evaluations/{before['id']}", headers=svc.auth("admin")).text
    vocabulary = rules / "vocabulary" / "2024.1.toml"
    vocabulary.write_text(vocabulary.read_text("utf-8").replace('"无此项",', '"无此项目",'), "utf-8")
    shutil.rmtree(rules / "layout")
    replay = svc.client.post(f"/v1/evaluations/{before['id']}/replay", headers=svc.auth("admin"))
    assert replay.status_code == 200, replay.text
    assert replay.json()["reproduced"] is True
    assert replay.json()["replayed_sha256"] == replay.json()["report_sha256"]
    shutil.rmtree(rules / "vocabulary")
    again = svc.client.post(f"/v1/evaluations/{before['id']}/replay", headers=svc.auth("admin"))
    assert again.json()["reproduced"] is True
    assert svc.client.get(f"/v1/evaluations/{before['id']}", headers=svc.auth("admin")).text == stored


def test_a_fresh_process_replays_from_the_stored_snapshot_alone(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    rubrics, rules = tmp_path / "rubrics", tmp_path / "rules"
    shutil.copytree(BUNDLED_RUBRICS / "yueyang-fujian5", rubrics / "yueyang-fujian5")
    shutil.copytree(BUNDLED_RULES, rules)
    url = f"sqlite:///{tmp_path / 'j.db'}"
    body = make_service(url, rubrics=str(rubrics), rules=str(rules)).create()
    shutil.rmtree(rules / "layout")
    shutil.rmtree(rules / "vocabulary")
    svc = make_service(url)  # another process: the bundled rubrics, nothing of the old folder
    replay = svc.client.post(f"/v1/evaluations/{body['id']}/replay", headers=svc.auth("admin"))
    assert replay.json()["reproduced"] is True
    with svc.store.read() as session:
        (row,) = session.query(RubricSnapshot).filter_by(rubric_sha256=body["rubric"]["sha256"])
    names = {d.name for d in Snapshot.from_body(row.body).data_files}
    assert names == {"rules/layout/2024.1.toml", "rules/vocabulary/2024.1.toml"}


def test_a_snapshot_stored_before_snapshots_held_data_files_still_compiles(svc: Service) -> None:
    # The old format: rubric and rule sets only, its sha256 over those two alone.
    body = svc.create()
    with svc.store.read() as session:
        (row,) = session.query(RubricSnapshot).filter_by(rubric_sha256=body["rubric"]["sha256"])
        current = Snapshot.from_body(row.body)
    rubric = compile_snapshot(current)
    own = [(name, raw) for name, raw in rubric.files if not name.startswith(("rules/layout/", "rules/vocabulary/"))]
    legacy = dataclasses.replace(current, data_files=(), sha256=content_sha256(own))
    old = compile_snapshot(Snapshot.from_body(legacy.body()))
    assert old.sha256 == legacy.sha256  # keeps the sha256 its report and decision_id carry
    assert old.layout == rubric.layout
    assert dict(old.files) == dict(rubric.files)
    tampered = dataclasses.replace(legacy, source=legacy.source + "\n# edited\n")
    with pytest.raises(SnapshotMismatch):
        compile_snapshot(tampered)
