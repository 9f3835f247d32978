"""Rubric staging over HTTP: a file dropped into the rubric folder is staged, not the default,
until an admin publishes it (recorded in the audit chain); /readyz as docs/http.md says."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from service.audit import verify
from service.store import Event
from tests.service.conftest import Service, json_body
from tests.test_rubric_staging import stage_copy


def _score_without_rubric(svc: Service) -> str:
    response = svc.client.post("/v1/evaluations", json=json_body(), headers=svc.auth("reviewer"))
    assert response.status_code == 201, response.text
    return str(response.json()["rubric"]["version"])


def test_a_dropped_version_is_staged_until_an_admin_publishes_it(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    rubrics, _staged = stage_copy(tmp_path)
    svc = make_service(
        f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(rubrics), suites_on_reload=True
    )
    assert svc.client.post("/v1/rubrics/reload", headers=svc.auth("admin")).status_code == 200
    listed = svc.client.get("/v1/rubrics", headers=svc.auth("reviewer")).json()["items"]
    states = {(e["id"], e["version"]): (e["published"], e["compiles"]) for e in listed}
    assert states[("yueyang-fujian5", "2099.1")] == (False, True)  # staged, linted, tested
    assert _score_without_rubric(svc) == "2024.2"  # the newest published version
    named = svc.client.post(
        "/v1/evaluations",
        params={"rubric": "yueyang-fujian5@2099.1"},
        json=json_body(),
        headers=svc.auth("reviewer"),
    )
    assert named.status_code == 201  # usable by its exact name, to try it

    path = "/v1/rubrics/yueyang-fujian5/publish"
    refused = svc.client.post(path, json={"version": "2099.1"}, headers=svc.auth("reviewer"))
    assert refused.status_code == 403
    missing = svc.client.post(path, json={"version": "3000.1"}, headers=svc.auth("admin"))
    assert missing.status_code == 404
    done = svc.client.post(path, json={"version": "2099.1"}, headers=svc.auth("admin"))
    assert done.status_code == 200, done.text
    assert done.json()["published_by"]["name"] == "admin"
    assert _score_without_rubric(svc) == "2099.1"

    with svc.store.read() as session:
        assert verify(session).ok
        events = session.query(Event).filter(Event.kind == "published").all()
    assert [(e.rubric_id, e.rubric_version, e.actor_role) for e in events] == [
        ("yueyang-fujian5", "2099.1", "admin")
    ]


def test_readyz_is_ready_with_rubric_errors_while_a_good_version_serves(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    rubrics, staged = stage_copy(tmp_path)
    staged.write_text("this is not toml = = \n", "utf-8")
    svc = make_service(f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(rubrics))
    ready = svc.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["rubric_errors"]
    docs = (Path(__file__).resolve().parents[2] / "docs").joinpath
    for name in ("http.md", "deploy.md"):
        text = docs(name).read_text("utf-8")
        assert "rubric_errors" in text, name
        assert "every rubric on disk compiles" not in text, name
