"""Issue 14 on the web pages: Chinese labels and Beijing time, withdrawn evaluations, bands."""

from __future__ import annotations

import re

from tests.web.conftest import App, csrf_of, example_json


def test_the_overview_chart_names_items_not_rule_ids(app: App) -> None:
    page = app.client_for("reviewer").get("/web/").text
    labels = re.findall(r'<text class="bar-label"[^>]*>([^<]*)</text>', page)
    assert labels
    assert not [label for label in labels if re.search(r"[a-z]\.[a-z]", label)]
    assert "提交时间（UTC）" not in page


def test_times_are_beijing_time_in_chinese(app: App) -> None:
    client = app.client_for("reviewer")
    page = client.get(f"/web/evaluations/{app.own}").text
    form = csrf_of(page)
    done = client.post(
        f"/web/evaluations/{app.own}/adjust",
        data={"csrf": form, "clause": "problems.quality", "score": "0", "reason": "只提出资金不足",
              "band": "problems.funding-only"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = client.get(f"/web/evaluations/{app.own}").text
    assert "时间（北京时间）" in page
    assert "（UTC）" not in page
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", page)
    assert "只提出资金不足问题" in page  # the band the reviewer named
    assert "measurable_share" not in page


def test_a_reviewer_withdraws_an_evaluation_from_its_sheet(app: App) -> None:
    made = app.client.post(
        "/v1/evaluations",
        params={"rubric": "yueyang-fujian5@2024.1"},
        json=example_json(),
        headers={"Authorization": f"Bearer {app.keys.reviewer}"},
    )
    assert made.status_code == 201
    gone = made.json()["id"]
    client = app.client_for("reviewer")
    assert gone in client.get("/web/?year=2023").text
    page = client.get(f"/web/evaluations/{gone}").text
    empty = client.post(
        f"/web/evaluations/{gone}/withdraw", data={"csrf": csrf_of(page), "reason": " "}
    )
    assert empty.status_code == 422
    assert "请填写撤回理由" in empty.text
    done = client.post(
        f"/web/evaluations/{gone}/withdraw",
        data={"csrf": csrf_of(page), "reason": "交错了文件"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = client.get(f"/web/evaluations/{gone}").text
    assert 'id="withdrawn-notice"' in page
    assert "交错了文件" in page
    assert 'action="/web/evaluations/' + gone + '/withdraw' not in page
    assert gone not in client.get("/web/?year=2023").text
    department = app.client_for("department").get(f"/web/evaluations/{app.own}").text
    assert "撤回本评价" not in department


def test_the_rubric_pages_show_published_and_staged(app: App) -> None:
    page = app.client_for("department").get("/web/rubrics").text
    assert "已发布" in page
    one = app.client_for("department").get("/web/rubrics/yueyang-fujian5/2024.1").text
    assert 'id="rubric-state">已发布' in one


def test_an_empty_document_is_named_under_the_documents_box() -> None:
    from engine.diagnostics import PackageError, PackageProblem
    from service.evaluations import invalid_package
    from service.web.upload import errors_from

    refused = invalid_package(
        PackageError("空白.docx", [PackageProblem("documents", "文档为空，没有可读取的文字或表格", "empty")])
    )
    shown = [m for messages in errors_from(refused, "file").by_field.values() for m in messages]
    assert "空白.docx：文档为空，没有可读取的文字或表格" in shown
