"""What-if over stored packages, and the printable sheet of an evaluation."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from tests.service.conftest import RUBRIC, Service

OTHER = "yitihua-platform@2024.1"


def test_diff_rescores_stored_packages_and_names_the_causes(svc: Service) -> None:
    first = svc.create()
    second = svc.create(rubric=OTHER)
    answer = svc.client.get(
        "/v1/rubrics/diff", params={"old": RUBRIC, "new": OTHER}, headers=svc.auth("reviewer")
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {c["ident"] for c in body["changes"]} >= {"tables.deviation.exceeded"}
    assert {p["evaluation"] for p in body["packages"]} == {first["id"], second["id"]}
    for package in body["packages"]:
        # Both stored packages are the example: the same scores as scoring it directly.
        assert Decimal(str(package["old"])) == Decimal(str(first["total"]["score"]))
        assert Decimal(str(package["new"])) == Decimal(str(second["total"]["score"]))
        assert package["causes"]
    assert body["summary"]["packages"] == 2


def test_diff_needs_versions(svc: Service) -> None:
    answer = svc.client.get(
        "/v1/rubrics/diff",
        params={"old": "yueyang-fujian5", "new": OTHER},
        headers=svc.auth("reviewer"),
    )
    assert answer.status_code == 422


def test_sheet_xlsx_holds_every_deduction(svc: Service) -> None:
    body = svc.create()
    sheet = svc.client.get(f"/v1/evaluations/{body['id']}/sheet.xlsx", headers=svc.auth("reviewer"))
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("application/vnd.openxmlformats")
    cells = " ".join(
        str(c.value)
        for ws in load_workbook(io.BytesIO(sheet.content)).worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value
    )
    for item in body["items"]:
        for deduction in item["deductions"]:
            assert deduction["rule"] in cells
    assert (
        svc.client.get(
            f"/v1/evaluations/{body['id']}/sheet.odt", headers=svc.auth("reviewer")
        ).status_code
        == 422
    )
