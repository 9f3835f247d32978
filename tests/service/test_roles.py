"""Every endpoint with each role and with no key: 401 without a key, 403 outside the role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from service.auth import create_key
from tests.service.conftest import RUBRIC, Service, json_body

ROLES = [None, "department", "other_department", "reviewer", "admin"]
ALL = {"department": 200, "other_department": 200, "reviewer": 200, "admin": 200}
PUBLIC = {None: 200, **ALL}

# (method, path, body, {role: expected status}); a role not listed gets 403, no key gets 401.
# {id} is an evaluation of the department key's own department; {key} a key to revoke.
MATRIX: list[tuple[str, str, Any, dict[str | None, int]]] = [
    ("POST", f"/v1/evaluations?rubric={RUBRIC}", "package", {"department": 201, "reviewer": 201}),
    ("GET", "/v1/evaluations", None, ALL),
    ("GET", "/v1/evaluations/{id}", None, ALL | {"other_department": 404}),
    (
        "POST",
        "/v1/evaluations/{id}/adjustments",
        {"clause": "problems.quality", "score": 17, "reason": "较全面"},
        {"reviewer": 200},
    ),
    ("GET", "/v1/evaluations/{id}/audit", None, ALL | {"other_department": 404}),
    ("POST", "/v1/evaluations/{id}/replay", None, {"reviewer": 200, "admin": 200}),
    ("GET", "/v1/rubrics", None, ALL),
    ("GET", "/v1/rubrics/yueyang-fujian5/versions/2024.1", None, ALL),
    ("POST", "/v1/rubrics/reload", None, {"admin": 200}),
    (
        "GET",
        f"/v1/rubrics/diff?old={RUBRIC}&new={RUBRIC}&limit=2",
        None,
        {"reviewer": 200, "admin": 200},
    ),
    ("GET", "/v1/evaluations/{id}/sheet.xlsx", None, ALL | {"other_department": 404}),
    ("POST", "/v1/keys", {"role": "reviewer", "name": "新审核员"}, {"admin": 201}),
    ("GET", "/v1/keys", None, {"admin": 200}),
    ("DELETE", "/v1/keys/{key}", None, {"admin": 204}),
    ("GET", "/healthz", None, PUBLIC),
    ("GET", "/readyz", None, PUBLIC),
    ("GET", "/metrics", None, PUBLIC),
]


@pytest.fixture(scope="module")
def targets(shared: Service) -> Iterator[dict[str, str]]:
    """An evaluation of the department key's department, and a key that may be revoked."""
    evaluation = shared.create(role="department")
    with shared.store.write() as session:
        row, _token = create_key(session, role="reviewer", name="to-revoke", created_by="test")
    return {"id": evaluation["id"], "key": row.id}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "no-key")
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _b, _a in MATRIX]
)
def test_role_matrix(
    shared: Service,
    targets: dict[str, str],
    role: str | None,
    method: str,
    path: str,
    body: Any,
    allowed: dict[str | None, int],
) -> None:
    url = path.format(**targets)
    payload = json_body() if body == "package" else body
    response = shared.client.request(method, url, json=payload, headers=shared.auth(role))
    expected = allowed.get(role, 401 if role is None else 403)
    assert response.status_code == expected, response.text
    if expected in (401, 403):
        error = response.json()["error"]
        assert error["status"] == expected
        assert error["zh"]
        assert error["en"]
    if expected == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_department_key_scores_only_its_own_department(shared: Service) -> None:
    response = shared.client.post(
        "/v1/evaluations",
        params={"rubric": RUBRIC},
        json=json_body(),
        headers=shared.auth("other_department"),
    )
    assert response.status_code == 403
    assert "岳阳市财政局" in response.json()["error"]["zh"]


def test_x_api_key_header_unknown_and_malformed_keys(shared: Service) -> None:
    ok = shared.client.get("/v1/rubrics", headers={"X-API-Key": shared.keys.reviewer})
    assert ok.status_code == 200
    for key in ("jx_nope_nope", "garbage", "jx_", "jx__", shared.keys.reviewer + "x"):
        response = shared.client.get("/v1/rubrics", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 401, key
    basic = shared.client.get("/v1/rubrics", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401


def test_keys_created_over_http_work_and_revoked_keys_stop(shared: Service) -> None:
    created = shared.client.post(
        "/v1/keys",
        json={"role": "department", "department": "岳阳市教育局", "name": "教育局"},
        headers=shared.auth("admin"),
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert created.json()["department"] == "岳阳市教育局"
    headers = {"Authorization": f"Bearer {key}"}
    assert shared.client.get("/v1/evaluations", headers=headers).status_code == 200
    listing = shared.client.get("/v1/keys", headers=shared.auth("admin")).json()["items"]
    assert key not in str(listing)  # secrets are never shown again
    assert any(k["id"] == created.json()["id"] for k in listing)
    revoked = shared.client.delete(f"/v1/keys/{created.json()['id']}", headers=shared.auth("admin"))
    assert revoked.status_code == 204
    assert shared.client.get("/v1/evaluations", headers=headers).status_code == 401
    assert shared.client.delete("/v1/keys/nope", headers=shared.auth("admin")).status_code == 404
    for bad in ({"role": "department"}, {"role": "reviewer", "department": "x"}, {"role": "boss"}):
        response = shared.client.post("/v1/keys", json=bad, headers=shared.auth("admin"))
        assert response.status_code == 422, bad


def test_a_valid_key_is_cached_briefly_and_a_revocation_forgets_it(tmp_path: Any) -> None:
    """Known keys skip the database for `seconds`; revoking in this process ends that at once;
    unknown keys are never cached."""
    from service.auth import KeyCache, create_key, forget_keys
    from service.store import ApiKey, Store

    store = Store(f"sqlite:///{tmp_path / 'keys.db'}")
    store.migrate()
    with store.write() as session:
        _row, token = create_key(session, role="reviewer", created_by="test")
    cache = KeyCache(60)
    assert cache.cached(token) is None
    principal = cache.lookup(store, token)
    assert principal is not None
    assert cache.cached(token) == principal
    assert cache.lookup(store, token + "x") is None
    assert cache.cached(token + "x") is None
    with store.write() as session:
        row = session.get(ApiKey, principal.key)
        assert row is not None
        row.revoked_at = "2024-07-01T00:00:00Z"
    assert cache.cached(token) == principal  # another process's revocation: within the TTL
    forget_keys()
    assert cache.cached(token) is None
    assert cache.lookup(store, token) is None
    assert KeyCache(0).lookup(store, token) is None
    store.dispose()
