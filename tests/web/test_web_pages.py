"""Fast checks of the pages in process (TestClient): sign-in, sessions, CSRF, and roles on every page.

The role rules are the API's (docs/http.md): departments read their own evaluations only,
reviewers adjust, admins read but neither score nor adjust; the what-if diff is for reviewers
and admins.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import EXAMPLE_DIR, App, csrf_of

ROLES = ("department", "reviewer", "admin")
LOCATION = "package.txt:597 §存在的问题及原因分析"


def pages(app: App) -> list[tuple[str, dict[str, int]]]:
    """Every GET page, and the status each role gets."""
    every = dict.fromkeys(ROLES, 200)
    own, other = app.own, app.other
    return [
        ("/web/", every),
        ("/web/upload", {"department": 200, "reviewer": 200, "admin": 403}),
        (f"/web/evaluations/{own}", every),
        (f"/web/evaluations/{other}", {"department": 404, "reviewer": 200, "admin": 200}),
        (f"/web/evaluations/{own}/evidence?loc={quote(LOCATION)}", every),
        (
            f"/web/evaluations/{other}/evidence?loc={quote(LOCATION)}",
            {"department": 404, "reviewer": 200, "admin": 200},
        ),
        (f"/web/evaluations/{own}/rubric", every),
        (f"/web/evaluations/{other}/rubric", {"department": 404, "reviewer": 200, "admin": 200}),
        (f"/web/evaluations/{own}/export.json", every),
        (
            f"/web/evaluations/{other}/export.xlsx",
            {"department": 404, "reviewer": 200, "admin": 200},
        ),
        ("/web/evaluations/no-such-id", dict.fromkeys(ROLES, 404)),
        ("/web/rubrics", every),
        ("/web/rubrics/yueyang-fujian5/2024.1", every),
        ("/web/rubrics/no-such/1", dict.fromkeys(ROLES, 404)),
        ("/web/rubrics/diff", {"department": 403, "reviewer": 200, "admin": 200}),
        ("/web/nothing-here", dict.fromkeys(ROLES, 404)),
    ]


@pytest.fixture(scope="module")
def clients(app: App) -> dict[str, TestClient]:
    return {role: app.client_for(role) for role in ROLES}


def test_every_page_answers_each_role_as_the_api_would(
    app: App, clients: dict[str, TestClient]
) -> None:
    for path, expected in pages(app):
        for role, status in expected.items():
            response = clients[role].get(path, follow_redirects=False)
            assert response.status_code == status, (path, role, response.text[:300])
            if response.headers["content-type"].startswith("text/html"):
                assert "Content-Security-Policy" in response.headers
                assert '<html lang="zh-CN">' in response.text
            if status == 403:
                assert "无权" in response.text or "只能查看本部门" in response.text


def test_every_page_needs_a_session(app: App) -> None:
    anonymous = app.client_for(None)
    for path, _expected in pages(app):
        if path.startswith("/web/nothing"):
            continue
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/web/login?next=")
    for path in ("/web/upload", f"/web/evaluations/{app.own}/adjust", "/web/logout"):
        response = anonymous.post(path, data={}, follow_redirects=False)
        assert response.status_code == 303, path
    # The API is unchanged: a session cookie is not an API key.
    assert app.client_for("reviewer").get("/v1/evaluations").status_code == 401


def test_adjusting_is_for_reviewers_only(app: App, clients: dict[str, TestClient]) -> None:
    for role in ("department", "admin"):
        client = clients[role]
        csrf = csrf_of(client.get(f"/web/evaluations/{app.own}").text)
        assert 'form class="adjust' not in client.get(f"/web/evaluations/{app.own}").text
        response = client.post(
            f"/web/evaluations/{app.own}/adjust",
            data={"csrf": csrf, "clause": "problems.quality", "score": "17", "reason": "x"},
            follow_redirects=False,
        )
        assert response.status_code == 403, role
    reviewer = clients["reviewer"]
    page = reviewer.get(f"/web/evaluations/{app.other}").text
    assert 'class="adjust' in page
    response = reviewer.post(
        f"/web/evaluations/{app.other}/adjust",
        data={
            "csrf": csrf_of(page),
            "clause": "suggestions.quality",
            "score": "13",
            "reason": "较全面",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith(
        "?adjusted=suggestions.quality#clause-suggestions.quality"
    )


def test_scoring_is_for_departments_and_reviewers(app: App, clients: dict[str, TestClient]) -> None:
    files = [
        ("manifest", ("dossier.toml", (EXAMPLE_DIR / "dossier.toml").read_bytes(), "text/plain")),
        ("documents", ("package.txt", (EXAMPLE_DIR / "package.txt").read_bytes(), "text/plain")),
    ]
    admin = clients["admin"]
    csrf = csrf_of(admin.get("/web/").text)
    response = admin.post(
        "/web/upload", data={"csrf": csrf, "form_kind": "file"}, files=files, follow_redirects=False
    )
    assert response.status_code == 403
    # A department key scores its own department's package, not another's.
    other = app.client_for("other_department")
    csrf = csrf_of(other.get("/web/upload").text)
    response = other.post(
        "/web/upload", data={"csrf": csrf, "form_kind": "file"}, files=files, follow_redirects=False
    )
    assert response.status_code == 403
    assert 'id="err-file-manifest"' in response.text
    assert "部门密钥只能提交本部门" in response.text
    department = clients["department"]
    csrf = csrf_of(department.get("/web/upload").text)
    response = department.post(
        "/web/upload",
        data={"csrf": csrf, "form_kind": "file", "mode": "precheck", "as_of": "2024-06-20"},
        files=files,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]


def test_overview_of_a_department_lists_its_own_only(
    app: App, clients: dict[str, TestClient]
) -> None:
    page = clients["department"].get("/web/").text
    assert app.own in page
    assert app.other not in page
    assert 'id="flt-department"' not in page
    reviewer = clients["reviewer"].get("/web/").text
    assert app.own in reviewer
    assert app.other in reviewer
    # A department cannot widen its view with a filter.
    page = clients["department"].get("/web/?department=岳阳市财政局").text
    assert app.other not in page


def test_session_cookie_is_signed_httponly_strict_and_holds_no_key(app: App) -> None:
    client = app.client_for(None)
    response = client.post(
        "/web/login",
        data={"key": app.keys.reviewer, "next": "/web/rubrics"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/web/rubrics"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("jixiao_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/web" in cookie
    assert app.keys.reviewer not in cookie
    secret = app.keys.reviewer.split("_", 2)[2]
    assert secret not in cookie
    # Tampered: refused.
    value = client.cookies["jixiao_session"]
    payload, mac = value.split(".")
    tampered = TestClient(app.client.app, raise_server_exceptions=False)
    tampered.cookies.set(
        "jixiao_session",
        payload + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB"),
        path="/web",
    )
    assert tampered.get("/web/", follow_redirects=False).status_code == 303


def test_login_refuses_bad_keys_and_foreign_redirects(app: App) -> None:
    client = app.client_for(None)
    response = client.post("/web/login", data={"key": "jx_bad_key"}, follow_redirects=False)
    assert response.status_code == 401
    assert "密钥无效或已被吊销" in response.text
    assert client.post("/web/login", data={"key": ""}).status_code == 401
    for target in ("//evil.example/", "https://evil.example/", "/v1/keys", "/web\\..\\x"):
        response = client.post(
            "/web/login", data={"key": app.keys.admin, "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/web/", target
    # The form is never read from the query string: no key in a URL.
    response = client.get("/web/login", params={"key": app.keys.admin}, follow_redirects=False)
    assert "set-cookie" not in response.headers


def test_a_revoked_key_ends_its_session_at_once(app: App) -> None:
    admin_api = {"Authorization": f"Bearer {app.keys.admin}"}
    made = app.client.post("/v1/keys", json={"role": "reviewer", "name": "临时"}, headers=admin_api)
    key = made.json()
    client = app.client_for(None)
    client.post("/web/login", data={"key": key["key"]}, follow_redirects=False)
    assert client.get("/web/", follow_redirects=False).status_code == 200
    assert app.client.delete(f"/v1/keys/{key['id']}", headers=admin_api).status_code == 204
    assert client.get("/web/", follow_redirects=False).status_code == 303


def test_posts_need_the_sessions_csrf_token_and_same_origin(
    app: App, clients: dict[str, TestClient]
) -> None:
    reviewer = clients["reviewer"]
    data = {"clause": "problems.quality", "score": "17", "reason": "x"}
    url = f"/web/evaluations/{app.own}/adjust"
    assert reviewer.post(url, data=data, follow_redirects=False).status_code == 403
    other_csrf = csrf_of(app.client_for("reviewer").get("/web/").text)
    response = reviewer.post(url, data=data | {"csrf": other_csrf}, follow_redirects=False)
    assert response.status_code == 403
    csrf = csrf_of(reviewer.get("/web/").text)
    response = reviewer.post(
        url,
        data=data | {"csrf": csrf},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "跨站提交被拒绝" in response.text


def test_adjustment_errors_are_in_chinese_next_to_the_field(
    app: App, clients: dict[str, TestClient]
) -> None:
    reviewer = clients["reviewer"]
    csrf = csrf_of(reviewer.get("/web/").text)
    url = f"/web/evaluations/{app.own}/adjust"
    cases = [
        ({"score": "abc", "reason": "x"}, "err-score-problems.quality", "应为数字"),
        ({"score": "17", "reason": "  "}, "err-reason-problems.quality", "请填写调整理由"),
        (
            {"score": "19", "reason": "x"},
            "err-score-problems.quality",
            "反映问题、分析原因较全面 16–18",
        ),
    ]
    for fields, error_id, message in cases:
        response = reviewer.post(
            url, data={"csrf": csrf, "clause": "problems.quality"} | fields, follow_redirects=False
        )
        assert response.status_code == 422
        match = re.search(rf'id="{re.escape(error_id)}"[^>]*><li>([^<]*)', response.text)
        assert match, (fields, response.text[:200])
        assert message in match.group(1), fields
    response = reviewer.post(
        url, data={"csrf": csrf, "clause": "notice.issued", "score": "1", "reason": "x"}
    )
    assert response.status_code == 422  # not a discretionary clause


def test_an_evaluations_rubric_page_shows_every_file_of_its_bundle(
    app: App, clients: dict[str, TestClient]
) -> None:
    page = clients["reviewer"].get(f"/web/evaluations/{app.own}/rubric").text
    for name in (
        "rubrics/yueyang-fujian5/2024.1.toml",
        "rules/indicator-tables/2024.1.toml",
        "rules/layout/2024.1.toml",
        "rules/vocabulary/2024.1.toml",
    ):
        assert name in page, name
    assert "数据文件" in page


def test_pages_are_not_in_the_openapi_document(app: App) -> None:
    paths = app.client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/web")]


def test_static_files_are_served_by_the_app(app: App) -> None:
    css = app.client.get("/web/static/web.css")
    assert css.status_code == 200
    assert "@media print" in css.text
    assert app.client.get("/web/static/web.js").status_code == 200
    page = app.client_for("reviewer").get("/web/").text
    assert not re.search(r'(src|href)="https?://', page)  # nothing fetched from elsewhere


def test_overview_shows_how_often_reviewers_kept_the_automatic_band(
    app: App, clients: dict[str, TestClient]
) -> None:
    reviewer = clients["reviewer"]
    page = reviewer.get(f"/web/evaluations/{app.other}").text
    response = reviewer.post(
        f"/web/evaluations/{app.other}/adjust",
        data={"csrf": csrf_of(page), "clause": "problems.quality", "score": "17", "reason": "较全面"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    overview = reviewer.get("/web/").text
    block = overview[overview.index('id="review-agreement"') : overview.index('id="list-title"')]
    assert "problems.quality" in block
    assert "problems.fair" in block  # where the reviewer moved it
    assert "cause_share" not in overview
