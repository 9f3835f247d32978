"""Logs (the decision event, request ids), metrics, health, readiness, and the rubric endpoints."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from structlog.testing import capture_logs

from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES
from tests.service.conftest import PACKAGE_TXT, RUBRIC, Service, json_body


def _rules(report: dict[str, Any]) -> list[str]:
    return [d["rule"] for item in report["items"] for d in item["deductions"]]


def test_exactly_one_decision_event_per_evaluation_without_package_contents(svc: Service) -> None:
    with capture_logs() as logs:
        body = svc.create()
        refused = svc.client.post(
            "/v1/evaluations",
            params={"rubric": RUBRIC},
            json=json_body(fiscal_year="x"),
            headers=svc.auth("reviewer"),
        )
        assert refused.status_code == 422
    decisions = [e for e in logs if e["event"] == "evaluation.completed"]
    assert len(decisions) == 1
    (event,) = decisions
    assert event["evaluation_id"] == body["id"]
    assert event["decision_id"] == body["decision_id"]
    assert event["rubric"] == RUBRIC
    assert event["rubric_sha256"] == body["rubric"]["sha256"]
    assert event["total"] == str(body["total"]["score"])
    assert event["deductions"] == _rules(body)
    assert event["log_level"] == "info"
    # Nothing of the package itself: no unit names, evidence files or document text.
    text = json.dumps(logs, ensure_ascii=False, default=str)
    for secret in ("岳阳市科技事务中心", "通知.pdf", PACKAGE_TXT.splitlines()[3].strip()):
        assert secret not in text


def test_every_log_line_of_a_request_carries_its_request_id(
    svc: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    # The app's logger writes to the stdout it saw at configuration: reconfigure under capsys.
    from service import logs

    logs.configure("INFO")
    capsys.readouterr()
    response = svc.client.post(
        "/v1/evaluations",
        params={"rubric": RUBRIC},
        json=json_body(),
        headers={"X-Request-ID": "req-0001", **svc.auth("reviewer")},
    )
    assert response.headers["x-request-id"] == "req-0001"
    out = capsys.readouterr().out.splitlines()
    # Server-side lines only: httpx (the test's client) logs in the test's own thread.
    lines = [json.loads(ln) for ln in out if ln.startswith("{") and '"logger": "httpx"' not in ln]
    events = {line["event"] for line in lines}
    assert {"request", "evaluation.completed"} <= events
    assert all(line.get("request_id") == "req-0001" for line in lines), lines
    generated = svc.client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)


def test_metrics_count_requests_evaluations_and_deductions(svc: Service) -> None:
    body = svc.create()
    svc.create()
    text = svc.client.get("/metrics").text
    assert f'jixiao_evaluations_total{{mode="bureau",rubric="{RUBRIC}"}} 2.0' in text
    for rule, count in Counter(_rules(body)).items():
        assert f'jixiao_deductions_total{{rule="{rule}"}} {2.0 * count}' in text
    assert (
        'jixiao_http_request_duration_seconds_count{method="POST",route="/v1/evaluations",status="201"} 2.0'
        in text
    )


def test_health_and_readiness(svc: Service) -> None:
    assert svc.client.get("/healthz").json() == {"status": "ok"}
    ready = svc.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    assert RUBRIC in ready.json()["rubrics"]


def test_readiness_fails_when_the_database_does_not_answer(
    svc: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise ConnectionError("database down")

    monkeypatch.setattr(svc.store, "ping", down)
    ready = svc.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"] == "error: ConnectionError"


def test_rubric_list_and_version(shared: Service) -> None:
    items = shared.client.get("/v1/rubrics", headers=shared.auth("department")).json()["items"]
    found = {f"{i['id']}@{i['version']}": i for i in items}
    assert RUBRIC in found
    path = BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml"
    rubric = load_rubric(path, [BUNDLED_RULES])
    assert found[RUBRIC]["sha256"] == rubric.sha256
    assert found[RUBRIC]["fiscal_years"] == [2023]
    detail = shared.client.get(found[RUBRIC]["href"], headers=shared.auth("department")).json()
    assert detail["sha256"] == rubric.sha256
    assert detail["source"] == path.read_text("utf-8")
    assert detail["title"] == rubric.spec.title
    assert [r["id"] for r in detail["rule_sets"]] == [r.id for r in rubric.rule_sets]
