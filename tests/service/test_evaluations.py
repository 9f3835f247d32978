"""Contract tests: scoring, reading, listing, adjusting, auditing and replaying evaluations."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from engine.backends.plan import Backend
from engine.dossier import load_package
from engine.evaluate import Evaluator, render_json
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES
from service.store import Evaluation
from tests.service.conftest import (
    DEPARTMENT,
    EXAMPLE_DIR,
    RUBRIC,
    Service,
    json_body,
    multipart,
    report_of,
)


def _discretionary(report: dict[str, Any], clause_id: str) -> tuple[Decimal, list[dict[str, Any]]]:
    """A discretionary clause's automatic score and the bands the assessment saw."""
    for item in report["items"]:
        for clause in item["clauses"]:
            if clause["id"] == clause_id:
                return Decimal(str(clause["score"])), item["assessment"]["bands"]
    raise AssertionError(clause_id)


# -- create and read ------------------------------------------------------------------------


def test_create_json_answers_201_with_id_location_and_the_engines_report(
    svc: Service, durable: Backend
) -> None:
    response = svc.client.post(
        "/v1/evaluations",
        params={"rubric": RUBRIC},
        json=json_body(),
        headers=svc.auth("department"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/evaluations/{body['id']}"
    assert body["id"] != body["decision_id"]
    assert body["decision_id"].startswith("dec_")
    assert next(iter(body)) == "id"
    # The service is a translation of the engine: the same report as the engine gives directly.
    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    direct = Evaluator(durable).evaluate(
        load_package(EXAMPLE_DIR / "dossier.toml"),
        rubric,
        mode="bureau",
        as_of=dt.date(2024, 6, 28),
    )
    assert report_of(body) == json.loads(render_json(direct))
    again = svc.client.get(response.headers["location"], headers=svc.auth("department"))
    assert again.status_code == 200
    assert again.json() == body


def test_multipart_and_parsed_package_give_the_same_report_as_json(svc: Service) -> None:
    from_json = svc.create()
    response = svc.client.post(
        "/v1/evaluations",
        params={"rubric": RUBRIC},
        files=multipart(),
        headers=svc.auth("reviewer"),
    )
    assert response.status_code == 201, response.text
    assert report_of(response.json()) == report_of(from_json)
    package = load_package(EXAMPLE_DIR / "dossier.toml").model_dump(mode="json")
    response = svc.client.post(
        "/v1/evaluations",
        params={"rubric": RUBRIC},
        json={"package": package},
        headers=svc.auth("reviewer"),
    )
    assert response.status_code == 201, response.text
    assert report_of(response.json()) == report_of(from_json)


def test_base64_document_equals_text_document(svc: Service) -> None:
    import base64

    text_doc = json_body()["documents"][0]["text"]
    body = json_body(
        documents=[{"name": "package.txt", "base64": base64.b64encode(text_doc.encode()).decode()}]
    )
    response = svc.client.post(
        "/v1/evaluations", params={"rubric": RUBRIC}, json=body, headers=svc.auth("reviewer")
    )
    assert response.status_code == 201, response.text
    assert report_of(response.json()) == report_of(svc.create())


def test_mode_as_of_and_default_rubric(svc: Service) -> None:
    body = svc.create(mode="precheck", as_of="2024-07-10")
    assert body["mode"] == "precheck"
    assert body["as_of"] == "2024-07-10"
    response = svc.client.post("/v1/evaluations", json=json_body(), headers=svc.auth("reviewer"))
    assert response.status_code == 201, response.text
    assert response.json()["rubric"]["id"] == "yueyang-fujian5"  # `default = true` for FY2023


def test_automatic_view_and_unknown_evaluation(svc: Service) -> None:
    body = svc.create()
    auto = svc.client.get(
        f"/v1/evaluations/{body['id']}", params={"view": "automatic"}, headers=svc.auth("reviewer")
    )
    assert auto.json() == body
    missing = svc.client.get("/v1/evaluations/nope", headers=svc.auth("reviewer"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


# -- list -----------------------------------------------------------------------------------


def test_list_pages_and_filters(svc: Service) -> None:
    ids = [svc.create()["id"] for _ in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = svc.client.get("/v1/evaluations", params=params, headers=svc.auth("reviewer")).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each once
    item = svc.client.get("/v1/evaluations", headers=svc.auth("admin")).json()["items"][0]
    assert item["department"] == DEPARTMENT
    assert item["rubric"]["id"] == "yueyang-fujian5"
    assert item["adjustments"] == 0
    for params, expected in [
        ({"department": DEPARTMENT}, 3),
        ({"department": "别的部门"}, 0),
        ({"fiscal_year": 2023}, 3),
        ({"fiscal_year": 2022}, 0),
        ({"rubric": "yueyang-fujian5"}, 3),
        ({"rubric": RUBRIC}, 3),
        ({"rubric": "yueyang-fujian5@1999.1"}, 0),
    ]:
        page = svc.client.get("/v1/evaluations", params=params, headers=svc.auth("reviewer"))
        assert len(page.json()["items"]) == expected, params
    # A department key sees its own department, and may not ask for another.
    own = svc.client.get("/v1/evaluations", headers=svc.auth("department")).json()
    assert len(own["items"]) == 3
    other = svc.client.get("/v1/evaluations", headers=svc.auth("other_department")).json()
    assert other["items"] == []
    refused = svc.client.get(
        "/v1/evaluations", params={"department": DEPARTMENT}, headers=svc.auth("other_department")
    )
    assert refused.status_code == 403
    bad = svc.client.get("/v1/evaluations", params={"cursor": "x"}, headers=svc.auth("reviewer"))
    assert bad.status_code == 422
    assert bad.json()["error"]["problems"][0]["path"] == "query.cursor"


# -- adjustments, audit, replay -------------------------------------------------------------


def test_adjustment_outside_the_band_is_refused_naming_the_band(svc: Service) -> None:
    body = svc.create()
    score, bands = _discretionary(body, "problems.quality")
    response = svc.client.post(
        f"/v1/evaluations/{body['id']}/adjustments",
        json={"clause": "problems.quality", "score": 19, "reason": "较全面"},
        headers=svc.auth("reviewer"),
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "adjustment_refused"
    assert "16–18" in error["zh"]
    assert "反映问题、分析原因较全面" in error["zh"]
    assert "problems.fair" in error["en"]
    assert {b["id"] for b in error["bands"]} >= {"problems.fair", "problems.comprehensive"}
    assert error["problems"][0]["path"] == "score"
    # Nothing changed.
    again = svc.client.get(f"/v1/evaluations/{body['id']}", headers=svc.auth("reviewer")).json()
    assert again == body
    assert score == _discretionary(again, "problems.quality")[0]
    assert bands


def test_adjustment_inside_the_band_changes_the_total_and_is_audited(svc: Service) -> None:
    body = svc.create()
    evaluation = f"/v1/evaluations/{body['id']}"
    auto_score, _bands = _discretionary(body, "problems.quality")
    new_score = Decimal("17") if auto_score != Decimal("17") else Decimal("16")
    response = svc.client.post(
        f"{evaluation}/adjustments",
        json={"clause": "problems.quality", "score": str(new_score), "reason": "问题归纳较全面"},
        headers=svc.auth("reviewer"),
    )
    assert response.status_code == 200, response.text
    adjusted = response.json()
    before = Decimal(str(body["total"]["score"]))
    after = Decimal(str(adjusted["total"]["score"]))
    assert after - before == new_score - auto_score
    item = next(i for i in adjusted["items"] if i["id"] == "problems")
    assert item["assessment"]["mode"] == "reviewer"
    assert (
        item["assessment"]["bands"]
        == next(i for i in body["items"] if i["id"] == "problems")["assessment"]["bands"]
    )  # the automatic assessment is kept
    (adj,) = item["assessment"]["adjustments"]
    assert adj["reason"] == "问题归纳较全面"
    assert adj["actor"].startswith("审核员甲")
    assert adj["at"]
    # GET answers the adjusted report; the automatic one stays available.
    assert svc.client.get(evaluation, headers=svc.auth("reviewer")).json() == adjusted
    auto = svc.client.get(evaluation, params={"view": "automatic"}, headers=svc.auth("reviewer"))
    assert auto.json() == body
    # A second adjustment is appended, not overwritten.
    second = svc.client.post(
        f"{evaluation}/adjustments",
        json={"clause": "problems.quality", "score": 16, "reason": "复议后下调"},
        headers=svc.auth("reviewer"),
    ).json()
    item = next(i for i in second["items"] if i["id"] == "problems")
    assert [a["reason"] for a in item["assessment"]["adjustments"]] == [
        "问题归纳较全面",
        "复议后下调",
    ]
    trail = svc.client.get(f"{evaluation}/audit", headers=svc.auth("reviewer")).json()
    kinds = [e["kind"] for e in trail["events"]]
    assert kinds == ["created", "adjusted", "adjusted"]
    event = trail["events"][1]
    assert event["actor"]["role"] == "reviewer"
    assert event["actor"]["name"] == "审核员甲"
    assert event["payload"]["clause"] == "problems.quality"
    assert event["payload"]["band"] == "problems.fair"
    assert Decimal(event["payload"]["total_after"]) == after
    assert event["rubric"] == {
        "id": "yueyang-fujian5",
        "version": "2024.1",
        "sha256": body["rubric"]["sha256"],
    }


def test_adjustment_errors(svc: Service) -> None:
    body = svc.create()
    url = f"/v1/evaluations/{body['id']}/adjustments"
    cases: list[tuple[Any, str]] = [
        ({"clause": "problems.quality", "score": 17, "reason": "   "}, "reason"),
        ({"clause": "problems.quality", "score": 17}, "reason"),
        ({"clause": "problems.quality", "score": "many", "reason": "x"}, "score"),
        ({"clause": "problems.quality", "score": -1, "reason": "x"}, "score"),
        ({"clause": "notice.issued", "score": 1, "reason": "x"}, "clause"),
        ({"clause": "problems.quality", "score": 17, "reason": "x", "extra": 1}, "extra"),
    ]
    for payload, path in cases:
        response = svc.client.post(url, json=payload, headers=svc.auth("reviewer"))
        assert response.status_code == 422, (payload, response.text)
        problems = response.json()["error"]["problems"]
        assert problems[0]["path"] == path, (payload, problems)
        assert problems[0]["zh"]
        assert problems[0]["en"]
    response = svc.client.post(url, content=b"{", headers=svc.auth("reviewer"))
    assert response.status_code == 422
    missing = svc.client.post(
        "/v1/evaluations/nope/adjustments",
        json={"clause": "problems.quality", "score": 17, "reason": "x"},
        headers=svc.auth("reviewer"),
    )
    assert missing.status_code == 404


def test_replay_reproduces_the_stored_report_even_after_adjustments(svc: Service) -> None:
    body = svc.create()
    url = f"/v1/evaluations/{body['id']}"
    svc.client.post(
        f"{url}/adjustments",
        json={"clause": "problems.quality", "score": 17, "reason": "较全面"},
        headers=svc.auth("reviewer"),
    )
    replay = svc.client.post(f"{url}/replay", headers=svc.auth("reviewer"))
    assert replay.status_code == 200, replay.text
    result = replay.json()
    assert result["reproduced"] is True
    assert result["report_sha256"] == result["replayed_sha256"]
    assert "differences" not in result
    trail = svc.client.get(f"{url}/audit", headers=svc.auth("admin")).json()
    assert [e["kind"] for e in trail["events"]] == ["created", "adjusted", "replayed"]
    assert trail["events"][-1]["payload"]["reproduced"] is True
    assert trail["events"][-1]["actor"]["role"] == "reviewer"


def test_replay_of_a_multipart_submission_and_a_precheck(svc: Service) -> None:
    response = svc.client.post(
        "/v1/evaluations",
        params={"rubric": RUBRIC, "mode": "precheck", "as_of": "2024-06-20"},
        files=multipart(),
        headers=svc.auth("department"),
    )
    assert response.status_code == 201, response.text
    replay = svc.client.post(
        f"/v1/evaluations/{response.json()['id']}/replay", headers=svc.auth("admin")
    )
    assert replay.json()["reproduced"] is True


def test_replay_answers_the_difference_when_the_stored_report_differs(svc: Service) -> None:
    body = svc.create()
    with svc.store.write() as session:
        row = session.query(Evaluation).filter_by(id=body["id"]).one()
        tampered = json.loads(row.automatic_report)
        tampered["total"]["score"] = 99
        session.execute(
            update(Evaluation)
            .where(Evaluation.id == body["id"])
            .values(automatic_report=json.dumps(tampered, ensure_ascii=False, indent=2) + "\n")
        )
    result = svc.client.post(
        f"/v1/evaluations/{body['id']}/replay", headers=svc.auth("reviewer")
    ).json()
    assert result["reproduced"] is False
    assert result["differences"] == [
        {"path": "total.score", "stored": 99, "replayed": body["total"]["score"]}
    ]
    assert any(line.startswith("-") and "99" in line for line in result["diff"])


def test_audit_events_are_chained(svc: Service) -> None:
    first = svc.create()
    second = svc.create(role="department")
    trail = svc.client.get(
        f"/v1/evaluations/{second['id']}/audit", headers=svc.auth("department")
    ).json()
    (event,) = trail["events"]
    assert trail["hashes_ok"] is True
    assert event["kind"] == "created"
    assert event["actor"]["role"] == "department"
    assert event["rubric"]["sha256"] == second["rubric"]["sha256"]
    assert event["payload"]["decision_id"] == second["decision_id"]
    assert len(event["hash"]) == 64
    first_trail = svc.client.get(
        f"/v1/evaluations/{first['id']}/audit", headers=svc.auth("reviewer")
    ).json()
    earlier = first_trail["events"][0]
    if event["lane"] == earlier["lane"]:
        # A lane chains the events of many evaluations: the second follows the first.
        assert event["prev_hash"] == earlier["hash"]
    else:
        assert event["prev_hash"] == "0" * 64  # the first event of its lane
        assert event["seq"] == 1
    assert "automatic_report" not in json.dumps(trail)
