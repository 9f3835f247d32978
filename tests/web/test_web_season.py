"""The overview marks the 抽查 sample, filters to it, and links the results table (#15)."""

from __future__ import annotations

from tests.web.conftest import App


def test_overview_marks_and_filters_the_sample_and_links_the_results_table(app: App) -> None:
    reviewer = app.client_for("reviewer")
    page = reviewer.get("/web/?year=2023").text
    assert 'class="badge sampled"' not in page
    assert 'href="/web/seasons/2023/results.xlsx"' in page
    drawn = app.client.post(
        "/v1/seasons/2023/sample",
        json={"share": "0.5", "seed": "网页"},
        headers={"Authorization": f"Bearer {app.keys.reviewer}"},
    ).json()["drawn"]
    assert len(drawn) == 1
    (chosen,) = drawn
    left = app.other if chosen == app.own else app.own
    page = reviewer.get("/web/?year=2023").text
    assert page.count('class="badge sampled"') == 1
    assert "抽查样本 1 份" in page
    only = reviewer.get("/web/?year=2023&sampled=true").text
    assert f"/web/evaluations/{chosen}" in only
    assert f"/web/evaluations/{left}" not in only
    assert 'id="flt-sampled" name="sampled" value="true" checked' in only
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        got = reviewer.get(f"/web/seasons/2023/results.{fmt}")
        assert got.status_code == 200
        assert got.content.startswith(magic)
    department = app.client_for("department")
    assert 'class="badge sampled"' not in department.get("/web/?year=2023").text
    assert department.get("/web/seasons/2023/results.xlsx").status_code == 403
