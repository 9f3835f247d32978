"""GET /v1/calibration: how often reviewers kept the automatic band, and where they moved it."""

from __future__ import annotations

from typing import Any

from tests.service.conftest import Service


def _clause(body: dict[str, Any], clause: str) -> dict[str, Any]:
    return next(c for c in body["clauses"] if c["clause"] == clause)


def test_kept_and_moved_bands_from_the_stored_adjustments(svc: Service) -> None:
    empty = svc.client.get("/v1/calibration", headers=svc.auth("reviewer"))
    assert empty.status_code == 200
    assert empty.json()["clauses"] == []
    first = svc.create()
    svc.create()  # never reviewed: says nothing about the bands
    auto = next(
        b
        for i in first["items"]
        for b in i["assessment"].get("bands", [])
        if b["clause"] == "problems.quality"
    )
    assert auto["band"] == "problems.partial"
    moved = svc.client.post(
        f"/v1/evaluations/{first['id']}/adjustments",
        json={"clause": "problems.quality", "score": 17, "reason": "问题归纳较全面"},
        headers=svc.auth("reviewer"),
    )
    assert moved.status_code == 200, moved.text
    body = svc.client.get("/v1/calibration?fiscal_year=2023", headers=svc.auth("reviewer")).json()
    problems = _clause(body, "problems.quality")
    assert (problems["reviewed"], problems["kept"]) == (1, 0)
    assert problems["moves"] == [{"from": "problems.partial", "to": "problems.fair", "count": 1}]
    suggestions = _clause(body, "suggestions.quality")
    assert (suggestions["reviewed"], suggestions["kept"], suggestions["kept_share"]) == (1, 1, 1)
    other_year = svc.client.get("/v1/calibration?fiscal_year=2022", headers=svc.auth("reviewer"))
    assert other_year.json()["clauses"] == []


def test_bad_year_is_a_4xx(svc: Service) -> None:
    response = svc.client.get("/v1/calibration?fiscal_year=abc", headers=svc.auth("reviewer"))
    assert 400 <= response.status_code < 500
    assert svc.client.get("/v1/calibration").status_code == 401
