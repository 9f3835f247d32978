"""Issue 14 over HTTP: empty documents, withdrawing, another department's evaluation, GET /."""

from __future__ import annotations

from typing import Any

from service.audit import verify
from tests.service.conftest import RUBRIC, Service, json_body


def _post(svc: Service, body: dict[str, Any], role: str = "reviewer") -> Any:
    return svc.client.post(
        "/v1/evaluations", params={"rubric": RUBRIC}, json=body, headers=svc.auth(role)
    )


def test_an_empty_document_is_a_422_naming_the_file_and_nothing_is_stored(svc: Service) -> None:
    body = json_body(documents=[{"name": "空白.txt", "text": ""}])
    response = _post(svc, body)
    assert response.status_code == 422, response.text
    assert "空白.txt" in response.text
    listed = svc.client.get("/v1/evaluations", headers=svc.auth("admin")).json()["items"]
    assert listed == []


def test_withdrawing_leaves_the_season_views_and_stays_in_the_audit_chain(svc: Service) -> None:
    kept = svc.create()
    gone = svc.create()
    refused = svc.client.post(
        f"/v1/evaluations/{gone['id']}/withdraw", json={"reason": ""}, headers=svc.auth("reviewer")
    )
    assert refused.status_code == 422
    by_department = svc.client.post(
        f"/v1/evaluations/{gone['id']}/withdraw",
        json={"reason": "交错了文件"},
        headers=svc.auth("department"),
    )
    assert by_department.status_code == 403
    done = svc.client.post(
        f"/v1/evaluations/{gone['id']}/withdraw",
        json={"reason": "交错了文件"},
        headers=svc.auth("reviewer"),
    )
    assert done.status_code == 200, done.text
    assert done.json()["withdrawn"]["reason"] == "交错了文件"
    again = svc.client.post(
        f"/v1/evaluations/{gone['id']}/withdraw",
        json={"reason": "再撤一次"},
        headers=svc.auth("admin"),
    )
    assert again.status_code == 409

    listed = svc.client.get("/v1/evaluations", headers=svc.auth("admin")).json()["items"]
    assert [e["id"] for e in listed] == [kept["id"]]
    with_withdrawn = svc.client.get(
        "/v1/evaluations", params={"withdrawn": "true"}, headers=svc.auth("admin")
    ).json()["items"]
    assert {e["id"] for e in with_withdrawn} == {kept["id"], gone["id"]}

    # Nothing deleted: the report is still there, the withdrawal is an audit event.
    assert svc.client.get(f"/v1/evaluations/{gone['id']}", headers=svc.auth("admin")).status_code == 200
    events = svc.client.get(
        f"/v1/evaluations/{gone['id']}/audit", headers=svc.auth("admin")
    ).json()["events"]
    assert [e["kind"] for e in events] == ["created", "withdrawn"]
    assert events[-1]["payload"]["reason"] == "交错了文件"
    adjusted = svc.client.post(
        f"/v1/evaluations/{gone['id']}/adjustments",
        json={"clause": "problems.quality", "score": 17, "reason": "较全面"},
        headers=svc.auth("reviewer"),
    )
    assert adjusted.status_code == 409
    replayed = svc.client.post(
        f"/v1/evaluations/{gone['id']}/replay", headers=svc.auth("reviewer")
    )
    assert replayed.status_code == 200
    assert replayed.json()["reproduced"] is True
    with svc.store.read() as session:
        assert verify(session).ok

    page = svc.client.get("/web/", headers=svc.auth("admin"))
    assert gone["id"] not in page.text


def test_another_departments_evaluation_is_a_404(svc: Service) -> None:
    made = svc.create(role="department")
    for path in ("", "/audit", "/sheet.xlsx"):
        response = svc.client.get(
            f"/v1/evaluations/{made['id']}{path}", headers=svc.auth("other_department")
        )
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


def test_the_root_redirects_to_the_workbench(svc: Service) -> None:
    response = svc.client.get("/", follow_redirects=False)
    assert response.status_code in (302, 303, 307, 308)
    assert response.headers["location"] == "/web/"


def test_a_reviewer_names_the_band_over_http(svc: Service) -> None:
    made = svc.create()
    response = svc.client.post(
        f"/v1/evaluations/{made['id']}/adjustments",
        json={
            "clause": "problems.quality",
            "score": 0,
            "reason": "只提出资金不足",
            "band": "problems.funding-only",
        },
        headers=svc.auth("reviewer"),
    )
    assert response.status_code == 200, response.text
    item = next(i for i in response.json()["items"] if i["id"] == "problems")
    assert item["assessment"]["adjustments"][-1]["label"] == "只提出资金不足问题"
    wrong = svc.client.post(
        f"/v1/evaluations/{made['id']}/adjustments",
        json={"clause": "problems.quality", "score": 0, "reason": "x", "band": "nope"},
        headers=svc.auth("reviewer"),
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["problems"][0]["path"] == "band"
    fixed = svc.client.post(
        f"/v1/evaluations/{made['id']}/adjustments",
        json={"clause": "notice.issued", "score": 0, "reason": "x"},
        headers=svc.auth("reviewer"),
    )
    assert fixed.status_code == 422
    assert "不是酌情评分项" in fixed.json()["error"]["zh"]
