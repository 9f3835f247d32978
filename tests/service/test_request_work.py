"""Work done once per stored evaluation: report rendered once, body validated once, snapshot
built once and stored once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.evaluate import render_json
from engine.model import Package
from service import rubrics as rubrics_module
from service.evaluations import _Snapshots, parse_report, with_id
from service.store import Evaluation, RubricSnapshot
from service.submission import from_json_body
from tests.service.conftest import RUBRIC, Service


def test_with_id_splices_the_same_bytes_as_rendering_again(svc: Service) -> None:
    created = svc.create()
    text = svc.client.get(
        f"/v1/evaluations/{created['id']}",
        params={"automatic": "true"},
        headers=svc.auth("reviewer"),
    ).text
    report = parse_report(text)
    del report["id"]
    assert text == render_json({"id": created["id"], **report})
    rendered = render_json(report)
    assert with_id("abc-123", rendered) == render_json({"id": "abc-123", **report})


def test_with_id_renders_text_that_is_not_a_rendered_object() -> None:
    assert with_id("x", '{"a": 1}') == render_json({"id": "x", "a": 1})


def test_the_snapshot_is_built_once_per_rubric(
    svc: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    rubric = svc.client.app.state.rubrics.find(RUBRIC, fiscal_year=2023)  # type: ignore[attr-defined]
    calls: list[Any] = []
    real = rubrics_module.snapshot_of

    def counting(r: Any) -> Any:
        calls.append(r)
        return real(r)

    monkeypatch.setattr("service.evaluations.snapshot_of", counting)
    cache = _Snapshots()
    first = cache.get(rubric)
    assert cache.get(rubric) is first
    assert len(calls) == 1
    snapshot, body, snapshot_id = first
    assert body == snapshot.body()
    assert snapshot_id == rubrics_module.hashlib.sha256(body.encode()).hexdigest()


def test_a_package_body_is_validated_once(
    monkeypatch: pytest.MonkeyPatch, example: Package
) -> None:
    calls: list[str] = []
    real = Package.model_validate_json

    def counting(data: Any, *args: Any, **kwargs: Any) -> Package:
        calls.append("validated")
        return real(data, *args, **kwargs)

    submission = from_json_body(
        json.dumps({"package": json.loads(example.model_dump_json())}).encode()
    )
    monkeypatch.setattr(Package, "model_validate_json", counting)
    dossier = submission.dossier()
    assert submission.package(dossier) is submission.package()
    assert dossier.department == example.dossier.department
    assert calls == ["validated"]


def test_stored_evaluations_share_one_snapshot_row(
    make_service: Callable[..., Service], database_url: str
) -> None:
    svc = make_service(database_url)
    for _ in range(3):
        svc.create()
    with svc.store.read() as session:
        assert session.scalar(select(func.count()).select_from(RubricSnapshot)) == 1
        assert session.scalar(select(func.count(func.distinct(Evaluation.snapshot_id)))) == 1
        assert session.scalar(select(func.count()).select_from(Evaluation)) == 3


def test_a_new_evaluation_stores_its_report_once(svc: Service) -> None:
    created = svc.create()
    with svc.store.read() as session:
        row = session.scalar(select(Evaluation).where(Evaluation.id == created["id"]))
        assert row is not None
        assert row.report is None  # the current report is the automatic one until adjusted
        assert row.current_report == row.automatic_report
    assert svc.client.get(
        f"/v1/evaluations/{created['id']}", headers=svc.auth("reviewer")
    ).text == with_id(created["id"], row.automatic_report)
